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
import { startSwitchboard, ctl, handlerPidOf as handlerPid } from './lib/harness.mjs';
import { jsonLogin } from './lib/clients.mjs';
import { poll } from './lib/programs.mjs';
import { spawnSync } from 'node:child_process';

const PAD = 'x'.repeat(200);


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

// The hub behind its handlers (issue 18, "batch when behind"): what one
// turn of the hub reads from a handler (up to 64 datagrams) is routed
// first and written at the end of the turn, each handler's share in one
// C_BATCH datagram. The hub is stopped while a client sends 40 room
// messages, so that all 40 wait in its socket; when it runs again, the
// deliveries (40 to each of the two members) must take far fewer
// datagrams than deliveries, and arrive once each, in order.
// Bytes waiting to be read in the sockets of process `pid` (ss: for a
// Unix SOCK_SEQPACKET socket, Recv-Q is the bytes of its datagrams).
function hubInbound(pid) {
  const r = spawnSync('ss', ['-xpnH'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ss: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.includes(`pid=${pid},`))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/)[2]), 0);
}

describe('a hub that falls behind', () => {
  let sb;
  before(async () => {
    sb = await startSwitchboard({ config: { rooms: 'busy', flood_rate: 100000, flood_burst: 100000 } });
  });
  after(async () => { await sb.stop(); });

  const counter = (text, name) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, `no ${name} in the metrics`);
    return Number(line.slice(name.length + 1));
  };
  const counts = async () => {
    const text = await ctl(['-S', sb.controlSocket, 'metrics']);
    return {
      deliveries: counter(text, 'switchboard_deliveries_total'),
      datagrams: counter(text, 'switchboard_hub_datagrams_total'),
    };
  };

  test('what waited goes out in a batch per handler, every message once, in order', async () => {
    const { talker, sleeper } = await pair(sb, 'tom', 'sue');
    const before = await counts();
    process.kill(sb.hubPid, 'SIGSTOP');
    try {
      for (let i = 0; i < 40; i++) talker.send({ type: 'say', room: 'busy', text: `m${i} ${PAD}` });
      // No event tells that the talker's handler has passed all 40 on
      // while the hub sleeps: poll what waits in the hub's sockets.
      await poll('the 40 messages waiting for the hub', () => hubInbound(sb.hubPid) >= 40 * PAD.length);
    } finally {
      process.kill(sb.hubPid, 'SIGCONT');
    }
    await sleeper.until((ev) => ev.some((e) => e.type === 'msg' && e.text === `m39 ${PAD}`), 30000);
    await talker.until((ev) => ev.some((e) => e.type === 'msg' && e.text === `m39 ${PAD}`), 30000);
    assert.equal(inOrder(sleeper), 40);
    assert.equal(inOrder(talker), 40);
    const after = await counts();
    const deliveries = after.deliveries - before.deliveries;
    const datagrams = after.datagrams - before.datagrams;
    assert.equal(deliveries, 80, 'each message to both members');
    assert.ok(datagrams <= deliveries / 4,
      `${datagrams} datagrams for ${deliveries} deliveries: the turn's messages were not batched`);
    talker.close();
    sleeper.close();
  });
});
