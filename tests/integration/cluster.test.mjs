// SPDX-License-Identifier: ISC
// Many machines, one chat (issue 20), with the real thing: redis-server in
// a network namespace of its own and three machines, each a namespace with
// its own hub and its own socket-activated handlers, joined to Redis by
// veths (lib/cluster.mjs). Clients of all three dialects (JSON over
// WebSocket, the text dialect and the XML dialect over XMLSocket) on
// different machines chat privately and in rooms; nicks are unique across
// machines; and each fault of the issue is injected and its numbers
// asserted: 0 lost while Redis is up, 0 duplicates ever, one order per
// room on every machine, one quit notice per user.
//
// The client-visible codes are docs/cluster.md's contract: error `busy`
// (the outbox for other machines is full), error `nick_lost` (the loser of
// a nick after a partition heals), and "history restarted" as a GAP with
// first 1. docs/cluster-testing.md describes each scenario.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, clusterSkip } from './lib/cluster.mjs';
import { XmlSocket, JsonClient } from './lib/clients.mjs';
import { poll } from './lib/programs.mjs';

const skip = clusterSkip();
const ROOM = 'lobby';
const WAIT = 10000;            // a message across machines, Redis up
const PRESENCE_MS = 15000;     // issue 20: a dead hub's users gone within 15 s
const BIG_FLOOD = { flood_rate: 100000, flood_burst: 100000 };

const attr = (m, name) => new RegExp(`\\b${name}="([^"]*)"`).exec(m)?.[1];

// One chat client of any dialect, with one interface: what the tests ask
// of a client (say, msg, join, list) and what they count (room texts,
// private texts, quits, errors, gaps), each read from the client's own
// wire form.
function wrap(kind, raw, nick) {
  const evs = () => (kind === 'json' ? raw.events : raw.messages);
  const parse = {
    json: (e) => ({
      msg: e.type === 'msg' ? { from: e.from, room: e.room ?? '', to: e.to ?? '', text: e.text, history: !!e.history } : null,
      quit: e.type === 'quit' ? e.nick : null,
      login: e.type === 'login' ? e.nick : null,
      error: e.type === 'error' ? e.code : null,
      gap: e.type === 'gap' ? { room: e.room, first: Number(e.first) } : null,
      users: e.type === 'users' ? { room: e.room ?? '', users: e.users } : null,
      pong: e.type === 'pong' ? e.token : null,
    }),
    text: (m) => ({
      msg: m.startsWith('<msg ')
        ? { from: attr(m, 'from'), room: attr(m, 'room') ?? '', to: attr(m, 'to'), text: attr(m, 'msg'), history: attr(m, 'history') === '1' } : null,
      quit: m.startsWith('<quit ') ? attr(m, 'aid') : null,
      login: m.startsWith('<login ') ? attr(m, 'aid') : null,
      error: m.startsWith('<error ') ? attr(m, 'code') : null,
      gap: m.startsWith('<gap ') ? { room: attr(m, 'room'), first: Number(attr(m, 'first')) } : null,
      users: m.startsWith('<nicklist') ? { room: attr(m.slice(0, m.indexOf('>')), 'room') ?? '', users: [...m.matchAll(/<nick aid="([^"]*)"/g)].map((x) => x[1]) } : null,
      pong: m.startsWith('<pong ') ? attr(m, 'token') : null,
    }),
    xml: (m) => {
      const body = /^<msg [^>]*>([^<]*)<\/msg>$/.exec(m)?.[1];
      const from = attr(m, 'from_id');
      return {
        msg: body !== undefined && from !== '0'
          ? { from, room: attr(m, 'room_id') ?? '', to: attr(m, 'to') ?? '', text: body, history: attr(m, 'history') === '1' } : null,
        quit: m.startsWith('<user_quit ') ? attr(m, 'id') : null,
        login: m.startsWith('<user_login ') ? attr(m, 'id') : null,
        error: m.startsWith('<error ') || m.startsWith('<login ok="0"') ? attr(m, 'code') : null,
        gap: m.startsWith('<gap ') ? { room: attr(m, 'room_id'), first: Number(attr(m, 'first')) } : null,
        users: m.startsWith('<users') ? { room: attr(m.slice(0, m.indexOf('>')), 'room_id') ?? '', users: [...m.matchAll(/<user id="([^"]*)"/g)].map((x) => x[1]) } : null,
        pong: m.startsWith('<pong ') ? attr(m, 'token') : null,
      };
    },
  }[kind];
  const all = (what) => evs().map(parse).map((p) => p[what]).filter((v) => v !== null && v !== undefined);
  const send = {
    json: (o) => raw.send(o),
    text: (s) => raw.send(s),
    xml: (s) => raw.send(s),
  }[kind];
  let pings = 0;
  const c = {
    kind, nick, raw,
    closed: () => (kind === 'json' ? raw.closed !== null : raw.closed),
    say(room, text) {
      if (kind === 'json') send({ type: 'say', room, text });
      else if (kind === 'text') send(`SAY ${room} ${text}`);
      else send(`<msg room_id="${room}">${text}</msg>`);
    },
    msg(to, text) {
      if (kind === 'json') send({ type: 'msg', to, text });
      else if (kind === 'text') send(`MSG ${to} ${text}`);
      else send(`<msg to="${to}">${text}</msg>`);
    },
    // Room messages whose text starts with `mark`, in the order received.
    // Every test's members join before anyone speaks, so a message marked
    // as history (replayed on join) is one said after the join: counted
    // as delivered here, and refused at the end by assertNoLateHistory().
    texts: (room, mark = 'm-') => all('msg').filter((m) => m.room === room && m.text.startsWith(mark)).map((m) => m.text),
    lateHistory: (mark = 'm-') => all('msg').filter((m) => m.history && m.text.startsWith(mark)).map((m) => m.text),
    privs: (mark = 'p-') => all('msg').filter((m) => !m.room && m.text.startsWith(mark)),
    quits: (who) => all('quit').filter((n) => n === who).length,
    logins: (who) => all('login').filter((n) => n === who).length,
    errors: (code) => all('error').filter((e) => e === code).length,
    gaps: (room) => all('gap').filter((g) => g.room === room),
    // Resolve when pred(c) holds, re-checked on every message.
    until: (pred, ms = WAIT, what = 'condition') => raw.until(() => pred(c), ms)
      .catch((e) => { throw new Error(`${nick}: ${what}: ${e.message}`); }),
    // The hub answers in order: once the pong is here, so is every answer
    // to what was sent before the ping.
    async barrier(ms = WAIT) {
      const token = `b${++pings}`;
      if (kind === 'json') send({ type: 'ping', token });
      else if (kind === 'text') send(`PING ${token}`);
      else send(`<ping token="${token}"/>`);
      await c.until(() => all('pong').includes(token), ms, `pong ${token}`);
    },
    // LIST (or NAMES room): the nicks of the answer.
    async list(room = '') {
      const before = all('users').length;
      if (kind === 'json') send(room ? { type: 'names', room } : { type: 'users' });
      else if (kind === 'text') send(room ? `NAMES ${room}` : 'LIST');
      else send(room ? `<names room_id="${room}"/>` : '<list/>');
      await c.until(() => all('users').length > before, WAIT, 'nick list');
      return all('users').at(-1).users;
    },
    async join(room) {
      if (kind === 'json') { send({ type: 'join', room }); return (await raw.next({ type: 'join', room, nick })).members; }
      if (kind === 'text') {
        send(`JOIN ${room}`);
        const m = await raw.next((x) => x.startsWith(`<join room="${room}" aid="${nick}"`));
        return [...m.matchAll(/<nick aid="([^"]*)"/g)].map((x) => x[1]);
      }
      send(`<room id="${room}"/>`);
      const m = await raw.next((x) => x.startsWith(`<joined room_id="${room}"`));
      return [...m.matchAll(/<user id="([^"]*)"/g)].map((x) => x[1]);
    },
    close: () => (kind === 'json' ? raw.terminate() : raw.close()),
  };
  return c;
}

// Log in on machine `m` in `kind` (json, text, xml). Resolves with the
// wrapped client, or rejects with the error code the login got.
async function login(m, kind, nick) {
  const { host, port } = m.sb;
  if (kind === 'json') {
    const raw = new JsonClient(`ws://${host}:${port}/chat`);
    await raw.ready;
    raw.send({ type: 'login', nick });
    const e = await raw.next((x) => x.type === 'welcome' || x.type === 'error');
    if (e.type === 'error') { raw.terminate(); throw Object.assign(new Error(`login ${nick}: ${e.code}`), { code: e.code }); }
    return wrap(kind, raw, nick);
  }
  const raw = new XmlSocket(host, port);
  await raw.ready;
  raw.send(kind === 'text' ? `IDENTIFY ${nick}` : `<login u="${nick}"/>`);
  const r = await raw.next((x) => /^<(identify|login ok=|error)/.test(x));
  if (/^<(error|login ok="0")/.test(r)) { raw.close(); throw Object.assign(new Error(`login ${nick}: ${r}`), { code: attr(r, 'code') }); }
  return wrap(kind, raw, nick);
}

const alivePid = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const dups = (xs) => xs.filter((x, i) => xs.indexOf(x) !== i);

// Every client has every text of `want` in `room`, once, and all in one
// order: the same order at every client.
async function assertRoomDelivery(clients, room, want, ms = WAIT) {
  for (const c of clients) {
    await c.until((x) => want.every((t) => x.texts(room).includes(t)), ms, `${want.length} messages in ${room}`);
  }
  const views = clients.map((c) => c.texts(room).filter((t) => want.includes(t)));
  for (const [i, c] of clients.entries()) {
    assert.deepEqual(dups(c.texts(room)), [], `${c.nick} (${c.kind}) got no message twice`);
    assert.deepEqual(views[i], views[0], `${c.nick} saw ${room} in the same order as ${clients[0].nick}`);
  }
  return views[0];
}

// No message said after a member joined reached it marked as history
// (as replayed on join): checked at the end of a test, so that the rest
// of the scenario is tested too.
function assertNoLateHistory(clients) {
  for (const c of clients) {
    const late = c.lateHistory();
    assert.deepEqual(late, [], `${c.nick} (${c.kind}) got ${late.length} messages said after its join marked history`);
  }
}

// Per sender, the order sent.
function assertSenderOrder(view, sent) {
  for (const [who, texts] of Object.entries(sent)) {
    assert.deepEqual(view.filter((t) => texts.includes(t)), texts, `order of ${who}'s messages`);
  }
}

async function closeAll(clients) {
  for (const c of clients) c.close();
}

// Run body(cl, clients) on a cluster of its own, then close the clients
// and stop the cluster; a failure at the stop (a sanitizer report) is
// added to the body's own failure rather than hiding it.
async function withCluster(opts, body) {
  const cl = await startCluster(opts);
  const clients = [];
  let failure;
  try { await body(cl, clients); } catch (e) { failure = e; }
  if (failure) {
    // What each hub said about the cluster, for the one who reads the failure.
    const tail = (m) => m.sb.hubLog().split('\n').filter((l) => /EVENT=(cluster|hub_error|quit|nick)/.test(l)).slice(-8).join('\n');
    failure.message += `\n\n${cl.machines.map((m) => `hub ${m.name}:\n${tail(m)}`).join('\n')}`;
  }
  await closeAll(clients);
  try {
    await cl.stop();
  } catch (e) {
    if (!failure) throw e;
    failure.message += `\n\nand at the end: ${e.message}`;
  }
  if (failure) throw failure;
}

describe('cluster: three machines, one chat', { skip }, () => {
  let cl;
  const clients = [];
  before(async () => { cl = await startCluster({ config: BIG_FLOOD }); });
  after(async () => { await closeAll(clients); await cl?.stop(); });

  test('private messages and presence across machines, in all three dialects', async () => {
    const [m0, m1, m2] = cl.machines;
    const alice = await login(m0, 'json', 'alice');
    const bob = await login(m1, 'text', 'bob');
    const carol = await login(m2, 'xml', 'carol');
    clients.push(alice, bob, carol);
    // Each login is told to those already there, on every machine; then
    // LIST on every machine names all three (carol, the last, has no
    // notice to wait for: a bounded look at her LIST).
    await alice.until((c) => c.logins('bob') === 1 && c.logins('carol') === 1, WAIT, 'logins of bob and carol');
    await bob.until((c) => c.logins('carol') === 1, WAIT, 'login of carol');
    for (const [c, m] of [[alice, m0], [bob, m1], [carol, m2]]) {
      const all3 = async () => { const w = await c.list(); return ['alice', 'bob', 'carol'].every((n) => w.includes(n)) ? w : null; };
      const who = await poll(`LIST at ${c.nick} on ${m.name} names alice, bob and carol`, all3, WAIT, 200);
      assert.equal(who.length, 3, `LIST at ${c.nick} on ${m.name}: ${who}`);
    }
    // A ring of private messages, each to another machine and dialect.
    const ring = [[alice, bob], [bob, carol], [carol, alice], [alice, carol], [carol, bob], [bob, alice]];
    for (const [i, [from, to]] of ring.entries()) from.msg(to.nick, `p-${i}`);
    for (const [i, [from, to]] of ring.entries()) {
      await to.until((c) => c.privs().some((p) => p.text === `p-${i}` && p.from === from.nick), WAIT, `p-${i} from ${from.nick}`);
    }
    for (const c of [alice, bob, carol]) assert.deepEqual(dups(c.privs().map((p) => p.text)), [], `${c.nick}: no private message twice`);

    // A login on one machine is told on the others; its quit too, once.
    const dave = await login(m2, 'json', 'dave');
    await alice.until((c) => c.logins('dave') === 1, WAIT, 'login of dave');
    await bob.until((c) => c.logins('dave') === 1, WAIT, 'login of dave');
    dave.raw.send({ type: 'quit' });
    await dave.raw.waitClose();
    for (const c of [alice, bob, carol]) await c.until((x) => x.quits('dave') >= 1, WAIT, 'quit of dave');
    // switchboardctl who is cluster-wide, with each user's node.
    const who = await cl.ctlJson(1, 'who');
    const node = Object.fromEntries(who.who.map((w) => [w.nick, w.node]));
    assert.deepEqual([node.alice, node.bob, node.carol], ['m0', 'm1', 'm2'], `switchboardctl who on m1: ${JSON.stringify(who.who)}`);
    assert.equal(node.dave, undefined, 'dave is gone from who');
    const status = await cl.ctlJson(1, 'status');
    assert.equal(status.node, 'm1', `switchboardctl status names its node: ${JSON.stringify(status)}`);
    for (const c of [alice, bob, carol]) {
      await c.barrier();
      assert.equal(c.quits('dave'), 1, `${c.nick} got one quit notice for dave`);
    }
  });

  test('a room across machines: every member gets every message, once, in one order', async () => {
    const [m0, m1, m2] = cl.machines;
    const [alice, bob, carol] = clients;
    const members = [alice, bob, carol,
      await login(m0, 'xml', 'xo0'), await login(m1, 'json', 'jo1'), await login(m2, 'text', 'to2')];
    clients.push(...members.slice(3));
    for (const c of members) await c.join(ROOM);
    // The last to join sees every member, from every machine.
    // (each join reaches the other machines through Redis: asked until it has)
    const last = members.at(-1);
    const everyone = members.map((c) => c.nick).sort();
    await poll('NAMES across machines', async () => JSON.stringify((await last.list(ROOM)).sort()) === JSON.stringify(everyone), 10000, 50);
    const rooms = await cl.ctlJson(0, 'rooms');
    assert.equal(rooms.rooms.find((r) => r.name === ROOM)?.members, members.length, 'switchboardctl rooms counts every machine');
    // Everyone talks at once, without waiting for deliveries.
    const sent = {};
    for (let i = 0; i < 20; i++) {
      for (const c of members) { const t = `m-${c.nick}-${i}`; (sent[c.nick] ??= []).push(t); c.say(ROOM, t); }
    }
    const want = Object.values(sent).flat();
    const view = await assertRoomDelivery(members, ROOM, want);
    assertSenderOrder(view, sent);
    assertNoLateHistory(members);
  });

  test('a nick is unique across machines', async () => {
    const [m0, m1, m2] = cl.machines;
    await assert.rejects(login(m1, 'text', 'alice'), { code: 'nick_taken' }, 'alice (on m0) refused on m1');
    await assert.rejects(login(m2, 'json', 'ALICE'), (e) => /nick_(taken|confusable)/.test(e.code), 'a case variant refused on m2');
    // Two machines race for one nick: exactly one wins.
    const race = await Promise.allSettled([login(m0, 'json', 'erin'), login(m1, 'xml', 'erin'), login(m2, 'text', 'erin')]);
    const won = race.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1, `one of three logins as erin wins: ${race.map((r) => r.status)}`);
    for (const r of race.filter((x) => x.status === 'rejected')) assert.equal(r.reason.code, 'nick_taken');
    clients.push(won[0].value);
    // NICK to a nick held on another machine is refused too.
    const bob = clients[1];
    bob.raw.send('NICK carol');
    await bob.until((c) => c.errors('nick_taken') === 1, WAIT, 'nick_taken for NICK carol');
    const who = await cl.ctlJson(2, 'who');
    assert.equal(who.who.filter((w) => w.nick === 'erin').length, 1, 'one erin in the cluster');
    assert.equal(who.who.filter((w) => w.nick === 'bob').length, 1, 'bob kept his nick');
  });
});

describe('cluster faults', { skip }, () => {
  test('a hub killed (SIGKILL): its users quit everywhere within 15 s, once, and resume when it is back', async () => {
    await withCluster({ config: BIG_FLOOD }, async (cl, clients) => {
      const [m0, m1, m2] = cl.machines;
      const a = await login(m0, 'json', 'anna');
      const c = await login(m2, 'xml', 'cleo');
      const b1 = await login(m1, 'text', 'bert');
      const b2 = await login(m1, 'json', 'bea');
      clients.push(a, c, b1, b2);
      for (const x of clients) await x.join(ROOM);
      const killed = Date.now();
      await m1.sb.stopHub('SIGKILL');
      for (const x of [a, c]) {
        await x.until((y) => y.quits('bert') >= 1 && y.quits('bea') >= 1,
          Math.max(1, PRESENCE_MS - (Date.now() - killed)), 'quit notices of bert and bea within 15 s');
      }
      for (const x of [a, c]) {
        const who = await x.list();
        assert.ok(!who.includes('bert') && !who.includes('bea'), `LIST at ${x.nick} without m1's users: ${who}`);
        assert.deepEqual((await x.list(ROOM)).sort(), ['anna', 'cleo'], `NAMES ${ROOM} at ${x.nick}`);
      }
      const who0 = await cl.ctlJson(0, 'who');
      assert.deepEqual(who0.who.map((w) => w.nick).sort(), ['anna', 'cleo'], 'switchboardctl who on m0');
      // The room goes on between the live machines meanwhile.
      a.say(ROOM, 'm-while-dead');
      await c.until((y) => y.texts(ROOM).includes('m-while-dead'), WAIT, 'room message while m1 is dead');

      // m1's hub comes back; its handlers were alive all along.
      await m1.sb.startHub();
      b1.msg('anna', 'p-back');
      await a.until((y) => y.privs().some((p) => p.text === 'p-back' && p.from === 'bert'), 20000, 'bert talks again after the resume');
      c.say(ROOM, 'm-after');
      await b2.until((y) => y.texts(ROOM).includes('m-after'), 20000, 'bea gets room messages again');
      assert.equal(b1.closed() || b2.closed(), false, 'm1\'s clients stayed connected');
      await poll('m1\'s users back in who on m2', async () => (await cl.ctlJson(2, 'who')).who.length === 4, 20000, 250);
      const who2 = await cl.ctlJson(2, 'who');
      assert.deepEqual(who2.who.map((w) => w.nick).sort(), ['anna', 'bea', 'bert', 'cleo'], 'm1\'s users back in who');
      for (const x of [a, c]) {
        await x.barrier();
        assert.equal(x.quits('bert'), 1, `${x.nick}: exactly one quit notice for bert`);
        assert.equal(x.quits('bea'), 1, `${x.nick}: exactly one quit notice for bea`);
        assert.deepEqual(dups(x.texts(ROOM)), [], `${x.nick}: nothing twice`);
      }
      assertNoLateHistory([a, c]);
    });
  });

  for (const appendonly of [true, false]) {
    test(`Redis restarts (${appendonly ? 'with' : 'without'} AOF): local delivery goes on, the outbox waits, nothing lost or twice${appendonly ? '' : ', history restarted'}`, async () => {
      await withCluster({ appendonly, config: BIG_FLOOD }, async (cl, clients) => {
        const [m0, m1, m2] = cl.machines;
        const a = await login(m0, 'json', 'amy');
        const a2 = await login(m0, 'text', 'abe');
        const b = await login(m1, 'json', 'ben');
        const c = await login(m2, 'xml', 'cat');
        const members = [a, a2, b, c];
        clients.push(...members);
        for (const x of members) await x.join(ROOM);
        const before = Array.from({ length: 10 }, (_, i) => `m-before-${i}`);
        for (const t of before) a.say(ROOM, t);
        await assertRoomDelivery(members, ROOM, before);
        const runId = cl.redisRunId;

        await cl.stopRedis('SIGKILL');
        // Same machine: delivered during the outage.
        a.msg('abe', 'p-local');
        await a2.until((x) => x.privs().some((p) => p.text === 'p-local'), WAIT, 'private message on the same machine during the outage');
        const during = Array.from({ length: 10 }, (_, i) => `m-during-${i}`);
        for (const t of during) a.say(ROOM, t);
        a.msg('ben', 'p-outbox');
        await a2.until((x) => during.every((t) => x.texts(ROOM).includes(t)), WAIT, 'room messages on the same machine during the outage');
        await a.barrier();
        assert.equal(a.errors('busy'), 0, 'ten messages fit in the outbox');
        assert.deepEqual(b.texts(ROOM).filter((t) => during.includes(t)), [], 'nothing reached m1 without Redis');

        await cl.startRedis();
        assert.notEqual(cl.redisRunId, runId, 'a new Redis run');
        // The outbox is sent after the reconnect.
        await assertRoomDelivery(members, ROOM, [...before, ...during], 30000);
        const after = Array.from({ length: 10 }, (_, i) => `m-after-${i}`);
        for (const [i, t] of after.entries()) members[i % members.length].say(ROOM, t);
        const view = await assertRoomDelivery(members, ROOM, [...before, ...during, ...after]);
        assertSenderOrder(view, { amy: [...before, ...during] });
        for (const x of members) {
          await x.barrier();
          const restarted = x.gaps(ROOM).filter((g) => g.first === 1);
          if (appendonly) assert.equal(restarted.length, 0, `${x.nick}: no history restart with AOF`);
          else assert.equal(restarted.length, 1, `${x.nick}: told once that ${ROOM}'s history restarted`);
          assert.equal(x.closed(), false, `${x.nick} stayed connected`);
        }
        await b.until((x) => x.privs().some((p) => p.text === 'p-outbox'), 30000, 'the private message from the outbox');
        await b.barrier();
        assert.equal(b.privs().filter((p) => p.text === 'p-outbox').length, 1, 'the outbox message once');
        assertNoLateHistory(members);
      });
    });
  }

  test('Redis down: past the outbox bound the sender gets busy, and nothing is dropped silently', async () => {
    await withCluster({ config: BIG_FLOOD }, async (cl, clients) => {
      const [m0, m1] = cl.machines;
      const a = await login(m0, 'json', 'ada');
      const a2 = await login(m0, 'json', 'ari');
      const b = await login(m1, 'json', 'bo');
      clients.push(a, a2, b);
      for (const x of clients) await x.join(ROOM);
      await cl.stopRedis('SIGKILL');
      // Fill the outbox, 100 messages of 1 KiB at a time, until busy:
      // bounded at 20,000 messages.
      const pad = 'x'.repeat(1000);
      let sent = 0;
      while (a.errors('busy') === 0 && sent < 20000) {
        for (let i = 0; i < 100; i++) a.say(ROOM, `m-${sent++}-${pad}`);
        await a.barrier(30000);
      }
      const busy = a.errors('busy');
      assert.ok(busy > 0, `busy after ${sent} messages`);
      for (let i = 0; i < 20; i++) a.say(ROOM, `m-${sent++}-${pad}`);
      await a.barrier(30000);
      const refused = a.errors('busy');
      await cl.startRedis();
      // Every message was either refused with busy or is delivered, here
      // and on the other machine: refused + delivered = sent.
      for (const x of [a2, b]) {
        await x.until((y) => y.texts(ROOM).length + refused >= sent, 60000, `${sent - refused} messages`);
        await x.barrier();
        assert.equal(x.texts(ROOM).length + refused, sent, `${x.nick}: delivered + busy = sent`);
        assert.deepEqual(dups(x.texts(ROOM)), [], `${x.nick}: nothing twice`);
      }
      assert.deepEqual(b.texts(ROOM), a2.texts(ROOM), 'the same messages in the same order on both machines');
      assertNoLateHistory([a2, b]);
    });
  });

  test('bad data from Redis (malformed, oversized) is refused: no hub crashes, no client sees it, the chat goes on', async () => {
    await withCluster({ config: BIG_FLOOD }, async (cl, clients) => {
      const [m0, m1, m2] = cl.machines;
      const a = await login(m0, 'json', 'ava');
      const b = await login(m1, 'text', 'bix');
      const c = await login(m2, 'xml', 'cyd');
      clients.push(a, b, c);
      for (const x of clients) await x.join(ROOM);
      for (const x of clients) await x.join('other');
      a.say(ROOM, 'm-first');
      await assertRoomDelivery(clients, ROOM, ['m-first']);
      const junk = ['', 'x-junk', '{"x-junk":', '\u0000\u00ff x-junk', JSON.stringify({ type: 'msg', seq: 'x-junk', text: 'x-junk' }),
        'x-junk'.repeat(200000)];   // 1.2 MB
      // Whatever the engine names its channels and streams: the ones in
      // use now get garbage, from Redis's side. First the channels: the
      // room goes on.
      const list = (out) => out.split('\n').map((l) => l.trim()).filter(Boolean);
      const channels = list(cl.redisCli('PUBSUB', 'CHANNELS', '*'));
      const shards = list(cl.redisCli('PUBSUB', 'SHARDCHANNELS', '*'));
      assert.ok(channels.length + shards.length > 0, 'the hubs subscribe to something');
      for (const j of junk) {
        for (const ch of channels) cl.redisCliX(['PUBLISH', ch], j);
        for (const ch of shards) cl.redisCliX(['SPUBLISH', ch], j);
      }
      b.say(ROOM, 'm-after-junk');
      c.msg('ava', 'p-after-junk');
      await assertRoomDelivery(clients, ROOM, ['m-first', 'm-after-junk'], 20000);
      // Then the room's history stream: a joiner on another machine gets
      // the good history and none of the junk, and the other room goes on.
      const streams = cl.redisKeys('stream').filter((k) => k.includes(ROOM));
      assert.ok(streams.length > 0, `a stream for ${ROOM}`);
      for (const j of junk) for (const st of streams) cl.redisCliX(['XADD', st, '*', 'x-junk'], j);
      const d = await login(m2, 'json', 'dee');
      await d.join(ROOM);
      await d.until((x) => x.texts(ROOM).includes('m-after-junk'), WAIT, 'the history without the junk');
      a.say('other', 'm-other');
      await assertRoomDelivery(clients, 'other', ['m-other'], 20000);
      await a.until((x) => x.privs().some((p) => p.text === 'p-after-junk'), 20000, 'private message after the junk');
      // Then a room's numbers: the first joiner on a machine, whose first
      // fetch's answer is refused (a bad epoch), is answered all the same
      // (its answer waits for that fetch) and hears what comes after.
      await a.join('third');
      a.say('third', 'm-third');
      await a.until((x) => x.texts('third').includes('m-third'), WAIT, 'a message in third');
      cl.redisCli('HSET', 'sb:room:third', 'epoch', 'x-junk');
      const e = await login(m1, 'json', 'eli');
      clients.push(e);
      await e.join('third');
      c.msg('eli', 'p-to-eli');
      await e.until((x) => x.privs().some((p) => p.text === 'p-to-eli'), 20000, 'a private message after the refused fetch');
      for (const x of [...clients, d]) {
        await x.barrier();
        const seen = JSON.stringify(x.kind === 'json' ? x.raw.events : x.raw.messages);
        assert.ok(!seen.includes('x-junk'), `${x.nick} saw none of the junk`);
        assert.equal(x.closed(), false, `${x.nick} stayed connected`);
      }
      clients.push(d);
      const dead = cl.machines.filter((m) => !alivePid(m.sb.hubPid));
      assert.deepEqual(dead.map((m) => m.name), [], 'every hub still runs');
      for (const m of cl.machines) assert.equal(m.sb.events({ EVENT: 'start' }).length, 1, `${m.name}'s hub started once`);
      assertNoLateHistory(clients.slice(0, 3));
    });
  });

  test('a machine cut off from Redis keeps its clients; when it heals one nick holder remains and the other gets nick_lost', async () => {
    await withCluster({ config: BIG_FLOOD }, async (cl, clients) => {
      const [m0, m1, m2] = cl.machines;
      const a = await login(m0, 'json', 'axel');
      const b = await login(m1, 'text', 'bram');
      const z = await login(m2, 'json', 'zed');
      const p = await login(m2, 'xml', 'pia');
      clients.push(a, b, z, p);
      for (const x of clients) await x.join(ROOM);

      cl.cut(2);
      const cut = Date.now();
      // m2's clients stay and talk among themselves.
      z.msg('pia', 'p-inside');
      await p.until((x) => x.privs().some((q) => q.text === 'p-inside'), WAIT, 'private message inside the cut-off machine');
      // Said at once, before the hub can know (TCP does not notice a
      // dead link): checked after the heal, so that the rest runs first.
      const early = Array.from({ length: 5 }, (_, i) => `m-early-${i}`);
      for (const t of early) z.say(ROOM, t);
      // Once the hub has found the partition (docs/cluster.md: a PING
      // unanswered for 3 s; it logs hub_error "Redis lost"), what is said
      // reaches the local members at once.
      await m2.sb.waitForEvent({ EVENT: 'hub_error', REASON: 'Redis lost' }, 15000);
      const inside = Array.from({ length: 5 }, (_, i) => `m-inside-${i}`);
      for (const t of inside) z.say(ROOM, t);
      await p.until((x) => inside.every((t) => x.texts(ROOM).includes(t)), WAIT, 'room messages inside the cut-off machine');
      // The others see m2's users go, as for a dead hub.
      await a.until((x) => x.quits('zed') >= 1 && x.quits('pia') >= 1, PRESENCE_MS + 5000, 'quit of m2\'s users at m0');
      const gone = Date.now() - cut;
      // Meanwhile someone on m0 takes the nick.
      const z2 = await poll('zed free on m0', () => login(m0, 'text', 'zed').catch(() => null), 10000, 250);
      clients.push(z2);
      const outside = Array.from({ length: 5 }, (_, i) => `m-outside-${i}`);
      for (const t of outside) a.say(ROOM, t);
      await b.until((x) => outside.every((t) => x.texts(ROOM).includes(t)), WAIT, 'room messages between m0 and m1');

      cl.heal(2);
      // Exactly one of the two holders of zed is told nick_lost.
      await Promise.race([z, z2].map((x) => x.until((y) => y.errors('nick_lost') > 0, 60000, 'nick_lost')));
      for (const x of [z, z2]) if (!x.closed()) await x.barrier(30000).catch(() => {});
      assert.equal(z.errors('nick_lost') + z2.errors('nick_lost'), 1, 'one nick_lost');
      // No duplicate nick remains anywhere.
      for (const i of [0, 1, 2]) {
        const who = await poll(`who on m${i} settled`, async () => {
          const w = await cl.ctlJson(i, 'who');
          return w.who.some((x) => x.nick === 'pia') ? w : null;
        }, 30000, 250);
        assert.equal(who.who.filter((x) => x.nick === 'zed').length, 1, `one zed in who on m${i}: ${JSON.stringify(who.who)}`);
      }
      for (const x of [a, b, p]) {
        const list = await x.list();
        assert.equal(list.filter((n) => n === 'zed').length, 1, `one zed in LIST at ${x.nick}: ${list}`);
      }
      // What m2 said while cut off arrives after the heal; what the others
      // said is not lost for the members that stayed in touch.
      await assertRoomDelivery([a, b], ROOM, [...inside, ...outside], 30000);
      await p.until((x) => outside.every((t) => x.texts(ROOM).includes(t)), 30000, 'what m0 said reaches m2 after the heal');
      // Nothing said in the partition's first seconds was lost either.
      await p.until((x) => early.every((t) => x.texts(ROOM).includes(t)), WAIT, 'what zed said before the hub knew, at pia');
      await assertRoomDelivery([a, b], ROOM, [...early, ...inside, ...outside], WAIT);
      assert.ok(gone <= PRESENCE_MS + 5000, `presence ended ${gone} ms after the cut`);
      for (const x of [a, b, p]) assert.deepEqual(dups(x.texts(ROOM)), [], `${x.nick}: nothing twice`);
      assertNoLateHistory([a, b, p]);
    });
  });

  // A busy Redis reads its clients in no causal order: the first fetch of
  // a joiner's machine may run after what another machine wrote once the
  // joiner was answered. Made certain here by a link that brings m1's
  // commands 600 ms late: the JOIN answer waits for the fetch's.
  test('a slow link to Redis: what is said after the JOIN answer reaches the joiner as news, what came before as its history', async () => {
    await withCluster({ machines: 2, slowLink: { machine: 1, ms: 600 }, config: BIG_FLOOD }, async (cl, clients) => {
      const [m0, m1] = cl.machines;
      const a = await login(m0, 'json', 'amy');
      clients.push(a);
      await a.join(ROOM);
      const old = ['m-old-0', 'm-old-1', 'm-old-2'];
      for (const t of old) a.say(ROOM, t);
      await assertRoomDelivery([a], ROOM, old);
      const c = await login(m1, 'xml', 'cat');
      clients.push(c);
      await c.join(ROOM);
      const news = Array.from({ length: 5 }, (_, i) => `m-new-${i}`);
      for (const t of news) a.say(ROOM, t);
      await assertRoomDelivery([a, c], ROOM, [...old, ...news]);
      await c.barrier();
      const history = (x) => x.raw.messages.filter((m) => m.startsWith('<msg ') && attr(m, 'history') === '1');
      assert.deepEqual(history(c).map((m) => /<msg [^>]*>([^<]*)<\/msg>$/.exec(m)?.[1]), old,
        'cat\'s replay: what amy said before the join, marked history');
      assert.deepEqual(c.lateHistory().filter((t) => news.includes(t)), [], 'cat got what amy said after the answer as news');
      assert.deepEqual(dups(c.texts(ROOM)), [], 'cat: nothing twice');
    });
  });
});
