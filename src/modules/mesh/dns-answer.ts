/**
 * The cluster's DNS answers (pure), as Kubernetes' DNS specification and CoreDNS's kubernetes
 * plugin give them, from the mesh table:
 *
 *   <svc>.<ns>.svc.<domain>            A: the ClusterIP; headless: each ready endpoint's address;
 *                                      ExternalName: a CNAME to the external name (the server
 *                                      chases it upstream)
 *   <ip-with-dashes>.<svc>.<ns>.svc.<domain>, <hostname>.<svc>.<ns>.svc.<domain>   A: that endpoint
 *   _<port>._<proto>.<svc>.<ns>.svc.<domain>   SRV for a named port
 *   <a-b-c-d>.<ns>.pod.<domain>        A: a.b.c.d
 *   <d>.<c>.<b>.<a>.in-addr.arpa       PTR of a ClusterIP
 *
 * Any other name inside the domain does not exist (NXDOMAIN, authoritative: a search path that
 * walks through the cluster suffixes gets its "no" at once); AAAA and other types of names that
 * exist answer empty (NOERROR). Everything else is for the upstream resolver. `name`, `name.ns`
 * reach these through the pod's search path (resolv.conf), as in Kubernetes.
 */
import { isIP } from 'node:net';
import * as dns from 'dns-packet';
import type { MeshTable, ServiceInfo } from './table.js';
import { svcKey } from './table.js';

export interface DnsSettings {
  domain: string;
  ttl: number;
}

export type Decision = { kind: 'answer'; packet: dns.Packet; chase?: string } | { kind: 'forward' };

const NXDOMAIN = 3;
const SERVFAIL = 2;

function reply(q: dns.DecodedPacket, answers: dns.Answer[], o: { authoritative: boolean; rcode?: number }): dns.Packet {
  const rd = q.flag_rd ? dns.RECURSION_DESIRED : 0;
  return {
    type: 'response',
    id: q.id ?? 0,
    flags: rd | dns.RECURSION_AVAILABLE | (o.authoritative ? dns.AUTHORITATIVE_ANSWER : 0) | (o.rcode ?? 0),
    questions: q.questions ?? [],
    answers,
  };
}

/** A failure answer for a query (bad upstream, nothing to say). */
export function servfail(q: dns.DecodedPacket): dns.Packet {
  return reply(q, [], { authoritative: false, rcode: SERVFAIL });
}

const a = (name: string, ip: string, ttl: number): dns.Answer => ({ type: 'A', name, ttl, class: 'IN', data: ip });

function endpointName(svc: ServiceInfo, ip: string): string[] {
  const e = svc.endpoints.find((x) => x.address === ip && !x.fqdn);
  return e?.hostname ? [e.hostname, ip.replaceAll('.', '-')] : [ip.replaceAll('.', '-')];
}

/** Ready endpoint addresses of a headless Service (IPv4 ones), in order, unique. */
function headlessAddresses(svc: ServiceInfo): string[] {
  return [...new Set(svc.endpoints.filter((e) => e.ready && !e.fqdn && isIP(e.address) === 4).map((e) => e.address))];
}

function serviceAnswers(svc: ServiceInfo, name: string, type: string, ttl: number): { answers: dns.Answer[]; chase?: string } {
  if (svc.externalName) {
    const answers: dns.Answer[] = [{ type: 'CNAME', name, ttl, class: 'IN', data: svc.externalName }];
    return type === 'A' || type === 'CNAME' || type === 'ANY' ? { answers, ...(type !== 'CNAME' ? { chase: svc.externalName } : {}) } : { answers };
  }
  if (type !== 'A' && type !== 'ANY') return { answers: [] };
  if (svc.headless) return { answers: headlessAddresses(svc).map((ip) => a(name, ip, ttl)) };
  return { answers: svc.clusterIP ? [a(name, svc.clusterIP, ttl)] : [] };
}

function srvAnswers(svc: ServiceInfo, labels: string[], name: string, base: string, ttl: number): dns.Answer[] | undefined {
  const [portLabel, protoLabel] = labels;
  if (!portLabel?.startsWith('_') || !protoLabel?.startsWith('_')) return undefined;
  const port = svc.ports.find((p) => p.name && `_${p.name}` === portLabel && `_${p.protocol.toLowerCase()}` === protoLabel);
  if (!port) return undefined;
  if (!svc.headless) return [{ type: 'SRV', name, ttl, class: 'IN', data: { priority: 0, weight: 100, port: port.port, target: base } }];
  const out: dns.Answer[] = [];
  for (const e of svc.endpoints) {
    const p = e.ports.get(port.name);
    if (!e.ready || !p || e.fqdn) continue;
    out.push({ type: 'SRV', name, ttl, class: 'IN', data: { priority: 0, weight: 100, port: p.port, target: `${endpointName(svc, e.address)[0]}.${base}` } });
  }
  return out;
}

/** What to do with one query. Only the first question is looked at (as every resolver asks one). */
export function decide(q: dns.DecodedPacket, table: MeshTable, s: DnsSettings): Decision {
  const question = q.questions?.[0];
  if (!question) return { kind: 'forward' };
  const name = question.name.replace(/\.$/, '').toLowerCase();
  const type: string = question.type;
  const domain = s.domain.toLowerCase();
  const ttl = s.ttl;
  const nx = (): Decision => ({ kind: 'answer', packet: reply(q, [], { authoritative: true, rcode: NXDOMAIN }) });
  const ok = (answers: dns.Answer[], chase?: string): Decision => ({ kind: 'answer', packet: reply(q, answers, { authoritative: true }), ...(chase ? { chase } : {}) });

  if (name.endsWith('.in-addr.arpa')) {
    const ip = name.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
    const svc = table.byIp.get(ip);
    if (!svc) return { kind: 'forward' };
    return ok(type === 'PTR' || type === 'ANY' ? [{ type: 'PTR', name, ttl, class: 'IN', data: `${svc.name}.${svc.namespace}.svc.${domain}` }] : []);
  }
  if (name !== domain && !name.endsWith(`.${domain}`)) return { kind: 'forward' };
  const rest = name === domain ? [] : name.slice(0, -(domain.length + 1)).split('.');
  // <domain>, svc.<domain>, <ns>.svc.<domain> exist as names
  if (rest.length === 0 || (rest.length === 1 && rest[0] === 'svc') || (rest.length === 2 && rest[1] === 'svc')) return ok([]);
  if (rest.at(-1) === 'pod' && rest.length === 3) {
    const ip = rest[0]!.replaceAll('-', '.');
    if (isIP(ip) !== 4) return nx();
    return ok(type === 'A' || type === 'ANY' ? [a(name, ip, ttl)] : []);
  }
  if (rest.at(-1) !== 'svc' || rest.length < 3) return nx();
  const ns = rest.at(-2)!;
  const svcName = rest.at(-3)!;
  const svc = table.services.get(svcKey(ns, svcName));
  if (!svc) return nx();
  const base = `${svcName}.${ns}.svc.${domain}`;
  const labels = rest.slice(0, -3);
  if (labels.length === 0) {
    const r = serviceAnswers(svc, name, type, ttl);
    return ok(r.answers, r.chase);
  }
  if (type === 'SRV' || labels[0]?.startsWith('_')) {
    const srv = labels.length === 2 ? srvAnswers(svc, labels, name, base, ttl) : undefined;
    return srv === undefined ? nx() : ok(type === 'SRV' || type === 'ANY' ? srv : []);
  }
  if (labels.length === 1 && svc.headless) {
    const e = svc.endpoints.find((x) => !x.fqdn && endpointName(svc, x.address).includes(labels[0]!));
    if (!e) return nx();
    return ok(type === 'A' || type === 'ANY' ? [a(name, e.address, ttl)] : []);
  }
  return nx();
}
