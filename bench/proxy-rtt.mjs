// SPDX-License-Identifier: ISC
// bench/proxy-rtt.mjs: the proxied relay round trip of issue 19, HAProxy
// in front of Switchboard against HAProxy in front of websocketd.
//
// One HAProxy (Debian's, started here on loopback, stopped by its PID)
// with two TCP frontends, configured as tests/integration/proxy.test.mjs
// configures it:
//   * one to Switchboard's proxied socket (handlers run --proxy) with
//     send-proxy-v2: a private message relayed client A -> HAProxy ->
//     handler -> hub -> handler -> HAProxy -> client B and back (wsload rtt,
//     the chat dialect, one round trip in flight), the `rtt` figure of
//     `make bench` through the proxy;
//   * one to websocketd running bench/echo per connection (the program of
//     the `rtt` figure's websocketd line): an echo through HAProxy.
// Beside them, with no proxy: Switchboard's relay on its public port and
// websocketd's echo.  The four take turns, ROUNDS times, each round
// starting with the next one; ROUNDS_N round trips each.  Prints each
// turn's p50/p99, the medians of the p99s and the ratios: proxied relay /
// HAProxy+websocketd echo (issue 19 asks for the two side by side), and
// proxied / direct relay (what the proxy adds).
//
//   node bench/proxy-rtt.mjs [ROUNDS_N=2000] [ROUNDS=3]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard, freePort } from '../tests/integration/lib/harness.mjs';

const n = Number(process.argv[2] || 2000);
const rounds = Number(process.argv[3] || 3);
const HAPROXY = '/usr/sbin/haproxy';
const BB = path.join(import.meta.dirname, '..', 'build', 'bench');
const WSLOAD = path.join(BB, 'wsload');
for (const [p, why] of [[HAPROXY, 'haproxy (make deps-test)'], ['/usr/bin/websocketd', 'websocketd (make bench-deps)'],
  [WSLOAD, 'build/bench/wsload (make bench-tools)'], [path.join(BB, 'listen-exec'), 'build/bench/listen-exec (make bench-tools)'], [path.join(BB, 'echo'), 'build/bench/echo (make bench-tools)']]) {
  if (!existsSync(p)) {
    console.log(`proxied relay: skipped, no ${why}`);
    process.exit(0);
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'sb-proxy-rtt-'));
// The listening sockets as switchboard.socket and switchboard-proxied.socket
// open them (NoDelay=yes), by bench/listen-exec.c as bench/run.sh does:
// without TCP_NODELAY a relayed line waits for the delayed ACK (~40 ms).
const sb = await startSwitchboard({
  proxied: true,
  listenExec: path.join(BB, 'listen-exec'),
  // As bench/lib.sh configures `make bench`'s hub: no flood limits.
  config: { proxy_from: '127.0.0.1', max_per_address: 20000, flood_rate: 100000, flood_burst: 100000, idle_timeout: 3600 },
});
const wport = await freePort();
const wsd = spawn('websocketd', ['--address=127.0.0.1', `--port=${wport}`, '--loglevel=fatal',
  path.join(BB, 'echo')], { stdio: 'ignore' });
const hsb = await freePort();
const hwsd = await freePort();
writeFileSync(path.join(dir, 'haproxy.cfg'), `
global
  maxconn 2000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend switchboard
  bind 127.0.0.1:${hsb}
  default_backend switchboard
frontend websocketd
  bind 127.0.0.1:${hwsd}
  default_backend websocketd
backend switchboard
  server proxied 127.0.0.1:${sb.proxiedPort} send-proxy-v2
backend websocketd
  server echo 127.0.0.1:${wport}
`);
const haproxy = spawn(HAPROXY, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { cwd: dir, stdio: 'ignore' });

// A port is up when a connection to it succeeds (at most 5 s).
async function up(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}
await Promise.all([up(wport), up(hsb), up(hwsd)]);

// One wsload rtt run, at most 120 s; its p50 and p99 in microseconds.
function rtt(args) {
  const r = spawnSync('timeout', ['-s', 'INT', '120', WSLOAD, 'rtt', ...args, '-n', String(n)],
    { encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT')) || '';
  const get = (k) => Number(new RegExp(` ${k}=([0-9.]+)`).exec(line)?.[1] ?? NaN);
  return { p50: get('rtt_p50_us'), p99: get('rtt_p99_us'), failed: get('failed'), rounds: get('rounds') };
}

const runs = [
  ['relay, HAProxy -> proxied socket', ['-p', String(hsb)]],
  ['echo, HAProxy -> websocketd', ['-p', String(hwsd), '--proto', 'echo', '--path', '/']],
  ['relay, direct', ['-p', String(sb.port)]],
  ['echo, websocketd direct', ['-p', String(wport), '--proto', 'echo', '--path', '/']],
];
const p99 = Object.fromEntries(runs.map(([k]) => [k, []]));
console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < runs.length; k++) {
    const [name, args] = runs[(r + k) % runs.length];
    const x = rtt(args);
    p99[name].push(x.p99);
    console.log(`round ${r + 1}: ${name}: ${x.rounds} round trips, ${x.failed} failed, p50 ${x.p50} us, p99 ${x.p99} us`);
  }
}
const med = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
const m = Object.fromEntries(Object.entries(p99).map(([k, v]) => [k, med(v)]));
console.log(`median p99: ${Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(0)} us`).join('; ')}`);
const [prox, hwe, dir0] = [m['relay, HAProxy -> proxied socket'], m['echo, HAProxy -> websocketd'], m['relay, direct']];
console.log(`ratio proxied relay / HAProxy+websocketd echo ${(prox / hwe).toFixed(2)}x, proxied / direct relay ${(prox / dir0).toFixed(2)}x`);
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const p of [haproxy, wsd]) if (p.exitCode === null) p.kill('SIGTERM');
await sb.stop();
rmSync(dir, { recursive: true, force: true });
