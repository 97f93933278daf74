// SPDX-License-Identifier: ISC
// The member store as a security boundary: a hub whose member store does
// not load refuses to start (fail closed), and a session that resumes
// after a hub restart is checked against the store as it is then, as an
// IDENTIFY is (a disabled member is closed, a guest on a nick that became
// a member's must identify again).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard, HUB } from './lib/harness.mjs';
import { XmlSocket, xmlLogin } from './lib/clients.mjs';
import { ctlOk as ctl } from './lib/ctl.mjs';

// Start a hub on a state directory holding `members` (text, mode); resolve
// with its exit code and stderr (it is expected to refuse to start).
function hubRefuses(members, mode = 0o600) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-members-'));
  writeFileSync(path.join(dir, 'members'), members);
  chmodSync(path.join(dir, 'members'), mode);
  const conf = path.join(dir, 'switchboard.conf');
  writeFileSync(conf, `state_dir = ${dir}\nhandler_user = ${process.getuid()}\nauth = both\nmembers_file = members\n`);
  const hub = spawn(HUB, ['-s', path.join(dir, 'hub.sock'), '-c', conf], {
    env: { ...process.env, SWITCHBOARD_LOG_STDERR: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '', started = false;
  // A hub that starts anyway says so (EVENT=start): stop it, and fail.
  hub.stderr.on('data', (d) => {
    err += d;
    if (!started && /EVENT=start/.test(err)) { started = true; hub.kill('SIGTERM'); }
  });
  // 'close', not 'exit': stderr is read to its end first.
  return new Promise((resolve) => hub.on('close', (code) => {
    const listened = started || existsSync(path.join(dir, 'hub.sock'));
    rmSync(dir, { recursive: true, force: true });
    resolve({ code: started ? 'started' : code, err, listened });
  }));
}

describe('a member store that does not load', () => {
  for (const [what, text, mode] of [
    ['a bad line', '1:alice:$y$j9T$abc$def:1\nthis is not a member\n', 0o600],
    ['a NUL byte', '1:alice:$y$j9T$abc$def:1\n\0\n', 0o600],
    ['a file others may write', '1:alice:$y$j9T$abc$def:1\n', 0o666],
  ]) {
    test(`stops the hub at start: ${what}`, async () => {
      const r = await hubRefuses(text, mode);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /the member store does not load, not starting without it: members: .*members/);
      assert.equal(r.listened, false, 'never listened, so no guest could take alice');
    });
  }
});

describe('a resume after a hub restart meets the member store as it is now', () => {
  let sb, members;
  before(async () => {
    sb = await startSwitchboard({ config: { auth: 'both', members_file: 'members' } });
    members = path.join(sb.dir, 'members');
    await ctl(['-f', members, 'member', 'add', 'enobrev'], { input: 'mypassword\n' });
    await ctl(['-S', sb.controlSocket, 'reload']);
  });
  after(async () => { await sb.stop(); });

  test('a member disabled meanwhile is closed; a guest on a new member nick must identify again', async () => {
    const member = new XmlSocket(sb.host, sb.port);
    await member.ready;
    member.send('IDENTIFY enobrev mypassword');
    await member.next(/^<identify aid="enobrev"/);
    const guest = await xmlLogin(sb, 'visitor');
    const other = await xmlLogin(sb, 'bystander');
    // While the hub runs, the store changes on disk (no reload): the
    // member is disabled, and the guest's nick becomes a member's.
    await ctl(['-f', members, 'member', 'disable', 'enobrev']);
    await ctl(['-f', members, 'member', 'add', 'visitor'], { input: 'secret\n' });
    await sb.restartHub('SIGKILL');

    assert.equal(await member.next(/^<close /), '<close code="login_disabled" reason="This member is disabled." />');
    await member.waitClose();
    assert.match(await guest.next(/^<error /), /code="nick_lost"/);
    // The effect: neither holds a nick; the bystander resumed as before.
    other.send('LIST');
    const list = await other.next(/^<nicklist>/);
    assert.doesNotMatch(list, /aid="enobrev"|aid="visitor"/);
    assert.match(list, /aid="bystander"/);
    guest.send('MSG bystander still here?');
    assert.match(await guest.next(/^<error /), /Not identified/);
    await sb.waitForEvent({ EVENT: 'login_failed', NICK: 'enobrev', REASON: 'member disabled' });
    await sb.waitForEvent({ EVENT: 'login_failed', NICK: 'visitor', REASON: 'nick now belongs to a member' });
    // The real member can now log in as visitor.
    const real = new XmlSocket(sb.host, sb.port);
    await real.ready;
    real.send('IDENTIFY visitor secret');
    await real.next(/^<identify aid="visitor"/);
    real.close(); guest.close(); other.close();
  });
});
