// SPDX-License-Identifier: ISC
// bench/tls-churn.mjs: TLS connection churn, Switchboard's --tls handler
// against `websocketd --ssl` with the same ECDSA P-256 certificate.
//
// Each connection is a full TLS handshake (no resumption), one small
// request and the close: `openssl s_time -new -www /crossdomain.xml`,
// CONC of them at a time, SECONDS per turn, the two servers taking turns
// ROUNDS times.  Switchboard answers /crossdomain.xml in the handler (a
// process per connection, the hub signing the handshake); websocketd
// serves the same bytes from its --staticdir (one Go process, the key in
// it).  Prints connections per second per turn, the medians and their
// ratio, Switchboard's CPU per connection (the handlers', as reaped by
// the listener, and the hub's), and the load average.
//
//   node bench/tls-churn.mjs [SECONDS=5] [CONC=8] [ROUNDS=3]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard, freePort } from '../tests/integration/lib/harness.mjs';
import { makeCerts } from '../tests/integration/lib/certs.mjs';

const secs = Number(process.argv[2] || 5);
const conc = Number(process.argv[3] || 8);
const rounds = Number(process.argv[4] || 3);
const dir = mkdtempSync(path.join(tmpdir(), 'sb-tls-churn-'));
const f = makeCerts(dir);
const sb = await startSwitchboard({ tls: true, config: { tls_cert: f('ec.pem'), tls_key: f('ec.key') } });

// The same body from websocketd's static directory.
const body = await new Promise((resolve, reject) => {
  https.get({ host: '127.0.0.1', port: sb.tlsPort, path: '/crossdomain.xml', rejectUnauthorized: false }, (res) => {
    let b = '';
    res.on('data', (d) => { b += d; });
    res.on('end', () => resolve(b));
  }).on('error', reject);
});
mkdirSync(path.join(dir, 'static'));
writeFileSync(path.join(dir, 'static', 'crossdomain.xml'), body);
const wport = await freePort();
const wsd = spawn('websocketd', ['--port', String(wport), '--address', '127.0.0.1', '--ssl',
  '--sslcert', f('ec.pem'), '--sslkey', f('ec.key'), '--staticdir', path.join(dir, 'static'),
  '--loglevel', 'error', '/bin/cat'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));

// CPU seconds: a process's own (utime+stime), and its reaped children's
// (cutime+cstime: systemd-socket-activate's are the handlers).
function cpu(pid) {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = st.slice(st.lastIndexOf(')') + 2).split(' ').map(Number);
  const hz = 100;
  return { own: (x[11] + x[12]) / hz, children: (x[13] + x[14]) / hz };
}
let sbConns = 0, handlerCpu = 0, hubCpu = 0;

async function turn(port) {
  const loops = [];
  for (let i = 0; i < conc; i++) {
    const p = spawn('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, '-new', '-www', '/crossdomain.xml',
      '-time', String(secs)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    loops.push(new Promise((r) => p.on('exit', () => r(out))));
  }
  const before = port === sb.tlsPort ? [cpu(sb.tlsListenerPid), cpu(sb.hubPid)] : null;
  const outs = await Promise.all(loops);
  const n = outs.map((o) => Number(/(\d+) connections in \d+ real seconds/.exec(o)?.[1] ?? 0))
    .reduce((a, b) => a + b, 0);
  if (before) {
    await new Promise((r) => setTimeout(r, 300));	// the last handlers reaped
    sbConns += n;
    handlerCpu += cpu(sb.tlsListenerPid).children - before[0].children;
    hubCpu += cpu(sb.hubPid).own - before[1].own;
  }
  return n / secs;
}

console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const sbr = [], wsr = [];
for (let r = 0; r < rounds; r++) {
  const first = r % 2 === 0;
  const a = await turn(first ? sb.tlsPort : wport);
  const b = await turn(first ? wport : sb.tlsPort);
  (first ? sbr : wsr).push(a);
  (first ? wsr : sbr).push(b);
  console.log(`round ${r + 1}: switchboard ${sbr.at(-1).toFixed(0)}/s, websocketd --ssl ${wsr.at(-1).toFixed(0)}/s`);
}
const med = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(`median: switchboard ${med(sbr).toFixed(0)}/s, websocketd --ssl ${med(wsr).toFixed(0)}/s, ratio ${(med(sbr) / med(wsr)).toFixed(2)}x (target >= 1.0)`);
console.log(`Switchboard CPU per connection: handler ${(1000 * handlerCpu / sbConns).toFixed(2)} ms, hub ${(1000 * hubCpu / sbConns).toFixed(2)} ms (${sbConns} connections)`);
console.log(`refused or failed handshakes at Switchboard: ${sb.events({ EVENT: 'protocol_error' }).length}`);
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
wsd.kill('SIGTERM');
await sb.stop();
rmSync(dir, { recursive: true, force: true });
