// SPDX-License-Identifier: ISC
// A session that ends on purpose ends for good: QUIT in each of the three
// dialects, and the hub's own ends (kick), are checked by their effects,
// not by the notice alone.  After the end: the client's connection is
// closed, the nick is gone from LIST, NAMES and `switchboardctl who`, the
// others got exactly one quit notice, the hub logged exactly one quit and
// no resume, and the handler process has exited.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { startSwitchboard, handlerPids } from './lib/harness.mjs';
import { XmlSocket, xmlLogin, jsonLogin } from './lib/clients.mjs';
import { ctl } from './lib/ctl.mjs';

// Resolve when process `pid` has exited (polls /proc: a process that is
// not our child has no exit event to wait on).
async function waitExit(pid, ms = 5000) {
  const until = Date.now() + ms;
  while (existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(safeStatus(pid))) {
    if (Date.now() > until) throw new Error(`handler ${pid} still running after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
function safeStatus(pid) {
  try { return readFileSync(`/proc/${pid}/status`, 'utf8'); } catch { return ''; }
}

describe('a session that ends on purpose', () => {
  let sb;
  before(async () => { sb = await startSwitchboard({ config: { rooms: 'lobby' } }); });
  after(async () => { await sb.stop(); });

  // bob watches: identified, in the lobby.  Returns the nicks LIST shows.
  async function list(bob) {
    bob.send('LIST');
    const l = await bob.next(/^<nicklist>/);
    return [...l.matchAll(/<nick aid="([^"]*)"/g)].map((m) => m[1]);
  }
  async function names(bob) {
    bob.send('NAMES lobby');
    const l = await bob.next(/^<nicklist/);
    return [...l.matchAll(/<nick aid="([^"]*)"/g)].map((m) => m[1]);
  }
  async function who() {
    const r = await ctl(['-S', sb.controlSocket, '--json', 'who']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).who.map((w) => w.nick);
  }

  // What must hold once `nick` has left: checked from bob's side and the
  // operator's.  `handler` is the pid of the leaver's handler.
  async function assertGone(bob, nick, handler) {
    assert.match(await bob.next(/^<quit /), new RegExp(`aid="${nick}"`));
    await sb.waitForEvent({ EVENT: 'quit', NICK: nick });
    await waitExit(handler);
    assert.ok(!(await list(bob)).includes(nick), 'gone from LIST');
    assert.ok(!(await names(bob)).includes(nick), 'gone from NAMES');
    assert.ok(!(await who()).includes(nick), 'gone from switchboardctl who');
    // One more round trip, then no second quit notice may be waiting.
    await list(bob);
    assert.equal(bob.messages.filter((m) => m.startsWith('<quit ')).length, 0,
      `no second quit notice: ${JSON.stringify(bob.messages)}`);
    assert.equal(sb.events({ EVENT: 'quit', NICK: nick }).length, 1, 'one quit logged');
    assert.equal(sb.events({ EVENT: 'login', NICK: nick, REASON: 'resumed' }).length, 0,
      'never resumed');
  }

  async function watcher(nick) {
    const bob = await xmlLogin(sb, nick);
    bob.send('JOIN lobby');
    await bob.next(/^<join /);
    return bob;
  }

  test('QUIT in the text dialect (seed 000) closes the connection for good', async () => {
    const bob = await watcher('bob');
    const before = new Set(handlerPids(sb.saPid));
    const alice = await xmlLogin(sb, 'alice');
    const mine = handlerPids(sb.saPid).filter((p) => !before.has(p));
    assert.equal(mine.length, 1);
    alice.send('JOIN lobby');
    await alice.next(/^<join /);
    await bob.next(/^<join .*alice/);
    alice.send('QUIT bye');
    assert.equal(await alice.next(/^<close /), '<close code="quit" reason="bye" />');
    await alice.waitClose();
    await assertGone(bob, 'alice', mine[0]);
    // The nick is free again.
    const again = await xmlLogin(sb, 'alice');
    again.send('QUIT');
    await again.waitClose();
    await bob.next(/^<quit aid="alice"/);
    bob.close();
  });

  // Issue 16, hole 9: spaces and '=' in a QUIT reason went into the hub's
  // stderr line unquoted and forged fields (a second EVENT, NICK, REMOTE).
  test('a QUIT reason that looks like fields is logged as one REASON, whole', async () => {
    const reason = 'bye EVENT=kick NICK=alice REMOTE=10.0.0.1:4 MESSAGE="alice kicked" \\ \\" x';
    const m = await jsonLogin(sb, 'mallory');
    m.send({ type: 'quit', reason });
    await m.waitClose();
    const ev = await sb.waitForEvent({ EVENT: 'quit', NICK: 'mallory' });
    assert.equal(ev.REASON, reason);
    assert.equal(ev.MESSAGE, `mallory quit: ${reason}`);
    assert.deepEqual(Object.keys(ev), ['EVENT', 'NICK', 'REMOTE', 'TRANSPORT', 'SESSION', 'REASON', 'MESSAGE']);
    assert.equal(sb.events({ EVENT: 'kick' }).length, 0, 'no kick forged');
    assert.ok(!sb.events({}).some((e) => e.NICK === 'alice' && e.REMOTE === '10.0.0.1:4'));
  });

  test('<quit/> in the XML dialect (seed 001) closes the connection for good', async () => {
    const bob = await watcher('bert');
    const before = new Set(handlerPids(sb.saPid));
    const carol = new XmlSocket(sb.host, sb.port);
    await carol.ready;
    carol.send('<login u="carol" p="" />');
    await carol.next(/^<login ok="1"/);
    const mine = handlerPids(sb.saPid).filter((p) => !before.has(p));
    carol.send('<quit reason="off to bed" />');
    assert.match(await carol.next(/^<close /), /code="quit" reason="off to bed"/);
    await carol.waitClose();
    await assertGone(bob, 'carol', mine[0]);
    bob.close();
  });

  test('{"type":"quit"} in the JSON dialect closes the WebSocket with 1000', async () => {
    const bob = await watcher('bill');
    const before = new Set(handlerPids(sb.saPid));
    const dave = await jsonLogin(sb, 'dave');
    const mine = handlerPids(sb.saPid).filter((p) => !before.has(p));
    dave.send({ type: 'quit', reason: 'later' });
    const closed = await dave.waitClose();
    assert.equal(closed.code, 1000);
    assert.ok(dave.events.some((e) => e.type === 'close' && e.code === 'quit'),
      JSON.stringify(dave.events));
    await assertGone(bob, 'dave', mine[0]);
    bob.close();
  });
});
