// SPDX-License-Identifier: ISC
// The metrics with the real things (issue 22, docs/metrics.md): the text
// of `switchboardctl metrics` checked by promtool (Debian's prometheus
// package) idle, busy and after errors, with each count against a known
// load; `switchboardctl top` in a tmux terminal of 80 x 24, read with
// capture-pane, quit with q and Ctrl-C, NO_COLOR kept, the terminal given
// back; what a user outside the admin group may see.  Then over HTTP on
// the chat port: /metrics for metrics_from only (a second loopback
// address is the client outside), /healthz; a real Prometheus scraping
// every second, asked through its HTTP API; HAProxy's health check
// taking the backend down with the hub and up again.
//
// Every wait is on an event (a client's message, a hub event, a process
// exit) or a bounded poll of something that has no event to wait for (a
// tmux screen), never a sleep.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { startSwitchboard, freePort, CTL } from './lib/harness.mjs';
import { ctl } from './lib/ctl.mjs';
import { have, poll, startProgram } from './lib/programs.mjs';
import { JsonClient, XmlSocket, httpGet, jsonLogin, parseHttp, rawExchange, xmlLogin } from './lib/clients.mjs';

const havePromtool = have('promtool');
const havePrometheus = have('prometheus');
const haveHaproxy = have('haproxy');
const haveTmux = have('tmux');

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
    assert.match(t, /^switchboard_build_info\{version="0\.1",protocol="\d+"\} 1$/m);
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

// A GET on the chat port from `from` (a loopback address of our own).
const get = (sb, target, from = '127.0.0.1') => httpGet(sb, target, { from });

describe('/metrics and /healthz on the chat port', () => {
  let sb;

  before(async () => {
    sb = await startSwitchboard({ config: { metrics_from: '127.0.0.1/32', flood_burst: 1000 } });
  });
  after(async () => { await sb.stop(); });

  test('/metrics for metrics_from, in the text format; 404 to anyone else', { skip: !havePromtool && 'no promtool' }, async () => {
    const r = await get(sb, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    promtool(r.body);
    // This request is an http connection now; the one before it ended.
    assert.equal(value(r.body, 'switchboard_connections{transport="http",dialect="none"}'), 1);
    // 127.0.0.2 is loopback too, but not in 127.0.0.1/32: as if there
    // were no such page.
    const other = await get(sb, '/metrics', '127.0.0.2');
    const none = await get(sb, '/no-such-page', '127.0.0.2');
    assert.equal(other.status, 404);
    assert.equal(other.body, none.body.replace('/no-such-page', '/metrics'));
    assert.doesNotMatch(other.body, /switchboard_/);
    const t = (await get(sb, '/metrics')).body;
    assert.equal(value(t, 'switchboard_handshake_failures_total{reason="404"}'), 2);
  });

  test('/healthz: 200 while the hub answers, with nothing to tell; 503 without', async () => {
    const hellos = (t) => value(t, 'switchboard_commands_total{command="hello"}');
    const before = (await get(sb, '/metrics')).body;
    const events = sb.events().length;
    const r = await get(sb, '/healthz', '127.0.0.2');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok\n');
    // No HELLO, so no session and no line in the journal: the only
    // HELLO since is the next /metrics's, and no event comes from
    // 127.0.0.2 (the previous test's last /metrics may still log its
    // http event from 127.0.0.1 meanwhile).
    const t = (await get(sb, '/metrics')).body;
    assert.equal(hellos(t), hellos(before) + 1);
    // The /metrics's session: its connect and its http event, both since.
    const mine = () => {
      const since = sb.events().slice(events);
      return since.some((e) => e.EVENT === 'http' && since.some((c) => c.EVENT === 'connect' && c.SESSION === e.SESSION));
    };
    await poll('the /metrics\'s events', async () => mine(), 5000);
    const since = sb.events().slice(events);
    assert.ok(since.every((e) => /^127\.0\.0\.\d+:\d+$/.test(e.REMOTE)), `every event has its address: ${JSON.stringify(since)}`);
    assert.deepEqual(since.filter((e) => e.REMOTE.startsWith('127.0.0.2:')), [], '/healthz: nothing in the journal');
    assert.deepEqual([...new Set(since.map((e) => e.EVENT))].sort(), ['connect', 'http']);
    await sb.stopHub();
    try {
      const down = await get(sb, '/healthz');
      assert.equal(down.status, 503);
    } finally {
      await sb.startHub();
    }
    assert.equal((await get(sb, '/healthz')).status, 200);
  });

  test('connections by transport and dialect; sessions ended by reason; handshake failures', async () => {
    const text = await xmlLogin(sb, 'texter');
    const xml = new XmlSocket(sb.host, sb.port);
    await xml.ready;
    xml.send('<login u="xmler" p="" />');
    await xml.next(/^<logOK|^<login|^</);
    const ws = await jsonLogin(sb, 'jsoner');
    const tunnel = new JsonClient(`ws://${sb.host}:${sb.port}/xmlsocket`);
    await tunnel.ready;
    let t = (await get(sb, '/metrics')).body;
    assert.equal(value(t, 'switchboard_connections{transport="xmlsocket",dialect="text"}'), 1);
    assert.equal(value(t, 'switchboard_connections{transport="xmlsocket",dialect="xml"}'), 1);
    assert.equal(value(t, 'switchboard_connections{transport="websocket",dialect="json"}'), 1);
    assert.equal(value(t, 'switchboard_connections{transport="tunnel",dialect="none"}'), 1);
    const ended = (reason) => value(t, `switchboard_sessions_ended_total{reason="${reason}"}`);
    const before = { quit: ended('quit'), closed: ended('closed') };
    text.send('QUIT bye');
    await text.waitClose();
    await sb.waitForEvent({ EVENT: 'quit', NICK: 'texter' });
    ws.close();
    await sb.waitForEvent({ EVENT: 'quit', NICK: 'jsoner' });
    xml.close();
    tunnel.close();
    const bad = parseHttp(await rawExchange(sb.host, sb.port, 'GET / HTTP/1.1\r\n\r\n'));
    assert.equal(bad.status, 400);
    await poll('the sessions end', async () => {
      t = (await get(sb, '/metrics')).body;
      return value(t, 'switchboard_clients') === 0;
    }, 10000);
    assert.equal(ended('quit'), before.quit + 1);
    assert.equal(ended('closed'), before.closed + 3);
    assert.equal(value(t, 'switchboard_handshake_failures_total{reason="400"}'), 1);
  });
});

describe('a real Prometheus scraping every second', { skip: !havePrometheus && 'no prometheus' }, () => {
  let sb;
  let prom;
  let dir;
  let api;

  // One instant query through Prometheus's HTTP API: its result vector.
  async function query(q) {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
    const j = await res.json();
    assert.equal(j.status, 'success', JSON.stringify(j));
    return j.data.result;
  }

  before(async () => {
    sb = await startSwitchboard({ config: { flood_burst: 1000 } });
    dir = mkdtempSync(path.join(tmpdir(), 'sb-prom-'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: switchboard',
      '    scrape_timeout: 1s',
      '    static_configs:',
      `      - targets: ['${sb.host}:${sb.port}']`,
      '',
    ].join('\n'));
    prom = startProgram('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`]);
    await poll('prometheus ready', async () => (await fetch(`${api}/-/ready`)).ok);
  });
  after(async () => {
    if (prom) await prom.stop();
    await sb.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the target is up, and rate(switchboard_deliveries_total) > 0 after a chat', async () => {
    await poll('the target up', async () => {
      const r = await query('up{job="switchboard"}');
      return r.length === 1 && r[0].value[1] === '1';
    });
    const nicks = ['ann', 'ben', 'cid'];
    const clients = await Promise.all(nicks.map((n) => xmlLogin(sb, n)));
    for (const c of clients) {
      c.send('JOIN lobby');
      await c.next(/^<join room="lobby"/);
    }
    for (let i = 0; i < 20; i++) clients[0].send(`SAY lobby line ${i}`);
    for (const c of clients) await c.until((m) => m.some((x) => /line 19/.test(x)));
    // Prometheus has seen the counter move: the rate over the last
    // seconds is above zero, and the count is the chat's.
    const r = await poll('rate > 0', async () => {
      const v = await query('rate(switchboard_deliveries_total[5s]) > 0');
      return v.length === 1 ? v : null;
    });
    assert.ok(Number(r[0].value[1]) > 0);
    await poll('the count', async () => {
      const v = await query('switchboard_messages_routed_total{kind="room"}');
      return v.length === 1 && v[0].value[1] === '20';
    });
    const d = await query('switchboard_deliveries_total');
    assert.equal(d[0].value[1], '60');
    for (const c of clients) c.close();
  });
});

describe('HAProxy health-checks /healthz', { skip: !haveHaproxy && 'no haproxy' }, () => {
  let sb;
  let hap;
  let dir;
  let stats;

  // The state of the backend's server, from HAProxy's stats socket.
  function serverState() {
    return new Promise((resolve, reject) => {
      let out = '';
      const s = net.connect({ path: stats }, () => s.write('show stat\n'));
      s.on('data', (d) => { out += d; });
      s.on('close', () => {
        const line = out.split('\n').find((l) => l.startsWith('switchboard,chat,'));
        if (!line) { reject(new Error(`no server in ${out}`)); return; }
        resolve(line.split(',')[17]);	// "status": UP, DOWN...
      });
      s.on('error', reject);
    });
  }

  before(async () => {
    sb = await startSwitchboard();
    dir = mkdtempSync(path.join(tmpdir(), 'sb-haproxy-'));
    stats = path.join(dir, 'stats.sock');
    const port = await freePort();
    writeFileSync(path.join(dir, 'haproxy.cfg'), [
      'global',
      `  stats socket ${stats} level admin`,
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      '  timeout check 1s',
      'listen switchboard',
      `  bind 127.0.0.1:${port}`,
      '  option httpchk',
      '  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host switchboard',
      '  http-check expect status 200',
      `  server chat ${sb.host}:${sb.port} check inter 500ms fall 2 rise 2`,
      '',
    ].join('\n'));
    hap = startProgram('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')]);
  });
  after(async () => {
    if (hap) await hap.stop();
    await sb.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('down when the hub stops, up when it is back', async () => {
    await poll('UP at first', async () => /^UP/.test(await serverState()), 20000);
    await sb.stopHub();
    try {
      await poll('DOWN without the hub', async () => /^DOWN/.test(await serverState()), 20000);
    } finally {
      await sb.startHub();
    }
    await poll('UP again', async () => /^UP/.test(await serverState()), 20000);
  });
});
