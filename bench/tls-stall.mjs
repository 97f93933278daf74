// SPDX-License-Identifier: ISC
// bench/tls-stall.mjs: does signing TLS handshakes stall chat delivery?
//
// One hub, a plain port and a --tls port (RSA-2048 or ECDSA P-256 test
// certificate, made with openssl).  A client on the plain port sends
// itself a message every 5 ms and times each round trip through the hub,
// first for SECONDS with nothing else going on, then for SECONDS while
// CONC `openssl s_time -new` loops make full TLS handshakes on the TLS
// port (each one signed by the hub).  Prints the round trip's p50, p95,
// p99 and max for both phases, the handshakes made, and the load average;
// then the PSS of 20 idle TLS handlers (XMLSocket over TLS, logged in).
//
//   node bench/tls-stall.mjs [rsa|ec] [SECONDS=10] [CONC=4]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard } from '../tests/integration/lib/harness.mjs';
import { XmlSocket } from '../tests/integration/lib/clients.mjs';
import { childrenPss } from './pss.mjs';

const kind = process.argv[2] || 'rsa';
const secs = Number(process.argv[3] || 10);
const conc = Number(process.argv[4] || 4);
const dir = mkdtempSync(path.join(tmpdir(), 'sb-tls-stall-'));
const f = (n) => path.join(dir, n);
const ossl = (...a) => execFileSync('openssl', a, { stdio: ['ignore', 'pipe', 'pipe'] });
writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1\n');
ossl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('ca.key'));
ossl('req', '-x509', '-new', '-key', f('ca.key'), '-subj', '/CN=ca', '-days', '2', '-out', f('ca.pem'));
if (kind === 'rsa') ossl('genrsa', '-out', f('leaf.key'), '2048');
else ossl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('leaf.key'));
ossl('req', '-new', '-key', f('leaf.key'), '-subj', '/CN=127.0.0.1', '-out', f('leaf.csr'));
ossl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
  '-days', '2', '-extfile', f('ext'), '-out', f('leaf.pem'));

const sb = await startSwitchboard({ tls: true, config: { tls_cert: f('leaf.pem'), tls_key: f('leaf.key'), flood_rate: 100000, flood_burst: 100000 } });
const c = new XmlSocket(sb.host, sb.port);
await c.ready;
c.send('IDENTIFY timer');
await c.next(/^<identify /);

async function phase(ms) {
  const rtts = [];
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end; i++) {
    const t0 = process.hrtime.bigint();
    c.send(`MSG timer t${i}`);
    await c.next(new RegExp(`msg="t${i}"`));
    rtts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await new Promise((r) => setTimeout(r, 5));
  }
  rtts.sort((a, b) => a - b);
  const q = (p) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))].toFixed(2);
  return `n=${rtts.length} p50=${q(0.5)} p95=${q(0.95)} p99=${q(0.99)} max=${rtts[rtts.length - 1].toFixed(2)} ms`;
}

console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`${kind}: round trip, quiet:         ${await phase(secs * 1000)}`);
const loops = [];
for (let i = 0; i < conc; i++) {
  const p = spawn('openssl', ['s_time', '-connect', `127.0.0.1:${sb.tlsPort}`, '-new', '-time', String(secs),
    '-CAfile', f('ca.pem'), '-verify', '1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  loops.push(new Promise((r) => p.on('exit', () => r(out))));
}
const during = await phase(secs * 1000);
const outs = await Promise.all(loops);
const hs = outs.map((o) => Number(/(\d+) connections in [\d.]+s/.exec(o)?.[1] ?? 0)).reduce((a, b) => a + b, 0);
console.log(`${kind}: round trip, ${conc} handshake loops: ${during}; ${hs} handshakes (${(hs / secs).toFixed(0)}/s)`);
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('refused or failed handshakes (protocol_error events):', sb.events({ EVENT: 'protocol_error' }).length, [...new Set(sb.events({ EVENT: 'protocol_error' }).map((e) => e.REASON))].slice(0, 3).join('; '));

// Memory per idle TLS connection: IDLE XMLSocket-over-TLS clients, logged
// in, then quiet past the handler's idle trim; PSS of each handler.
const idle = [];
for (let i = 0; i < 20; i++) {
  const x = new XmlSocket(sb.host, sb.tlsPort, { tls: { ca: readFileSync(f('ca.pem')) } });
  await x.ready;
  x.send(`IDENTIFY idle${i}`);
  await x.next(/^<identify /);
  idle.push(x);
}
await new Promise((r) => setTimeout(r, 1500));
const m = childrenPss(sb.tlsListenerPid);
console.log(`idle TLS handlers: ${m.n}; PSS median ${m.pss} KiB, of it anonymous ${m.anon} KiB`);
for (const x of idle) x.close();
c.close();
await sb.stop();
rmSync(dir, { recursive: true, force: true });
