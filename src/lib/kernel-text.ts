/** Figures in the kernel's flat text files (/proc/meminfo, /proc/stat, a cgroup's cpu.stat and memory.stat), read without splitting them into lines. */

/**
 * The integer after `key` at the start of a line of `text` (spaces skipped), or the line's
 * figure after `skip` others; NaN when there is no such line or figure.
 */
export function intAfter(text: string, key: string, skip = 0): number {
  let at = text.startsWith(key) ? 0 : text.indexOf(`\n${key}`);
  if (at < 0) return Number.NaN;
  if (text.charCodeAt(at) === 10) at++;
  let p = at + key.length;
  for (let field = 0; ; field++) {
    while (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9) p++;
    let v = 0;
    const start = p;
    for (let c = text.charCodeAt(p); c >= 48 && c <= 57; c = text.charCodeAt(++p)) v = v * 10 + (c - 48);
    if (p === start) return Number.NaN;
    if (field === skip) return v;
  }
}
