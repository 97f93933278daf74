// SPDX-License-Identifier: ISC
// Password guessing (issue 16, hole 1): connections that send wrong
// passwords for a member must not keep anyone else out or slow the chat
// down, and their guesses are throttled per nick and per address.  The
// test asserts on effects (who got in, what arrived, who was throttled);
// the latency figure is in `make bench` (docs/benchmarks.md).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startSwitchboard, ctl } from './lib/harness.mjs';
import { XmlSocket, xmlLogin } from './lib/clients.mjs';

const ATTACKERS = 8;	// connections
const GUESSES = 8;	// each, within its flood allowance (burst 10)

describe('password guessing', () => {
  let sb;
  before(async () => {
    sb = await startSwitchboard({ config: { auth: 'both', members_file: 'members' } });
    await ctl(['-f', path.join(sb.dir, 'members'), 'member', 'add', 'alice'], 'wonderland\n');
    await ctl(['-S', sb.controlSocket, 'reload']);
  });
  after(async () => { await sb.stop(); });

  test('guesses for a member keep no guest out and hold no message back; the guessers are throttled', async () => {
    const watcher = await xmlLogin(sb, 'watcher');
    const speaker = await xmlLogin(sb, 'speaker');
    for (const c of [watcher, speaker]) {
      c.send('JOIN lobby');
      await c.next(/^<join room="lobby" aid="(watcher|speaker)"/);
    }

    // The attack: every connection sends all its guesses at once.
    const attackers = [];
    for (let i = 0; i < ATTACKERS; i++) {
      const a = new XmlSocket(sb.host, sb.port);
      await a.ready;
      attackers.push(a);
    }
    for (const [i, a] of attackers.entries())
      for (let g = 0; g < GUESSES; g++) a.send(`IDENTIFY alice guess${i}x${g}`);

    // Meanwhile a guest gets in, and a room message reaches the room.
    const guest = await xmlLogin(sb, 'visitor');
    speaker.send('SAY lobby during the attack');
    await watcher.next(/during the attack/);

    // Every guess gets an answer; most are refused without a check.
    const answers = await Promise.all(attackers.map((a) =>
      a.until((m) => m.filter((x) => /^<error /.test(x)).length >= GUESSES, 20000)));
    const codes = answers.flat().map((m) => /code="([a-z_]+)"/.exec(m)?.[1]);
    const failed = codes.filter((c) => c === 'login_failed').length;
    const throttled = codes.filter((c) => c === 'login_throttled').length;
    assert.equal(failed + throttled, ATTACKERS * GUESSES, `answers: ${codes.join(' ')}`);
    assert.ok(throttled > ATTACKERS * GUESSES / 2, `only ${throttled} throttled`);
    assert.ok(failed >= 5, `only ${failed} checked`);
    assert.match(answers.flat().find((m) => /login_throttled/.test(m)),
      /Too many failed logins (for this nick|from your address); try again in \d+ seconds?\./);
    await sb.waitForEvent({ EVENT: 'login_throttled' });

    // A guest from the guessers' address is no guess: it gets in.  (That
    // a right password waits like a wrong one is test_route's: here the
    // delay, 1 or 2 s, may be over before the next attempt.)
    const guest2 = await xmlLogin(sb, 'visitor2');

    for (const c of [watcher, speaker, guest, guest2, ...attackers]) c.close();
  });

  test('a session that leaves while its password is checked breaks nothing', async () => {
    const conns = [];
    for (let i = 0; i < 4; i++) {
      const c = new XmlSocket(sb.host, sb.port);
      await c.ready;
      c.send('<login u="alice" p="whatever"/>');
      c.send('JOIN lobby');
      conns.push(c);
    }
    for (const c of conns) c.close();
    // The hub is still there and answers.
    const probe = await xmlLogin(sb, 'probe');
    probe.send('JOIN lobby');
    await probe.next(/^<join room="lobby" aid="probe"/);
    probe.close();
  });
});
