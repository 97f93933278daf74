// SPDX-License-Identifier: ISC
// The metrics with the real things (issue 22, docs/metrics.md): the text
// of `switchboardctl metrics` checked by promtool (Debian's prometheus
// package) idle, busy and after errors, with each count against a known
// load; `switchboardctl top` in a tmux terminal of 80 x 24, read with
// capture-pane, quit with q and Ctrl-C, NO_COLOR kept, the terminal given
// back; and what a user outside the admin group may see.
//
// Every wait is on an event (a client's message, a hub event, a process
// exit) or a bounded poll of something that has no event to wait for (a
// tmux screen), never a sleep.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSwitchboard, CTL } from './lib/harness.mjs';
import { xmlLogin } from './lib/clients.mjs';

const have = (cmd, args) => spawnSync(cmd, args).status === 0;
const havePromtool = have('promtool', ['--version']);
const haveTmux = have('tmux', ['-V']);

// Run switchboardctl as the given user; never rejects on a failure.
function ctl(args, { uid, gid } = {}) {
  return new Promise((resolve, reject) => {
    execFile(CTL, args, { timeout: 20000, uid, gid }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') { reject(err); return; }
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

// promtool's verdict on a metrics text: the format and the naming rules.
function promtool(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout + r.stderr, '', 'promtool has nothing to say');
}

// The value of one series ("name" or "name{labels}") in a metrics text.
export function value(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no series ${series}`);
  return Number(line.slice(series.length + 1));
}

// The sum of every series of metric `name` whose labels match `re`.
function sum(text, name, re = /.*/) {
  return text.split('\n')
    .filter((l) => l.startsWith(`${name}{`) && re.test(l.slice(name.length, l.lastIndexOf(' '))))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('the hub\'s metrics, and switchboardctl metrics and top', () => {
  let sb;
  let clients = [];
  const S = () => ['-S', sb.controlSocket];
  const metrics = async () => {
    const r = await ctl([...S(), 'metrics']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    sb = await startSwitchboard({ config: { admin_group: '4242', flood_burst: 1000 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await sb.stop();
  });

  test('idle: promtool passes, nothing counted yet', { skip: !havePromtool && 'no promtool' }, async () => {
    const t = await metrics();
    promtool(t);
    assert.equal(value(t, 'switchboard_clients'), 0);
    assert.equal(value(t, 'switchboard_sessions_started_total'), 0);
    assert.equal(value(t, 'switchboard_deliveries_total'), 0);
    assert.equal(value(t, 'switchboard_build_info{version="0.1",protocol="1"}'), 1);
    assert.ok(value(t, 'switchboard_hub_resident_memory_bytes') > 0);
    assert.ok(value(t, 'switchboard_hub_open_fds') > 0);
  });

  test('busy: the counts match a known chat', { skip: !havePromtool && 'no promtool' }, async () => {
    const nicks = ['alice', 'bob', 'carol'];
    clients = await Promise.all(nicks.map((n) => xmlLogin(sb, n)));
    for (const c of clients) {
      c.send('JOIN lobby');
      await c.next(/^<join room="lobby"/);
    }
    for (let i = 0; i < 10; i++) clients[0].send(`SAY lobby hello ${i}`);
    clients[1].send('MSG alice hi alice');
    // Everyone has every message: the hub has routed them all.
    for (const c of clients) await c.until((m) => m.filter((x) => /hello 9/.test(x)).length === 1);
    await clients[0].next(/hi alice/);
    await clients[1].next(/hi alice/);
    const t = await metrics();
    promtool(t);
    assert.equal(value(t, 'switchboard_clients'), 3);
    assert.equal(value(t, 'switchboard_identified_users'), 3);
    assert.equal(sum(t, 'switchboard_connections', /transport="xmlsocket"/), 3);
    assert.equal(value(t, 'switchboard_sessions_started_total'), 3);
    assert.equal(value(t, 'switchboard_messages_routed_total{kind="room"}'), 10);
    assert.equal(value(t, 'switchboard_messages_routed_total{kind="private"}'), 1);
    // 10 to each of 3, and the private one to alice and back to bob.
    assert.equal(value(t, 'switchboard_deliveries_total'), 32);
    assert.equal(value(t, 'switchboard_commands_total{command="roommsg"}'), 10);
    assert.equal(value(t, 'switchboard_commands_total{command="join"}'), 3);
    assert.equal(value(t, 'switchboard_routing_seconds_count'), 11);
    assert.equal(value(t, 'switchboard_history_entries'), 10);
  });

  test('after errors: counted by code, promtool still passes', { skip: !havePromtool && 'no promtool' }, async () => {
    clients[2].send('MSG nobody are you there');
    await clients[2].next(/^<error .*code="no_such_nick"/);
    clients[2].send('SAY nowhere hello');
    await clients[2].next(/^<error .*code="not_in_room"/);
    const t = await metrics();
    promtool(t);
    assert.equal(value(t, 'switchboard_errors_total{code="no_such_nick"}'), 1);
    assert.equal(value(t, 'switchboard_errors_total{code="not_in_room"}'), 1);
    assert.equal(sum(t, 'switchboard_errors_total'), 2);
  });

  test('metrics and top are open to a user outside the admin group; the rest is not', async () => {
    chmodSync(sb.dir, 0o711);
    chmodSync(sb.controlSocket, 0o666);
    try {
      const other = { uid: 65534, gid: 65534 };
      const m = await ctl([...S(), 'metrics'], other);
      assert.equal(m.code, 0, m.stderr);
      assert.equal(value(m.stdout, 'switchboard_clients'), 3);
      const s = await ctl([...S(), 'status'], other);
      assert.equal(s.code, 1);
      assert.match(s.stderr, /permission denied: uid 65534 is not root and not in the admin group 4242/);
      await sb.waitForEvent({ EVENT: 'hub_error', REASON: 'control peer not allowed' });
      const j = JSON.parse((await ctl([...S(), '--json', 'metrics'], other)).stdout);
      assert.ok(Array.isArray(j.metrics) && j.metrics.join('').includes('switchboard_clients 3\n'));
    } finally {
      chmodSync(sb.dir, 0o700);
    }
  });

  describe('switchboardctl top in tmux', { skip: !haveTmux && 'no tmux' }, () => {
    // A tmux server of our own for each shell (-L), so that one going
    // away never races the next.
    let server = '';
    let servers = 0;
    let work;
    const tmux = (...args) => spawnSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
    const capture = (...opts) => tmux('capture-pane', '-p', ...opts, '-t', 'top').stdout;
    // Poll the screen (it has no event to wait for) until pred holds.
    async function screen(pred, ms = 10000, ...opts) {
      const until = Date.now() + ms;
      let s = '';
      while (Date.now() < until) {
        s = capture(...opts);
        if (pred(s)) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`screen not as expected within ${ms} ms:\n${s}`);
    }
    const type = (text) => tmux('send-keys', '-t', 'top', text, 'Enter');
    let marks = 0;
    // Run `cmd` in the shell; returns a predicate: the shell is back.
    // (The mark is computed, so that the typed line never shows it: a
    // line typed before the shell's first prompt is echoed first.)
    function run(cmd) {
      const n = ++marks;
      type(`${cmd}; echo done-$((${n}))`);
      return (x) => new RegExp(`(^|\\s)done-${n}$`, 'm').test(x);
    }
    // Start a shell in an 80 x 24 terminal, with `env`; resolves when it
    // answers.
    async function shell(env = {}) {
      if (server) tmux('kill-server');
      server = `sb-top-${process.pid}-${++servers}`;
      const e = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
      const r = tmux('new-session', '-d', '-s', 'top', '-x', '80', '-y', '24', ...e, 'sh');
      assert.equal(r.status, 0, r.stderr);
      await screen(run('true'));
    }

    before(() => { work = mkdtempSync(path.join(tmpdir(), 'sb-top-')); });
    after(() => {
      if (server) tmux('kill-server');
      rmSync(work, { recursive: true, force: true });
    });

    test('shows a known load; q quits and gives the terminal back', async () => {
      await shell({ NO_COLOR: '' });
      const back = run(`stty -g > ${work}/before; ${CTL} -S ${sb.controlSocket} top; stty -g > ${work}/after`);
      let s = await screen((x) => /^users +3 /m.test(x));
      assert.match(s, /^switchboard top: every 1 s; q quits/);
      assert.match(s, /^clients +3 of 4096$/m);
      assert.match(s, /^messages +\S+ +total 11$/m);
      assert.match(s, /^deliveries +\S+ +total 32$/m);
      assert.match(s, /^errors +\S+ +total 2$/m);
      assert.match(s, /^hub cpu +\S+ +memory \d+\.\d MiB$/m);
      // All of it on the 80 x 24 screen: the title is still at the top.
      assert.equal(s.replace(/\n$/, '').split('\n').length, 24);
      assert.ok(s.split('\n').every((l) => l.length <= 80));
      // Five more room messages: the busiest room, then the totals.
      for (let i = 0; i < 5; i++) clients[1].send(`SAY lobby more ${i}`);
      await clients[0].until((m) => m.some((x) => /more 4/.test(x)));
      s = await screen((x) => /^lobby +3 +\d+\.\d$/m.test(x));
      assert.match(s, /^BUSIEST ROOMS +MEMBERS +MSG\/S$/m);
      s = await screen((x) => /^messages +\S+ +total 16$/m.test(x));
      assert.match(s, /^deliveries +\S+ +total 47$/m);
      // Colour: the headings are bold cyan (36).
      assert.match(capture('-e'), /\x1b\[[0-9;]*36[0-9;]*m(\x1b\[[0-9;]*m)*switchboard top/);
      tmux('send-keys', '-t', 'top', 'q');
      await screen(back);
      assert.equal(readFileSync(`${work}/after`, 'utf8'), readFileSync(`${work}/before`, 'utf8'));
    });

    test('Ctrl-C quits too; NO_COLOR means no colour', async () => {
      await shell({ NO_COLOR: '1' });
      const back = run(`${CTL} -S ${sb.controlSocket} top`);
      await screen((x) => /^users +3 /m.test(x));
      const s = capture('-e');
      assert.doesNotMatch(s, /\x1b\[[0-9;]*m/, 'no SGR sequence');
      tmux('send-keys', '-t', 'top', 'C-c');
      await screen(back);
    });

    test('outside the admin group: the numbers, but no room names', async () => {
      chmodSync(sb.dir, 0o711);
      chmodSync(sb.controlSocket, 0o666);
      try {
        await shell();
        const back = run(`setpriv --reuid 65534 --regid 65534 --clear-groups ${CTL} -S ${sb.controlSocket} top`);
        const s = await screen((x) => /^users +3 /m.test(x));
        assert.match(s, /^busiest rooms: for the admin group only$/m);
        assert.doesNotMatch(s, /lobby/);
        tmux('send-keys', '-t', 'top', 'q');
        await screen(back);
      } finally {
        chmodSync(sb.dir, 0o700);
      }
    });

    test('a hub that goes away is said on the screen, and found again', async () => {
      await shell();
      const back = run(`${CTL} -S ${sb.controlSocket} top`);
      await screen((x) => /^users +3 /m.test(x));
      await sb.stopHub();
      await screen((x) => /^no answer from the hub at /m.test(x) && /^asking again every second$/m.test(x));
      await sb.startHub();
      // The clients come back to the new hub (their handlers resume).
      await screen((x) => /^hub up 00:00:\d\d$/m.test(x) && /^users +3 /m.test(x), 20000);
      tmux('send-keys', '-t', 'top', 'q');
      await screen(back);
    });
  });
});
