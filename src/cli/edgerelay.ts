/** The `edgerelay` command (the cloud side). Filled in by the relay issue. */
import { VERSION } from '../version.js';
import { EXIT } from './args.js';

const HELP = `edgerelay ${VERSION} — the minimal cloud side of edgecore

Usage:
  edgerelay --version | --help`;

export async function cli(argv: readonly string[]): Promise<void> {
  if (argv.includes('--version')) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const help = argv.includes('--help') || argv.includes('-h');
  process.stdout.write(HELP + '\n');
  process.exitCode = help ? EXIT.OK : EXIT.USAGE;
}
