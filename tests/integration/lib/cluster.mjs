// SPDX-License-Identifier: ISC
// Several machines, one chat (issue 20), for real: network namespaces this
// harness creates and removes itself.
//
//   redis namespace  (redis-server, Debian's, on 10.200.i.1:6379 for machine i)
//        | veth "m<i>" <-> veth "redis"        the machine's link to Redis
//   machine i namespace: a hub and systemd-socket-activate spawning handlers
//        on <addr i>:8080 (startSwitchboard() of lib/harness.mjs with netns)
//        | veth "c<i>" <-> root-side veth      so that this process's
//   the root namespace: the test's clients       clients reach the machine
//
//   const cl = await startCluster();              // 3 machines, Redis up
//   const a = await jsonLogin(cl.machines[0].sb, 'alice');
//   await cl.cut(1); await cl.heal(1);            // partition machine 1
//   await cl.machines[0].sb.stopHub('SIGKILL'); await cl.machines[0].sb.startHub();
//   await cl.stopRedis('SIGKILL'); await cl.startRedis();
//   await cl.stop();                              // everything goes, by PID
//
// Everything is removed at the end, even when a test fails: stop() ends
// the programs by their PIDs, deletes the root-side veths and the
// namespaces; a process 'exit' hook does the same if stop() was never
// reached, and startCluster() first removes what a killed run of an
// earlier process (its PID in the names, no longer alive) left behind.
// Needs root, `ip` (iproute2), redis-server and systemd-socket-activate:
// clusterSkip() says which is missing.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSwitchboard, binariesBuilt, waitOutput } from './harness.mjs';
import { have } from './programs.mjs';
import { ctlOk } from './ctl.mjs';
import { docAclUser } from './redis.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const REDIS = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
const PREFIX = 'sbc';
const PORT = 8080;
let runs = 0;

// Why the cluster tests cannot run here, or false.
export function clusterSkip() {
  if (!binariesBuilt()) return 'binaries not built';
  if (process.getuid() !== 0) return 'needs root (network namespaces)';
  if (!have('ip')) return 'needs ip (iproute2)';
  if (!have(REDIS) || !have(REDIS_CLI)) return 'needs redis-server and redis-cli (make deps-test)';
  if (!have('systemd-socket-activate')) return 'needs systemd-socket-activate';
  const probe = `${PREFIX}${process.pid}-probe`;
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return 'ip netns add fails here';
  spawnSync('ip', ['netns', 'del', probe]);
  return false;
}

function ip(...args) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };

// Namespaces and root-side links of runs whose process is gone.
function removeLeftovers() {
  const mine = new RegExp(`^${PREFIX}(\\d+)[-x]`);
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0];
    const m = mine.exec(name);
    if (m && !alive(Number(m[1]))) spawnSync('ip', ['netns', 'del', name]);
  }
  for (const line of ip('-o', 'link', 'show').split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    const m = name && mine.exec(name);
    if (m && !alive(Number(m[1]))) spawnSync('ip', ['link', 'del', name]);
  }
}

// A /24 of 10.64.0.0/10 that no address or route of the root namespace
// uses yet, for the root ends of the client links.
function freeSubnet() {
  const used = ip('-4', '-o', 'addr', 'show') + ip('-4', 'route', 'show', 'table', 'all');
  for (let i = 0; i < 200; i++) {
    const net = `10.${64 + Math.floor(Math.random() * 64)}.${Math.floor(Math.random() * 256)}`;
    if (!used.includes(`${net}.`)) return net;
  }
  throw new Error('no free 10.64.0.0/10 subnet for the client links');
}

// redis.conf: reachable on every machine's link, and for this harness on
// a Unix socket (admin); users by ACL, as docs/cluster.md's security
// section asks; AOF on or off.
function redisConf(dir, appendonly, pass) {
  return [
    'port 6379', 'bind 0.0.0.0', 'protected-mode no', `dir ${dir}`,
    `unixsocket ${dir}/redis.sock`, 'unixsocketperm 700',
    'save ""', `appendonly ${appendonly ? 'yes' : 'no'}`, 'appendfsync always',
    'daemonize no', 'logfile ""', 'loglevel notice',
    // Off, so that nobody logs in as it, but with every permission: Redis
    // 7.0 replays an AOF's MULTI/EXEC (the effects of every script) as
    // the default user and checks its permissions at EXEC, so a default
    // user without them silently drops those writes when the AOF is
    // loaded (redis/redis#14541, fixed after Debian 12's 7.0.15).
    'user default off ~* &* +@all',
    docAclUser(pass.hub),
    `user admin on >${pass.admin} ~* &* +@all`,
  ].join('\n') + '\n';
}

/*
 * Start Redis and `machines` machines (3). opts.appendonly: Redis's AOF
 * (default off); opts.config: more switchboard.conf keys for every hub;
 * opts.slowLink { machine, ms }: that machine's commands reach Redis ms
 * late (lib/slowlink.mjs);
 * opts.listenExec: lib/harness.mjs's (TCP_NODELAY, for the benchmarks);
 * opts.cluster false: hubs without cluster keys (the harness's own check,
 * and the single-hub baseline of the benchmarks). Resolves with
 * { machines: [{ name, ns, sb, addr }], redis..., cut(), heal(), stop() }.
 */
export async function startCluster(opts = {}) {
  removeLeftovers();
  const n = opts.machines ?? 3;
  const id = `${PREFIX}${process.pid}x${runs++}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-cluster-'));
  const pass = { hub: `hub-${process.pid}-${Date.now()}`, admin: `admin-${process.pid}-${Date.now()}` };
  const made = { ns: [], links: [], pids: new Set() };
  const cl = { id, dir, machines: [], made, appendonly: !!opts.appendonly };
  const sweep = () => cleanupSync(cl);
  // A signal ends the process without 'exit' unless it is handled.
  const bySignal = (sig) => { sweep(); process.exit(128 + (sig === 'SIGINT' ? 2 : 15)); };
  process.once('exit', sweep);
  process.once('SIGTERM', bySignal);
  process.once('SIGINT', bySignal);
  cl.unhook = () => { process.off('exit', sweep); process.off('SIGTERM', bySignal); process.off('SIGINT', bySignal); };
  try {
    await build(cl, n, pass, opts);
  } catch (e) {
    await stopCluster(cl).catch(() => {});
    throw e;
  }
  return cl;
}

async function build(cl, n, pass, opts) {
  const { id, dir, made } = cl;
  const rns = `${id}-r`;
  ip('netns', 'add', rns); made.ns.push(rns);
  ip('-n', rns, 'link', 'set', 'lo', 'up');
  const net = freeSubnet();
  for (let i = 0; i < n; i++) {
    const ns = `${id}-m${i}`;
    ip('netns', 'add', ns); made.ns.push(ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // The machine's link to Redis: 10.200.i.2 here, 10.200.i.1 there.
    ip('link', 'add', 'redis', 'netns', ns, 'type', 'veth', 'peer', 'name', `m${i}`, 'netns', rns);
    ip('-n', ns, 'addr', 'add', `10.200.${i}.2/24`, 'dev', 'redis');
    ip('-n', rns, 'addr', 'add', `10.200.${i}.1/24`, 'dev', `m${i}`);
    ip('-n', ns, 'link', 'set', 'redis', 'up');
    ip('-n', rns, 'link', 'set', `m${i}`, 'up');
    // The clients' link from the root namespace.
    const outer = `${id}c${i}`;
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', 'clients', 'netns', ns);
    made.links.push(outer);
    ip('addr', 'add', `${net}.${4 * i + 1}/30`, 'dev', outer);
    ip('-n', ns, 'addr', 'add', `${net}.${4 * i + 2}/30`, 'dev', 'clients');
    ip('link', 'set', outer, 'up');
    ip('-n', ns, 'link', 'set', 'clients', 'up');
    cl.machines.push({ name: `m${i}`, ns, addr: `${net}.${4 * i + 2}`, redisAddr: `10.200.${i}.1` });
  }
  writeFileSync(path.join(dir, 'redis.conf'), redisConf(dir, cl.appendonly, pass));
  writeFileSync(path.join(dir, 'redis.pass'), `switchboard ${pass.hub}\n`, { mode: 0o600 });
  cl.redisNs = rns;
  cl.adminPass = pass.admin;
  Object.assign(cl, api(cl));
  await cl.startRedis();
  const slow = opts.slowLink;
  if (slow) await startSlowLink(cl, cl.machines[slow.machine], slow.ms);
  for (const m of cl.machines) {
    const cluster = opts.cluster === false ? {} : {
      cluster_redis: `${m.redisAddr}:${m.redisPort ?? 6379}`,
      cluster_password: path.join(dir, 'redis.pass'),
      cluster_node: m.name,
    };
    m.sb = await startSwitchboard({
      netns: m.ns, host: m.addr, port: PORT, listenExec: opts.listenExec,
      config: { ...cluster, ...(opts.config || {}) },
    });
    made.pids.add(m.sb.hubPid);
    made.pids.add(m.sb.saPid);
  }
  // The hubs' own word that they reached Redis (docs/cluster.md's event
  // `cluster`, REASON=connected), before any client comes.
  if (opts.cluster !== false) {
    for (const m of cl.machines) await m.sb.waitForEvent({ EVENT: 'cluster', REASON: 'connected' }, 15000);
  }
}

// Machine m's way to Redis through lib/slowlink.mjs: what it sends
// reaches Redis `ms` late (port 6380 on its link, in Redis's namespace).
async function startSlowLink(cl, m, ms) {
  const p = spawn('ip', ['netns', 'exec', cl.redisNs, process.execPath,
    path.join(root, 'tests/integration/lib/slowlink.mjs'), m.redisAddr, '6380', m.redisAddr, '6379', String(ms)],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  cl.made.pids.add(p.pid);
  await waitOutput(p, 'stdout', /listening/, 'slowlink.mjs');
  m.redisPort = 6380;
}

// The faults and the looks into Redis, bound to one cluster.
function api(cl) {
  // redis-cli as the admin user; opts.input: the last argument, from
  // stdin (-x), for values too long for a command line.
  const redisCliX = (args, input) => {
    const r = spawnSync(REDIS_CLI, ['-s', path.join(cl.dir, 'redis.sock'), '--user', 'admin', '--no-auth-warning',
      ...(input !== undefined ? ['-x'] : []), ...args],
      { encoding: 'utf8', input, maxBuffer: 64 << 20, env: { ...process.env, REDISCLI_AUTH: cl.adminPass } });
    if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const redisCli = (...args) => redisCliX(args);
  return {
    redisCli,
    redisCliX,
    // Start redis-server in its namespace; resolves when it accepts.
    async startRedis() {
      const p = spawn('ip', ['netns', 'exec', cl.redisNs, REDIS, path.join(cl.dir, 'redis.conf')],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      cl.made.pids.add(p.pid);
      cl.redis = p;
      cl.redisLog = '';
      p.stdout.setEncoding('utf8').on('data', (d) => { cl.redisLog += d; });
      await waitOutput(p, 'stdout', /Ready to accept connections/, 'redis-server');
      cl.redisRunId = /run_id:(\w+)/.exec(redisCli('INFO', 'server'))[1];
    },
    // Stop it: SIGKILL a crash (with AOF and appendfsync always nothing
    // is lost), SIGTERM a clean stop.
    async stopRedis(signal = 'SIGKILL') {
      const p = cl.redis;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill(signal);
      await gone;
      cl.made.pids.delete(p.pid);
    },
    // Every key of a type (SCAN ... TYPE; redis-cli 7.0 has no --type).
    redisKeys(type) {
      const keys = [];
      let cursor = '0';
      for (let i = 0; i < 10000; i++) {
        const [next, ...got] = redisCli('SCAN', cursor, 'TYPE', type, 'COUNT', '1000').split('\n').filter(Boolean);
        keys.push(...got);
        cursor = next;
        if (cursor === '0') break;
      }
      return keys;
    },
    // One INFO section as an object.
    redisInfo(section) {
      const o = {};
      for (const l of redisCli('INFO', section).split(/\r?\n/)) {
        const i = l.indexOf(':');
        if (i > 0 && !l.startsWith('#')) o[l.slice(0, i)] = l.slice(i + 1);
      }
      return o;
    },
    // Cut machine i off from Redis (its link down at both ends; the hub
    // and its clients stay) and heal it.
    cut(i) {
      const m = cl.machines[i];
      ip('-n', m.ns, 'link', 'set', 'redis', 'down');
      ip('-n', cl.redisNs, 'link', 'set', m.name, 'down');
    },
    heal(i) {
      const m = cl.machines[i];
      ip('-n', m.ns, 'link', 'set', 'redis', 'up');
      ip('-n', cl.redisNs, 'link', 'set', m.name, 'up');
    },
    // switchboardctl --json VERB on machine i.
    async ctlJson(i, verb) {
      return JSON.parse(await ctlOk(['-S', cl.machines[i].sb.controlSocket, '--json', verb]));
    },
    stop: () => stopCluster(cl),
  };
}

// The PIDs of a process's children (the activator's handlers).
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch { return []; }
}

// Stop every hub and activator (lib/harness.mjs's stop(), by PID, which
// also fails on a sanitizer report), Redis, then the links and namespaces.
async function stopCluster(cl) {
  const errors = [];
  for (const m of cl.machines) {
    if (!m.sb) continue;
    const handlers = childrenOf(m.sb.saPid);
    try { await m.sb.stop(); } catch (e) { errors.push(`${m.name}: ${e.message}`); }
    cl.made.pids.delete(m.sb.hubPid);
    cl.made.pids.delete(m.sb.saPid);
    // Handlers whose client is still there would wait a minute for a hub.
    for (const pid of handlers) cl.made.pids.add(pid);
  }
  if (cl.stopRedis) await cl.stopRedis('SIGTERM');
  cleanupSync(cl);
  cl.unhook?.();
  if (errors.length) throw new Error(errors.join('\n'));
}

// What must go even if the process is exiting: every PID still recorded,
// the root-side links, the namespaces, the directory.
function cleanupSync(cl) {
  for (const m of cl.machines) {
    if (!m.sb) continue;
    for (const pid of [m.sb.hubPid, m.sb.saPid, ...childrenOf(m.sb.saPid)]) cl.made.pids.add(pid);
  }
  for (const pid of cl.made.pids) if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  cl.made.pids.clear();
  for (const l of cl.made.links) spawnSync('ip', ['link', 'del', l]);
  cl.made.links = [];
  for (const ns of cl.made.ns) spawnSync('ip', ['netns', 'del', ns]);
  cl.made.ns = [];
  if (existsSync(cl.dir)) rmSync(cl.dir, { recursive: true, force: true });
}
