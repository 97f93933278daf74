// SPDX-License-Identifier: ISC
// bench/tls-flood.mjs: chat under a TLS handshake flood (issue 19).
//
// N XMLSocket clients (port 80) in one room; one of them says a line
// every 20 ms (50/s) and each line's delivery to all N is timed (the p95
// over every recipient).  First for SECONDS with nothing else, then for
// SECONDS while a separate process opens RATE TLS connections a second to
// the --tls port (a full handshake, signed by the hub, then the close).
// Then for SECONDS with the same flood aimed at the floor instead
// (bench/tls-floor.mjs: a fresh GnuTLS process per connection and nothing
// else, its signature from bench/tls-signer.c), the broadcast still on
// Switchboard: what RATE fresh TLS processes a second cost the broadcast
// on this machine whatever the server does, so whether a process per
// connection can meet the target here at all.
// Prints the three p50/p95/p99, the handshakes completed, the ratios of
// the p95s (issue 19's target: <= 1.5) and the load average.
//
//   node bench/tls-flood.mjs [N=100] [RATE=200] [SECONDS=10] [ec|rsa]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard } from '../tests/integration/lib/harness.mjs';
import { XmlSocket } from '../tests/integration/lib/clients.mjs';
import { makeCerts } from '../tests/integration/lib/certs.mjs';
import { startFloor } from './tls-floor.mjs';

const N = Number(process.argv[2] || 100);
const rate = Number(process.argv[3] || 200);
const secs = Number(process.argv[4] || 10);
const kind = process.argv[5] || 'ec';
const dir = mkdtempSync(path.join(tmpdir(), 'sb-tls-flood-'));
const f = makeCerts(dir);
const sb = await startSwitchboard({
  tls: true,
  config: { tls_cert: f(`${kind}.pem`), tls_key: f(`${kind}.key`), flood_rate: 100000, flood_burst: 100000, max_clients: 10000 },
});

const clients = [];
for (let i = 0; i < N; i++) {
  const c = new XmlSocket(sb.host, sb.port);
  await c.ready;
  c.send(`IDENTIFY f${i}`);
  await c.next(/^<identify /);
  c.send('JOIN flood');
  await c.next(/^<join /);
  clients.push(c);
}

async function phase(ms) {
  const lat = [];
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end; i++) {
    const tag = `m${Date.now()}x${i}`;
    const t0 = process.hrtime.bigint();
    clients[0].send(`SAY flood ${tag}`);
    await Promise.all(clients.map((c) => c.next(new RegExp(tag)).then(() => {
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    })));
    await new Promise((r) => setTimeout(r, 20));
  }
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99), n: lat.length };
}
const fmt = (r) => `p50=${r.p50.toFixed(2)} p95=${r.p95.toFixed(2)} p99=${r.p99.toFixed(2)} ms (${r.n} deliveries)`;

// The flood: its own process, so that its TLS work is not this one's.
const floodSrc = `
const tls = require('node:tls');
const [port, rate, secs] = process.argv.slice(1).map(Number);
let ok = 0, bad = 0, open = 0;
const end = Date.now() + secs * 1000;
const t = setInterval(() => {
  if (Date.now() >= end) { clearInterval(t); const w = setInterval(() => { if (open === 0) { clearInterval(w); console.log(ok + ' ' + bad); } }, 50); return; }
  for (let i = 0; i < rate / 100; i++) {
    open++;
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => { ok++; s.destroy(); });
    s.on('error', () => { bad++; });
    s.on('close', () => { open--; });
  }
}, 10);
`;

console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const quiet = await phase(secs * 1000);
console.log(`broadcast N=${N}, quiet:            ${fmt(quiet)}`);
// One flooded phase: the broadcast timed while the flood runs at port.
async function flooded(port) {
  const fl = spawn(process.execPath, ['-e', floodSrc, String(port), String(rate), String(secs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  fl.stdout.on('data', (d) => { out += d; });
  const r = await phase(secs * 1000);
  await new Promise((res) => fl.on('exit', res));
  const [ok, bad] = out.trim().split(' ').map(Number);
  return { ...r, hs: `${ok} handshakes done (${(ok / secs).toFixed(0)}/s), ${bad} failed` };
}
const atSb = await flooded(sb.tlsPort);
console.log(`broadcast N=${N}, ${rate}/s TLS handshakes (${kind}) at Switchboard: ${fmt(atSb)}; ${atSb.hs}`);
const floor = await startFloor({ dir, f, secs: secs * 3 + 60 });
const atFloor = await flooded(floor.port);
floor.stop();
console.log(`broadcast N=${N}, ${rate}/s TLS handshakes (ec) at the floor: ${fmt(atFloor)}; ${atFloor.hs}`);
console.log(`p95 ratio flood/quiet: ${(atSb.p95 / quiet.p95).toFixed(2)} (target <= 1.5); floor flood/quiet: ${(atFloor.p95 / quiet.p95).toFixed(2)}`);
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const c of clients) c.close();
await sb.stop();
rmSync(dir, { recursive: true, force: true });
