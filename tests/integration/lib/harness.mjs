// SPDX-License-Identifier: ISC
// Starts the real programs for an integration test: switchboard-hub on a
// Unix socket in a temporary directory, and switchboard-handler spawned per
// connection by `systemd-socket-activate -a --inetd` on 127.0.0.1.
//
//   const sb = await startSwitchboard({ config: { ws_echo: 'yes' } });
//   ... connect to sb.host:sb.port ...
//   await sb.waitForEvent({ EVENT: 'login', NICK: 'alice' });
//   await sb.stop();   // throws if a sanitizer reported anything
//
// With SB_ASAN=1 (make check sets it) the AddressSanitizer/UBSan builds in
// build/asan/ run instead of the release builds.
//
// opts.netns runs the hub and the activator inside that network namespace
// (`ip netns exec`, which execs, so each PID is the program's own) and
// opts.host is then the address the activator listens on, opts.port its
// port (lib/cluster.mjs builds three such machines). opts.listenExec, the
// path of build/bench/listen-exec, opens the listening socket with
// TCP_NODELAY as switchboard.socket does, for the benchmarks.

import { ctlOk } from './ctl.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const asan = process.env.SB_ASAN === '1';
const bindir = path.join(root, 'build', asan ? 'asan' : '');
export const HUB = path.join(bindir, 'switchboard-hub');
export const HANDLER = path.join(bindir, 'switchboard-handler');
export { CTL } from './ctl.mjs';
// SB_HANDLER_WRAP: a command (words split on spaces) that the activator
// runs instead of the handler, with the handler and its options after it:
// tests/run-checks.sh runs every handler under the units' system call
// allow-list this way (build/syscall-allow, docs/hacking.md).
// opts.wrap (an array) is used instead of it, and opts.handler instead
// of the handler built in build/ (glibc-build.test.mjs).
const WRAP = (process.env.SB_HANDLER_WRAP || '').split(' ').filter(Boolean);
const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/;

// The hubs and listeners started here that still run: SIGKILLed when this
// process exits, or is told to by a signal (the test runner's timeout,
// Ctrl-C), so a test that ends without stop() (an assertion failed
// before it) leaves nothing running (harness.test.mjs).
const running = new Set();
const killRunning = () => { for (const p of running) p.kill('SIGKILL'); };
process.once('exit', killRunning);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.once(sig, () => {
    killRunning();
    // then as if nobody had listened: the signal's own end
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  });
}
function track(proc) {
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  return proc;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Resolve when `re` matches the accumulated output of `stream`.
export function waitOutput(child, stream, re, what, ms = 10000) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no ${re} within ${ms} ms; output: ${seen}`));
    }, ms);
    const onData = (d) => {
      seen += d;
      if (re.test(seen)) { cleanup(); resolve(seen); }
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`${what} exited (${code}) before ${re}: ${seen}`));
    };
    function cleanup() {
      clearTimeout(timer);
      child[stream].off('data', onData);
      child.off('exit', onExit);
    }
    child[stream].on('data', onData);
    child.on('exit', onExit);
  });
}

// Parse the hub's stderr event lines (docs/protocol.md, "Logs"):
//   switchboard-hub: EVENT=login NICK=alice SESSION=2 MESSAGE="alice identified"
// Each value is a plain word or quoted, with \" \\ \n \t \r and \ooo
// escapes. Returns the fields, decoded, or null if the line is anything
// else: bad syntax, a key twice, or EVENT not first (common/log.c's
// sb_log_parse() is the same parser in C).
export function parseEvent(line) {
  const m = /^switchboard-hub: (EVENT=.*)$/.exec(line);
  if (!m) return null;
  const s = m[1];
  const field = /([A-Z_]+)=(?:"((?:[^"\\\x00-\x1f\x7f]|\\(?:["\\ntr]|[0-3][0-7]{2}))*)"|([!#-<>-\[\]-~]+))/y;
  const ev = {};
  let i = 0;
  while (i < s.length) {
    if (i > 0 && s[i++] !== ' ') return null;
    field.lastIndex = i;
    const f = field.exec(s);
    if (!f || Object.hasOwn(ev, f[1])) return null;
    ev[f[1]] = f[3] ?? f[2].replace(/\\(?:([0-3][0-7]{2})|(.))/g, (_, oct, c) =>
      oct ? String.fromCharCode(parseInt(oct, 8)) : { n: '\n', t: '\t', r: '\r' }[c] ?? c);
    i = field.lastIndex;
  }
  return ev;
}

// The handler processes a systemd-socket-activate (our child: sb.saPid,
// sb.proxiedPid, sb.tlsListenerPid) has running now.
export function handlerPids(saPid) {
  const f = `/proc/${saPid}/task/${saPid}/children`;
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

export async function startSwitchboard(opts = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-test-'));
  const sock = path.join(dir, 'hub.sock');
  const control = path.join(dir, 'control.sock');
  const conf = path.join(dir, 'switchboard.conf');
  const config = {
    handler_user: String(process.getuid()),
    state_dir: dir,
    rooms: 'lobby',
    ...(opts.config || {}),
  };
  writeFileSync(conf, Object.entries(config).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');

  // `ip netns exec NS` execs the program after setns(): the PID is its own.
  const inNs = (cmd, args) => (opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, args]);
  const host = opts.host || '127.0.0.1';
  let hubLog = '';
  let handlerLog = '';
  const events = [];
  const waiters = new Set();
  let hub;

  function startHub() {
    hub = track(spawn(...inNs(HUB, ['-s', sock, '-C', control, '-c', conf]), {
      // opts.hubAsanOptions: more ASAN_OPTIONS for the hub (a test of its
      // memory use shrinks the quarantine of freed blocks, which counts in RSS).
      env: {
        ...process.env, SWITCHBOARD_LOG_STDERR: '1',
        ASAN_OPTIONS: ['detect_leaks=1', opts.hubAsanOptions].filter(Boolean).join(':'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    }));
    let partial = '';
    hub.stderr.setEncoding('utf8');
    hub.stderr.on('data', (d) => {
      hubLog += d;
      partial += d;
      let i;
      while ((i = partial.indexOf('\n')) >= 0) {
        const ev = parseEvent(partial.slice(0, i));
        partial = partial.slice(i + 1);
        if (!ev) continue;
        events.push(ev);
        for (const w of waiters) w();
      }
    });
    return waitOutput(hub, 'stderr', /EVENT=start/, 'switchboard-hub');
  }
  await startHub();

  // One listener: systemd-socket-activate spawning a handler (with
  // `args`) per connection, as switchboard.socket does.
  async function listen(wanted, args) {
    for (let attempt = 0; ; attempt++) {
      const p = wanted || await freePort();
      const sa = ['-a', '--inetd', '-E', `SWITCHBOARD_HUB_SOCKET=${sock}`, '-E', 'ASAN_OPTIONS=detect_leaks=1',
        ...(opts.wrap ?? WRAP), opts.handler || HANDLER, ...args];
      const proc = track(spawn(...(opts.listenExec ? inNs(opts.listenExec, [host, String(p), 'systemd-socket-activate', ...sa])
        : inNs('systemd-socket-activate', ['-l', `${host}:${p}`, ...sa])), {
        stdio: ['ignore', 'ignore', 'pipe'],
      }));
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (d) => { handlerLog += d; });
      try {
        await waitOutput(proc, 'stderr', /Listening on/, 'systemd-socket-activate');
        return { port: p, proc };
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  }
  // opts.handlerArgs: the options of the main port's handlers (none, or
  // what switchboard@.service gives: --syslog --sandbox).
  const { port, proc: sa } = await listen(opts.port, opts.handlerArgs || []);
  // opts.proxied: a second port whose handlers run --proxy, as
  // switchboard-proxied.socket's do (a PROXY header first).
  const proxied = opts.proxied ? await listen(0, ['--proxy']) : null;
  // opts.tls: a port whose handlers run --tls, as switchboard-tls.socket's
  // do (the config must name tls_cert and tls_key).
  const tlsListener = opts.tls ? await listen(0, ['--tls']) : null;

  const matches = (ev, filter) => Object.entries(filter).every(([k, v]) =>
    v instanceof RegExp ? v.test(ev[k] ?? '') : ev[k] === v);

  return {
    host,
    port,
    proxiedPort: proxied?.port,
    tlsPort: tlsListener?.port,
    get tlsListenerPid() { return tlsListener?.proc.pid; },
    get proxiedPid() { return proxied?.proc.pid; },
    dir,
    hubSocket: sock,
    controlSocket: control,
    configPath: conf,
    get hubPid() { return hub.pid; },
    get saPid() { return sa.pid; },
    hubLog: () => hubLog,
    handlerLog: () => handlerLog,
    events: (filter = {}) => events.filter((e) => matches(e, filter)),
    // Resolve with the first event (already logged or to come) matching filter.
    waitForEvent(filter, ms = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = events.find((x) => matches(x, filter));
          if (e) { waiters.delete(check); clearTimeout(t); resolve(e); return true; }
          return false;
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no event ${JSON.stringify(filter)} within ${ms} ms`));
        }, ms);
        if (!check()) waiters.add(check);
      });
    },
    // Stop the hub with `signal` (SIGKILL to simulate a crash) and start a new one.
    async restartHub(signal = 'SIGTERM') {
      const gone = new Promise((r) => hub.once('exit', r));
      hub.kill(signal);
      await gone;
      await startHub();
    },
    // Stop the hub (SIGKILL: a crash that leaves the handlers waiting).
    async stopHub(signal = 'SIGTERM') {
      const gone = new Promise((r) => hub.once('exit', r));
      hub.kill(signal);
      await gone;
    },
    // Start a hub again after stopHub().
    startHub,
    // Send the hub a signal (SIGSTOP, SIGCONT); none once it has exited.
    signalHub(signal) { hub.kill(signal); },
    async stop() {
      const procs = [sa, proxied?.proc, tlsListener?.proc, hub].filter((p) => p).filter((p) => p.exitCode === null && p.signalCode === null);
      await Promise.all(procs.map((p) => new Promise((r) => { p.once('exit', r); p.kill('SIGTERM'); })));
      rmSync(dir, { recursive: true, force: true });
      const bad = [hubLog, handlerLog].find((l) => SANITIZER.test(l));
      if (bad) throw new Error(`sanitizer report:\n${bad}`);
      // Handlers log a skipped or repeated hub sequence number.
      const seq = /sequence \d+ after \d+ \((gap|duplicate)\)/.exec(handlerLog);
      if (seq) throw new Error(`a handler saw a hub ${seq[1]}: ${seq[0]}`);
    },
  };
}

// The pid of the handler of `nick`, from switchboardctl who (slowreader
// and handler-pages tests).
export async function handlerPidOf(sb, nick) {
  const who = JSON.parse(await ctl(['-S', sb.controlSocket, '--json', 'who']));
  const list = Array.isArray(who) ? who : Object.values(who).find(Array.isArray);
  const me = list.find((c) => c.nick === nick);
  if (!(me && me.pid > 0)) throw new Error(`no handler pid for ${nick}: ${JSON.stringify(who)}`);
  return me.pid;
}

export function binariesBuilt() {
  return existsSync(HUB) && existsSync(HANDLER);
}

// Run build/switchboardctl with `input` on its stdin; resolves with its
// stdout, rejects when it fails (lib/ctl.mjs runs it).
export function ctl(args, input = '') {
  return ctlOk(args, { input });
}
