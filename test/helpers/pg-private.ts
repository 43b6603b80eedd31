/**
 * A private PostgreSQL server for one test: Debian's server binaries (/usr/lib/postgresql/<v>/bin,
 * what .ci/provision.d/postgres.sh installs) run `initdb` into the test's temp folder and `pg_ctl`
 * starts the server on an ephemeral loopback port with its socket in that folder. A test may
 * restart or stop it without touching the machine's cluster, which other test runs beside it use.
 * PostgreSQL refuses to run as root: as root the folder is handed to the `postgres` user and the
 * programs run as that user (runuser).
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './broker-cluster.js';

const run = promisify(execFile);
const ROOT = '/usr/lib/postgresql';

export interface PrivatePostgres {
  /** postgres://edgecore@127.0.0.1:<port>/postgres (trust on loopback: a test server only) */
  readonly url: string;
  /** `pg_ctl restart -m fast`: every connection cut, the server back with its data */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast` (every connection cut) and, later, `start`: a restart with a gap the test decides */
  halt(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The newest installed server's bin folder (undefined: PostgreSQL's server is not installed). */
export function postgresBin(): string | undefined {
  if (!existsSync(ROOT)) return undefined;
  const v = readdirSync(ROOT)
    .filter((d) => existsSync(join(ROOT, d, 'bin', 'initdb')))
    .sort((a, b) => Number(a) - Number(b))
    .at(-1);
  return v ? join(ROOT, v, 'bin') : undefined;
}

/** Start a fresh server in `dir` (created; must be empty or absent). */
export async function startPrivatePostgres(dir: string): Promise<PrivatePostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error(`no PostgreSQL server under ${ROOT} (.ci/provision.d/postgres.sh installs it)`);
  mkdirSync(dir, { recursive: true });
  const root = process.getuid?.() === 0;
  if (root) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (cmd: string, args: string[]): Promise<unknown> => (root ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  const data = join(dir, 'data');
  const port = await freePort();
  await as('initdb', ['-D', data, '-U', 'edgecore', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  const ctl = (...args: string[]): Promise<unknown> => as('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', ...args]);
  await ctl('-o', opts, 'start');
  let up = true;
  return {
    url: `postgres://edgecore@127.0.0.1:${port}/postgres`,
    restart: async () => void (await ctl('-m', 'fast', '-o', opts, 'restart')),
    halt: async () => void (await ctl('-m', 'fast', 'stop')),
    start: async () => void (await ctl('-o', opts, 'start')),
    stop: async () => {
      if (!up) return;
      up = false;
      await ctl('-m', 'immediate', 'stop').catch(() => undefined);
    },
  };
}
