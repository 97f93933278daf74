// SPDX-License-Identifier: ISC
// A handler that falls behind a busy room (issue 18): its process is
// stopped (SIGSTOP) while another client talks, so what the hub sends it
// waits in the hub's queue, coalesced into C_BATCH datagrams. Resumed,
// it must give its client every message once, in order, with JSON seq
// numbers that never jump; stopped for too long, it is ended with
// slow_reader (close code 4003) after the messages before the limit, with
// no gap before the close. The harness fails the file if any handler
// logged a sequence gap.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSwitchboard, ctl } from './lib/harness.mjs';
import { jsonLogin } from './lib/clients.mjs';

const PAD = 'x'.repeat(200);

// The pid of the handler of `nick`, from switchboardctl who.
async function handlerPid(sb, nick) {
  const who = JSON.parse(await ctl(['-S', sb.controlSocket, '--json', 'who']));
  const list = Array.isArray(who) ? who : Object.values(who).find(Array.isArray);
  const me = list.find((c) => c.nick === nick);
  assert.ok(me && me.pid > 0, `no handler pid for ${nick}: ${JSON.stringify(who)}`);
  return me.pid;
}

// Two clients in room "busy": the talker and the one that will sleep.
async function pair(sb, a, b) {
  const talker = await jsonLogin(sb, a);
  const sleeper = await jsonLogin(sb, b);
  for (const c of [talker, sleeper]) {
    c.send({ type: 'join', room: 'busy' });
    await c.next({ type: 'join', room: 'busy', nick: c === talker ? a : b });
  }
  await talker.next({ type: 'join', room: 'busy', nick: b });
  return { talker, sleeper, pid: await handlerPid(sb, b) };
}

// The talker's room messages m<from>.. m<to - 1>; resolves once the hub
// has routed them all (the talker got its own last one back).
async function talk(talker, from, to) {
  for (let i = from; i < to; i++) talker.send({ type: 'say', room: 'busy', text: `m${i} ${PAD}` });
  await talker.until((ev) => ev.some((e) => e.type === 'msg' && e.text === `m${to - 1} ${PAD}`), 30000);
}

// The room messages `c` got live (not the room's history, replayed on
// joining): each m<i> once, i = 0, 1, ..., its seq one more each time.
// Returns how many.
function inOrder(c) {
  const msgs = c.events.filter((e) => e.type === 'msg' && e.room === 'busy' && !e.history);
  msgs.forEach((e, i) => {
    assert.equal(e.text, `m${i} ${PAD}`, `message ${i} out of order or missing`);
    if (i > 0) assert.equal(e.seq, msgs[i - 1].seq + 1, `seq jumped at message ${i}`);
  });
  return msgs.length;
}

describe('a handler that falls behind', () => {
  let sb;
  before(async () => {
    sb = await startSwitchboard({ config: { rooms: 'lobby busy', flood_rate: 100000, flood_burst: 100000 } });
  });
  after(async () => { await sb.stop(); });

  test('catches up: every message once, in order, no gap', async () => {
    const { talker, sleeper, pid } = await pair(sb, 'tina', 'sam');
    process.kill(pid, 'SIGSTOP');
    try {
      await talk(talker, 0, 1200);	/* ~300 KiB: past the socket's buffer */
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await sleeper.until((ev) => ev.some((e) => e.type === 'msg' && e.text === `m1199 ${PAD}`), 30000);
    assert.equal(inOrder(sleeper), 1200);
    assert.equal(sleeper.closed, null);
    talker.close();
    sleeper.close();
  });

  test('far behind: ended with slow_reader (4003), nothing skipped before', async () => {
    const { talker, sleeper, pid } = await pair(sb, 'tess', 'sid');
    let sent = 0;
    process.kill(pid, 'SIGSTOP');
    try {
      while (!sb.events({ EVENT: 'slow_reader', NICK: 'sid' }).length && sent < 20000) {
        await talk(talker, sent, sent + 500);
        sent += 500;
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.ok(sent < 20000, 'the hub never gave up on the stopped handler');
    const closed = await sleeper.waitClose(30000);
    assert.equal(closed.code, 4003);
    const got = inOrder(sleeper);
    assert.ok(got > 1000 && got < sent, `${got} of ${sent} before the close`);
    const close = sleeper.events.find((e) => e.type === 'close');
    assert.equal(close && close.code, 'slow_reader');
    talker.close();
  });
});
