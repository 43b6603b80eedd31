/**
 * systemd units: `systemd-analyze verify` against a scratch root (the real /lib/systemd/system
 * units for the dependencies, a stub at the ExecStart path), with no warnings allowed; and the
 * unit's stop timeout checked against the daemon's own shutdown budget.
 */
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { tmpDir, ROOT } from '../../helpers/tmp.js';
import { needTools, sh } from './helpers.js';

const UNITS = ['edgecore.service', 'edgerelay.service'];

function scratchRoot(dir: string, units: Record<string, string>): void {
  mkdirSync(join(dir, 'usr/lib/systemd'), { recursive: true });
  cpSync('/lib/systemd/system', join(dir, 'usr/lib/systemd/system'), { recursive: true });
  mkdirSync(join(dir, 'opt/edgecore/current/bin'), { recursive: true });
  for (const e of ['edgecore', 'edgerelay']) {
    writeFileSync(join(dir, 'opt/edgecore/current/bin', e), '#!/bin/sh\n');
    chmodSync(join(dir, 'opt/edgecore/current/bin', e), 0o755);
  }
  mkdirSync(join(dir, 'etc/systemd/system'), { recursive: true });
  for (const [name, text] of Object.entries(units)) writeFileSync(join(dir, 'etc/systemd/system', name), text);
}

function verify(dir: string, names: string[]) {
  return sh('systemd-analyze', ['verify', `--root=${dir}`, ...names.map((n) => `/etc/systemd/system/${n}`)]);
}

function directive(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1).trim());
}

function seconds(v: string): number {
  const m = /^(\d+)(s|min)?$/.exec(v);
  assert.ok(m, `duration ${v}`);
  return Number(m[1]) * (m[2] === 'min' ? 60 : 1);
}

describe('packaging: systemd units', () => {
  test('systemd-analyze verify accepts both units without a warning', async (t) => {
    if (!(await needTools(t, ['systemd-analyze']))) return;
    const dir = tmpDir(t, 'edgecore-pkg-units-');
    scratchRoot(dir, Object.fromEntries(UNITS.map((u) => [u, readFileSync(join(ROOT, 'systemd', u), 'utf8')])));
    const r = verify(dir, UNITS);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.out.trim(), '', `no warnings expected:\n${r.out}`);
  });

  test('the same check flags a broken unit (the verify step can fail)', async (t) => {
    if (!(await needTools(t, ['systemd-analyze']))) return;
    const dir = tmpDir(t, 'edgecore-pkg-units-bad-');
    const text = readFileSync(join(ROOT, 'systemd', 'edgecore.service'), 'utf8')
      .replace('ProtectSystem=strict', 'ProtectSystem=bogus')
      .replace('/opt/edgecore/current/bin/edgecore run', '/opt/edgecore/current/bin/missing run');
    scratchRoot(dir, { 'edgecore.service': text });
    const r = verify(dir, ['edgecore.service']);
    assert.match(r.out, /protect system value/i);
    assert.match(r.out, /missing/);
  });

  test('edgecore.service: notify contract, restart limits, hardening, stop budget', () => {
    const unit = readFileSync(join(ROOT, 'systemd', 'edgecore.service'), 'utf8');
    assert.deepEqual(directive(unit, 'Type'), ['notify']);
    assert.deepEqual(directive(unit, 'NotifyAccess'), ['all'], 'systemd-notify --pid sends from a child process');
    assert.deepEqual(directive(unit, 'Restart'), ['always']);
    assert.ok(directive(unit, 'StartLimitBurst').length === 1 && directive(unit, 'StartLimitIntervalSec').length === 1);
    assert.ok(seconds(directive(unit, 'WatchdogSec')[0]!) > 0);
    for (const [k, v] of [['ProtectSystem', 'strict'], ['NoNewPrivileges', 'yes'], ['PrivateTmp', 'yes'], ['ProtectHome', 'yes'], ['KillMode', 'mixed'], ['DevicePolicy', 'closed']]) {
      assert.deepEqual(directive(unit, k!), [v], k);
    }
    assert.deepEqual(directive(unit, 'ReadWritePaths'), ['/var/lib/edgecore']);
    const allowed = directive(unit, 'DeviceAllow').map((d) => d.split(' ')[0]);
    for (const d of ['char-gpiochip', '/dev/gpiomem', 'char-i2c', 'char-ttyS', 'char-ttyUSB', 'char-ttyACM', 'char-ttyAMA']) assert.ok(allowed.includes(d), d);
    assert.ok(directive(unit, 'MemoryMax').length === 1);
    // The daemon stops modules one by one, each within shutdownTimeoutSeconds.
    const defaults = parseConfig({});
    const budget = defaults.shutdownTimeoutSeconds * Object.keys(defaults.modules).length;
    assert.ok(seconds(directive(unit, 'TimeoutStopSec')[0]!) > budget, `TimeoutStopSec > ${budget}s`);
    // the daemon's watchdog period must fit: it pings at most every checkIntervalSeconds
    assert.ok(seconds(directive(unit, 'WatchdogSec')[0]!) >= 2 * defaults.health.checkIntervalSeconds);
  });
});
