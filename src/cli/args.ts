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

export interface CliErrorStyle {
  /** what stands before the message on stderr, e.g. "edgecore: " */
  prefix: string;
  /** extra errors that count as usage errors (exit 2) */
  isUsage?: (e: unknown) => boolean;
  describe?: (e: unknown) => string;
}

/**
 * Run a command's `main` and turn its outcome into the exit code: its return value, or 2 for a
 * usage error, 78 for an invalid config, 1 for anything else — with the message on stderr.
 */
export async function runCli(main: () => Promise<number>, style: CliErrorStyle): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (e) {
    const text = style.describe ? style.describe(e) : e instanceof Error ? e.message : String(e);
    process.stderr.write(`${style.prefix}${text}\n`);
    const usage = e instanceof UsageError || (style.isUsage?.(e) ?? false);
    process.exitCode = usage ? EXIT.USAGE : e instanceof Error && e.name === 'ConfigError' ? EXIT.CONFIG : EXIT.FAILURE;
  }
}

/**
 * `--version` / `version`, and `--help` / `-h` / `help` / no command at all (a usage error):
 * the same for every command. Returns the exit code when one of them applied.
 */
export function versionOrHelp(args: ParsedArgs, version: string, help: string): number | undefined {
  const cmd = args.positionals[0];
  if (args.flags.has('version') || cmd === 'version') {
    process.stdout.write(`${version}\n`);
    return EXIT.OK;
  }
  const asked = args.flags.has('help') || args.flags.has('h') || cmd === 'help';
  if (asked || !cmd) {
    process.stdout.write(help + '\n');
    return asked ? EXIT.OK : EXIT.USAGE;
  }
  return undefined;
}
