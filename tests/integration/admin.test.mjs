// SPDX-License-Identifier: ISC
// switchboardctl end to end: the real hub with its control socket (-C),
// handlers spawned per connection, XMLSocket clients; and the member
// commands against a temporary members file.  Every wait is on an event
// (a client's message, a hub log event, a process exit), never a sleep.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, statSync,
  writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSwitchboard, HUB } from './lib/harness.mjs';
import { xmlLogin } from './lib/clients.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CTL = path.join(root, 'build', 'switchboardctl');

// Run switchboardctl; resolves with { code, stdout, stderr } (never rejects
// on a non-zero exit, which several tests expect).
function ctl(args, { input, uid, gid } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(CTL, args, { timeout: 20000, uid, gid }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') { reject(err); return; }
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // it may exit without reading
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

// Talk to the control socket without switchboardctl, to see the hub's own
// answers to requests switchboardctl would refuse to send.  Node has no
// SOCK_SEQPACKET, so python3 does the socket work.
const RAW = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(bytes.fromhex(sys.argv[2]))
while True:
    d = s.recv(1 << 20)
    if not d:
        break
    print(d.decode())
`;
const havePython = spawnSync('python3', ['-c', 'import socket; socket.SOCK_SEQPACKET']).status === 0;

function raw(sb, request) {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', RAW, sb.controlSocket, Buffer.from(request).toString('hex')]);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code) => {	// after stdout is read to its end
      if (code !== 0) reject(new Error(`python3 exited ${code}`));
      else resolve(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    });
  });
}

// Close clients and wait until the hub has let each of them go.
async function quit(sb, clients, nicks) {
  for (const c of clients) c.close();
  for (const n of nicks) await sb.waitForEvent({ EVENT: 'quit', NICK: n });
}

describe('switchboardctl against a running hub', () => {
  let sb;
  let originalConfig;
  const S = () => ['-S', sb.controlSocket];

  before(async () => {
    sb = await startSwitchboard({
      config: { rooms: 'lobby music', admin_group: '4242', max_rooms: 1000, flood_rate: 10000, flood_burst: 1000 },
    });
    originalConfig = readFileSync(sb.configPath, 'utf8');
  });
  after(async () => { await sb.stop(); });

  test('status, in words and in JSON', async () => {
    const a = await xmlLogin(sb, 'alice');
    const b = await xmlLogin(sb, 'bob');
    const r = await ctl([...S(), 'status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^clients: +2 of 4096 \(peak 2\)$/m);
    assert.match(r.stdout, /^rooms: +2$/m);
    assert.match(r.stdout, /^started: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(up \d\d:\d\d:\d\d\)$/m);
    assert.match(r.stdout, /^epoch: +\d+$/m);

    const j = await ctl([...S(), '--json', 'status']);
    assert.equal(j.code, 0, j.stderr);
    // docs/admin.md: one compact line, keys sorted.
    assert.match(j.stdout, /^\{"clients":2,"created":\d+,"epoch":\d+,"max":4096,"peak":2,"rooms":2,"uptime":\d+\}\n$/);
    const s = JSON.parse(j.stdout);
    assert.equal(s.clients, 2);
    assert.equal(s.peak, 2);
    assert.equal(s.max, 4096);
    assert.equal(s.rooms, 2);
    assert.ok(Number.isInteger(s.epoch) && s.epoch > 0);
    assert.ok(Math.abs(s.created - Date.now() / 1000) < 600);
    assert.ok(s.uptime >= 0);
    assert.equal(s.done, undefined, 'the framing field is not printed');
    await quit(sb, [a, b], ['alice', 'bob']);
  });

  test('who lists the logged-in nicks with their rooms; rooms lists the rooms', async () => {
    const carol = await xmlLogin(sb, 'carol');
    const dave = await xmlLogin(sb, 'Dave');
    carol.send('JOIN lobby');
    await carol.next(/^<join room="lobby"/);
    carol.send('JOIN music');
    await carol.next(/^<join room="music"/);

    const r = await ctl([...S(), 'who']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^NICK +SESSION +TRANSPORT +REMOTE +ROOMS$/);
    const row = lines.find((l) => l.startsWith('carol '));
    assert.ok(row, r.stdout);
    assert.match(row, /^carol +\d+ +xmlsocket +127\.0\.0\.1:\d+ +lobby,music$/);
    assert.match(r.stdout, /^Dave +\d+ +xmlsocket +127\.0\.0\.1:\d+ +-$/m);
    // Columns line up: every row starts its SESSION column where the header does.
    const col = lines[0].indexOf('SESSION');
    for (const l of lines.slice(1)) assert.match(l.slice(col), /^\d+ /);

    const j = JSON.parse((await ctl([...S(), '--json', 'who'])).stdout);
    assert.equal(j.count, 2);
    const c = j.who.find((w) => w.nick === 'carol');
    assert.deepEqual(c.rooms, ['lobby', 'music']);
    assert.equal(c.transport, 'xmlsocket');
    assert.ok(Number.isInteger(c.session) && Number.isInteger(c.pid));
    assert.deepEqual(j.who.map((w) => w.nick).sort(), ['Dave', 'carol']);

    const rr = await ctl([...S(), 'rooms']);
    assert.equal(rr.code, 0, rr.stderr);
    assert.match(rr.stdout, /^ROOM +MEMBERS +PERMANENT$/m);
    assert.match(rr.stdout, /^lobby +1 +yes$/m);
    assert.match(rr.stdout, /^music +1 +yes$/m);
    dave.send('JOIN pop-up');
    await dave.next(/^<join room="pop-up"/);
    const rj = JSON.parse((await ctl([...S(), '--json', 'rooms'])).stdout);
    assert.deepEqual(rj.rooms.find((x) => x.name === 'pop-up'), { name: 'pop-up', members: 1, permanent: false });
    await quit(sb, [carol, dave], ['carol', 'Dave']);
  });

  test('kick: the kicked client is told and closed, the others get a quit notice', async () => {
    const erin = await xmlLogin(sb, 'erin');
    const frank = await xmlLogin(sb, 'frank');
    const r = await ctl([...S(), 'kick', 'FRANK', 'flooding', 'the', 'room']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kicked frank \(session \d+\)\n$/);
    assert.equal(await frank.next(/^<close /), '<close code="kicked" reason="flooding the room" />');
    await frank.waitClose();
    assert.equal(await erin.next(/^<quit /), '<quit aid="frank" reason="Kicked: flooding the room" />');
    const ev = await sb.waitForEvent({ EVENT: 'kick', NICK: 'frank' });
    assert.equal(ev.REASON, 'flooding the room');
    // The effect: frank is gone for the hub, and never came back.
    const who = JSON.parse((await ctl([...S(), '--json', 'who'])).stdout);
    assert.ok(!who.who.some((w) => w.nick === 'frank'), JSON.stringify(who));
    assert.equal(sb.events({ EVENT: 'login', NICK: 'frank', REASON: 'resumed' }).length, 0);

    const again = await ctl([...S(), 'kick', 'frank']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no such nick: frank/);
    const j = await ctl([...S(), '--json', 'kick', 'nobody']);
    assert.equal(j.code, 1);
    assert.deepEqual(JSON.parse(j.stdout), { error: 'no such nick: nobody' });

    // Without a reason, the default one.
    const gina = await xmlLogin(sb, 'gina');
    assert.equal((await ctl([...S(), 'kick', 'gina'])).code, 0);
    assert.equal(await gina.next(/^<close /), '<close code="kicked" reason="Kicked by the operator" />');
    await gina.waitClose();
    await quit(sb, [erin], ['erin']);
  });

  test('announce reaches every identified client', async () => {
    const a = await xmlLogin(sb, 'hank');
    const b = await xmlLogin(sb, 'iris');
    const r = await ctl([...S(), 'announce', 'Restart', 'at', '18:00', '<UTC>']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'announced to 2 identified clients\n');
    for (const c of [a, b]) {
      const m = await c.next(/^<msg /);
      assert.match(m, /msg="Restart at 18:00 &lt;UTC&gt;"/);
      assert.match(m, /aid="" /);
    }
    await sb.waitForEvent({ EVENT: 'announce' });
    const bad = await ctl([...S(), 'announce', 'bell\x07']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /control characters/);
    await quit(sb, [a, b], ['hank', 'iris']);
  });

  test('reload with a broken config keeps the old one and says so', async () => {
    appendFileSync(sb.configPath, 'max_clients = 7\nthis line is garbage\n');
    const lineNo = readFileSync(sb.configPath, 'utf8').trimEnd().split('\n').length;
    const r = await ctl([...S(), 'reload']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /reload failed, the old config stays/);
    // The log line is '... REASON="<file>:<line>: <why>" MESSAGE="reload failed, keeping ..."'.
    const ev = await sb.waitForEvent({ EVENT: 'reload', REASON: new RegExp(`switchboard\\.conf:${lineNo}(:|$)`) });
    assert.match(ev.MESSAGE, /keeping the old config/);
    const s = JSON.parse((await ctl([...S(), '--json', 'status'])).stdout);
    assert.equal(s.max, 4096, 'the old config stays');

    writeFileSync(sb.configPath, originalConfig + 'max_clients = 7\n');
    const ok = await ctl([...S(), 'reload']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'reloaded\n');
    assert.equal(JSON.parse((await ctl([...S(), '--json', 'status'])).stdout).max, 7);
    assert.deepEqual(JSON.parse((await ctl([...S(), '--json', 'reload'])).stdout), { reloaded: true });
    writeFileSync(sb.configPath, originalConfig);
    assert.equal((await ctl([...S(), 'reload'])).code, 0);
  });

  test('reload refuses an invalid permanent room name, as the start does, and keeps the old config', async () => {
    // Issue 16, hole 11: the reload said "reloaded", exited 0 and dropped
    // the name, while the same file stopped the hub at start.
    const bad = 'r'.repeat(40);
    const broken = originalConfig + `rooms = lobby music fresh ${bad}\nmax_clients = 7\n`;
    writeFileSync(sb.configPath, broken);
    try {
      const r = await ctl([...S(), 'reload']);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /reload failed, the old config stays/);
      assert.match(r.stderr, new RegExp(`"${bad}" is not a valid room name: Room name is longer than 32 bytes`));
      // MESSAGE is "reload failed, keeping the old config (and
      // certificate): <why>" (the old
      // stderr form ran REASON into it, and this matched the mix).
      await sb.waitForEvent({ EVENT: 'reload', REASON: /not a valid room name/,
        MESSAGE: /keeping the old config \(and certificate\): .*not a valid room name/ });
      const s = JSON.parse((await ctl([...S(), '--json', 'status'])).stdout);
      assert.equal(s.max, 4096, 'the old config stays');
      const rooms = JSON.parse((await ctl([...S(), '--json', 'rooms'])).stdout).rooms.map((x) => x.name);
      assert.ok(!rooms.includes('fresh'), 'no room of the refused config was made');

      // The same file stops a hub at start.
      const dir = mkdtempSync(path.join(tmpdir(), 'sb-rooms-'));
      const conf = path.join(dir, 'switchboard.conf');
      writeFileSync(conf, broken.replace(/^state_dir = .*$/m, `state_dir = ${dir}`));
      const start = spawnSync(HUB, ['-s', path.join(dir, 'hub.sock'), '-C', path.join(dir, 'control.sock'), '-c', conf],
        { timeout: 10000, env: { ...process.env, SWITCHBOARD_LOG_STDERR: '1' }, encoding: 'utf8' });
      rmSync(dir, { recursive: true, force: true });
      assert.equal(start.status, 2, start.stderr);
      assert.match(start.stderr, /not a valid room name/);
    } finally {
      writeFileSync(sb.configPath, originalConfig);
    }
    assert.equal((await ctl([...S(), 'reload'])).code, 0);
  });

  test('reload: switchboardctl itself names the broken line', async () => {
    appendFileSync(sb.configPath, 'garbage\n');
    try {
      const r = await ctl([...S(), 'reload']);
      assert.match(r.stderr, /:\d+: /);
    } finally {
      writeFileSync(sb.configPath, originalConfig);
    }
  });

  test('only root, the hub user and the admin group get in', async () => {
    // Let others reach the socket at all; the hub decides by SO_PEERCRED.
    chmodSync(sb.dir, 0o711);
    chmodSync(sb.controlSocket, 0o666);
    const denied = await ctl([...S(), 'status'], { uid: 65534, gid: 65534 });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /permission denied: uid 65534 is not root and not in the admin group 4242/);
    await sb.waitForEvent({ EVENT: 'hub_error', REASON: 'control peer not allowed' });
    const allowed = await ctl([...S(), 'status'], { uid: 65534, gid: 4242 });
    assert.equal(allowed.code, 0, allowed.stderr);
    chmodSync(sb.dir, 0o700);
  });

  test('the hub answers bad requests with an error', { skip: !havePython && 'no python3' }, async () => {
    const last = (replies) => { const l = replies.at(-1); assert.equal(l.done, true); return l; };
    assert.match(last(await raw(sb, 'frob\0')).error, /^unknown verb "frob"; known: status who rooms kick ban unban bans announce reload metrics top$/);
    assert.match(last(await raw(sb, 'kick\0')).error, /^kick: missing argument; usage: kick NICK \[REASON \[BAN-DURATION\]\]$/);
    assert.match(last(await raw(sb, 'status\0extra\0')).error, /^status: too many arguments/);
    assert.match(last(await raw(sb, 'announce\0\0')).error, /the text is empty/);
    assert.match(last(await raw(sb, 'a\0'.repeat(9))).error, /too many words/);
    assert.match(last(await raw(sb, 'announce\0' + 'x'.repeat(3000))).error, /request longer than \d+ bytes/);
    assert.match(last(await raw(sb, 'kick\0' + 'x'.repeat(40) + '\0')).error, /no such nick/);
    // Without a final NUL the last word still counts.
    assert.equal(last(await raw(sb, 'status')).max, 4096);
  });

  test('a long who list comes in several datagrams that switchboardctl joins', { skip: !havePython && 'no python3' }, async () => {
    // 18 clients in 30 rooms each with 32-byte names: about 19 KiB of JSON.
    const clients = [];
    const nicks = [];
    for (let i = 0; i < 18; i++) {
      nicks.push(`user${String(i).padStart(2, '0')}`);
      clients.push(await xmlLogin(sb, nicks[i]));
    }
    const room = (i, k) => `r${String(i).padStart(2, '0')}-${String(k).padStart(2, '0')}-`.padEnd(32, 'x');
    clients.forEach((c, i) => { for (let k = 0; k < 30; k++) c.send(`JOIN ${room(i, k)}`); });
    await Promise.all(clients.map((c, i) => c.next(new RegExp(`^<join room="${room(i, 29)}"`))));

    const replies = await raw(sb, 'who\0');
    assert.ok(replies.length >= 2, `${replies.length} datagram(s)`);
    assert.ok(replies.every((r) => JSON.stringify(r).length <= 16384));
    assert.ok(replies.slice(0, -1).every((r) => r.done === undefined), 'only the last is done');
    assert.equal(replies.at(-1).done, true);
    assert.equal(replies.reduce((n, r) => n + (r.who ? r.who.length : 0), 0), 18);

    const j = JSON.parse((await ctl([...S(), '--json', 'who'])).stdout);
    assert.equal(j.who.length, 18);
    assert.equal(j.count, 18);
    assert.equal(j.who.find((w) => w.nick === 'user07').rooms.length, 30);
    const human = await ctl([...S(), 'who']);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout.trimEnd().split('\n').length, 19);
    await quit(sb, clients, nicks);
  });

  test('usage errors exit 2, an unreachable hub exits 1', async () => {
    assert.equal((await ctl([])).code, 2);
    const frob = await ctl([...S(), 'frob']);
    assert.equal(frob.code, 2);
    assert.match(frob.stderr, /^switchboardctl: unknown command: frob$/m);
    assert.equal(frob.stdout, '');
    assert.equal((await ctl([...S(), 'kick'])).code, 2);
    assert.equal((await ctl([...S(), 'status', 'now'])).code, 2);
    assert.equal((await ctl(['--bogus'])).code, 2);
    const help = await ctl(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: switchboardctl/);
    const gone = await ctl(['-S', path.join(sb.dir, 'nope.sock'), 'status']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /cannot reach the hub at .*nope\.sock/);
    // With --json the failure is also an error object on stdout.
    const jgone = await ctl(['-S', path.join(sb.dir, 'nope.sock'), '--json', 'status']);
    assert.equal(jgone.code, 1);
    assert.deepEqual(Object.keys(JSON.parse(jgone.stdout)), ['error']);
    assert.match(JSON.parse(jgone.stdout).error, /^cannot reach the hub at .*nope\.sock/);
  });
});

describe('switchboardctl member commands', () => {
  let dir;
  let file;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sb-members-'));
    file = path.join(dir, 'members');
  });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  test('add, refuse a duplicate, disable, enable, rekey', async () => {
    const add = await ctl(['-f', file, 'member', 'add', 'alice'], { input: 'wonderland\n' });
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^added alice as member 1$/m);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(readFileSync(file, 'utf8'), /^1:alice:\$y\$[./0-9A-Za-z$]+:1\n$/);

    const bob = await ctl(['-f', file, '--json', 'member', 'add', 'Bob'], { input: 'builder' });
    assert.equal(bob.code, 0, bob.stderr);
    assert.deepEqual(JSON.parse(bob.stdout), { member: 'Bob', action: 'add', file, id: 2 });

    const dup = await ctl(['-f', file, 'member', 'add', 'ALICE'], { input: 'x\n' });
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /alice is already a member \(id 1, line 1\)/);

    assert.equal((await ctl(['-f', file, 'member', 'disable', 'bob'])).code, 0);
    assert.match(readFileSync(file, 'utf8'), /^2:Bob:\$y\$\S+:0$/m);
    assert.equal((await ctl(['-f', file, 'member', 'enable', 'BOB'])).code, 0);
    assert.match(readFileSync(file, 'utf8'), /^2:Bob:\$y\$\S+:1$/m);

    const before = readFileSync(file, 'utf8').split('\n')[0];
    const rk = await ctl(['-f', file, 'member', 'rekey', 'alice'], { input: 'new secret\n' });
    assert.equal(rk.code, 0, rk.stderr);
    const afterLine = readFileSync(file, 'utf8').split('\n')[0];
    assert.notEqual(afterLine, before);
    assert.match(afterLine, /^1:alice:\$y\$/);
  });

  test('bad input is refused', async () => {
    const nick = await ctl(['-f', file, 'member', 'add', 'bad nick'], { input: 'pw\n' });
    assert.equal(nick.code, 2);
    assert.match(nick.stderr, /Nick contains a space/);
    const empty = await ctl(['-f', file, 'member', 'add', 'carol'], { input: '' });
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /no password on standard input/);
    const unknown = await ctl(['-f', file, 'member', 'disable', 'nobody']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /nobody is not a member/);
    const frob = await ctl(['-f', file, 'member', 'frob', 'x']);
    assert.equal(frob.code, 2);
    assert.match(frob.stderr, /unknown action: frob/);
    assert.equal((await ctl(['-f', file, 'member', 'add'])).code, 2);
    const missing = await ctl(['-f', path.join(dir, 'none'), 'member', 'enable', 'alice']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such file/);

    writeFileSync(file, readFileSync(file, 'utf8') + 'not a member line\n');
    const broken = await ctl(['-f', file, 'member', 'add', 'dora'], { input: 'pw\n' });
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /line 3: expected id:nick:crypt-hash:active/);
  });

  test('with --json a failure is an error object on stdout, exit 1', async () => {
    const f2 = path.join(dir, 'members2');
    assert.equal((await ctl(['-f', f2, 'member', 'add', 'alice'], { input: 'pw\n' })).code, 0);
    const was = readFileSync(f2, 'utf8');
    const cases = [
      [['-f', f2, '--json', 'member', 'disable', 'nobody'], '', /nobody is not a member/],
      [['-f', f2, '--json', 'member', 'add', 'carol'], '', /no password on standard input/],
      [['-f', path.join(dir, 'none'), '--json', 'member', 'enable', 'alice'], '', /No such file/],
    ];
    for (const [args, input, re] of cases) {
      const r = await ctl(args, { input });
      assert.equal(r.code, 1, args.join(' '));
      const lines = r.stdout.split('\n');
      assert.deepEqual(lines.slice(1), [''], `one line: ${r.stdout}`);
      const o = JSON.parse(lines[0]);
      assert.deepEqual(Object.keys(o), ['error']);
      assert.match(o.error, re);
      assert.match(r.stderr, re);
    }
    assert.equal(readFileSync(f2, 'utf8'), was, 'the members file is unchanged');
  });
});
