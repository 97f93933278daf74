// SPDX-License-Identifier: ISC
// Kick and ban, checked by their effects: the client is told and closed,
// cannot come back (by nick, by address, after a hub restart), the ban
// is on disk in bans.json, and `switchboardctl bans` lists it until it
// is lifted.  WebSocket clients get the application close codes of
// docs/protocol.md.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard, HUB } from './lib/harness.mjs';
import { XmlSocket, xmlLogin, JsonClient, jsonLogin } from './lib/clients.mjs';
import { ctl as runCtl } from './lib/ctl.mjs';

function ctl(sb, args) {
  return runCtl(['-S', sb.controlSocket, ...args]);
}

function bansOnDisk(sb) {
  const f = path.join(sb.dir, 'bans.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')).bans : [];
}

describe('kick and ban', () => {
  let sb;
  before(async () => { sb = await startSwitchboard(); });
  after(async () => { await sb.stop(); });

  test('kick --ban: closed with the ban named, cannot identify again, on disk', async () => {
    const watcher = await xmlLogin(sb, 'wanda');
    const troll = await xmlLogin(sb, 'troll');
    await watcher.next(/^<login aid="troll"/);
    const r = await ctl(sb, ['kick', 'troll', '--ban', '2h', 'spam', 'links']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kicked troll \(session \d+\)\nbanned nick troll until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n$/);
    assert.match(await troll.next(/^<close /),
      /^<close code="banned" reason="The nick troll is banned until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: spam links" \/>$/);
    await troll.waitClose();
    assert.equal(await watcher.next(/^<quit /), '<quit aid="troll" reason="Kicked: spam links" />');

    // The effect: the nick cannot come back, in any case.
    for (const nick of ['troll', 'TROLL']) {
      const again = new XmlSocket(sb.host, sb.port);
      await again.ready;
      again.send(`IDENTIFY ${nick}`);
      assert.match(await again.next(/^<error /), /^<error value="The nick troll is banned until \d{4}-.*UTC: spam links" code="banned" \/>$/);
      again.send('MSG wanda hi');
      assert.match(await again.next(/^<error /), /Not identified/);
      again.close();
    }
    // Nor can someone take it by a nick change.
    const other = await xmlLogin(sb, 'otto');
    other.send('NICK Troll');
    assert.match(await other.next(/^<error /), /code="banned"/);
    other.send('LIST');
    assert.match(await other.next(/^<nicklist>/), /aid="otto"/);
    other.close();

    const onDisk = bansOnDisk(sb);
    assert.equal(onDisk.length, 1);
    assert.equal(onDisk[0].nick, 'troll');
    assert.equal(onDisk[0].reason, 'spam links');
    assert.ok(onDisk[0].until - onDisk[0].since === 7200, JSON.stringify(onDisk[0]));
    const list = await ctl(sb, ['bans']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^BANNED +KIND +UNTIL +REASON$/m);
    assert.match(list.stdout, /^troll +nick +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +spam links$/m);
    const j = JSON.parse((await ctl(sb, ['--json', 'bans'])).stdout);
    assert.deepEqual(j.bans.map((b) => [b.kind, b.target, b.reason]), [['nick', 'troll', 'spam links']]);
    await sb.waitForEvent({ EVENT: 'ban', NICK: 'troll' });
    await sb.waitForEvent({ EVENT: 'banned', NICK: 'troll' });

    // Lifted: the nick identifies again, and the file no longer has it.
    const u = await ctl(sb, ['unban', 'Troll']);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(u.stdout, 'lifted the ban on troll\n');
    assert.deepEqual(bansOnDisk(sb), []);
    await sb.waitForEvent({ EVENT: 'unban', NICK: 'troll' });
    const back = await xmlLogin(sb, 'troll');
    back.close();
    watcher.close();
    const none = await ctl(sb, ['unban', 'troll']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /unban: no ban on troll/);
  });

  test('an address ban closes the sessions from it and refuses it at connect', async () => {
    const near = await xmlLogin(sb, 'near', { localAddress: '127.0.0.3' });
    const here = await xmlLogin(sb, 'here');
    const r = await ctl(sb, ['ban', '127.0.0.2/31', '--for', '1d', 'abuse']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^banned address 127\.0\.0\.2\/31 until .* UTC\ndisconnected 1 session\n$/);
    assert.match(await near.next(/^<close /), /code="banned" reason="This address is banned until .*: abuse"/);
    await near.waitClose();
    assert.match(await here.next(/^<quit /), /aid="near" reason="Banned: abuse"/);

    // A new connection from a banned address is refused before any chat.
    const refused = new XmlSocket(sb.host, sb.port, { localAddress: '127.0.0.2' });
    await refused.ready;
    refused.send('IDENTIFY sneaky');
    assert.match(await refused.next(/^<close /), /code="banned"/);
    await refused.waitClose();
    assert.ok(!refused.messages.some((m) => m.startsWith('<identify')), JSON.stringify(refused.messages));
    await sb.waitForEvent({ EVENT: 'banned', REMOTE: /^127\.0\.0\.2:/ });
    // ... over WebSocket too, with close code 4001 and the reason.
    const ws = new JsonClient(`ws://${sb.host}:${sb.port}/chat`, { localAddress: '127.0.0.3' });
    await ws.ready;
    ws.send({ type: 'login', nick: 'sneaky' });
    const closed = await ws.waitClose();
    assert.equal(closed.code, 4001);
    assert.match(closed.reason, /This address is banned until .*: abuse/);
    assert.ok(!ws.events.some((e) => e.type === 'welcome'), JSON.stringify(ws.events));
    // Next door is not covered.
    const next = await xmlLogin(sb, 'nextdoor', { localAddress: '127.0.0.4' });
    next.close();

    const j = JSON.parse((await ctl(sb, ['--json', 'bans'])).stdout);
    assert.deepEqual(j.bans.map((b) => [b.kind, b.target]), [['address', '127.0.0.2/31']]);
    assert.equal((await ctl(sb, ['unban', '127.0.0.3/31'])).code, 0); // same prefix, any host bits
    const ok = await xmlLogin(sb, 'near', { localAddress: '127.0.0.3' });
    ok.close();
    here.close();
  });

  test('a kicked WebSocket client gets close code 4000 and the reason', async () => {
    const w = await jsonLogin(sb, 'wsuser');
    assert.equal((await ctl(sb, ['kick', 'wsuser', 'be nice'])).code, 0);
    const closed = await w.waitClose();
    assert.deepEqual(closed, { code: 4000, reason: 'be nice' });
  });

  test('bans survive a hub restart; bad input is refused with a reason', async () => {
    assert.equal((await ctl(sb, ['ban', 'mallory', 'sock', 'puppet'])).code, 0);
    await sb.restartHub();
    const j = JSON.parse((await ctl(sb, ['--json', 'bans'])).stdout);
    assert.deepEqual(j.bans.map((b) => [b.target, b.until, b.reason]), [['mallory', null, 'sock puppet']]);
    const m = new XmlSocket(sb.host, sb.port);
    await m.ready;
    m.send('IDENTIFY Mallory');
    assert.match(await m.next(/^<error /), /The nick mallory is banned with no end: sock puppet/);
    m.close();

    const bad = await ctl(sb, ['ban', 'eve', '--for', '3x']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ban: bad duration/);
    const bad2 = await ctl(sb, ['ban', '10.0.0.0/33']);
    assert.equal(bad2.code, 1);
    assert.match(bad2.stderr, /prefix must be a number from 0 to 32/);
    const bad3 = await ctl(sb, ['ban', 'no spaces\u0007']);
    assert.equal(bad3.code, 1);
    const use = await ctl(sb, ['ban', 'eve', '--for']);
    assert.equal(use.code, 2);
    assert.match(use.stderr, /--for needs a duration/);
    assert.equal((await ctl(sb, ['unban', 'mallory'])).code, 0);
  });
});

describe('a ban list that does not load', () => {
  test('stops the hub at start, naming the file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-bans-'));
    try {
      writeFileSync(path.join(dir, 'bans.json'), '{"bans": [{"nick": "x"}');
      const conf = path.join(dir, 'switchboard.conf');
      writeFileSync(conf, `state_dir = ${dir}\nhandler_user = ${process.getuid()}\n`);
      const hub = spawn(HUB, ['-s', path.join(dir, 'hub.sock'), '-c', conf], {
        env: { ...process.env, SWITCHBOARD_LOG_STDERR: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      hub.stderr.on('data', (d) => { err += d; });
      // 'close', not 'exit': stderr is read to its end first.
      const code = await new Promise((r) => hub.on('close', r));
      assert.equal(code, 2);
      assert.match(err, /bans\.json: .*fix or remove the file/);
      assert.ok(!existsSync(path.join(dir, 'hub.sock')), 'never listened');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
