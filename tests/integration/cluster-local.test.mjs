// SPDX-License-Identifier: ISC
// Two hubs on this machine, one chat through one redis-server on
// 127.0.0.1 (docs/cluster.md): room messages cross between the hubs in
// one order with each number once; a joiner gets the room's history from
// the stream; while Redis is away messages reach the local members and
// wait for the others, past the outbox's bound the sender gets `busy`;
// a Redis that lost its data tells every member the history restarted;
// bad data from Redis is refused and the hubs go on.  The real setup
// (network namespaces, three machines) is tests/integration/cluster.test.mjs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard, freePort } from './lib/harness.mjs';
import { jsonLogin, JsonClient, httpGet } from './lib/clients.mjs';
import { ctl, ctlOk } from './lib/ctl.mjs';
import { poll } from './lib/programs.mjs';
import { startRedis as startRedisAt, stopRedis, redisCli, docAclUser } from './lib/redis.mjs';

// The ACL user of docs/cluster.md ("Security"), word for word, read from
// the page; the test itself (redis-cli) is the default user.
const ACL_USER = docAclUser('s3cret-pw');

/* A redis-server of our own on 127.0.0.1:port, no persistence, with the
 * ACL user of docs/cluster.md. */
const startRedis = (port, dir) => startRedisAt(port, dir, { acl: [ACL_USER] });

async function join(c, nick, room, since) {
  c.send({ type: 'join', room, ...(since === undefined ? {} : { since }) });
  await c.next({ type: 'join', nick, room });
}

/* `na` logged in on hub sa and `nb` on hub sb, both in `room`. */
async function pairIn(sa, na, sb, nb, room) {
  const x = await jsonLogin(sa, na);
  const y = await jsonLogin(sb, nb);
  await join(x, na, room);
  await join(y, nb, room);
  return [x, y];
}

// The hubs of the suite running now, whose logs a failed wait prints.
let hubsNow = [];
const hubTails = () => hubsNow.map(([name, sb]) => `hub ${name}:\n${sb.hubLog().split('\n').slice(-40).join('\n')}`).join('\n');

/* One hub per node name, with config(node), each connected to Redis. */
async function hubsOn(config, nodes) {
  const hubs = [];
  for (const node of nodes) hubs.push(await startSwitchboard({ config: config(node) }));
  for (const sb of hubs) await sb.waitForEvent({ EVENT: 'cluster', REASON: 'connected' }, 10000);
  hubsNow = hubs.map((sb, i) => [nodes[i], sb]);
  return hubs;
}

/* Stop the hubs (one a test held with SIGSTOP too), Redis, and dir. */
async function stopAll(hubs, redis, dir) {
  for (const sb of hubs) {
    if (sb === undefined) continue;
    sb.signalHub('SIGCONT');
    await sb.stop();
  }
  if (redis) await stopRedis(redis);
  rmSync(dir, { recursive: true, force: true });
}

/* Wait until c holds n room messages of `room`, and take them. */
async function roomMsgs(c, room, n, ms = 10000) {
  return take(c, (e) => e.type === 'msg' && e.room === room, n, ms);
}

/* Wait until c holds n events that pass `is`, and take them (only them:
 * the others stay for later waits). */
async function take(c, is, n, ms = 10000) {
  try {
    await c.until((es) => es.filter(is).length >= n, ms);
  } catch (e) {
    e.message += `\n${hubTails()}`;
    throw e;
  }
  const got = c.events.filter(is);
  c.events = c.events.filter((e) => !is(e));
  return got;
}

/* The bytes waiting in the TCP sockets of process `pid` (ss). */
function tcpInbound(pid) {
  return execFileSync('ss', ['-tpnH'], { encoding: 'utf8' }).split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/)[1]), 0);
}

/* Hub `sb`'s deliveries and datagrams to handlers, from its metrics. */
async function counts(sb) {
  const text = await ctlOk(['-S', sb.controlSocket, 'metrics']);
  const counter = (name) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.slice(name.length + 1));
  return { deliveries: counter('switchboard_deliveries_total'), datagrams: counter('switchboard_hub_datagrams_total') };
}

describe('two hubs, one chat through Redis', { timeout: 120000 }, () => {
  let dir, port, redis, a, b;
  const config = (node) => ({
    cluster_redis: `127.0.0.1:${port}`, cluster_node: node, history: '20',
    cluster_password: path.join(dir, 'redis.pass'),
    flood_rate: '100000', flood_burst: '100000',
  });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sb-redis-'));
    writeFileSync(path.join(dir, 'redis.pass'), 'switchboard s3cret-pw\n');
    chmodSync(path.join(dir, 'redis.pass'), 0o600);
    port = await freePort();
    redis = await startRedis(port, dir);
    [a, b] = await hubsOn(config, ['a', 'b']);
  });
  after(() => stopAll([a, b], redis, dir));

  test('a room message crosses, with one number on both hubs', async () => {
    const [al, bo] = await pairIn(a, 'al', b, 'bo', 'lobby');
    al.send({ type: 'say', room: 'lobby', text: 'hello from a' });
    const [onB] = await roomMsgs(bo, 'lobby', 1);
    const [onA] = await roomMsgs(al, 'lobby', 1);
    assert.equal(onB.text, 'hello from a');
    assert.equal(onB.from, 'al');
    assert.equal(onA.room_seq, onB.room_seq);
    // The hubs announced their users with the ACL user's commands too.
    await poll('al known at b', async () => (await who(b)).some((x) => x.nick === 'al' && x.node === 'a'), 5000, 20);
    for (const c of [al, bo]) c.close();
  });

  test('both hubs deliver one order, every number once', async () => {
    const [al, bo] = await pairIn(a, 'al2', b, 'bo2', 'order');
    for (let i = 0; i < 30; i++) {
      al.send({ type: 'say', room: 'order', text: `a${i}` });
      bo.send({ type: 'say', room: 'order', text: `b${i}` });
    }
    const onA = await roomMsgs(al, 'order', 60);
    const onB = await roomMsgs(bo, 'order', 60);
    const seqs = onA.map((e) => e.room_seq);
    assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => i + 1), 'numbers 1..60, in order, once');
    assert.deepEqual(onA.map((e) => e.text), onB.map((e) => e.text), 'the same order on both hubs');
    assert.deepEqual(onA.filter((e) => e.from === 'al2').map((e) => e.text),
      Array.from({ length: 30 }, (_, i) => `a${i}`), 'each sender in its own order');
    // A joiner on the other hub gets the room's history from the stream.
    const cy = await jsonLogin(b, 'cy2');
    cy.send({ type: 'join', room: 'order', since: 55 });
    const hist = await roomMsgs(cy, 'order', 5);
    assert.deepEqual(hist.map((e) => [e.room_seq, e.history]),
      [[56, true], [57, true], [58, true], [59, true], [60, true]]);
    assert.deepEqual(hist.map((e) => e.text), onA.slice(55).map((e) => e.text));
    al.close();
    bo.close();
    cy.close();
  });

  test('a hub that fell behind Redis sends what waited in a batch per handler, every message once, in order', async () => {
    const [al, bo] = await pairIn(a, 'al9', b, 'bo9', 'behind');
    const by = await jsonLogin(b, 'by9');
    await join(by, 'by9', 'behind');
    const pad = 'x'.repeat(200);
    const before = await counts(b);
    b.signalHub('SIGSTOP');
    try {
      for (let i = 0; i < 40; i++) al.send({ type: 'say', room: 'behind', text: `m${i} ${pad}` });
      await al.until((es) => es.some((e) => e.type === 'msg' && e.text === `m39 ${pad}`), 20000);
      // The 40 publishes wait in b's socket from Redis: no event says so.
      await poll('the 40 publishes waiting for hub b', () => tcpInbound(b.hubPid) >= 40 * pad.length, 10000, 20);
    } finally {
      b.signalHub('SIGCONT');
    }
    for (const c of [bo, by]) {
      const got = await roomMsgs(c, 'behind', 40);
      assert.deepEqual(got.map((e) => e.text), Array.from({ length: 40 }, (_, i) => `m${i} ${pad}`));
    }
    const after = await counts(b);
    const deliveries = after.deliveries - before.deliveries;
    const datagrams = after.datagrams - before.datagrams;
    assert.equal(deliveries, 80, 'each message to both members on b');
    assert.ok(datagrams <= deliveries / 4,
      `${datagrams} datagrams for ${deliveries} deliveries: what one read of Redis brought was not batched`);
    for (const c of [al, bo, by]) c.close();
  });

  test('a first joiner on a hub gets the history other hubs wrote', async () => {
    const al = await jsonLogin(a, 'al3');
    await join(al, 'al3', 'fresh');
    for (const t of ['f1', 'f2', 'f3']) al.send({ type: 'say', room: 'fresh', text: t });
    await roomMsgs(al, 'fresh', 3);
    const bo = await jsonLogin(b, 'bo3');
    await join(bo, 'bo3', 'fresh');
    const hist = await roomMsgs(bo, 'fresh', 3);
    assert.deepEqual(hist.map((e) => [e.text, e.room_seq, e.history]),
      [['f1', 1, true], ['f2', 2, true], ['f3', 3, true]]);
    assert.deepEqual(bo.events.filter((e) => e.type === 'gap'), [], 'no gap told');
    for (const c of [al, bo]) c.close();
  });

  test('said right after a first join on a hub: news, not history', async () => {
    const al = await jsonLogin(a, 'al6');
    const bo = await jsonLogin(b, 'bo6');
    for (let i = 0; i < 10; i++) {
      const room = `news${i}`;
      await join(al, 'al6', room);
      al.send({ type: 'say', room, text: `old${i}` });
      await roomMsgs(al, room, 1);
      await join(bo, 'bo6', room);	// the first member of the room on b
      al.send({ type: 'say', room, text: `new${i}` });
      const got = await roomMsgs(bo, room, 2);
      assert.deepEqual(got.map((e) => [e.text, !!e.history]), [[`old${i}`, true], [`new${i}`, false]]);
    }
    for (const c of [al, bo]) c.close();
  });

  test('bad data from Redis is refused, and the hubs go on', async () => {
    const [al, bo] = await pairIn(a, 'al4', b, 'bo4', 'bad');
    al.send({ type: 'say', room: 'bad', text: 'first' });
    await roomMsgs(bo, 'bad', 1);
    await roomMsgs(al, 'bad', 1);
    const epoch = redisCli(port, 'HGET', 'sb:room:bad', 'epoch').trim();
    for (const bad of ['nonsense', `${epoch} 2 {"k":"room"}`, `${epoch} 2 ${'x'.repeat(20000)}`,
      `${epoch} 0 {}`, `${epoch} 2 {"k":"room","f":"x","r":"other","t":"t","w":1,"n":"z","i":"1"}`]) {
      redisCli(port, 'PUBLISH', 'sb:msg:bad', bad);
    }
    await b.waitForEvent({ MESSAGE: /refused a message/ }, 5000);
    bo.send({ type: 'say', room: 'bad', text: 'still here' });
    const [got] = await roomMsgs(al, 'bad', 1);
    assert.equal(got.text, 'still here');
    assert.equal(got.room_seq, 2, 'nothing forged took a number');
    const [echo] = await roomMsgs(bo, 'bad', 1);
    assert.equal(echo.text, 'still here');
    assert.equal(b.events({ MESSAGE: /refused a message/ }).length, 5, 'each refused once');
    // Junk in the room's stream, under an id above the room's numbers: a
    // joiner gets the good history without it, and the room goes on.
    redisCli(port, 'XADD', 'sb:hist:bad', '*', 'junk', 'x');
    const cy = await jsonLogin(b, 'cy4');
    await join(cy, 'cy4', 'bad');
    assert.deepEqual((await roomMsgs(cy, 'bad', 2)).map((e) => e.text), ['first', 'still here']);
    al.send({ type: 'say', room: 'bad', text: 'after junk' });
    for (const c of [al, bo, cy]) {
      const [m] = await roomMsgs(c, 'bad', 1);
      assert.deepEqual([m.text, m.room_seq], ['after junk', 3]);
    }
    cy.close();
    for (const c of [al, bo]) c.close();
  });

  test('a first fetch whose answer is refused (a bad epoch in the room\'s hash): the joiner is answered, and the room is not deaf after it', async () => {
    const al = await jsonLogin(a, 'al7');
    await join(al, 'al7', 'deaf');
    al.send({ type: 'say', room: 'deaf', text: 'before' });
    await roomMsgs(al, 'deaf', 1);
    const epoch = redisCli(port, 'HGET', 'sb:room:deaf', 'epoch').trim();
    const refused = b.events({ MESSAGE: /refused a fetch's answer/ }).length;
    redisCli(port, 'HSET', 'sb:room:deaf', 'epoch', 'not-a-number');
    let bo;
    try {
      bo = await jsonLogin(b, 'bo7');
      await join(bo, 'bo7', 'deaf');	// b's first fetch of the room: refused
      await nthEvent(b, { MESSAGE: /refused a fetch's answer/ }, refused + 1);
    } finally {
      redisCli(port, 'HSET', 'sb:room:deaf', 'epoch', epoch);
    }
    al.send({ type: 'say', room: 'deaf', text: 'after' });
    // ('before', said in the second of the join, may come as news too:
    // what came since the join is told by its time, in seconds)
    const [m] = await take(bo, (e) => e.type === 'msg' && e.text === 'after', 1);
    assert.deepEqual([m.room, m.room_seq, !!m.history], ['deaf', 2, false]);
    for (const c of [al, bo]) c.close();
  });

  test('a presence event numbered ahead of its node\'s snapshot (a counter Redis rolled back, or forged): b reads the node once and drops it, not again and again', async () => {
    const hgetalls = () => Number(/cmdstat_hgetall:calls=(\d+)/.exec(redisCli(port, 'INFO', 'commandstats'))?.[1] ?? 0);
    const known = async (nick) => (await who(b)).some((x) => x.nick === nick);
    const counter = Number(redisCli(port, 'HGET', 'sb:users:a', '_c'));
    redisCli(port, 'PUBLISH', 'sb:pres', `${counter + 100} ${JSON.stringify({ e: 'quit', n: 'a', s: 999999, a: '', b: '', u: null })}`);
    const x = await jsonLogin(a, 'ahead');
    await poll('ahead known at b', () => known('ahead'), 10000, 20);
    const read = hgetalls();
    x.send({ type: 'quit' });
    await x.waitClose();
    await poll('ahead gone at b', async () => !(await known('ahead')), 10000, 20);
    assert.ok(hgetalls() - read <= 1, `a's users read ${hgetalls() - read} times more`);
    await b.waitForEvent({ EVENT: 'hub_error', MESSAGE: /refused a presence event \(not after its node's snapshot\)/ });
  });

  for (const junk of [0, 500]) {
    test(`a room message numbered ahead of the room's counter (forged, or of a counter Redis rolled back), ${junk} junk entries in the stream after the room's: b fetches for it once and drops it, not again and again`, async () => {
      const room = `ahead${junk}`;
      const [al, bo] = await pairIn(a, `al6${junk}`, b, `bo6${junk}`, room);
      const xranges = () => Number(/cmdstat_xrange:calls=(\d+)/.exec(redisCli(port, 'INFO', 'commandstats'))?.[1] ?? 0);
      const said = async (text) => {
        al.send({ type: 'say', room, text });
        return (await take(bo, (e) => e.type === 'msg' && e.text === text, 1))[0];
      };
      await said('one');
      // (a whole fetch's worth: the answer is full, and none of it taken)
      redisCli(port, 'EVAL', `for i = 1, ${junk} do redis.call('XADD', KEYS[1], '*', 'junk', 'x') end`, '1', `sb:hist:${room}`);
      const epoch = redisCli(port, 'HGET', `sb:room:${room}`, 'epoch').trim();
      const fetched = xranges();
      redisCli(port, 'PUBLISH', `sb:msg:${room}`, `${epoch} 9 ${JSON.stringify({ k: 'room', f: 'x', r: room, t: 'forged', w: 1, n: 'z', i: '1' })}`);
      // b's fetch for it, answered (junk: refused), then a round trip
      // through Redis: a login on a, known at b
      if (junk) await nthEvent(b, { MESSAGE: new RegExp(`refused a stream entry from Redis for room ${room}`) }, junk);
      const x = await jsonLogin(a, `rt${junk}`);
      await poll(`rt${junk} known at b`, async () => (await who(b)).some((u) => u.nick === `rt${junk}`), 10000, 20);
      x.close();
      assert.ok(xranges() - fetched <= 2, `the stream read ${xranges() - fetched} times`);
      // (a room message wipes the junk: its number is below the junk's)
      await said('two');
      const read = xranges();
      const m = await said('three');
      assert.equal(m.room_seq, 3);
      assert.ok(xranges() - read <= 2, `the stream read ${xranges() - read} times more`);
      assert.ok(!bo.events.some((e) => e.text === 'forged'));
      await b.waitForEvent({ EVENT: 'hub_error', MESSAGE: new RegExp(`refused a message numbered after the room's last from Redis for room ${room}`) });
      for (const c of [al, bo]) c.close();
    });
  }

  test('a private message to the other hub comes from its publish; a repeat is dropped, a missed number taken from the inbox, once and in order', async () => {
    const { al, bo, privs } = await privatePair(a, 'al8', b, 'bo8', 'p1');
    // b let the inbox go of it (within a second); the counter numbered it.
    await poll('b\'s inbox empty', async () => redisCli(port, 'LLEN', 'sb:inbox:b').trim() === '0', 5000, 20);
    const n = Number(redisCli(port, 'HGET', 'sb:inseq:b', 'n'));
    assert.ok(n >= 1, `b's inbox counter: ${n}`);
    const session = (await who(b)).find((x) => x.nick === 'bo8').session;
    const body = (text) => JSON.stringify({ k: 'private', f: 'al8', t: 'bo8', s: session, x: text, w: Math.floor(Date.now() / 1000) });
    // A number b delivered already, published again: dropped.
    redisCli(port, 'PUBLISH', 'sb:to:b', `${n} ${body('p-repeat')}`);
    // n+1 in the inbox, its publish lost; then n+2 published: b takes
    // n+1 from the inbox before it, each once.
    redisCli(port, 'HSET', 'sb:inseq:b', 'n', String(n + 2));
    redisCli(port, 'RPUSH', 'sb:inbox:b', `${n + 1} ${body('p-missed')}`, `${n + 2} ${body('p-next')}`);
    redisCli(port, 'PUBLISH', 'sb:to:b', `${n + 2} ${body('p-next')}`);
    await bo.until(() => privs().includes('p-next'), 10000);
    al.send({ type: 'msg', to: 'bo8', text: 'p-last' });	// n+3, from its publish
    await bo.until(() => privs().includes('p-last'), 10000);
    assert.deepEqual(privs(), ['p1', 'p-missed', 'p-next', 'p-last']);
    assert.equal(redisCli(port, 'HGET', 'sb:inseq:b', 'n').trim(), String(n + 3));
    await poll('b\'s inbox empty again', async () => redisCli(port, 'LLEN', 'sb:inbox:b').trim() === '0', 5000, 20);
    al.close();
    bo.close();
  });

  test('hub b killed right after a private message from its publish: back with its handlers, it delivers what came meanwhile, and not that one again', async (t) => {
    const { al, bo, privs } = await privatePair(a, 'al6', b, 'bo6', 'k1');
    // The inbox lets go of it within a second: until then a hub that
    // forgot it had delivered it would deliver it again from there.
    const held = redisCli(port, 'LLEN', 'sb:inbox:b').trim();
    const connected = b.events({ EVENT: 'cluster', REASON: 'connected' }).length;
    await b.stopHub('SIGKILL');
    // a still knows bo6 (b's lease runs 5 s): this waits in b's inbox,
    // for bo6's session to come back to the new hub.
    const n = Number(redisCli(port, 'HGET', 'sb:inseq:b', 'n'));
    al.send({ type: 'msg', to: 'bo6', text: 'k-down' });
    await poll('k-down in b\'s inbox', async () => Number(redisCli(port, 'HGET', 'sb:inseq:b', 'n')) === n + 1, 5000, 20);
    await b.startHub();
    await nthEvent(b, { EVENT: 'cluster', REASON: 'connected' }, connected + 1);
    await bo.until(() => privs().includes('k-down'), 20000);
    for (const text of ['k2', 'k3']) {
      al.send({ type: 'msg', to: 'bo6', text });
      await bo.until(() => privs().includes(text), 20000);
    }
    assert.deepEqual(privs(), ['k1', 'k-down', 'k2', 'k3'], 'each once, in order');
    assert.equal(bo.closed, null, 'bo6 stayed connected');
    if (held !== '1') t.diagnostic(`the inbox held ${held} at the kill: the second's trim came first`);
    await poll('b\'s inbox empty', async () => redisCli(port, 'LLEN', 'sb:inbox:b').trim() === '0', 5000, 20);
    al.close();
    bo.close();
  });

  test('Redis forgot the scripts (SCRIPT FLUSH): a private message, a room message and a login cross after it, once each', async () => {
    const { al, bo, privs } = await privatePair(a, 'al9', b, 'bo9', 'f1');
    await join(al, 'al9', 'flush');
    await join(bo, 'bo9', 'flush');
    const connected = [a, b].map((sb) => sb.events({ EVENT: 'cluster', REASON: 'connected' }).length);
    const noscript = (sb) => (sb.hubLog().match(/answered "NOSCRIPT/g) ?? []).length;
    const told = [a, b].map(noscript);
    redisCli(port, 'SCRIPT', 'FLUSH');
    al.send({ type: 'msg', to: 'bo9', text: 'f2' });
    al.send({ type: 'say', room: 'flush', text: 'after the flush' });
    const cy = await jsonLogin(a, 'cy9');
    await bo.until(() => privs().includes('f2'), 15000);
    const [m] = await roomMsgs(bo, 'flush', 1, 15000);
    assert.equal(m.text, 'after the flush');
    await take(bo, (e) => e.type === 'login' && e.nick === 'cy9', 1, 15000);
    assert.deepEqual((await who(b)).find((x) => x.nick === 'cy9')?.node, 'a');
    bo.send({ type: 'msg', to: 'al9', text: 'f3' });
    await al.until((es) => es.some((e) => e.type === 'msg' && e.text === 'f3'), 10000);
    al.send({ type: 'msg', to: 'bo9', text: 'f4' });
    await bo.until(() => privs().includes('f4'), 10000);
    const fromAl = bo.events.filter((e) => e.type === 'msg' && !e.room && e.from === 'al9').map((e) => e.text);
    assert.deepEqual(fromAl, ['f2', 'f4'], 'each once (f1 was taken with the join answer)');
    assert.equal((await roomMsgs(al, 'flush', 1))[0].text, 'after the flush');
    for (const x of [al, bo, cy]) x.close();
    // A hub told NOSCRIPT connected again and announced itself: the next
    // test starts from there.  (Scripts are Redis's, not a connection's:
    // the other hub may find them loaded again by the first, and go on.)
    assert.ok(noscript(a) > told[0] || noscript(b) > told[1], 'a hub was told NOSCRIPT');
    try {
      for (const [i, sb] of [a, b].entries()) {
        if (noscript(sb) > told[i]) await nthEvent(sb, { EVENT: 'cluster', REASON: 'connected' }, connected[i] + 1);
      }
    } catch (e) {
      e.message += `\n${hubTails()}`;
      throw e;
    }
  });

  test('Redis busy with a long script: a room message said meanwhile is sent again after it, not dropped', async () => {
    const [al, bo] = await pairIn(a, 'al7', b, 'bo7', 'busy');
    const lost = a.events({ REASON: 'Redis lost' }).length;
    redisCli(port, 'CONFIG', 'SET', 'busy-reply-threshold', '100');
    // A script of the test's own that runs 2 s: past 100 ms every other
    // command is answered BUSY.
    const script = "local t = redis.call('TIME'); local e = t[1] * 1000000 + t[2] + 2000000; " +
      "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= e";
    const long = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'EVAL', script, '0'], { stdio: 'ignore' });
    const ended = new Promise((resolve) => long.on('exit', resolve));
    try {
      const busyNow = () => {
        try { return /BUSY/.test(redisCli(port, 'PING')); } catch (e) { return /BUSY/.test(`${e.stdout}${e.stderr}`); }
      };
      await poll('Redis busy', async () => busyNow(), 5000, 20);
      al.send({ type: 'say', room: 'busy', text: 'said while busy' });
    } finally {
      await ended;
      redisCli(port, 'CONFIG', 'SET', 'busy-reply-threshold', '5000');
    }
    const [m] = await roomMsgs(bo, 'busy', 1, 15000);
    assert.equal(m.text, 'said while busy');
    assert.ok(a.events({ REASON: 'Redis lost' }).length > lost, 'a took Redis as lost, and came back');
    assert.match(a.hubLog(), /cluster: Redis at 127\.0\.0\.1 answered "BUSY /, 'and said why');
    // (once on a too: while Redis was away for a, at once, and not again)
    al.send({ type: 'say', room: 'busy', text: 'after' });
    await take(bo, (e) => e.type === 'msg' && e.text === 'after', 1);
    assert.deepEqual((await roomMsgs(al, 'busy', 2)).map((e) => e.text), ['said while busy', 'after']);
    assert.deepEqual(bo.events.filter((e) => e.type === 'msg'), [], 'nothing twice');
    for (const c of [al, bo]) c.close();
  });

  for (const [cmd, what] of [['zrange', 'the live nodes'], ['hgetall', 'a node\'s users']]) {
    test(`reading ${what} refused (${cmd} not allowed): the hubs connect again until it is, then know each other's users`, async () => {
      const connected = [a, b].map((sb) => sb.events({ EVENT: 'cluster', REASON: 'connected' }).length);
      // (a command refused inside a script is ERR, not NOPERM)
      const refusal = { EVENT: 'hub_error', MESSAGE: /: Redis said: (NOPERM|ERR The user executing the script can't run)/ };
      const refused = b.events(refusal).length;
      redisCli(port, 'ACL', 'SETUSER', 'switchboard', `-${cmd}`);
      try {
        redisCli(port, 'CLIENT', 'KILL', 'USER', 'switchboard');
        await nthEvent(b, refusal, refused + 1);
      } finally {
        redisCli(port, 'ACL', 'SETUSER', 'switchboard', `+${cmd}`);
      }
      // (after the backoff, which a refused read keeps doubling, to 5 s)
      await nthEvent(a, { EVENT: 'cluster', REASON: 'connected' }, connected[0] + 1, 20000);
      await nthEvent(b, { EVENT: 'cluster', REASON: 'connected' }, connected[1] + 1, 20000);
      // a login on a is known at b
      const nick = `al-${cmd}`;
      const al = await jsonLogin(a, nick);
      await poll(`${nick} known at b`, async () => (await who(b)).some((x) => x.nick === nick), 10000, 20);
      al.close();
    });
  }

  test('a nick claim Redis refuses (sb:nicks not a hash): the login is told busy, not nick_taken; the nick free once Redis answers', async () => {
    const swap = (from, to, junk) => redisCli(port, 'EVAL', `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[2]) end ${junk ? "redis.call('SET', KEYS[1], 'x')" : ''}`, '2', from, to);
    const ed = await jsonLogin(a, 'ed9');
    swap('sb:nicks', 'sb:nicks-kept', true);
    try {
      assert.equal(await tryLogin(a, 'dee9'), 'busy');
      await a.waitForEvent({ EVENT: 'login_failed', NICK: 'dee9', REASON: 'Redis refused the nick claim' });
      // A script whose answer nobody waits for: its error is logged too.
      ed.send({ type: 'quit' });
      await a.waitForEvent({ EVENT: 'hub_error', MESSAGE: /^cluster: a presence change: Redis said: WRONGTYPE/ });
    } finally {
      redisCli(port, 'DEL', 'sb:nicks');
      swap('sb:nicks-kept', 'sb:nicks', false);
    }
    const d = await tryLogin(a, 'dee9');
    assert.equal(typeof d, 'object', `logged in: ${d}`);
    assert.equal(redisCli(port, 'HGET', 'sb:nicks', 'dee9').trim().split(' ')[0], 'a');
    d.close();
  });

  test('Redis away: local members get it now, others after; busy past the outbox; restart told', async () => {
    const al = await jsonLogin(a, 'al5');
    const ax = await jsonLogin(a, 'ax5');
    const bo = await jsonLogin(b, 'bo5');
    for (const [c, n] of [[al, 'al5'], [ax, 'ax5'], [bo, 'bo5']]) await join(c, n, 'outage');
    await poll('bo5 known at a', async () => (await who(a)).some((x) => x.nick === 'bo5'), 5000, 20);
    al.send({ type: 'say', room: 'outage', text: 'before' });
    for (const c of [al, ax, bo]) await roomMsgs(c, 'outage', 1);

    assert.deepEqual(bo.events.filter((e) => e.type === 'gap'), [], 'no gap yet');
    await stopRedis(redis, 'SIGKILL');
    await a.waitForEvent({ MESSAGE: /lost Redis/ }, 10000);
    al.send({ type: 'msg', to: 'bo5', text: 'private during' });	// b's user, known from before
    al.send({ type: 'say', room: 'outage', text: 'during' });
    const [local] = await roomMsgs(ax, 'outage', 1);
    assert.equal(local.text, 'during', 'a member on the same hub gets it while Redis is away');
    assert.equal(local.room_seq, undefined, 'not numbered yet');
    // Fill the outbox: past its bound the sender is told `busy`.
    for (let i = 0; i < 1024; i++) al.send({ type: 'say', room: 'outage', text: `fill${i}` });
    await al.next({ type: 'error', code: 'busy' }, 20000);
    await roomMsgs(ax, 'outage', 1022, 20000);	// the outbox: the private one, 'during', 1022
    assert.equal(bo.events.filter((e) => e.type === 'msg').length, 0, 'nothing crossed yet');

    // b comes back after a sent what waited: the private message waits
    // in b's inbox for b to subscribe again.
    b.signalHub('SIGSTOP');
    redis = await startRedis(port, dir);
    await poll('a sent what waited', async () => redisCli(port, 'HGET', 'sb:inseq:b', 'n').trim() === '1', 15000, 20);
    b.signalHub('SIGCONT');
    // Redis lost its data: B's member is told the history restarted, then
    // gets what waited on A, in order, numbered from 1 in the new epoch.
    // (taken alone: the private message may come before it or after)
    const [gap] = await take(bo, (e) => e.type === 'gap', 1, 15000);
    assert.equal(gap.room, 'outage');
    assert.equal(gap.first, 1);
    await bo.until((es) => es.some((e) => e.type === 'msg' && e.room_seq === 1023), 20000);
    const after = await roomMsgs(bo, 'outage', 1);
    assert.deepEqual(after.map((e) => e.room_seq), Array.from({ length: 1023 }, (_, i) => i + 1));
    assert.equal(after[0].text, 'during');
    assert.equal(after[1022].text, 'fill1021');
    // A's members got them once, while Redis was away, and not again.
    al.send({ type: 'say', room: 'outage', text: 'back' });
    const [back] = await roomMsgs(ax, 'outage', 1);
    assert.equal(back.text, 'back');
    assert.equal(back.room_seq, 1024);
    const [backB] = await roomMsgs(bo, 'outage', 1);
    assert.equal(backB.room_seq, 1024);
    assert.deepEqual(bo.events.filter((e) => e.type === 'gap'), [], 'one gap: the restart');
    // The private message waited in a's outbox, then in b's inbox for b
    // to subscribe again: it arrives once.
    const during = await take(bo, (e) => e.type === 'msg' && e.text === 'private during', 1);
    assert.equal(during.length, 1);
    al.close();
    ax.close();
    bo.close();
  });
});

/* A login that may be refused: the client, or the error code. */
async function tryLogin(sb, nick) {
  const c = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
  await c.ready;
  c.send({ type: 'login', nick });
  const e = await c.next((x) => x.type === 'welcome' || x.type === 'error');
  if (e.type === 'error') { c.terminate(); return e.code; }
  return c;
}

const who = async (sb) => JSON.parse(await ctlOk(['-S', sb.controlSocket, '--json', 'who'])).who;

describe('two hubs: users, presence and private messages across', { timeout: 120000 }, () => {
  let dir, port, redis, a, b;
  const config = (node) => ({
    cluster_redis: `127.0.0.1:${port}`, cluster_node: node, presence_max: '50',
  });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sb-redis-'));
    port = await freePort();
    redis = await startRedis(port, dir);
    [a, b] = await hubsOn(config, ['a', 'b']);
  });
  after(() => stopAll([a, b], redis, dir));

  test('LIST, NAMES, notices, private messages and nicks across the hubs', async () => {
    const al = await jsonLogin(a, 'alice');
    const bo = await jsonLogin(b, 'bob');
    await al.next({ type: 'login', nick: 'bob' });
    await poll('alice known at b', async () => (await who(b)).some((x) => x.nick === 'alice'), 5000, 20);
    al.send({ type: 'users' });
    assert.deepEqual((await al.next({ type: 'users' })).users.sort(), ['alice', 'bob']);
    bo.send({ type: 'users' });
    assert.deepEqual((await bo.next({ type: 'users' })).users.sort(), ['alice', 'bob']);
    // The nick of a user of the other hub is taken here.
    assert.equal(await tryLogin(a, 'bob'), 'nick_taken');
    assert.equal(await tryLogin(b, 'ALICE'), 'nick_taken');
    bo.send({ type: 'nick', nick: 'Alice' });
    await bo.next({ type: 'error', code: 'nick_taken' });
    // Private messages both ways, echoed to the sender.
    al.send({ type: 'msg', to: 'bob', text: 'hi bob' });
    const pm = await bo.next({ type: 'msg', text: 'hi bob' });
    assert.equal(pm.from, 'alice');
    await al.next({ type: 'msg', text: 'hi bob' });
    bo.send({ type: 'msg', to: 'ALICE', text: 'hi alice' });
    assert.equal((await al.next({ type: 'msg', text: 'hi alice' })).from, 'bob');
    bo.send({ type: 'msg', to: 'nobody', text: 'x' });
    await bo.next({ type: 'error', code: 'no_such_nick' });
    // Joins: the member list, NAMES and the join notice cover both hubs.
    al.send({ type: 'join', room: 'lobby' });
    await al.next({ type: 'join', nick: 'alice' });
    // (b hears of the join through Redis: wait for it, not for the time)
    await poll('alice in lobby at b', async () => (await who(b)).some((x) => x.nick === 'alice' &&
      x.rooms.includes('lobby')), 5000, 20);
    bo.send({ type: 'join', room: 'lobby' });
    const joined = await bo.next({ type: 'join', nick: 'bob' });
    assert.deepEqual(joined.members.sort(), ['alice', 'bob']);
    await al.next({ type: 'join', nick: 'bob', room: 'lobby' });
    al.send({ type: 'names', room: 'lobby' });
    assert.deepEqual((await al.next({ type: 'users', room: 'lobby' })).users.sort(), ['alice', 'bob']);
    // switchboardctl who: both hubs' users, each with its node.
    for (const sb of [a, b]) {
      const w = Object.fromEntries((await who(sb)).map((x) => [x.nick, x.node]));
      assert.deepEqual(w, { alice: 'a', bob: 'b' });
      const table = await ctlOk(['-S', sb.controlSocket, 'who']);
      assert.match(table, /^NICK +SESSION +NODE +TRANSPORT +REMOTE +ROOMS\n/);
      const other = sb === a ? 'bob +\\d+ +b' : 'alice +\\d+ +a';
      assert.match(table, new RegExp(`\\n${other} +cluster +- +lobby\\n`));
      const status = await ctlOk(['-S', sb.controlSocket, 'status']);
      assert.match(status, new RegExp(`\\nnode: +${sb === a ? 'a' : 'b'} \\(identified on every machine: 2\\)`));
      const rooms = JSON.parse(await ctlOk(['-S', sb.controlSocket, '--json', 'rooms'])).rooms;
      assert.equal(rooms.find((r) => r.name === 'lobby').members, 2, 'rooms counts every machine');
    }
    // A nick change is told on the other hub; the old nick is free again.
    bo.send({ type: 'nick', nick: 'bobby' });
    await al.next({ type: 'nick', old: 'bob', new: 'bobby' });
    const nb = await poll('bob free on a', () => tryLogin(a, 'bob').then((x) => (typeof x === 'string' ? null : x)), 5000, 50);
    assert.equal(await tryLogin(a, 'bobby'), 'nick_taken');
    nb.send({ type: 'quit' });
    await nb.waitClose();
    await al.next({ type: 'quit', nick: 'bob' });
    // A quit is told on the other hub, once.
    bo.send({ type: 'quit' });
    await bo.waitClose();
    await al.next({ type: 'quit', nick: 'bobby' });
    al.send({ type: 'users' });
    assert.deepEqual((await al.next({ type: 'users' })).users, ['alice']);
    assert.equal(al.events.filter((e) => e.type === 'quit').length, 0, 'one quit notice');
    al.send({ type: 'quit' });
    await al.waitClose();
  });

  test('/server-status and switchboardctl status: this machine\'s counts and every machine\'s', async () => {
    const sa = await jsonLogin(a, 'stan');
    const sb1 = await jsonLogin(b, 'sue');
    const sb2 = await jsonLogin(b, 'sid');
    await poll('sue and sid known at a', async () => (await who(a)).filter((x) => x.node === 'b').length === 2, 5000, 20);
    const j = JSON.parse((await httpGet(a, '/server-status?json')).body);
    assert.equal(j.node, 'a');
    assert.equal(j.users, 1, 'identified here');
    assert.equal(j.cluster_users, 3, 'identified on every machine');
    assert.equal(j.clients, 1);
    const text = (await httpGet(b, '/server-status')).body;
    assert.match(text, /^OK\nClients: \d+\/\d+\nCreated: [^\n]+\nUptime: \d+ days\nNode: b\nUsers: 2 here, 3 on every machine\n$/);
    const st = JSON.parse(await ctlOk(['-S', b.controlSocket, '--json', 'status']));
    assert.deepEqual([st.node, st.cluster_users], ['b', 3]);
    for (const c of [sa, sb1, sb2]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });

  test('a kick on hub a of a user on hub b: closed there, gone from LIST and who on both', async () => {
    const al = await jsonLogin(a, 'kal');
    const km = await jsonLogin(b, 'kim');
    await poll('kim known at a', async () => (await who(a)).some((x) => x.nick === 'kim' && x.node === 'b'), 5000, 20);
    const r = JSON.parse(await ctlOk(['-S', a.controlSocket, '--json', 'kick', 'KIM', 'be nice']));
    assert.equal(r.kicked, 'kim');
    assert.equal(r.node, 'b');
    // The same close as a local kick (bans.test.mjs): code 4000, the reason.
    assert.deepEqual(await km.waitClose(), { code: 4000, reason: 'be nice' });
    await al.next({ type: 'quit', nick: 'kim' });
    for (const sb of [a, b]) {
      await poll(`kim gone from who at ${sb === a ? 'a' : 'b'}`, async () => !(await who(sb)).some((x) => x.nick === 'kim'), 5000, 20);
    }
    al.send({ type: 'users' });
    assert.deepEqual((await al.next({ type: 'users' })).users, ['kal']);
    // kick --ban of a remote user: closed as banned.
    const kx = await jsonLogin(b, 'kx');
    await poll('kx known at a', async () => (await who(a)).some((x) => x.nick === 'kx'), 5000, 20);
    assert.match(await ctlOk(['-S', a.controlSocket, 'kick', 'kx']), /^kicked kx \(session \d+ on node b\)\n$/);
    assert.deepEqual(await kx.waitClose(), { code: 4000, reason: 'Kicked by the operator' });
    const kn = await jsonLogin(b, 'knut');
    await poll('knut known at a', async () => (await who(a)).some((x) => x.nick === 'knut'), 5000, 20);
    const rb = JSON.parse(await ctlOk(['-S', a.controlSocket, '--json', 'kick', 'knut', '--ban', '1h', 'spam']));
    assert.equal(rb.ban.target, 'knut');
    const closed = await kn.waitClose();
    assert.equal(closed.code, 4001, 'the banned close, as a local kick --ban');
    assert.match(closed.reason, /^The nick knut is banned until .*: spam$/);
    await poll('knut gone from who at b', async () => !(await who(b)).some((x) => x.nick === 'knut'), 5000, 20);
    assert.equal((await ctl(['-S', a.controlSocket, 'kick', 'nobody'])).code !== 0, true, 'no such nick on any machine');
    al.send({ type: 'quit' });
    await al.waitClose();
  });

  test('two hubs race for one nick: one wins; a nick let go is free on the other hub', async () => {
    for (let i = 0; i < 5; i++) {
      const got = await Promise.all([tryLogin(a, `erin${i}`), tryLogin(b, `erin${i}`)]);
      const won = got.filter((x) => typeof x !== 'string');
      assert.equal(won.length, 1, `one of two logins as erin${i} wins: ${got.map((x) => (typeof x === 'string' ? x : 'ok'))}`);
      assert.deepEqual(got.filter((x) => typeof x === 'string'), ['nick_taken']);
      won[0].send({ type: 'quit' });
      await won[0].waitClose();
    }
    // erin0 quit on whichever hub had it: both hubs let it be taken again.
    const e0 = await poll('erin0 free on a', () => tryLogin(a, 'erin0').then((x) => (typeof x === 'string' ? null : x)), 5000, 50);
    e0.send({ type: 'quit' });
    await e0.waitClose();
    const e1 = await poll('erin0 free on b', () => tryLogin(b, 'erin0').then((x) => (typeof x === 'string' ? null : x)), 5000, 50);
    e1.close();
  });

  test('NAMES and ROOMS of a room whose members are all on the other hub', async () => {
    const ol = await jsonLogin(a, 'olaf');
    const bo = await jsonLogin(b, 'bodil');
    await join(bo, 'bodil', 'Faraway');
    await poll('bodil in Faraway at a', async () => (await who(a)).some((x) => x.nick === 'bodil' &&
      x.rooms.includes('Faraway')), 5000, 20);
    // No member of the room on a: a answers with the cluster's members.
    ol.send({ type: 'names', room: 'faraway' });
    const names = await ol.next((e) => e.type === 'users' || e.type === 'error');
    assert.deepEqual([names.type, names.room, names.users], ['users', 'Faraway', ['bodil']]);
    ol.send({ type: 'rooms' });
    const rooms = (await ol.next({ type: 'rooms' })).rooms;
    assert.deepEqual(rooms.filter((r) => r.name === 'Faraway'), [{ name: 'Faraway', members: 1 }]);
    const ctlRooms = JSON.parse(await ctlOk(['-S', a.controlSocket, '--json', 'rooms'])).rooms;
    assert.deepEqual(ctlRooms.filter((r) => r.name === 'Faraway').map((r) => [r.name, r.members]), [['Faraway', 1]]);
    // Gone from b: no such room on a either.
    bo.send({ type: 'part', room: 'Faraway' });
    await bo.next({ type: 'part', room: 'Faraway' });
    await poll('bodil left Faraway at a', async () => (await who(a)).some((x) => x.nick === 'bodil' &&
      x.rooms.length === 0), 5000, 20);
    ol.send({ type: 'names', room: 'faraway' });
    assert.equal((await ol.next({ type: 'error' })).code, 'no_such_room');
    ol.send({ type: 'rooms' });
    assert.deepEqual((await ol.next({ type: 'rooms' })).rooms.filter((r) => r.name === 'Faraway'), []);
    for (const c of [ol, bo]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });

  test('a nick that looks like a user\'s on the other hub is refused, at login and on NICK; free once that user quits', async () => {
    const pa = await jsonLogin(a, 'paula');
    await poll('paula known at b', async () => (await who(b)).some((x) => x.nick === 'paula'), 5000, 20);
    // Capital I for l: the same UTS #39 skeleton.
    assert.equal(await tryLogin(b, 'pauIa'), 'nick_confusable');
    await b.waitForEvent({ EVENT: 'login_failed', NICK: 'pauIa', REASON: /looks like a user of another machine's nick paula/ });
    const qu = await jsonLogin(b, 'quinn');
    qu.send({ type: 'nick', nick: 'pauIa' });
    assert.equal((await qu.next({ type: 'error' })).code, 'nick_confusable');
    assert.ok((await who(b)).some((x) => x.nick === 'quinn'), 'quinn kept its nick');
    assert.ok(!(await who(b)).some((x) => x.nick === 'pauIa'));
    // paula quits on a: the look-alike is free on b.
    pa.send({ type: 'quit' });
    await pa.waitClose();
    await qu.next({ type: 'quit', nick: 'paula' });
    qu.send({ type: 'nick', nick: 'pauIa' });
    await qu.next({ type: 'nick', old: 'quinn', new: 'pauIa' });
    await poll('pauIa known at a', async () => (await who(a)).some((x) => x.nick === 'pauIa'), 5000, 20);
    // And now the other way round: paula looks like pauIa, on a.
    assert.equal(await tryLogin(a, 'paula'), 'nick_confusable');
    qu.send({ type: 'quit' });
    await qu.waitClose();
  });

  test('a hub restarted within its lease: its users resume, and the others are told nothing', async () => {
    const al = await jsonLogin(a, 'amos');
    for (const n of ['t1', 't2']) {	// bess's number here is not the one she resumes with
      const t = await jsonLogin(b, n);
      t.send({ type: 'quit' });
      await t.waitClose();
    }
    const bo = await jsonLogin(b, 'bess');
    await al.next({ type: 'login', nick: 'bess' });
    await b.restartHub('SIGTERM');
    await b.waitForEvent({ EVENT: 'login', NICK: 'bess', REASON: 'resumed' }, 10000);
    // A change after the restart reaches a only once a has read b's users
    // again (its events wait for that): then a has settled.
    bo.send({ type: 'join', room: 'settle' });
    await bo.next({ type: 'join', nick: 'bess', room: 'settle' });
    await poll('b read again at a', async () => (await who(a)).some((x) => x.nick === 'bess' &&
      x.rooms.includes('settle')), 10000, 50);
    bo.send({ type: 'msg', to: 'amos', text: 'still here' });
    await al.until((es) => es.some((e) => e.type === 'msg' && e.text === 'still here'), 10000);
    assert.deepEqual(al.events.filter((e) => (e.type === 'quit' || e.type === 'login') && e.nick === 'bess'), [],
      'no quit, no login');
    for (const c of [al, bo]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });

  test('a hub killed: its users quit on the other once; back, they resume', async () => {
    const al = await jsonLogin(a, 'anna');
    const bo = await jsonLogin(b, 'bert');
    await al.next({ type: 'login', nick: 'bert' });
    const killed = Date.now();
    await b.stopHub('SIGKILL');
    await al.next({ type: 'quit', nick: 'bert' }, 15000);
    assert.ok(Date.now() - killed < 15000);
    assert.deepEqual((await who(a)).map((x) => x.nick), ['anna']);
    await b.startHub();
    // bert's handler resumes on the new hub, and anna sees him again.
    // (taken alone: a second quit notice would stay, and be counted)
    await take(al, (e) => e.type === 'login' && e.nick === 'bert', 1, 20000);
    bo.send({ type: 'msg', to: 'anna', text: 'back' });
    await take(al, (e) => e.type === 'msg' && e.text === 'back', 1);
    assert.equal(al.events.filter((e) => e.type === 'quit').length, 0, 'one quit notice for bert');
    al.close();
    bo.close();
  });
});

describe('Redis lost its data: the users of a hub that comes back later stay', { timeout: 120000 }, () => {
  let dir, port, redis, a, b, c;
  const config = (node) => ({ cluster_redis: `127.0.0.1:${port}`, cluster_node: node });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sb-redis-'));
    port = await freePort();
    redis = await startRedis(port, dir);
    [a, b, c] = await hubsOn(config, ['a', 'b', 'c']);
  });
  after(() => stopAll([a, b, c], redis, dir));

  test('a and c reconnect after b: a in time, told nothing; c a lease later, one quit, then one login', async () => {
    const al = await jsonLogin(a, 'alma');
    const cy = await jsonLogin(c, 'cyd');
    const bo = await jsonLogin(b, 'boyd');
    await poll('alma and cyd known at b', async () => (await who(b)).length === 3, 5000, 20);
    const connected = b.events({ EVENT: 'cluster', REASON: 'connected' }).length;
    // a and c are held while Redis restarts empty; b reconnects first and
    // does not find them.
    for (const sb of [a, c]) sb.signalHub('SIGSTOP');
    await stopRedis(redis, 'SIGKILL');
    redis = await startRedis(port, dir);
    await nthEvent(b, { EVENT: 'cluster', REASON: 'connected' }, connected + 1);
    const told = (nick) => bo.events.filter((e) => (e.type === 'quit' || e.type === 'login') && e.nick === nick);
    assert.deepEqual([...told('alma'), ...told('cyd')], [], 'nobody quit yet');
    assert.deepEqual((await who(b)).map((x) => x.nick).sort(), ['alma', 'boyd', 'cyd']);
    // a comes back within the lease: its users never left.
    const aConnected = a.events({ EVENT: 'cluster', REASON: 'connected' }).length;
    a.signalHub('SIGCONT');
    await nthEvent(a, { EVENT: 'cluster', REASON: 'connected' }, aConnected + 1);
    // c does not: a lease after b's reconnect, its user quits, once (a's
    // lease ended at the same moment: alma stays).
    const [quit] = await take(bo, (e) => e.type === 'quit' && e.nick === 'cyd', 1, 15000);
    assert.equal(quit.reason, 'Connection lost');
    assert.deepEqual(told('alma'), [], 'alma: no quit, no login');
    assert.deepEqual((await who(b)).map((x) => x.nick).sort(), ['alma', 'boyd']);
    al.send({ type: 'msg', to: 'boyd', text: 'still here' });
    await take(bo, (e) => e.type === 'msg' && e.text === 'still here', 1);
    // c back: cyd logs in again, once.
    c.signalHub('SIGCONT');
    await take(bo, (e) => e.type === 'login' && e.nick === 'cyd', 1, 15000);
    assert.deepEqual((await who(b)).map((x) => x.nick).sort(), ['alma', 'boyd', 'cyd']);
    assert.deepEqual([...told('alma'), ...told('cyd')], [], 'one quit and one login in all');
    for (const x of [al, cy, bo]) x.close();
  });
});

/*
 * A TCP relay between a hub and Redis that can cut the line without
 * closing it (a partition: bytes dropped, nothing refused), and heal it;
 * and hold what the hub sends from its first SUBSCRIBE on, until let go.
 */
async function startRelay(target) {
  const socks = new Set();
  const held = new Map();	// hub side -> the bytes held
  let cut = false, refuse = false, hold = false;
  const server = net.createServer((c) => {
    if (refuse) { c.destroy(); return; }	// Redis away: no connection
    if (cut) { socks.add(c); c.on('error', () => {}); return; }	// a black hole
    const r = net.connect(target, '127.0.0.1');
    c.peer = r;
    for (const [x, y] of [[c, r], [r, c]]) {
      socks.add(x);
      x.on('data', (d) => {
        if (cut) return;
        if (x === c && (held.has(c) || (hold && d.includes('SUBSCRIBE')))) {
          held.set(c, [...(held.get(c) ?? []), d]);
          return;
        }
        y.write(d);
      });
      x.on('error', () => {});
      x.on('close', () => { socks.delete(x); held.delete(x); y.destroy(); });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    cut() { cut = true; },
    // Close the hub's connections and refuse new ones (Redis away for it).
    drop() { refuse = true; for (const x of socks) x.destroy(); },
    heal() { cut = false; refuse = false; for (const x of socks) x.destroy(); },
    holdSubscribe() { hold = true; },
    releaseSubscribe() {
      hold = false;
      for (const [c, ds] of held) for (const d of ds) c.peer.write(d);
      held.clear();
    },
    close() { for (const x of socks) x.destroy(); server.close(); },
  };
}

/*
 * A redis-server, hub a on it and hub b through a relay (startRelay), both
 * connected as the ACL user; `aConfig` is added to a's config, `bConfig`
 * to b's.  stop() ends them all.
 */
async function startRelayed(aConfig = {}, bConfig = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-redis-'));
  const port = await freePort();
  const pass = path.join(dir, 'redis.pass');
  writeFileSync(pass, 'switchboard s3cret-pw\n');
  chmodSync(pass, 0o600);
  const env = { port, dir, redis: await startRedis(port, dir) };
  env.relay = await startRelay(port);
  env.stop = async () => {
    await env.a?.stop();
    await env.b?.stop();
    env.relay.close();
    await stopRedis(env.redis);
    rmSync(dir, { recursive: true, force: true });
  };
  env.a = await startSwitchboard({ config: { cluster_redis: `127.0.0.1:${port}`, cluster_node: 'a', cluster_password: pass, ...aConfig } });
  env.b = await startSwitchboard({ config: { cluster_redis: `127.0.0.1:${env.relay.port}`, cluster_node: 'b', cluster_password: pass, ...bConfig } });
  for (const sb of [env.a, env.b]) await sb.waitForEvent({ EVENT: 'cluster', REASON: 'connected' }, 10000);
  return env;
}

/* ACL key patterns for every sb: key but those whose name starts with
 * `prefix` ('sb:bans': none of sb:bans*). */
const keysBut = (prefix) => Array.from(prefix.slice(3), (ch, i) => `~sb:${prefix.slice(3, 3 + i)}[^${ch}]*`);

/*
 * Hub b, cut off by relay.drop(): its reads of the keys starting with
 * `prefix` are refused (an ACL of the hubs' user) while it reconnects,
 * until it has been told NOPERM, then allowed again.  (On both hubs: a
 * touches none of them meanwhile.)  toldNoperm() checks what b's log
 * named.
 */
async function refusedAtReconnect(env, prefix) {
  const { port, relay, b } = env;
  const noperm = { EVENT: 'hub_error', MESSAGE: /: Redis said: NOPERM/ };
  const refused = b.events(noperm).length;
  redisCli(port, 'ACL', 'SETUSER', 'switchboard', 'resetkeys', ...keysBut(prefix));
  try {
    relay.heal();
    await nthEvent(b, noperm, refused + 1);
  } finally {
    redisCli(port, 'ACL', 'SETUSER', 'switchboard', 'resetkeys', '~sb:*');
  }
}

const toldNoperm = (sb, what) => assert.ok(sb.events({ EVENT: 'hub_error' }).some((e) => e.MESSAGE.startsWith(`cluster: ${what}: Redis said: NOPERM`)), `told NOPERM ${what}`);

/* Hub b of env away from Redis (its relay drops it), once b knows. */
async function dropB(env) {
  const lost = env.b.events({ REASON: 'Redis lost' }).length;
  env.relay.drop();
  await nthEvent(env.b, { REASON: 'Redis lost' }, lost + 1);
}

describe('a hub cut off from Redis, and healed', { timeout: 120000 }, () => {
  let env, relay, a, b;

  before(async () => {
    env = await startRelayed({ flood_rate: '100000', flood_burst: '100000' });
    ({ relay, a, b } = env);
  });
  after(async () => { await env?.stop(); });

  test('a first join whose fetch the cut swallowed: what others said meanwhile arrives as news after the heal', async () => {
    const al = await jsonLogin(a, 'amel');
    const bo = await jsonLogin(b, 'bodo');
    await join(al, 'amel', 'cutroom');
    relay.cut();
    await join(bo, 'bodo', 'cutroom');	// b's first fetch goes into the cut
    // more than the history (50) holds: all of them are news for bodo
    for (let i = 0; i < 60; i++) al.send({ type: 'say', room: 'cutroom', text: `cut${i}` });
    await roomMsgs(al, 'cutroom', 60);
    await b.waitForEvent({ EVENT: 'hub_error', REASON: 'Redis lost' }, 10000);
    relay.heal();
    const got = await roomMsgs(bo, 'cutroom', 60, 20000);
    assert.deepEqual(got.map((e) => [e.text, !!e.history]), Array.from({ length: 60 }, (_, i) => [`cut${i}`, false]));
    for (const c of [al, bo]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });

  test('a room\'s catch-up refused at b\'s reconnect: b stays connected and fetches it again until Redis answers, and what was said meanwhile arrives', async () => {
    const [al, bo] = await pairIn(a, 'ama', b, 'bert', 'gaproom');
    await dropB(env);
    const lost = b.events({ REASON: 'Redis lost' }).length;
    for (const text of ['g1', 'g2', 'g3']) al.send({ type: 'say', room: 'gaproom', text });
    await roomMsgs(al, 'gaproom', 3);
    await refusedAtReconnect(env, 'sb:hist');
    // nobody says more: only b's own catch-up can bring them
    assert.deepEqual((await roomMsgs(bo, 'gaproom', 3, 20000)).map((e) => e.text), ['g1', 'g2', 'g3']);
    assert.equal(b.events({ REASON: 'Redis lost' }).length, lost, 'one room\'s refused fetch did not cut b off');
    toldNoperm(b, 'fetching a room\'s messages');
    for (const c of [al, bo]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });

  test('a catch-up whose whole answer is refused (500 of the room\'s numbers hold junk): told as a gap, and the fetch goes on to what follows', async () => {
    const [al, bo] = await pairIn(a, 'aja', b, 'bjo', 'junkgap');
    const said = (c, text) => take(c, (e) => e.type === 'msg' && e.text === text, 1, 20000);
    al.send({ type: 'say', room: 'junkgap', text: 'j1' });
    await said(bo, 'j1');
    await dropB(env);
    // numbers 2..501 of the room hold junk, as if written meanwhile
    redisCli(env.port, 'EVAL', "local s = redis.call('HINCRBY', KEYS[1], 'seq', 500) for i = s - 499, s do redis.call('XADD', KEYS[2], i .. '-0', 'junk', 'x') end", '2', 'sb:room:junkgap', 'sb:hist:junkgap');
    al.send({ type: 'say', room: 'junkgap', text: 'after junk' });
    await said(al, 'after junk');
    env.relay.heal();
    const [m] = await said(bo, 'after junk');
    assert.equal(m.room_seq, 502);
    assert.deepEqual(bo.events.filter((e) => e.type === 'gap').map((e) => [e.since, e.first]), [[1, 502]]);
    for (const c of [al, bo]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });

  test('b\'s inbox refused at its reconnect: b connects again until Redis answers, and the private message waiting there arrives', async () => {
    const al = await jsonLogin(a, 'abe');
    const bo = await jsonLogin(b, 'bix');
    await poll('bix known at a', async () => (await who(a)).some((x) => x.nick === 'bix'), 5000, 20);
    await dropB(env);
    const inbox = () => redisCli(env.port, 'LRANGE', 'sb:inbox:b', '0', '-1');
    al.send({ type: 'msg', to: 'bix', text: 'waiting' });
    await poll('in b\'s inbox', () => inbox().includes('waiting'), 5000, 20);
    await refusedAtReconnect(env, 'sb:in');
    const [m] = await take(bo, (e) => e.type === 'msg' && e.text === 'waiting', 1, 20000);
    assert.equal(m.from, 'abe');
    toldNoperm(b, 'taking the inbox');
    for (const c of [al, bo]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });

  test('a login on a while b, back, has not subscribed yet: b reads the nodes after it subscribes, and knows the user', async () => {
    const al = await jsonLogin(a, 'aida');
    const bo = await jsonLogin(b, 'bela');
    await poll('aida known at b', async () => (await who(b)).some((x) => x.nick === 'aida'), 5000, 20);
    const lost = b.events({ REASON: 'Redis lost' }).length;
    relay.holdSubscribe();
    relay.drop();
    await nthEvent(b, { REASON: 'Redis lost' }, lost + 1);
    const lease = Number(redisCli(env.port, 'ZSCORE', 'sb:nodes', 'b'));
    relay.heal();	// b reconnects: its commands pass, its SUBSCRIBE waits
    await poll('b back (its lease renewed)', async () => Number(redisCli(env.port, 'ZSCORE', 'sb:nodes', 'b')) > lease, 10000, 20);
    const av = await jsonLogin(a, 'ava');	// published while b does not listen
    await poll('ava in Redis', async () => redisCli(env.port, 'HVALS', 'sb:users:a').includes('ava'), 5000, 20);
    relay.releaseSubscribe();
    await poll('ava known at b', async () => (await who(b)).some((x) => x.nick === 'ava'), 10000, 20);
    for (const c of [al, bo, av]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });

  test('its users leave the others within 15 s; after the heal one nick holder remains, the other is told nick_lost', async () => {
    const al = await jsonLogin(a, 'axel');
    const zb = await jsonLogin(b, 'zed');
    const pb = await jsonLogin(b, 'pia');
    await poll('zed and pia known at a', async () => (await who(a)).filter((x) => x.nick === 'zed' || x.nick === 'pia').length === 2, 5000, 20);
    const cut = Date.now();
    relay.cut();
    await al.next({ type: 'quit', nick: 'zed' }, 15000);
    await al.next({ type: 'quit', nick: 'pia' }, 15000);
    assert.ok(Date.now() - cut < 15000, 'presence ended within 15 s');
    // b's users still talk among themselves.
    zb.send({ type: 'msg', to: 'pia', text: 'inside' });
    await pb.next({ type: 'msg', text: 'inside' });
    // zed is free on a now.
    const za = await jsonLogin(a, 'zed');
    relay.heal();
    await zb.next({ type: 'error', code: 'nick_lost' }, 30000);
    await zb.waitClose(10000);
    await al.next({ type: 'login', nick: 'pia' }, 20000);
    for (const sb of [a, b]) {
      const w = (await who(sb)).map((x) => `${x.nick}@${x.node}`).sort();
      assert.deepEqual(w, ['axel@a', 'pia@b', 'zed@a'], 'one zed, on a');
    }
    assert.equal(za.closed, null, 'the zed of a stays');
    assert.equal(za.events.filter((e) => e.type === 'error').length, 0, 'and is told nothing');
    for (const c of [al, za, pb]) c.close();
  });
});

/* The bans of `sb` as switchboardctl lists them, and as bans.json has them. */
const bansOf = async (sb) => JSON.parse(await ctlOk(['-S', sb.controlSocket, '--json', 'bans'])).bans;
function bansOnDisk(sb) {
  const f = path.join(sb.dir, 'bans.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')).bans : [];
}

/* A JSON client from the local address `addr` logged in as `nick`. */
async function loginFrom(sb, nick, addr) {
  const c = new JsonClient(`ws://${sb.host}:${sb.port}/chat`, { localAddress: addr });
  await c.ready;
  c.send({ type: 'login', nick });
  await c.next({ type: 'welcome' });
  return c;
}

/* Resolve once `sb` has logged `n` events matching `filter`. */
const nthEvent = (sb, filter, n, ms = 10000) => poll(`${n} events ${JSON.stringify(filter)}`,
  () => sb.events(filter).length >= n, ms, 20);

describe('bans and kicks across the hubs', { timeout: 120000 }, () => {
  let env, relay, a, b;

  before(async () => {
    env = await startRelayed();
    ({ relay, a, b } = env);
  });
  after(async () => { await env?.stop(); });

  test('a ban on hub a: its user on hub b closed, refused there, listed and on disk; lifted on b, back on a', async () => {
    const wes = await jsonLogin(a, 'wes');
    const tr = await jsonLogin(b, 'troll');
    const far = await loginFrom(b, 'faro', '127.0.0.5');
    await poll('troll and faro known at a', async () => (await who(a)).filter((x) => x.node === 'b').length === 2, 5000, 20);
    const r = JSON.parse(await ctlOk(['-S', a.controlSocket, '--json', 'ban', 'troll', '--for', '1h', 'spam']));
    assert.equal(r.ban.target, 'troll');
    const closed = await tr.waitClose();
    assert.equal(closed.code, 4001, 'closed as banned, on b');
    assert.match(closed.reason, /^The nick troll is banned until \d{4}-.* UTC: spam$/);
    await wes.next({ type: 'quit', nick: 'troll' });
    // b holds the very ban a gave: listed, on disk, and refusing the nick.
    const onB = await bansOf(b);
    assert.deepEqual(onB, [r.ban]);
    assert.deepEqual(bansOnDisk(b).map((x) => [x.nick, x.since, x.until, x.reason]),
      [['troll', r.ban.since, r.ban.until, 'spam']]);
    assert.equal(await tryLogin(b, 'TROLL'), 'banned');
    await b.waitForEvent({ EVENT: 'ban', NICK: 'troll' });
    // An address ban given on a closes b's session from that address, and
    // b refuses a new connection from it.
    await ctlOk(['-S', a.controlSocket, 'ban', '127.0.0.5', 'abuse']);
    const farClosed = await far.waitClose();
    assert.equal(farClosed.code, 4001);
    assert.match(farClosed.reason, /^This address is banned with no end: abuse$/);
    const again = new JsonClient(`ws://${b.host}:${b.port}/chat`, { localAddress: '127.0.0.5' });
    await again.ready;
    again.send({ type: 'login', nick: 'faro' });
    assert.equal((await again.waitClose()).code, 4001, 'refused at connect on b');
    assert.ok(!again.events.some((e) => e.type === 'welcome'), JSON.stringify(again.events));
    assert.deepEqual((await bansOf(b)).map((x) => [x.kind, x.target]).sort(), [['address', '127.0.0.5'], ['nick', 'troll']]);
    // Lifted on b: back on a, gone from a's list and file.
    assert.equal(await ctlOk(['-S', b.controlSocket, 'unban', 'Troll']), 'lifted the ban on troll\n');
    await ctlOk(['-S', b.controlSocket, 'unban', '127.0.0.5']);
    const back = await poll('troll back on a', () => tryLogin(a, 'troll').then((x) => (typeof x === 'string' ? null : x)), 5000, 50);
    const farBack = await poll('127.0.0.5 back on a', () => loginFrom(a, 'faro', '127.0.0.5').catch(() => null), 5000, 50);
    assert.deepEqual(await bansOf(a), []);
    assert.deepEqual(bansOnDisk(a), []);
    for (const c of [wes, back, farBack]) { c.send({ type: 'quit' }); await c.waitClose(); }
  });

  test('a ban that ends, ends on the other hub too', async () => {
    const ex = await jsonLogin(b, 'ender');
    await poll('ender known at a', async () => (await who(a)).some((x) => x.nick === 'ender'), 5000, 20);
    const r = JSON.parse(await ctlOk(['-S', a.controlSocket, '--json', 'ban', 'ender', '--for', '4s']));
    assert.equal((await ex.waitClose()).code, 4001);
    assert.deepEqual((await bansOf(b)).map((x) => [x.target, x.until]), [['ender', r.ban.until]]);
    // Nobody lifts it: b lets the nick in again once the ban has ended.
    const back = await poll('ender back on b', () => tryLogin(b, 'ender').then((x) => (typeof x === 'string' ? null : x)), 15000, 100);
    assert.ok(Date.now() / 1000 >= r.ban.until, 'not before the ban ended');
    assert.deepEqual(await bansOf(b), []);
    back.send({ type: 'quit' });
    await back.waitClose();
  });

  test('Redis away for hub b: bans given meanwhile meet when it is back; an unban given meanwhile too', async () => {
    const early = await jsonLogin(b, 'early');
    const late = await jsonLogin(a, 'late');
    await ctlOk(['-S', a.controlSocket, 'ban', 'gone', 'old']);
    await poll('b has the ban on gone', async () => (await bansOf(b)).some((x) => x.target === 'gone'), 5000, 20);
    await poll('late known at b', async () => (await who(b)).some((x) => x.nick === 'late'), 5000, 20);
    const lost = b.events({ REASON: 'Redis lost' }).length;
    relay.drop();
    await nthEvent(b, { REASON: 'Redis lost' }, lost + 1);
    // On b, cut off: a ban (enforced on b alone for now) and an unban.
    await ctlOk(['-S', b.controlSocket, 'ban', 'late', '1h', 'while away']);
    await ctlOk(['-S', b.controlSocket, 'unban', 'gone']);
    // On a: a ban b cannot hear of now.
    await ctlOk(['-S', a.controlSocket, 'ban', 'early', 'meanwhile']);
    assert.equal(early.closed, null, 'b did not hear of it');
    assert.equal(late.closed, null, 'a did not hear of it');
    const connected = b.events({ EVENT: 'cluster', REASON: 'connected' }).length;
    relay.heal();
    // Back: b writes its ban (a closes late) and reads a's (b closes early).
    assert.equal((await late.waitClose()).code, 4001);
    assert.equal((await early.waitClose()).code, 4001);
    await nthEvent(b, { EVENT: 'cluster', REASON: 'connected' }, connected + 1);
    for (const sb of [a, b]) {
      assert.deepEqual((await bansOf(sb)).map((x) => x.target).sort(), ['early', 'late'], 'the same bans on both, gone lifted');
      assert.deepEqual(bansOnDisk(sb).map((x) => x.nick).sort(), ['early', 'late']);
    }
    for (const t of ['early', 'late']) {
      await ctlOk(['-S', a.controlSocket, 'unban', t]);
      await poll(`${t} lifted on b`, async () => !(await bansOf(b)).some((x) => x.target === t), 5000, 20);
    }
  });

  test('Redis lost its data: each hub writes its bans again, none is lifted', async () => {
    const { port } = env;
    await ctlOk(['-S', a.controlSocket, 'ban', 'keeper', 'k']);
    await poll('b has the ban on keeper', async () => (await bansOf(b)).some((x) => x.target === 'keeper'), 5000, 20);
    const connected = [a, b].map((sb) => sb.events({ EVENT: 'cluster', REASON: 'connected' }).length);
    await stopRedis(env.redis, 'SIGKILL');
    env.redis = await startRedis(port, env.dir);
    await nthEvent(a, { EVENT: 'cluster', REASON: 'connected' }, connected[0] + 1, 20000);
    await nthEvent(b, { EVENT: 'cluster', REASON: 'connected' }, connected[1] + 1, 20000);
    await poll('keeper in sb:bans again', () => redisCli(port, 'HEXISTS', 'sb:bans', 'nick:keeper').trim() === '1', 10000, 50);
    for (const sb of [a, b]) {
      assert.deepEqual((await bansOf(sb)).map((x) => x.target), ['keeper']);
      assert.equal(await tryLogin(sb, 'keeper'), 'banned');
    }
    // And it is one list again: lifted on b, lifted on a.
    await ctlOk(['-S', b.controlSocket, 'unban', 'keeper']);
    await poll('keeper lifted on a', async () => (await bansOf(a)).length === 0, 5000, 20);
  });

  test('reading the bans refused at b\'s reconnect: b connects again until Redis answers, then enforces a ban given meanwhile', async () => {
    const ea = await jsonLogin(b, 'eager');
    await dropB(env);
    await ctlOk(['-S', a.controlSocket, 'ban', 'eager', 'meanwhile']);
    assert.equal(ea.closed, null, 'b did not hear of it');
    await refusedAtReconnect(env, 'sb:bans');
    assert.equal((await ea.waitClose(20000)).code, 4001);	// after b's backoff
    assert.deepEqual((await bansOf(b)).map((x) => x.target), ['eager']);
    assert.equal(await tryLogin(b, 'eager'), 'banned');
    toldNoperm(b, 'reading the bans');
    await ctlOk(['-S', a.controlSocket, 'unban', 'eager']);
    await poll('eager lifted on b', async () => (await bansOf(b)).length === 0, 5000, 20);
  });

  test('bad bans in Redis are refused, an ended one is taken out of the list, and the hubs go on', async () => {
    const { port } = env;
    redisCli(port, 'HSET', 'sb:bans', 'nick:junk', 'nonsense');
    redisCli(port, 'HSET', 'sb:bans', 'nick:forged', '{"nick":"other","since":1,"until":0,"reason":""}');
    redisCli(port, 'HSET', 'sb:bans', 'nick:ctl', '{"nick":"ctl","since":1,"until":0,"reason":"a\\u0007b"}');
    redisCli(port, 'HSET', 'sb:bans', 'nick:ended', '{"nick":"ended","since":1,"until":2,"reason":""}');
    redisCli(port, 'PUBLISH', 'sb:banned', 'nick:junk');
    redisCli(port, 'PUBLISH', 'sb:banned', 'x'.repeat(100));
    await a.waitForEvent({ MESSAGE: /refused a ban from Redis/ }, 5000);
    await a.waitForEvent({ MESSAGE: /refused the name of a ban from Redis/ }, 5000);
    // b reads the whole list when it connects again: three refused, the
    // ended one taken out, nothing banned.
    const lost = b.events({ REASON: 'Redis lost' }).length;
    relay.drop();
    await nthEvent(b, { REASON: 'Redis lost' }, lost + 1);
    relay.heal();
    await b.waitForEvent({ MESSAGE: /refused 3 bans from Redis/ }, 10000);
    await poll('the ended ban out of sb:bans', () => redisCli(port, 'HEXISTS', 'sb:bans', 'nick:ended').trim() === '0', 5000, 20);
    assert.deepEqual(await bansOf(b), []);
    for (const n of ['junk', 'other', 'ctl', 'ended']) {
      const c = await tryLogin(b, n);
      assert.notEqual(typeof c, 'string', `${n} is not banned`);
      c.close();
    }
    redisCli(port, 'DEL', 'sb:bans');
  });

  test('a kick while hub b is away from Redis waits in its inbox and ends the session when b is back', async () => {
    const al = await jsonLogin(a, 'kaj');
    const km = await jsonLogin(b, 'kirsti');
    await poll('kirsti known at a', async () => (await who(a)).some((x) => x.nick === 'kirsti' && x.node === 'b'), 5000, 20);
    const lost = b.events({ REASON: 'Redis lost' }).length;
    relay.drop();
    await nthEvent(b, { REASON: 'Redis lost' }, lost + 1);
    // a still knows kirsti (b's lease has not ended): the kick goes into
    // b's inbox, which b cannot read now.
    const r = JSON.parse(await ctlOk(['-S', a.controlSocket, '--json', 'kick', 'kirsti', 'while away']));
    assert.deepEqual([r.kicked, r.node], ['kirsti', 'b']);
    assert.equal(km.closed, null, 'not ended while b is away');
    relay.heal();
    assert.deepEqual(await km.waitClose(10000), { code: 4000, reason: 'while away' });
    for (const sb of [a, b]) {
      await poll(`kirsti gone from who at ${sb === a ? 'a' : 'b'}`, async () => !(await who(sb)).some((x) => x.nick === 'kirsti'), 10000, 20);
    }
    al.send({ type: 'quit' });
    await al.waitClose();
  });
});

/* `an` on hub sa and `bn` on hub sb (known at sa); `first` sent from an
 * to bn and received.  privs(): the texts of bn's private messages. */
async function privatePair(sa, an, sb, bn, first) {
  const al = await jsonLogin(sa, an);
  const bo = await jsonLogin(sb, bn);
  await poll(`${bn} known at a`, async () => (await who(sa)).some((x) => x.nick === bn && x.node === 'b'), 5000, 20);
  const privs = () => bo.events.filter((e) => e.type === 'msg' && !e.room).map((e) => e.text);
  al.send({ type: 'msg', to: bn, text: first });
  await bo.until(() => privs().includes(first), 10000);
  return { al, bo, privs };
}

/* A JSON login with a password on `sb`: 'ok' (the session closed again) or the error code. */
async function memberLogin(sb, nick, password) {
  const c = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
  await c.ready;
  c.send({ type: 'login', nick, password });
  const e = await c.next((x) => x.type === 'welcome' || x.type === 'error');
  if (e.type === 'error') { c.terminate(); return e.code; }
  assert.equal(e.nick, nick);
  c.send({ type: 'quit' });
  await c.waitClose();
  return 'ok';
}

describe('members across the hubs', { timeout: 120000 }, () => {
  let env, relay, a, b;
  const store = { auth: 'both', members_file: 'members' };
  const file = (sb) => path.join(sb.dir, 'members');
  const onDisk = (sb) => (existsSync(file(sb)) ? readFileSync(file(sb), 'utf8') : '');
  const reload = (sb) => ctlOk(['-S', sb.controlSocket, 'reload']);
  const sha256 = (t) => createHash('sha256').update(t).digest('hex');

  before(async () => {
    env = await startRelayed(store, store);
    ({ relay, a, b } = env);
  });
  after(async () => { await env?.stop(); });

  test('a member added on hub a logs in on hub b, is in b\'s file, and its nick is reserved there', async () => {
    await ctlOk(['-f', file(a), 'member', 'add', 'marta'], { input: 'marta-pw\n' });
    await reload(a);
    await poll('marta in b\'s members file', () => /^1:marta:\$y\$[^:]+:1$/m.test(onDisk(b)), 10000, 20);
    assert.equal(onDisk(b), onDisk(a), 'b has a\'s very file');
    assert.equal(await tryLogin(b, 'Marta'), 'nick_reserved', 'a guest may not take it on b');
    assert.equal(await memberLogin(b, 'marta', 'wrong'), 'login_failed');
    assert.equal(await memberLogin(b, 'marta', 'marta-pw'), 'ok');
    assert.equal(await memberLogin(a, 'marta', 'marta-pw'), 'ok');
    const [v, d] = redisCli(env.port, 'HMGET', 'sb:members', 'v', 'd').trim().split('\n');
    assert.ok(Number(v) >= 1);
    assert.equal(d, sha256(onDisk(a)));
  });

  test('a member disabled on hub b is refused on hub a', async () => {
    await ctlOk(['-f', file(b), 'member', 'disable', 'marta']);
    await reload(b);
    await poll('marta disabled in a\'s file', () => /^1:marta:\$y\$[^:]+:0$/m.test(onDisk(a)), 10000, 20);
    assert.equal(await memberLogin(a, 'marta', 'marta-pw'), 'login_disabled');
    assert.equal(await memberLogin(b, 'marta', 'marta-pw'), 'login_disabled');
    await ctlOk(['-f', file(b), 'member', 'enable', 'marta']);
    await reload(b);
    await poll('marta enabled on a', async () => (await memberLogin(a, 'marta', 'marta-pw')) === 'ok', 10000, 50);
  });

  test('a member added on hub b while it is away from Redis reaches hub a when b is back', async () => {
    const lost = b.events({ REASON: 'Redis lost' }).length;
    relay.drop();
    await nthEvent(b, { REASON: 'Redis lost' }, lost + 1);
    await ctlOk(['-f', file(b), 'member', 'add', 'otto'], { input: 'otto-pw\n' });
    await reload(b);
    assert.equal(await memberLogin(b, 'otto', 'otto-pw'), 'ok');
    assert.equal(await memberLogin(a, 'otto', 'otto-pw'), 'login_failed', 'a has not heard of it');
    relay.heal();
    await poll('otto on a', async () => (await memberLogin(a, 'otto', 'otto-pw')) === 'ok', 10000, 50);
    assert.equal(onDisk(a), onDisk(b));
  });

  test('reading the members refused at b\'s reconnect: b connects again until Redis answers, then a member added meanwhile logs in on b', async () => {
    await dropB(env);
    await ctlOk(['-f', file(a), 'member', 'add', 'ulla'], { input: 'ulla-pw\n' });
    await reload(a);
    assert.equal(await memberLogin(a, 'ulla', 'ulla-pw'), 'ok');
    await refusedAtReconnect(env, 'sb:members');
    await poll('ulla on b', async () => (await memberLogin(b, 'ulla', 'ulla-pw')) === 'ok', 20000, 50);
    assert.equal(onDisk(b), onDisk(a));
    toldNoperm(b, 'reading the members');
  });

  test('a hub that starts with an old file takes the cluster\'s copy', async () => {
    await b.stopHub();
    await ctlOk(['-f', file(a), 'member', 'add', 'greta'], { input: 'greta-pw\n' });
    await reload(a);
    assert.doesNotMatch(onDisk(b), /:greta:/);
    const connected = b.events({ EVENT: 'cluster', REASON: 'connected' }).length;
    await b.startHub();
    await nthEvent(b, { EVENT: 'cluster', REASON: 'connected' }, connected + 1);
    await poll('greta in b\'s file', () => /:greta:/.test(onDisk(b)), 10000, 20);
    assert.equal(onDisk(b), onDisk(a));
    assert.equal(await memberLogin(b, 'greta', 'greta-pw'), 'ok');
  });

  test('bad member text in Redis is refused and logged on both hubs; the files stay and members still log in', async () => {
    const { port } = env;
    await ctlOk(['-f', file(a), 'member', 'add', 'nils'], { input: 'nils-pw\n' });
    await reload(a);
    await poll('nils on b', async () => (await memberLogin(b, 'nils', 'nils-pw')) === 'ok', 10000, 50);
    const good = onDisk(a);
    assert.equal(onDisk(b), good);
    const hash = good.match(/^1:marta:([^:]+):1$/m)[1];
    const bad = [
      [`${good}no member here\n`, new RegExp(`line ${good.split('\n').length}: expected id:nick:crypt-hash:active`)],
      [`${good}99:rnarta:${hash}:1\n`, /"rnarta" looks like "marta"/],
      ['#'.repeat(8 * 1024 * 1024) + '\n', /Message too long/],
    ];
    let v = 1000;
    for (const [text, why] of bad) {
      const before = [a, b].map((sb) => sb.events({ MESSAGE: /^cluster: refused the members/ }).length);
      v += 1;
      execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '-x', 'HSET', 'sb:members', 't'], { input: text });
      redisCli(port, 'HSET', 'sb:members', 'v', String(v), 'd', sha256(text));
      redisCli(port, 'PUBLISH', 'sb:members', String(v));
      for (const [i, sb] of [a, b].entries()) {
        await nthEvent(sb, { MESSAGE: /^cluster: refused the members/ }, before[i] + 1);
        assert.match(sb.events({ MESSAGE: /^cluster: refused the members/ }).at(-1).MESSAGE, why);
      }
    }
    // A text that is not its digest's, and a version that is no number.
    redisCli(port, 'HSET', 'sb:members', 'v', '2000', 'd', sha256('other'), 't', good);
    redisCli(port, 'PUBLISH', 'sb:members', '2000');
    redisCli(port, 'PUBLISH', 'sb:members', 'junk');
    for (const sb of [a, b]) {
      await sb.waitForEvent({ MESSAGE: /refused the members \(not the text's digest\)/ }, 5000);
      await sb.waitForEvent({ MESSAGE: /refused the members' version/ }, 5000);
    }
    for (const sb of [a, b]) {
      assert.equal(onDisk(sb), good, 'the file is kept');
      assert.equal(await memberLogin(sb, 'nils', 'nils-pw'), 'ok');
      assert.equal(await memberLogin(sb, 'marta', 'marta-pw'), 'ok');
      assert.equal(await tryLogin(sb, 'nils'), 'nick_reserved');
    }
    // A reload puts the good file back into Redis.
    await reload(a);
    await poll('the good file in Redis', () => redisCli(port, 'HGET', 'sb:members', 'd').trim() === sha256(good), 5000, 20);
  });
});
