// SPDX-License-Identifier: ISC
// Members and guests (auth = both), the member store managed with
// switchboardctl and re-read on reload, and room history replayed to a
// joiner, kept on disk across a hub restart.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startSwitchboard, ctl } from './lib/harness.mjs';
import { XmlSocket, JsonClient, xmlLogin, jsonLogin } from './lib/clients.mjs';

async function xmlDialect(sb) {
  const c = new XmlSocket(sb.host, sb.port);
  await c.ready;
  return c;
}

describe('members and guests', () => {
  let sb, members;
  before(async () => {
    sb = await startSwitchboard({ config: { auth: 'both', members_file: 'members' } });
    members = path.join(sb.dir, 'members');
    await ctl(['-f', members, 'member', 'add', 'enobrev'], 'mypassword\n');
    await ctl(['-S', sb.controlSocket, 'reload']);
  });
  after(async () => { await sb.stop(); });

  test('a member logs in with the seed-001 login; the id is the member id', async () => {
    const c = await xmlDialect(sb);
    c.raw('<login u="enobrev" p="mypassword" />\0');
    assert.match(await c.next(/^<login /), /^<login ok="1" id="1" nick="enobrev"/);
    c.close();
    await sb.waitForEvent({ EVENT: 'quit', NICK: 'enobrev' });
  });

  test('a wrong password and an unknown member get the same answer', async () => {
    for (const u of ['enobrev', 'nobody']) {
      const c = await xmlDialect(sb);
      c.send(`<login u="${u}" p="wrong"/>`);
      assert.match(await c.next(/^<login /), /^<login ok="0" error="Wrong nick or password\." code="login_failed"/);
      c.close();
    }
    await sb.waitForEvent({ EVENT: 'login_failed', REASON: 'wrong nick or password' });
  });

  test("a guest may not take a member's nick, but any free one", async () => {
    const g = new XmlSocket(sb.host, sb.port);
    await g.ready;
    g.send('IDENTIFY Enobrev');
    assert.match(await g.next(/^<error /), /belongs to a member.*code="nick_reserved"/);
    g.send('IDENTIFY visitor');
    await g.next(/^<identify aid="visitor"/);
    g.send('NICK enobrev');
    assert.match(await g.next(/^<error /), /nick_reserved/);
    g.close();
  });

  // docs/browser-and-flash.md: an empty password is no password.
  test('an empty JSON password logs in a guest, never a member', async () => {
    const g = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
    await g.ready;
    g.send({ type: 'login', nick: 'enobrev', password: '' });
    assert.equal((await g.next({ type: 'error' })).code, 'nick_reserved');
    g.send({ type: 'login', nick: 'walker', password: '' });
    const w = await g.next({ type: 'welcome' });
    assert.equal(w.nick, 'walker');
    await sb.waitForEvent({ EVENT: 'login', NICK: 'walker' });
    g.close();
    await sb.waitForEvent({ EVENT: 'quit', NICK: 'walker' });
  });

  test('a disabled member is refused after a reload', async () => {
    await ctl(['-f', members, 'member', 'disable', 'enobrev']);
    await ctl(['-S', sb.controlSocket, 'reload']);
    const c = await xmlLogin(sb, 'probe');
    c.close();
    const m = await xmlDialect(sb);
    m.send('<login u="enobrev" p="mypassword"/>');
    assert.match(await m.next(/^<login /), /ok="0" error="This member is disabled\."/);
    m.close();
  });
});

// Issue 16, hole 4: nicks follow RFC 8266 (PRECIS Nickname) and UTS #39;
// one that looks like a nick in use or a member's is refused.  Before the
// fix "alice" + U+FE0F and Cyrillic "аlice" were accepted next to alice.
describe('look-alike nicks', () => {
  let sb, members;
  before(async () => {
    sb = await startSwitchboard({ config: { auth: 'both', members_file: 'members' } });
    members = path.join(sb.dir, 'members');
    await ctl(['-f', members, 'member', 'add', 'carol'], 'carolspassword\n');
    await ctl(['-S', sb.controlSocket, 'reload']);
  });
  after(async () => { await sb.stop(); });

  async function refused(nick, code, text) {
    const g = await xmlDialect(sb);
    g.send(`IDENTIFY ${nick}`);
    const e = await g.next(/^<error /);
    assert.match(e, new RegExp(`code="${code}"`), `${JSON.stringify(nick)}: ${e}`);
    if (text) assert.match(e, text);
    g.close();
  }

  test('alice + U+FE0F, Cyrillic а, fullwidth, dotted İ, joiners and bidi controls are refused while alice is online', async () => {
    const alice = await xmlLogin(sb, 'alice');
    await refused('alice\uFE0F', 'nick_invalid', /invisible/);
    await refused('\u0430lice', 'nick_invalid', /mixes scripts/);
    await refused('\uFF41\uFF4C\uFF49\uFF43\uFF45', 'nick_invalid', /NFKC/);
    await refused('al\u0130ce', 'nick_invalid', /hides a mark/);
    await refused('ali\u0307ce', 'nick_invalid', /hides a mark/);
    await refused('al\u200Dice', 'nick_invalid', /invisible/);
    await refused('\u202Eecila', 'nick_invalid', /bidi/);
    await refused('aIice', 'nick_confusable', /looks like one already in use/);
    await refused('ALICE', 'nick_taken');
    await sb.waitForEvent({ EVENT: 'login_failed', NICK: 'aIice' });
    alice.close();
    await sb.waitForEvent({ EVENT: 'quit', NICK: 'alice' });
  });

  test('an all-Cyrillic look-alike of a nick in use, or of a member, is refused; a NICK to one too', async () => {
    const ace = await xmlLogin(sb, 'ace');
    await refused('\u0430\u0441\u0435', 'nick_confusable', /already in use/);
    await refused('caroI', 'nick_confusable', /a member&apos;s nick/);
    await refused('\u0441\u0430\u0433\u043E1', 'nick_confusable', /a member&apos;s nick/);
    const g = await xmlLogin(sb, 'guest');
    g.send('NICK ac\u0435');
    assert.match(await g.next(/^<error /), /code="nick_invalid"/);
    g.send('NICK \u0430\u0441\u0435');
    assert.match(await g.next(/^<error /), /code="nick_confusable"/);
    ace.close(); g.close();
    // Once ace has gone, the Cyrillic nick is free.
    await sb.waitForEvent({ EVENT: 'quit', NICK: 'ace' });
    const c = await xmlLogin(sb, '\u0430\u0441\u0435');
    c.close();
  });

  test('switchboardctl refuses a member that looks like another', async () => {
    await assert.rejects(ctl(['-f', members, 'member', 'add', 'caro1'], 'x-password\n'),
      /looks like member carol/);
    await assert.rejects(ctl(['-f', members, 'member', 'add', 'dave\uFE0F'], 'x-password\n'),
      /invisible/);
  });
});

describe('room history', () => {
  let sb;
  before(async () => { sb = await startSwitchboard({ config: { history: 3 } }); });
  after(async () => { await sb.stop(); });

  test('the last N messages are replayed to a joiner, marked as history, also after a restart', async () => {
    const a = await xmlLogin(sb, 'author');
    a.send('JOIN lobby');
    await a.next(/^<join room="lobby" aid="author"/);
    for (const n of [1, 2, 3, 4]) {
      a.send(`SAY lobby note ${n}`);
      await a.next(new RegExp(`msg="note ${n}"`));
    }
    const late = await jsonLogin(sb, 'late');
    late.send({ type: 'join', room: 'lobby' });
    await late.next({ type: 'join', nick: 'late' });
    const replay = await late.until((es) => es.filter((e) => e.history).length === 3);
    assert.deepEqual(replay.filter((e) => e.history).map((e) => e.text), ['note 2', 'note 3', 'note 4']);
    a.close(); late.close();

    await sb.restartHub('SIGTERM');
    const again = await xmlLogin(sb, 'again');
    again.send('JOIN lobby');
    await again.next(/^<join room="lobby" aid="again"/);
    const got = await again.take(3);
    for (const [i, n] of [2, 3, 4].entries()) assert.match(got[i], new RegExp(`msg="note ${n}".*history="1"`));
    again.close();
  });
});
