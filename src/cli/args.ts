/** A small argument parser: `--flag`, `--key value`, `--key=value`, `-k value`, positionals. */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `valued` names the options that take a value (long names without dashes, or single letters). */
export function parseArgs(argv: readonly string[], valued: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m || a === '-') {
      positionals.push(a);
      continue;
    }
    const key = m[1]!;
    if (m[2] !== undefined) flags.set(key, m[2]);
    else if (valued.has(key)) {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`option ${a} needs a value`);
      flags.set(key, v);
    } else flags.set(key, true);
  }
  return { positionals, flags };
}

export function flagString(args: ParsedArgs, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = args.flags.get(n);
    if (typeof v === 'string') return v;
  }
  return undefined;
}

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, CONFIG: 78 } as const;
