/** nodestatus's slow facts: os-release(5), machine ids and the board's UUID read from files (fixtures here; the real host in the integration tests). */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cpuinfoSerial, osImage, parseOsRelease, readFacts } from '../../../src/modules/nodestatus/facts.js';
import { tmpDir } from '../../helpers/tmp.js';

const rules = { pinned: [], excludeInterfaces: [], excludeCIDRs: [] };

test('os-release(5): quoted and bare values, escapes, comments and junk lines; the image as kubelet shows it', () => {
  const r = parseOsRelease('# a comment\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME=\'Debian GNU/Linux\'\nVERSION_ID=12\nnot a line\nQUOTED="say \\"hi\\""\n  ID=debian  \n');
  assert.deepEqual(r, { PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)', NAME: 'Debian GNU/Linux', VERSION_ID: '12', QUOTED: 'say "hi"', ID: 'debian' });
  assert.equal(osImage(r), 'Debian GNU/Linux 12 (bookworm)');
  assert.equal(osImage({ NAME: 'Alpine Linux', VERSION: '3.19' }), 'Alpine Linux 3.19', 'no PRETTY_NAME: NAME and VERSION');
  assert.equal(osImage({}), 'Linux');
  assert.equal(osImage({ PRETTY_NAME: 'Evil\u001b[2J OS' }), 'Evil[2J OS', 'control characters dropped');
});

test("a Raspberry Pi's serial from /proc/cpuinfo; none elsewhere or when zero", () => {
  assert.equal(cpuinfoSerial('processor\t: 0\nHardware\t: BCM2835\nSerial\t\t: 10000000ABCDEF01\nModel\t: Raspberry Pi 4\n'), '10000000abcdef01');
  assert.equal(cpuinfoSerial('processor\t: 0\nmodel name\t: Intel\n'), undefined);
  assert.equal(cpuinfoSerial('Serial\t\t: 0000000000000000\n'), undefined);
});

test('readFacts: the files under the given roots; a missing file leaves its fact out', (t) => {
  const dir = tmpDir(t);
  const etc = join(dir, 'etc');
  const sys = join(dir, 'sys');
  const proc = join(dir, 'proc');
  mkdirSync(join(sys, 'class/dmi/id'), { recursive: true });
  mkdirSync(etc);
  mkdirSync(proc);
  writeFileSync(join(etc, 'os-release'), 'PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\n');
  writeFileSync(join(etc, 'machine-id'), 'ABCDEF0123456789abcdef0123456789\n');
  writeFileSync(join(proc, 'cpuinfo'), 'Serial\t\t: 00000000c0ffee42\n');
  const f = readFacts(rules, { etc, sysfs: sys, procfs: proc });
  assert.deepEqual(
    { osImage: f.osImage, machineID: f.machineID, systemUUID: f.systemUUID, hostname: f.hostname, kernelVersion: f.kernelVersion },
    { osImage: 'Raspbian GNU/Linux 11 (bullseye)', machineID: 'abcdef0123456789abcdef0123456789', systemUUID: '00000000c0ffee42', hostname: hostname(), kernelVersion: release() },
    'no DMI UUID: the Pi serial',
  );
  writeFileSync(join(sys, 'class/dmi/id/product_uuid'), '4C4C4544-0042-3510-8052-B4C04F4E3732\n');
  assert.equal(readFacts(rules, { etc, sysfs: sys, procfs: proc }).systemUUID, '4c4c4544-0042-3510-8052-b4c04f4e3732', 'the DMI UUID first');
  const bare = readFacts(rules, { etc: join(dir, 'none'), sysfs: join(dir, 'none'), procfs: join(dir, 'none') });
  assert.equal(bare.systemUUID, undefined);
  assert.ok(bare.osImage.length > 0, 'os-release falls back to /usr/lib/os-release, else "Linux"');
});

test("readFacts on this host: the same os-release, machine id and kernel the host's files give", () => {
  const f = readFacts(rules, { procfs: '/proc', sysfs: '/sys' });
  assert.equal(f.osImage, parseOsRelease(readFileSync('/etc/os-release', 'utf8')).PRETTY_NAME);
  assert.equal(f.kernelVersion, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
  assert.equal(f.machineID, readFileSync('/etc/machine-id', 'utf8').trim());
});
