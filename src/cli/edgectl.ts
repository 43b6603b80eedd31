/** The `edgectl` command (kubectl conventions, talks only to the relay's API). Filled in by the relay issue. */
import { VERSION } from '../version.js';
import { EXIT } from './args.js';

const HELP = `edgectl ${VERSION} — manage an edgecore fleet through its relay

Usage:
  edgectl --version | --help`;

export async function cli(argv: readonly string[]): Promise<void> {
  if (argv.includes('--version')) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const help = argv.includes('--help') || argv.includes('-h');
  process.stdout.write(HELP + '\n');
  process.exitCode = help ? EXIT.OK : EXIT.USAGE;
}
