// SPDX-License-Identifier: ISC
// The cluster figures of issue 20 (make bench BENCH_FIGS=cluster), on the
// namespaces of tests/integration/lib/cluster.mjs: Redis and three
// machines, each client link a veth, against one hub alone behind the same
// kind of veth (a one-machine "cluster" without cluster keys), so that
// both sides pay the same network path.
//
//   xrtt    round trips, one in flight, client r0 on machine A to r1 on B
//           and back (wsload rtt --hosts A,B), against both on one hub
//           (--hosts A): p99 ratio, target <= 2; its floor (xfloor): the
//           hop through Redis each way alone, with the hubs' script
//           (bench/redisfloor.c), added to the one hub's round trip
//   xbcast  one room of N (1,000) spread over the 3 hubs, 50 msg/s,
//           against one hub with all N: p95 ratio, target <= 1.5, 0 lost
//   xcmds   Redis commands per room message (MONITOR: what the hubs call,
//           and what their scripts call, less what an idle cluster sends
//           in the same time): at most one script call, plus the pub/sub
//           delivery to each subscribed hub (PUBSUB NUMSUB)
//   xmem    Redis's used_memory for 10,000 users in 100 rooms (1,000 in
//           10 with BENCH_QUICK=1), each room's history at its default
//           size (50), less Redis's memory with the hubs connected and
//           nobody in
//
// Each figure prints RESULT lines tagged srv=one|three fig=... run=...,
// and SPEED lines (the machine-speed probe of bench/run.sh) before each
// measurement; run.sh appends them to build/bench/results.txt.  Every
// load is bounded by wsload's counts and --timeout and by this script's
// own deadline; every process is ended by its PID (lib/cluster.mjs).
// Needs root, redis-server and the release builds (make all bench-tools).

import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, clusterSkip } from '../tests/integration/lib/cluster.mjs';
import { JsonClient } from '../tests/integration/lib/clients.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const B = path.join(root, 'build', 'bench');
const WSLOAD = path.join(B, 'wsload');
const LISTEN_EXEC = path.join(B, 'listen-exec');
const REDISFLOOR = path.join(B, 'redisfloor');
const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = Number(process.env.BENCH_RUNS || (QUICK ? 1 : 3));
const RTT = QUICK ? 2000 : 5000;
const N = QUICK ? 300 : 1000;
const SECS = QUICK ? 3 : 10;
const CMD_MSGS = 200;
const MEM_USERS = QUICK ? 1000 : 10000;
const MEM_ROOMS = QUICK ? 10 : 100;
const HISTORY = 50;   // switchboard.conf history's default
const CONFIG = {
  max_clients: 20000, max_per_address: 0, flood_rate: 100000,
  flood_burst: 100000, idle_timeout: 3600,
};
const only = (process.env.BENCH_CLUSTER_FIGS || 'xrtt,xbcast,xcmds,xmem').split(',');

const printed = [];
const out = (line) => { printed.push(line); process.stdout.write(`${line}\n`); };
const kv = (line) => Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
const log = (msg) => process.stderr.write(`[cluster ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function speed(run, fig, srv) {
  const r = spawnSync(path.join(B, 'spawncost'), ['200', path.join(B, 'nolibc')], { encoding: 'utf8' });
  const v = / mean_us=([0-9.]+)/.exec(r.stdout || '')?.[1];
  if (v) out(`SPEED run=${run} fig=${fig} srv=${srv} spawn_us=${v}`);
}

// wsload with a tag; resolves with its RESULT lines (also printed).
function wsload(tag, args, ms) {
  return new Promise((resolve, reject) => {
    const p = spawn(WSLOAD, [...args, '--sources', '1', '--timeout', String(ms / 1000), '--tag', ` ${tag}`],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let o = '';
    let e = '';
    const t = setTimeout(() => p.kill('SIGINT'), ms + 30000);
    p.stdout.setEncoding('utf8').on('data', (d) => { o += d; });
    p.stderr.setEncoding('utf8').on('data', (d) => { e += d; });
    p.on('exit', (code) => {
      clearTimeout(t);
      const lines = o.split('\n').filter((l) => /^(RESULT|MEM) /.test(l));
      lines.forEach(out);
      if (code !== 0 && !lines.length) reject(new Error(`wsload ${args[0]} exited ${code}: ${e.slice(-500)}`));
      else resolve(lines);
    });
  });
}

// The background loads still running, ended by PID if this process ends
// before they are stopped.
const loads = new Set();
process.on('exit', () => { for (const p of loads) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

// A background wsload hold of `n` clients in `room`, until stopped (by
// its PID); resolves once its clients are all in.
function hold(hosts, room, n, ms, prefix) {
  const p = spawn(WSLOAD, ['hold', '-p', '8080', '--hosts', hosts, '--room', room, '--steps', String(n), '--nick-prefix', prefix,
    '--linger', String(ms / 1000), '--sources', '1', '--timeout', String(ms / 1000)], { stdio: ['ignore', 'pipe', 'pipe'] });
  loads.add(p);
  p.on('exit', () => loads.delete(p));
  let o = '';
  let e = '';
  p.stderr.setEncoding('utf8').on('data', (d) => { e += d; });
  const up = new Promise((resolve, reject) => {
    p.stdout.setEncoding('utf8').on('data', (d) => { o += d; if (/^RESULT .*mode=hold/m.test(o)) resolve(); });
    p.on('exit', (code) => reject(new Error(`wsload hold ${room} exited ${code}: ${e.slice(-300)}`)));
  });
  return {
    up,
    stop: () => new Promise((r) => {
      if (p.exitCode !== null || p.signalCode !== null) { r(); return; }
      p.once('exit', r);
      p.kill('SIGTERM');
    }),
  };
}

// A nick prefix per load: a, b, ..., z, ba, bb, ...
// A nick prefix per room (wsload takes letters only) that no other room's
// nicks look like (UTS #39 skeletons, which the hubs refuse across
// machines): "b10" and "bl0", "d1" and "cl1" look alike.  Two letters of
// an alphabet whose skeletons are the letters themselves and never a
// digit's (no d, i, l, m, o, w), so every nick's skeleton is its own.
const SAFE = 'abcefghjknpqrstuvxyz';
const prefixOf = (n) => SAFE[Math.floor(n / SAFE.length) % SAFE.length] + SAFE[n % SAFE.length];
const hostsOf = (cl, k) => cl.machines.slice(0, k).map((m) => m.addr).join(',');

async function rttAndBcast(cl, srv, run) {
  const k = srv === 'one' ? 1 : cl.machines.length;
  if (only.includes('xrtt')) {
    speed(run, 'xrtt', srv);
    await wsload(`srv=${srv} fig=xrtt run=${run}`, ['rtt', '-p', '8080', '--hosts', hostsOf(cl, Math.min(k, 2)), '-n', String(RTT)], 120000);
  }
  if (only.includes('xrtt') && srv === 'three') await redisFloor(cl, run);
  if (only.includes('xbcast')) {
    speed(run, 'xbcast', srv);
    await wsload(`srv=${srv} fig=xbcast n=${N} run=${run}`, ['bcast', '-p', '8080', '--hosts', hostsOf(cl, k),
      '-N', String(N), '--rate', '50', '--secs', String(SECS)], 400000);
  }
}

// xrtt's floor: what a private message to another machine adds to the
// one hub's path, the hop through Redis each way with the hubs' script,
// between machine A and B, nothing else (bench/redisfloor.c).  The floor
// of the three hubs' round trip is the one hub's plus this.
async function redisFloor(cl, run) {
  const [a, b] = cl.machines;
  const args = (m, role) => ['netns', 'exec', m.ns, REDISFLOOR, role, m.redisAddr, '6379', 'admin', cl.adminPass];
  const pong = spawn('ip', args(b, 'pong'), { stdio: 'ignore' });
  loads.add(pong);
  pong.on('exit', () => loads.delete(pong));
  try {
    const r = spawnSync('ip', [...args(a, 'ping'), String(RTT)], { encoding: 'utf8', timeout: 120000 });
    const line = (r.stdout || '').split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`redisfloor: ${r.stderr}`);
    out(line.replace('RESULT ', `RESULT srv=three fig=xfloor run=${run} `));
  } finally {
    if (pong.exitCode === null && pong.signalCode === null) pong.kill('SIGKILL');
  }
}

// A JSON client on machine m, in `rooms`.
async function member(m, nick, rooms) {
  const c = new JsonClient(`ws://${m.sb.host}:${m.sb.port}/chat`);
  await c.ready;
  c.send({ type: 'login', nick });
  await c.next({ type: 'welcome' }, 20000);
  for (const room of rooms) {
    c.send({ type: 'join', room });
    await c.next({ type: 'join', room, nick }, 20000);
  }
  return c;
}

// Say `count` messages in each room and wait for the last one's echo.
async function talk(c, rooms, count, mark) {
  for (const room of rooms) for (let i = 0; i < count; i++) c.send({ type: 'say', room, text: `${mark}-${room}-${i}` });
  for (const room of rooms) await c.next({ type: 'msg', room, text: `${mark}-${room}-${count - 1}` }, 60000);
}

// Every command Redis runs while `during` runs, from MONITOR: by who
// sent it (a hub's address, "lua" for a script's own calls; the harness's
// Unix socket left out) and by name.
async function monitor(cl, during) {
  const p = spawn('redis-cli', ['-s', path.join(cl.dir, 'redis.sock'), '--user', 'admin', '--no-auth-warning', 'MONITOR'],
    { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, REDISCLI_AUTH: cl.adminPass } });
  loads.add(p);
  let o = '';
  p.stdout.setEncoding('utf8').on('data', (d) => { o += d; });
  await new Promise((r) => p.stdout.once('data', r));   // its OK: monitoring
  try { await during(); } finally {
    await new Promise((r) => setTimeout(r, 200));       // the last lines in flight
    await new Promise((r) => { p.once('exit', r); p.kill('SIGTERM'); });
  }
  const top = {};
  const lua = {};
  for (const l of o.split('\n')) {
    const m = /^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(l);
    if (!m || m[1].startsWith('unix:')) continue;
    const into = m[1] === 'lua' ? lua : top;
    into[m[2].toLowerCase()] = (into[m[2].toLowerCase()] || 0) + 1;
  }
  return { top, lua };
}

const sum = (o, re = /./) => Object.entries(o).filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);
const minus = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, a[k] - (b[k] || 0)]).filter(([, v]) => v > 0));
const list = (o) => Object.entries(o).map(([k, v]) => `${k}:${v}`).join(',') || 'none';

// Commands per room message: a room with members on every machine, one
// sender; an idle window of the same length after, as the baseline of
// lease renewals and health checks.
async function commands(cl, run) {
  const room = `cmds${run}`;
  const members = [];
  try {
    for (const [i, m] of cl.machines.entries()) members.push(await member(m, `cm${run}x${i}`, [room]));
    const sender = members[0];
    await talk(sender, [room], 1, 'warm');
    const t0 = Date.now();
    const busy = await monitor(cl, async () => {
      await talk(sender, [room], CMD_MSGS, 'cmd');
      for (const c of members.slice(1)) await c.next({ type: 'msg', room, text: `cmd-${room}-${CMD_MSGS - 1}` }, 60000);
    });
    const ms = Date.now() - t0;
    const idle = await monitor(cl, () => new Promise((r) => setTimeout(r, ms)));
    const top = minus(busy.top, idle.top);
    const lua = minus(busy.lua, idle.lua);
    const channels = cl.redisCli('PUBSUB', 'CHANNELS', '*').split('\n').filter(Boolean);
    const subs = channels.map((ch) => `${ch}:${cl.redisCli('PUBSUB', 'NUMSUB', ch).split('\n')[1]}`);
    out(`RESULT srv=three fig=xcmds run=${run} msgs=${CMD_MSGS} hubs=${cl.machines.length} window_ms=${ms}`
      + ` calls_per_msg=${(sum(top) / CMD_MSGS).toFixed(3)}`
      + ` scripts_per_msg=${(sum(top, /^(eval|evalsha|fcall|fcall_ro)$/) / CMD_MSGS).toFixed(3)}`
      + ` in_script_per_msg=${(sum(lua) / CMD_MSGS).toFixed(3)}`
      + ` publish_in_script_per_msg=${(sum(lua, /^s?publish$/) / CMD_MSGS).toFixed(3)}`
      + ` idle_calls=${sum(idle.top)} calls=${list(top)} in_script=${list(lua)} subscribers=${subs.join(',') || 'none'}`);
  } finally {
    for (const c of members) c.terminate();
  }
}

// Redis memory for MEM_USERS users in MEM_ROOMS rooms, spread over the
// machines, each room's history full.
async function memory(cl, run) {
  const base = Number(cl.redisInfo('memory').used_memory);
  const per = MEM_USERS / MEM_ROOMS;
  const holds = [];
  let filler;
  try {
    const rooms = Array.from({ length: MEM_ROOMS }, (_, i) => `mem${run}r${i}`);
    // Ten rooms' clients coming up at a time.
    for (let i = 0; i < rooms.length; i += 10) {
      const batch = rooms.slice(i, i + 10).map((r, j) => hold(hostsOf(cl, cl.machines.length), r, per, 1800000, prefixOf(i + j)));
      holds.push(...batch);
      await Promise.all(batch.map((h) => h.up));
      log(`xmem: ${holds.length * per} users in`);
    }
    // One room at a time: a session may be in only so many rooms.
    filler = await member(cl.machines[0], `filler${run}`, []);
    for (const room of rooms) {
      filler.send({ type: 'join', room });
      await filler.next({ type: 'join', room, nick: `filler${run}` }, 20000);
      await talk(filler, [room], HISTORY, 'h');
      filler.send({ type: 'part', room });
    }
    filler.terminate();
    filler = null;
    const mem = cl.redisInfo('memory');
    const keys = /keys=(\d+)/.exec(cl.redisInfo('keyspace').db0 || '')?.[1] ?? 0;
    const used = Number(mem.used_memory) - base;
    out(`RESULT srv=three fig=xmem run=${run} users=${MEM_USERS} rooms=${MEM_ROOMS} history=${HISTORY}`
      + ` used_memory_bytes=${used} bytes_per_user=${Math.round(used / MEM_USERS)}`
      + ` used_memory_total=${mem.used_memory} keys=${keys}`);
  } finally {
    filler?.terminate();
    await Promise.all(holds.map((h) => h.stop()));
  }
}

// Per run, the ratios three hubs / one hub (the two measured back to back).
function ratios() {
  const rows = printed.filter((l) => l.startsWith('RESULT ')).map(kv);
  const get = (srv, fig, run, key) => Number(rows.find((r) => r.srv === srv && r.fig === fig && r.run === run)?.[key]);
  for (const run of new Set(rows.map((r) => r.run))) {
    const rtt = get('three', 'xrtt', run, 'rtt_p99_us') / get('one', 'xrtt', run, 'rtt_p99_us');
    // The floor: the one hub's round trip plus the Redis hops alone.
    const floor = (k) => (get('one', 'xrtt', run, k) + get('three', 'xfloor', run, k)) / get('one', 'xrtt', run, k);
    const bc = get('three', 'xbcast', run, 'lat_p95_us') / get('one', 'xbcast', run, 'lat_p95_us');
    const lost = get('three', 'xbcast', run, 'lost') + get('three', 'xbcast', run, 'dup');
    if (isFinite(rtt) || isFinite(bc)) {
      out(`RESULT srv=ratio fig=xratio run=${run} rtt_p99_ratio=${rtt.toFixed(2)} rtt_target=2`
        + ` rtt_floor_p50_ratio=${floor('rtt_p50_us').toFixed(2)} rtt_floor_p99_ratio=${floor('rtt_p99_us').toFixed(2)}`
        + ` rtt_p50_ratio=${(get('three', 'xrtt', run, 'rtt_p50_us') / get('one', 'xrtt', run, 'rtt_p50_us')).toFixed(2)}`
        + ` bcast_p95_ratio=${bc.toFixed(2)} bcast_target=1.5 bcast_lost_or_dup=${lost}`);
    }
  }
}

async function main() {
  const why = clusterSkip();
  if (why) { out(`SKIP cluster figures: ${why}`); return; }
  for (let run = 1; run <= RUNS; run++) {
    // The two take turns at going first.
    const order = run % 2 ? ['one', 'three'] : ['three', 'one'];
    for (const srv of order) {
      if (!only.includes('xrtt') && !only.includes('xbcast')) break;
      log(`run ${run}/${RUNS}: ${srv === 'one' ? 'one hub' : 'three hubs and Redis'}: xrtt, xbcast N=${N}`);
      const cl = await startCluster({ machines: srv === 'one' ? 1 : 3, cluster: srv !== 'one', config: CONFIG, listenExec: LISTEN_EXEC });
      try { await rttAndBcast(cl, srv, run); } finally { await cl.stop(); }
    }
    if (only.includes('xcmds') || only.includes('xmem')) {
      const cl = await startCluster({ config: CONFIG, listenExec: LISTEN_EXEC });
      try {
        if (only.includes('xcmds')) { log(`run ${run}/${RUNS}: Redis commands per room message`); await commands(cl, run); }
        if (only.includes('xmem') && run === 1) {
          log(`xmem: ${MEM_USERS} users in ${MEM_ROOMS} rooms`);
          await memory(cl, run);
        }
      } finally { await cl.stop(); }
    }
  }
}

const deadline = setTimeout(() => { log('deadline (60 min) passed: stopping'); process.exit(1); }, 3600000);
deadline.unref();
main().then(() => { ratios(); process.exit(0); }, (e) => { log(`failed: ${e.stack || e}`); process.exit(1); });
