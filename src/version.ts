/** The release version: injected by build.mjs into the bundle, read from package.json in development. */
import { readFileSync } from 'node:fs';

declare const __EDGECORE_VERSION__: string | undefined;

function fromPackageJson(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0-dev';
  } catch {
    return '0.0.0-dev';
  }
}

export const VERSION: string = typeof __EDGECORE_VERSION__ === 'string' ? __EDGECORE_VERSION__ : fromPackageJson();
