/**
 * A container's environment, as Kubernetes builds it (pure). `desired.ts` reads the sources from
 * the store (ConfigMap/Secret keys, the pod's own fields); what only exists once the pod runs
 * (its IP) is filled in at create time; then `$(VAR)` references are expanded in order:
 *
 * - envFrom first, then env in order; a later name replaces an earlier one;
 * - an env `value` is expanded against the variables defined before it; values taken from
 *   envFrom, configMapKeyRef, secretKeyRef, fieldRef or resourceFieldRef are used as they are;
 * - command and args are expanded against the final environment;
 * - `$$` is an escaped `$`; `$(NAME)` with NAME undefined, an unclosed `$(`, and `$` followed by
 *   anything else are left as written.
 */

/** A pod field only known when the container is created. */
export type RuntimeField = 'status.podIP' | 'status.podIPs' | 'status.hostIP' | 'status.hostIPs';

export type EnvSource =
  /** `expand`: a literal env value ($(VAR) references resolved); otherwise used as is */
  | { name: string; value: string; expand: boolean }
  | { name: string; field: RuntimeField };

export interface RuntimeFacts {
  podIP?: string;
  hostIP?: string;
}

/** Expand `$(NAME)` references in `input` with `lookup` (undefined: left as written). */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  if (!input.includes('$')) return input;
  let out = '';
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      i++;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i += 2;
      } else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close + 1;
      }
    } else {
      out += `$${next}`;
      i += 2;
    }
  }
  return out;
}

/** Does this environment read the pod IP (so the pod's network must exist first)? */
export const needsPodIP = (sources: readonly EnvSource[]): boolean => sources.some((s) => 'field' in s && (s.field === 'status.podIP' || s.field === 'status.podIPs'));

/** The final environment, in definition order (a redefined name keeps its first position). */
export function finalEnv(sources: readonly EnvSource[], facts: RuntimeFacts): Map<string, string> {
  const env = new Map<string, string>();
  for (const s of sources) {
    let v: string;
    if ('field' in s) v = (s.field.startsWith('status.pod') ? facts.podIP : facts.hostIP) ?? '';
    else v = s.expand ? expand(s.value, (n) => env.get(n)) : s.value;
    env.set(s.name, v);
  }
  return env;
}

/** command/args with `$(VAR)` expanded against the final environment. */
export function expandAll(list: readonly string[] | undefined, env: ReadonlyMap<string, string>): string[] | undefined {
  return list?.map((a) => expand(a, (n) => env.get(n)));
}
