// SPDX-License-Identifier: ISC
// The Sentinel deployment of docs/cluster.md ("Redis"), as written there:
// a master and a replica, one redis-sentinel watching them, and an
// HAProxy in front whose tcp-check forwards only to the server that says
// role:master; the two hubs' cluster_redis is HAProxy.  The master is
// killed (SIGKILL): Sentinel promotes the replica, HAProxy follows, and
// the hubs, to whom the failover is a Redis restart, reconnect.  What was
// said while Redis was away arrives once; users, nicks and rooms still
// span both hubs; what the new master holds is what it replicated.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard, binariesBuilt, freePort } from './lib/harness.mjs';
import { jsonLogin, JsonClient } from './lib/clients.mjs';
import { have, listening, poll, startProgram } from './lib/programs.mjs';
import { REDIS, SENTINEL, startRedis, startSentinel, stopRedis, redisCli } from './lib/redis.mjs';

const HAPROXY = '/usr/sbin/haproxy';
const skip = !binariesBuilt() ? 'binaries not built'
  : !have(REDIS) || !have(SENTINEL) || !have(HAPROXY) ? 'redis-server, redis-sentinel or haproxy not installed (make deps-test)' : false;

/* A login that may be refused: the client, or the error code. */
async function tryLogin(sb, nick) {
  const c = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
  await c.ready;
  c.send({ type: 'login', nick });
  const e = await c.next((x) => x.type === 'welcome' || x.type === 'error');
  if (e.type === 'error') { c.terminate(); return e.code; }
  return c;
}

const msgs = (c, text) => c.events.filter((e) => e.type === 'msg' && e.text === text);

describe('Redis Sentinel behind HAProxy: a failover', { skip, timeout: 120000 }, () => {
  let dir, mport, rport, sport, hport, master, replica, sentinel, haproxy, a, b;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sb-sentinel-'));
    [mport, rport, sport, hport] = [await freePort(), await freePort(), await freePort(), await freePort()];
    master = await startRedis(mport, dir);
    replica = await startRedis(rport, dir, { args: ['--replicaof', '127.0.0.1', String(mport)] });
    await poll('the replica in sync', () => /master_link_status:up/.test(redisCli(rport, 'info', 'replication')), 10000, 50);
    sentinel = await startSentinel(sport, dir, 'sb', mport);
    // The recipe of docs/cluster.md: only the server that says it is the
    // master gets connections; sessions to one marked down are cut.
    writeFileSync(path.join(dir, 'haproxy.cfg'), `
defaults
  mode tcp
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout check 1s
frontend redis
  bind 127.0.0.1:${hport}
  default_backend redis
backend redis
  option tcp-check
  tcp-check connect
  tcp-check send PING\\r\\n
  tcp-check expect string +PONG
  tcp-check send info\\ replication\\r\\n
  tcp-check expect string role:master
  tcp-check send QUIT\\r\\n
  tcp-check expect string +OK
  server r1 127.0.0.1:${mport} check inter 200ms fall 1 rise 1 on-marked-down shutdown-sessions
  server r2 127.0.0.1:${rport} check inter 200ms fall 1 rise 1 on-marked-down shutdown-sessions
`);
    haproxy = startProgram(HAPROXY, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { cwd: dir });
    await listening(hport, haproxy);
    const config = (node) => ({ cluster_redis: `127.0.0.1:${hport}`, cluster_node: node, presence_max: '50' });
    a = await startSwitchboard({ config: config('a') });
    b = await startSwitchboard({ config: config('b') });
    for (const sb of [a, b]) await sb.waitForEvent({ EVENT: 'cluster', REASON: 'connected' }, 15000);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await haproxy?.stop();
    for (const p of [sentinel, replica, master]) await stopRedis(p);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the master killed: Sentinel promotes the replica, the hubs follow through HAProxy; nothing said meanwhile is lost or doubled', async () => {
    const al = await jsonLogin(a, 'alice');
    const bo = await jsonLogin(b, 'bob');
    for (const [c, n] of [[al, 'alice'], [bo, 'bob']]) {
      c.send({ type: 'join', room: 'lobby' });
      await c.next({ type: 'join', nick: n, room: 'lobby' });
    }
    al.send({ type: 'say', room: 'lobby', text: 'before' });
    const first = await bo.next({ type: 'msg', text: 'before' });
    await poll('alice known at b', async () => (await tryLogin(b, 'alice')) === 'nick_taken', 5000, 50);
    // What the master holds has reached the replica before it dies.
    await poll('the replica caught up', () => {
      const off = (port, k) => Number(new RegExp(`${k}:(\\d+)`).exec(redisCli(port, 'info', 'replication'))?.[1]);
      return off(rport, 'slave_repl_offset') >= off(mport, 'master_repl_offset');
    }, 10000, 50);

    const connected = (sb) => sb.events({ EVENT: 'cluster', REASON: 'connected' }).length;
    await stopRedis(master, 'SIGKILL');
    await a.waitForEvent({ MESSAGE: /lost Redis/ }, 10000);
    al.send({ type: 'msg', to: 'bob', text: 'private during' });
    al.send({ type: 'say', room: 'lobby', text: 'during' });

    // Sentinel's failover, then both hubs connected again (through HAProxy,
    // to the new master).
    await poll('Sentinel switched the master', () => /\+switch-master sb 127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+/.test(sentinel.output()), 30000, 100);
    assert.match(redisCli(rport, 'info', 'replication'), /role:master/);
    await poll('both hubs connected again', () => connected(a) >= 2 && connected(b) >= 2, 30000, 100);

    // What waited on a arrives on b once; the room goes on, one order.
    await bo.until((es) => es.some((e) => e.type === 'msg' && e.text === 'during'), 15000);
    await bo.until((es) => es.some((e) => e.type === 'msg' && e.text === 'private during'), 15000);
    al.send({ type: 'say', room: 'lobby', text: 'after' });
    await bo.until((es) => es.some((e) => e.type === 'msg' && e.text === 'after'), 10000);
    for (const t of ['before', 'during', 'private during', 'after']) assert.equal(msgs(bo, t).length, t === 'before' ? 0 : 1, `${t} once on b`);
    const seqs = [first, ...['during', 'after'].map((t) => msgs(bo, t)[0])].map((m) => m.room_seq);
    assert.deepEqual(seqs, [1, 2, 3], 'the room\'s numbers go on across the failover');
    assert.deepEqual(bo.events.filter((e) => e.type === 'gap'), [], 'nothing lost: the replica had it all');
    // Users and nicks span the hubs again, on the new master.
    await poll('alice still taken on b', async () => (await tryLogin(b, 'alice')) === 'nick_taken', 10000, 100);
    bo.send({ type: 'msg', to: 'alice', text: 'hi back' });
    assert.equal((await al.next({ type: 'msg', text: 'hi back' }, 10000)).from, 'bob');
    for (const c of [al, bo]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });
});
