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
// it).  The floor takes its turn too (issue 19: "a fresh process's TLS
// handshake with the chosen library and nothing else"): bench/tls-srv-
// gnutls.c, static on musl with the handler's own GnuTLS build
// (build/bench/tls-floor), spawned per connection by systemd-socket-
// activate -a --inetd as the handler is, holding no key: its one
// signature comes from bench/tls-signer.c over a Unix socket, as the
// handler's comes from the hub.  It answers the request with the same
// bytes and closes; no session, no hub, no HTTP parser.  Prints
// connections per second per turn, the medians and the ratios
// (Switchboard / websocketd, the target; Switchboard / floor;
// websocketd / Switchboard), Switchboard's and the floor's CPU per
// connection (the handlers', as reaped by the listener, and the hub's or
// the signer's), and the load average.
//
//   node bench/tls-churn.mjs [SECONDS=5] [CONC=8] [ROUNDS=3]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard, freePort } from '../tests/integration/lib/harness.mjs';
import { makeCerts } from '../tests/integration/lib/certs.mjs';
import { childrenPss } from './pss.mjs';
import { startFloor } from './tls-floor.mjs';

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

// The floor (bench/tls-floor.mjs), answering with the same bytes.
const floor = await startFloor({ dir, f, body: path.join(dir, 'static', 'crossdomain.xml'), secs: secs * rounds * 3 + 120 });
const fport = floor.port;

// CPU seconds: a process's own (utime+stime), and its reaped children's
// (cutime+cstime: systemd-socket-activate's are the handlers).
function cpu(pid) {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = st.slice(st.lastIndexOf(')') + 2).split(' ').map(Number);
  const hz = 100;
  return { own: (x[11] + x[12]) / hz, children: (x[13] + x[14]) / hz };
}
const acct = {
  [sb.tlsPort]: { name: 'switchboard', listener: sb.tlsListenerPid, helper: sb.hubPid, conns: 0, kids: 0, own: 0 },
  [fport]: { name: 'floor', listener: floor.pid, helper: floor.signerPid, conns: 0, kids: 0, own: 0 },
};

async function turn(port) {
  const loops = [];
  for (let i = 0; i < conc; i++) {
    const p = spawn('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, '-new', '-www', '/crossdomain.xml',
      '-time', String(secs)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    loops.push(new Promise((r) => p.on('exit', () => r(out))));
  }
  const a = acct[port];
  const before = a ? [cpu(a.listener), cpu(a.helper)] : null;
  const outs = await Promise.all(loops);
  const n = outs.map((o) => Number(/(\d+) connections in \d+ real seconds/.exec(o)?.[1] ?? 0))
    .reduce((a, b) => a + b, 0);
  if (before) {
    await new Promise((r) => setTimeout(r, 300));	// the last handlers reaped
    a.conns += n;
    a.kids += cpu(a.listener).children - before[0].children;
    a.own += cpu(a.helper).own - before[1].own;
  }
  return n / secs;
}

console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
// The three take turns, each round starting with the next one.
const servers = [['switchboard', sb.tlsPort], ['websocketd --ssl', wport], ['floor', fport]];
const rate = { switchboard: [], 'websocketd --ssl': [], floor: [] };
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < servers.length; k++) {
    const [name, port] = servers[(r + k) % servers.length];
    rate[name].push(await turn(port));
  }
  console.log(`round ${r + 1}: ${servers.map(([n]) => `${n} ${rate[n].at(-1).toFixed(0)}/s`).join(', ')}`);
}
const med = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
const [ms, mw, mf] = [rate.switchboard, rate['websocketd --ssl'], rate.floor].map(med);
console.log(`median: switchboard ${ms.toFixed(0)}/s, websocketd --ssl ${mw.toFixed(0)}/s, floor ${mf.toFixed(0)}/s`);
console.log(`ratio switchboard/websocketd ${(ms / mw).toFixed(2)}x (target >= 1.0), switchboard/floor ${(ms / mf).toFixed(2)}x, websocketd/switchboard ${(mw / ms).toFixed(2)}x, floor/websocketd ${(mf / mw).toFixed(2)}x`);
for (const a of Object.values(acct)) {
  console.log(`${a.name} CPU per connection: handler ${(1000 * a.kids / a.conns).toFixed(2)} ms, ${a.name === 'floor' ? 'signer' : 'hub'} ${(1000 * a.own / a.conns).toFixed(2)} ms (${a.conns} connections)`);
}
console.log(`refused or failed handshakes at Switchboard: ${sb.events({ EVENT: 'protocol_error' }).length}`);
console.log(`failed handshakes at the floor: ${floor.failures()}`);

// The memory floor: 20 idle TLS sessions at the floor (handshake done,
// the request not sent, so each process waits in gnutls_record_recv()),
// the PSS of each process, as bench/tls-stall.mjs measures the handlers'.
const idle = [];
for (let i = 0; i < 20; i++) {
  idle.push(await new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: fport, rejectUnauthorized: false }, () => resolve(s));
    s.on('error', reject);
  }));
}
await new Promise((r) => setTimeout(r, 1500));
const m = childrenPss(floor.pid);
console.log(`idle TLS sessions at the floor: ${m.n}; PSS median ${m.pss} KiB, of it anonymous ${m.anon} KiB`);
for (const s of idle) s.destroy();
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
floor.stop();
wsd.kill('SIGTERM');
await sb.stop();
rmSync(dir, { recursive: true, force: true });
