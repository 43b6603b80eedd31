/** Which host addresses a node reports (peers dial them): the pure filter and its config. */
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { parseCidr, reportedAddresses, type AddressRules } from '../../../src/modules/nodestatus/addresses.js';

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` });
const v6 = (address: string): NetworkInterfaceInfo => ({ address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/64`, scopeid: 0 });

/** a Pi-like host: its LAN, a Wi-Fi, Docker's default bridge and a user network, a pod's veth, the mesh's interface with ClusterIPs */
const host: Record<string, NetworkInterfaceInfo[]> = {
  lo: [v4('127.0.0.1', true), { ...v6('::1'), internal: true }],
  eth0: [v4('192.168.1.20'), v6('fd00::20'), v6('fe80::1')],
  wlan0: [v4('169.254.10.2'), v4('10.0.5.7')],
  docker0: [v4('172.17.0.1')],
  'br-0123456789ab': [v4('172.18.0.1')],
  ecpods: [v4('172.30.0.1')],
  veth12ab: [v6('fe80::2')],
  edgemesh0: [v4('10.96.0.10'), v4('10.96.0.20')],
};
const rules = (o: Partial<AddressRules> = {}): AddressRules => {
  const d = parseConfig({}).modules.nodestatus.addresses;
  return { pinned: d.pinned, excludeInterfaces: [...d.excludeInterfaces, 'edgemesh0'], excludeCIDRs: ['10.96.0.0/12'], ...o };
};

test('only what a peer can reach: no loopback, link-local, engine bridges, veths or mesh addresses; IPv4 first', () => {
  assert.deepEqual(reportedAddresses(host, rules()), ['192.168.1.20', '10.0.5.7', '172.30.0.1', 'fd00::20']);
  // the engine's own network, named by its bridge option, and its subnet
  assert.deepEqual(reportedAddresses(host, rules({ excludeCIDRs: ['10.96.0.0/12', '172.30.0.0/16'] })), ['192.168.1.20', '10.0.5.7', 'fd00::20']);
  assert.deepEqual(reportedAddresses(host, { ...rules(), excludeInterfaces: [...rules().excludeInterfaces, 'ecpods', 'wlan*'] }), ['192.168.1.20', 'fd00::20']);
  // the Service range alone keeps ClusterIPs out even on an interface not excluded by name
  assert.deepEqual(reportedAddresses({ dummy: [v4('10.100.3.4'), v4('10.112.0.1')] }, rules()), ['10.112.0.1']);
  assert.deepEqual(reportedAddresses({ lo: host.lo! }, rules()), []);
});

test('pinned addresses are reported exactly, in order, whatever the interfaces hold', () => {
  assert.deepEqual(reportedAddresses(host, rules({ pinned: ['203.0.113.5', '192.168.1.20', '203.0.113.5'] })), ['203.0.113.5', '192.168.1.20']);
});

test('at most 16 addresses, each once', () => {
  const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`eth${i}`, [v4(`192.168.${i}.1`), v4(`192.168.${i}.1`)]]));
  const got = reportedAddresses(many, rules());
  assert.equal(got.length, 16);
  assert.equal(new Set(got).size, 16);
});

test('CIDRs parse; config refuses a bad address, CIDR or interface pattern with its field path', () => {
  assert.deepEqual(parseCidr('10.96.0.0/12'), { address: '10.96.0.0', prefix: 12, family: 'ipv4' });
  assert.deepEqual(parseCidr('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
  for (const bad of ['10.96.0.0', '10.96.0.0/33', 'x/8', '::/129']) assert.equal(parseCidr(bad), undefined, bad);
  const c = parseConfig({ modules: { nodestatus: { addresses: { pinned: ['192.168.1.20'], excludeCIDRs: ['172.16.0.0/12'] } } } });
  assert.deepEqual(c.modules.nodestatus.addresses.pinned, ['192.168.1.20']);
  assert.throws(() => parseConfig({ modules: { nodestatus: { addresses: { pinned: ['192.168.1'] } } } }), /modules\.nodestatus\.addresses\.pinned\[0\]/);
  assert.throws(() => parseConfig({ modules: { nodestatus: { addresses: { excludeCIDRs: ['172.16.0.0'] } } } }), /modules\.nodestatus\.addresses\.excludeCIDRs\[0\]/);
  assert.throws(() => parseConfig({ modules: { nodestatus: { addresses: { excludeInterfaces: ['eth 0'] } } } }), /modules\.nodestatus\.addresses\.excludeInterfaces\[0\]/);
  assert.throws(() => parseConfig({ modules: { mesh: { serviceCIDR: '10.96.0.0/40' } } }), /modules\.mesh\.serviceCIDR/);
});
