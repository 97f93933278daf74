// SPDX-License-Identifier: ISC
// WebSocket endpoints with Node's `ws` as the client: the JSON dialect on
// /chat, the seed-003 page's shapes, the Flash tunnel on /xmlsocket, and the
// handshake's refusals.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { execFile, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSwitchboard, HUB } from './lib/harness.mjs';
import { JsonClient, jsonLogin, xmlLogin, httpGet } from './lib/clients.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Run build/switchboardctl; resolves with { code, stdout, stderr }.
function ctl(args) {
  return new Promise((resolve, reject) => {
    execFile(path.join(root, 'build', 'switchboardctl'), args, { timeout: 20000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') { reject(err); return; }
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

// A /xmlsocket client: binary frames carrying the raw XMLSocket stream.
class Tunnel {
  constructor(url) {
    this.frames = [];
    this.waiters = new Set();
    this.ws = new WebSocket(url);
    this.ready = new Promise((res, rej) => { this.ws.once('open', res); this.ws.once('error', rej); });
    this.ws.on('message', (d, binary) => { this.frames.push({ text: d.toString('utf8'), binary }); for (const w of this.waiters) w(); });
  }
  next(re, ms = 5000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.frames.findIndex((f) => re.test(f.text));
        if (i >= 0) { const f = this.frames[i]; this.frames.splice(0, i + 1); done(); resolve(f); }
      };
      const t = setTimeout(() => { done(); reject(new Error(`no frame ${re}; got ${JSON.stringify(this.frames).slice(-800)}`)); }, ms);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }
}

describe('WebSocket endpoints', () => {
  let sb;
  before(async () => { sb = await startSwitchboard({ config: { rooms: 'lobby' } }); });
  after(async () => { await sb.stop(); });

  test('/chat: login, users, private and room messages, errors with code and text', async () => {
    const a = await jsonLogin(sb, 'ann');
    const b = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
    await b.ready;
    b.send({ type: 'msg', to: 'ann', text: 'too early' });
    const e1 = await b.next({ type: 'error' });
    assert.equal(e1.code, 'not_identified');
    assert.equal(typeof e1.text, 'string');
    assert.match(e1.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(e1.from, '');
    b.send({ type: 'login', nick: 'ben' });
    const w = await b.next({ type: 'welcome' });
    assert.equal(w.nick, 'ben');
    await a.next({ type: 'login', nick: 'ben' });

    b.send({ type: 'users' });
    assert.deepEqual([...(await b.next({ type: 'users' })).users].sort(), ['ann', 'ben']);
    b.send({ type: 'msg', to: 'ann', text: 'hi ann "quoted" <b>' });
    const pm = await a.next({ type: 'msg', from: 'ben' });
    assert.equal(pm.to, 'ann');
    assert.equal(pm.text, 'hi ann "quoted" <b>');
    assert.ok(Number.isInteger(pm.epoch) && pm.epoch > 0, 'hub epoch on the event');
    const echo = await b.next({ type: 'msg', from: 'ben' });
    b.send({ type: 'msg', to: 'ann', text: 'second' });
    const echo2 = await b.next({ type: 'msg', text: 'second' });
    assert.equal(echo2.epoch, echo.epoch);
    assert.equal(echo2.seq, echo.seq + 1, 'the session sequence grows by one');
    b.send({ type: 'join', room: 'lobby' });
    await b.next({ type: 'join', nick: 'ben' });
    b.send({ type: 'say', room: 'lobby', text: 'room text' });
    assert.equal((await b.next({ type: 'msg', room: 'lobby' })).text, 'room text');

    b.send('{not json');
    assert.match((await b.next({ type: 'error' })).text, /Invalid JSON/);
    b.send({ type: 'frobnicate' });
    assert.match((await b.next({ type: 'error' })).text, /Unknown type/);
    b.send({ type: 'msg', to: 'nobody', text: 'x' });
    assert.equal((await b.next({ type: 'error' })).code, 'no_such_nick');
    b.send({ type: 'login', nick: 'second' });
    assert.equal((await b.next({ type: 'error' })).code, 'already_identified');
    a.close(); b.close();
  });

  // Issue 16, hole 8: seq counted the hub's datagrams, joins, logins and
  // pongs included, and showed gaps (4, 6, 8) where nothing was lost.
  test('msg seq: 1, 2, 3... with logins, joins, pings and handler errors in between', async () => {
    const a = await jsonLogin(sb, 'seqa');
    a.send({ type: 'join', room: 'seqroom' });
    await a.next({ type: 'join', nick: 'seqa' });
    const seqs = [];
    const others = [];
    for (let i = 0; i < 4; i++) {
      const c = await jsonLogin(sb, `seqc${i}`);
      others.push(c);
      await a.next({ type: 'login', nick: `seqc${i}` });
      c.send({ type: 'join', room: 'seqroom' });
      await a.next({ type: 'join', nick: `seqc${i}` });
      a.send({ type: 'ping', token: `p${i}` });
      await a.next({ type: 'pong', token: `p${i}` });
      a.send('not json');		// the handler's own answer, after a barrier ping
      await a.next({ type: 'error', code: 'syntax' });
      c.send({ type: 'say', room: 'seqroom', text: `from c ${i}` });
      seqs.push((await a.next({ type: 'msg', text: `from c ${i}` })).seq);
      a.send({ type: 'say', room: 'seqroom', text: `from a ${i}` });
      seqs.push((await a.next({ type: 'msg', text: `from a ${i}` })).seq);
      c.send({ type: 'msg', to: 'seqa', text: `private ${i}` });
      seqs.push((await a.next({ type: 'msg', text: `private ${i}` })).seq);
    }
    assert.deepEqual(seqs, seqs.map((_, k) => k + 1), 'consecutive from 1');
    for (const c of others) c.close();
    a.close();
  });

  test('an error the handler answers itself comes after the hub\'s answers to earlier commands', async () => {
    const a = await jsonLogin(sb, 'orderly');
    a.events.length = 0;
    a.send({ type: 'users' });		// answered by the hub
    a.send({ type: 'bogus' });		// answered by the handler
    a.send({ type: 'rooms' });
    a.send('not json');
    a.send({ type: 'ping', token: 'last' });
    const ev = await a.until((es) => es.some((e) => e.type === 'pong' && e.token === 'last'));
    const answers = ev.filter((e) => ['users', 'rooms', 'error', 'pong'].includes(e.type));
    assert.deepEqual(answers.map((e) => e.type === 'error' ? `error ${e.code}` : e.type),
      ['users', 'error syntax', 'rooms', 'error syntax', 'pong']);
  });

  test('the browser upgrade on / is the chat endpoint too', async () => {
    const c = await jsonLogin(sb, 'rooted', '/');
    c.close();
  });

  test('seed 003 shapes: system registers, user with to_id sends, the recipient gets usermsg', async () => {
    const seven = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
    const five = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
    await Promise.all([seven.ready, five.ready]);
    seven.send({ type: 'system', id: 7, projectId: 2424, name: 'mks' });
    five.send({ type: 'system', id: 5, projectId: 2424, name: 'pal' });
    assert.deepEqual(await seven.next({ type: 'system' }), { type: 'system', message: 'Initial message received' });
    await five.next({ type: 'system' });
    seven.send({ message: 'hello five', type: 'user', name: 'mks', id: 7, projectId: 2424, to_id: 5, color: '#FF0000' });
    const got = await five.next({ type: 'usermsg' });
    assert.equal(got.name, 'mks');
    assert.equal(got.message, 'hello five');
    assert.equal(got.color, '#FF0000');
    // A Flash client sees the seed-003 user by name.
    const x = await xmlLogin(sb, 'flashy');
    x.send('MSG mks hi from flash');
    assert.equal((await seven.next({ type: 'usermsg' })).message, 'hi from flash');
    seven.close(); five.close(); x.close();
  });

  test('seed 003: an id in use is refused, its private messages stay with its holder', async () => {
    // Issue 16, hole 2: a second `system` with a victim's id took over its
    // to_id messages.
    const victim = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
    const thief = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
    const sender = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
    await Promise.all([victim.ready, thief.ready, sender.ready]);
    victim.send({ type: 'system', id: 17, projectId: 2424, name: 'victim' });
    await victim.next({ type: 'system', message: 'Initial message received' });
    thief.send({ type: 'system', id: 17, projectId: 2424, name: 'thief' });
    const refused = await thief.next({ type: 'system' });
    assert.match(refused.message, /id is already in use/);
    sender.send({ type: 'system', id: 18, projectId: 2424, name: 'sender' });
    await sender.next({ type: 'system', message: 'Initial message received' });
    sender.send({ message: 'for victim only', type: 'user', name: 'sender', id: 18, projectId: 2424, to_id: 17 });
    assert.equal((await victim.next({ type: 'usermsg' })).message, 'for victim only');
    // The thief is not identified: it gets nothing, and its own message is refused.
    thief.send({ message: 'x', type: 'user', name: 'thief', id: 17, projectId: 2424, to_id: 18 });
    assert.match((await thief.next({ type: 'system' })).message, /identif/i);
    assert.ok(!thief.events.some((e) => e.type === 'usermsg'), 'the thief got no private message');
    victim.close(); thief.close(); sender.close();
  });

  test('/xmlsocket tunnel: raw stream in binary frames, one whole message per frame back', async () => {
    const t = new Tunnel(`ws://${sb.host}:${sb.port}/xmlsocket`);
    await t.ready;
    // One message split over three frames, then two messages in one frame.
    t.ws.send(Buffer.from('IDENT'));
    t.ws.send(Buffer.from('IFY tun'));
    t.ws.send(Buffer.from('nel\0'));
    const id = await t.next(/^<identify /);
    assert.equal(id.binary, true);
    assert.equal(id.text, '<identify aid="tunnel" name="tunnel" />\0');
    const x = await xmlLogin(sb, 'plain');
    await t.next(/^<login aid="plain"/);
    t.ws.send(Buffer.from('MSG plain one\0MSG plain two\0'));
    assert.match(await x.next(/^<msg /), /msg="one"/);
    assert.match(await x.next(/^<msg /), /msg="two"/);
    x.send('MSG tunnel back');
    const back = await t.next(/msg="back"/);
    assert.ok(back.text.endsWith(' />\0'), 'whole message with its NUL');
    t.ws.close(); x.close();
  });

  test('handshake refusals: version 426, bad key 400, unknown path 404, echo off by default', async () => {
    const base = { Upgrade: 'websocket', Connection: 'keep-alive, Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    let r = await httpGet(sb, '/chat', { headers: { ...base, 'Sec-WebSocket-Version': '8' } });
    assert.equal(r.status, 426);
    assert.equal(r.headers['sec-websocket-version'], '13');
    r = await httpGet(sb, '/chat', { headers: { ...base, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'short' } });
    assert.equal(r.status, 400);
    r = await httpGet(sb, '/nowhere', { headers: { ...base, 'Sec-WebSocket-Version': '13' } });
    assert.equal(r.status, 404);
    r = await httpGet(sb, '/echo', { headers: { ...base, 'Sec-WebSocket-Version': '13' } });
    assert.equal(r.status, 404);
    r = await httpGet(sb, '/chat', { headers: { ...base, 'Sec-WebSocket-Version': '13' } });
    assert.equal(r.status, 101);
    assert.equal(r.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('Origin allow-list', () => {
  let sb;
  before(async () => { sb = await startSwitchboard({ config: { ws_origins: 'http://good.example' } }); });
  after(async () => { await sb.stop(); });

  test('a listed origin is accepted, another gets 403', async () => {
    const hdr = (o) => ({ Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', Origin: o });
    assert.equal((await httpGet(sb, '/chat', { headers: hdr('http://evil.example') })).status, 403);
    assert.equal((await httpGet(sb, '/chat', { headers: hdr('http://good.example') })).status, 101);
  });
});

// ws_chat_paths: the seed-003 page's own URL, ws://host/chat/server.php:9000,
// speaks the JSON dialect by default; the key replaces the list, and a bad
// value is refused at start and at reload.
describe('ws_chat_paths', () => {
  const upgrade = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };
  let sb;
  before(async () => { sb = await startSwitchboard(); });
  after(async () => { await sb.stop(); });

  test('by default /chat/server.php (with a query, or the seed\'s ":9000") is the JSON dialect', async () => {
    const mks = new JsonClient(`ws://${sb.host}:${sb.port}/chat/server.php?x=1`);
    const pal = new JsonClient(`ws://${sb.host}:${sb.port}/chat/server.php:9000`);
    await Promise.all([mks.ready, pal.ready]);
    mks.send({ type: 'system', id: 7, projectId: 2424, name: 'mks' });
    pal.send({ type: 'system', id: 5, projectId: 2424, name: 'pal' });
    assert.deepEqual(await mks.next({ type: 'system' }), { type: 'system', message: 'Initial message received' });
    await pal.next({ type: 'system' });
    await sb.waitForEvent({ EVENT: 'login', NICK: 'mks' });
    // The effect: a message goes through, both ways, and to /chat.
    mks.send({ message: 'hello five', type: 'user', name: 'mks', id: 7, to_id: 5, color: '#FF0000' });
    assert.equal((await pal.next({ type: 'usermsg' })).message, 'hello five');
    const ann = await jsonLogin(sb, 'ann');
    ann.send({ type: 'msg', to: 'pal', text: 'from /chat' });
    assert.equal((await pal.next({ type: 'usermsg' })).message, 'from /chat');
    mks.close(); pal.close(); ann.close();
    await sb.waitForEvent({ EVENT: 'quit', NICK: 'mks' });
    assert.equal((await httpGet(sb, '/chat/server.ph', { headers: upgrade })).status, 404);
    assert.equal((await httpGet(sb, '/server.php', { headers: upgrade })).status, 404);
  });

  test('a reload sets the list; a bad value is refused and the old list stays', async () => {
    appendFileSync(sb.configPath, 'ws_chat_paths = /legacy/*, /ws\n');
    let r = await ctl(['-S', sb.controlSocket, 'reload']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await httpGet(sb, '/chat/server.php', { headers: upgrade })).status, 404);
    assert.equal((await httpGet(sb, '/legacy', { headers: upgrade })).status, 404);
    const c = await jsonLogin(sb, 'legacy', '/legacy/a/b?c=d');
    const d = await jsonLogin(sb, 'plainws', '/ws?x=1');
    d.send({ type: 'msg', to: 'legacy', text: 'hi' });
    assert.equal((await c.next({ type: 'msg', from: 'plainws' })).text, 'hi');
    c.close(); d.close();

    appendFileSync(sb.configPath, 'ws_chat_paths = /a*b\n');
    r = await ctl(['-S', sb.controlSocket, 'reload']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /switchboard\.conf:\d+: ws_chat_paths: "\/a\*b": .*'\*' only at the end/);
    const still = await jsonLogin(sb, 'still', '/ws');
    still.close();
  });

  test('a bad value stops the hub at start, with the reason', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-paths-'));
    const conf = path.join(dir, 'switchboard.conf');
    writeFileSync(conf, `state_dir = ${dir}\nws_chat_paths = /1 /2 /3 /4 /5 /6 /7 /8 /9\n`);
    const r = spawnSync(HUB, ['-s', path.join(dir, 'hub.sock'), '-C', path.join(dir, 'c.sock'), '-c', conf],
      { encoding: 'utf8', timeout: 10000, env: { ...process.env, SWITCHBOARD_LOG_STDERR: '1' } });
    rmSync(dir, { recursive: true, force: true });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /switchboard\.conf:2: ws_chat_paths: more than 8 paths/);
  });
});

describe('a full server', () => {
  let sb;
  before(async () => { sb = await startSwitchboard({ config: { max_clients: 1 } }); });
  after(async () => { await sb.stop(); });

  test('/xmlsocket tunnel: server_full sends the <close> element, then the WebSocket close', async () => {
    // Issue 16, "Also": the tunnel got only the WebSocket close, while a
    // direct XMLSocket client reads <close code="server_full" ... />.
    const holder = await xmlLogin(sb, 'holder');
    const t = new Tunnel(`ws://${sb.host}:${sb.port}/xmlsocket`);
    const closed = new Promise((resolve) => t.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await t.ready;
    const { code } = await closed;
    assert.equal(code, 1013);
    assert.equal(t.frames.length, 1, JSON.stringify(t.frames));
    assert.equal(t.frames[0].binary, true);
    assert.equal(t.frames[0].text, '<close code="server_full" reason="Server is full" />\0');
    holder.close();
  });
});
