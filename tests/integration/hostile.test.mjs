// SPDX-License-Identifier: ISC
// Hostile clients against the real hub and socket-activated handlers:
// slowloris on the handshakes, header floods, oversized WebSocket frames
// and messages, fragment floods, invalid UTF-8, unmasked frames, NUL and
// newline injection into nicks and messages in the three dialects, XML
// entity expansion and deep nesting, invisible and bidi characters in
// nicks, 500 connections at once, and a client that sends a message every
// millisecond.  Every wait is on a socket or hub event with a deadline;
// the only timers are the pacing of the slowloris bytes and of the flood,
// which is what those tests are about.  docs/hardening.md lists what each
// one proves.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync, readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startSwitchboard, HANDLER, handlerPids } from './lib/harness.mjs';
import { XmlSocket, xmlLogin, JsonClient, jsonLogin, rawExchange, parseHttp } from './lib/clients.mjs';

const WAIT = 10000;	// ms, the deadline of any single wait

// ---- helpers -------------------------------------------------------------

// Resolve when no handler is left, checking as they exit (bounded).
function noHandlersLeft(sb, ms = 20000) {
  return new Promise((resolve, reject) => {
    const until = Date.now() + ms;
    const check = () => {
      const left = handlerPids(sb.saPid);
      if (left.length === 0) return resolve();
      if (Date.now() > until) return reject(new Error(`${left.length} handlers left: ${left.slice(0, 10)}`));
      setTimeout(check, 50);
    };
    check();
  });
}

// Resolve with cond()'s first truthy value, re-checked whenever client `c`
// (XmlSocket or JsonClient) receives something.
function waitFor(c, cond, what, ms = WAIT) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const v = cond();
      if (v) { done(); resolve(v); } else if (c.closed) { done(); reject(new Error(`closed while waiting for ${what}`)); }
    };
    const t = setTimeout(() => { done(); reject(new Error(`no ${what} within ${ms} ms`)); }, ms);
    const done = () => { clearTimeout(t); c.waiters.delete(check); };
    c.waiters.add(check);
    check();
  });
}

// Everything `c` received before the first message that isMarker(), which
// is consumed too.
async function upTo(c, isMarker, what) {
  const list = c.messages ?? c.events;
  const n = await waitFor(c, () => { const i = list.findIndex(isMarker); return i >= 0 ? i + 1 : 0; }, what);
  return list.splice(0, n).slice(0, -1);
}

const XML_ENT = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const unxml = (s) => s.replace(/&(#\d+|lt|gt|amp|quot|apos);/g,
  (_, e) => (e[0] === '#' ? String.fromCodePoint(Number(e.slice(1))) : XML_ENT[e]));

// One self-closing element with plain attributes (a value never holds a
// raw quote), e.g. the seed-000 <msg ... />: its name and attributes.
function element(m) {
  const r = /^<(\w+)((?: \w+="[^"<>]*")*) \/>$/.exec(m);
  assert.ok(r, `one self-closing element: ${m}`);
  const attrs = {};
  for (const [, k, v] of r[2].matchAll(/ (\w+)="([^"]*)"/g)) {
    assert.ok(!(k in attrs), `attribute ${k} once: ${m}`);
    attrs[k] = unxml(v);
  }
  return { name: r[1], attrs };
}

// One seed-001 <msg attrs>text</msg>, nothing else.
function xmlMsg(m) {
  const r = /^<msg((?: \w+="[^"<>]*")*)>([^<]*)<\/msg>$/.exec(m);
  assert.ok(r, `one <msg> element: ${m}`);
  const attrs = {};
  for (const [, k, v] of r[1].matchAll(/ (\w+)="([^"]*)"/g)) attrs[k] = unxml(v);
  return { attrs, text: unxml(r[2]) };
}

// A raw TCP client that sends bytes on a timer and reports how it ended.
function slowClient(sb, text, { perByteMs = 200, ms = WAIT } = {}) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let sent = 0;
    let timer;
    const start = Date.now();
    const s = net.connect(sb.port, sb.host, () => {
      s.setNoDelay(true);
      timer = setInterval(() => {
        if (sent >= text.length) { clearInterval(timer); return; }
        s.write(text.slice(sent, sent + 1));
        sent++;
      }, perByteMs);
    });
    const guard = setTimeout(() => { clearInterval(timer); s.destroy(); reject(new Error(`not closed within ${ms} ms`)); }, ms);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(timer);
      clearTimeout(guard);
      resolve({ reply: Buffer.concat(chunks), sent, elapsed: Date.now() - start });
    });
  });
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

// One client frame; `len` forces the announced length (for oversize tests).
function frame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, len } = {}) {
  const p = Buffer.from(payload);
  const n = len ?? p.length;
  const out = [(fin ? 0x80 : 0) | opcode];
  const m = mask ? 0x80 : 0;
  if (n < 126) out.push(m | n);
  else if (n <= 0xffff) out.push(m | 126, n >> 8, n & 0xff);
  else {
    out.push(m | 127);
    const b = BigInt(n);
    for (let i = 7; i >= 0; i--) out.push(Number((b >> BigInt(8 * i)) & 0xffn));
  }
  const key = randomBytes(4);
  if (mask) out.push(...key);
  for (let i = 0; i < p.length; i++) out.push(mask ? p[i] ^ key[i & 3] : p[i]);
  return Buffer.from(out);
}

// A WebSocket client at the byte level: the handshake by hand, frames out,
// the server's frames in, and the close code it ends with.
class RawWs {
  static open(sb, path = '/chat') {
    return new Promise((resolve, reject) => {
      const key = randomBytes(16).toString('base64');
      const s = net.connect(sb.port, sb.host, () => {
        s.setNoDelay(true);
        s.write(`GET ${path} HTTP/1.1\r\nHost: ${sb.host}:${sb.port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      let head = Buffer.alloc(0);
      const t = setTimeout(() => { s.destroy(); reject(new Error('no 101 in time')); }, WAIT);
      const onData = (d) => {
        head = Buffer.concat([head, d]);
        const i = head.indexOf('\r\n\r\n');
        if (i < 0) return;
        clearTimeout(t);
        s.off('data', onData);
        const status = head.subarray(0, 12).toString();
        if (!status.startsWith('HTTP/1.1 101')) { s.destroy(); reject(new Error(`handshake: ${head}`)); return; }
        resolve(new RawWs(s, head.subarray(i + 4)));
      };
      s.on('data', onData);
      s.on('error', (e) => { clearTimeout(t); reject(e); });
    });
  }

  constructor(sock, rest) {
    this.sock = sock;
    this.buf = rest;
    this.ended = false;
    this.waiters = new Set();
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.wake(); });
    sock.on('close', () => { this.ended = true; this.wake(); });
    sock.on('error', () => {});
  }

  wake() { for (const w of this.waiters) w(); }

  send(...frames) {
    if (!this.sock.destroyed) this.sock.write(Buffer.concat(frames));
  }

  // The server's frames received so far (unmasked, whole ones only).
  frames() {
    const out = [];
    let off = 0;
    const b = this.buf;
    while (b.length - off >= 2) {
      let len = b[off + 1] & 0x7f;
      let h = 2;
      if (len === 126) { if (b.length - off < 4) break; len = b.readUInt16BE(off + 2); h = 4; }
      else if (len === 127) { if (b.length - off < 10) break; len = Number(b.readBigUInt64BE(off + 2)); h = 10; }
      if (b.length - off < h + len) break;
      assert.equal(b[off + 1] & 0x80, 0, 'server frames are not masked');
      out.push({ fin: !!(b[off] & 0x80), opcode: b[off] & 0x0f, payload: b.subarray(off + h, off + h + len) });
      off += h + len;
    }
    return out;
  }

  // The close frame's code (and reason) once it and the end of the
  // connection have come.
  closed(ms = WAIT) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const c = this.frames().find((f) => f.opcode === OP.CLOSE);
        if (c && this.ended) {
          done();
          resolve({ code: c.payload.length >= 2 ? c.payload.readUInt16BE(0) : 1005, reason: c.payload.subarray(2).toString() });
        } else if (this.ended) {
          done();
          reject(new Error(`closed without a close frame; got ${JSON.stringify(this.frames().map((f) => f.opcode))}`));
        }
      };
      const t = setTimeout(() => { done(); this.sock.destroy(); reject(new Error(`no close within ${ms} ms`)); }, ms);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }
}

// ---- slowloris -------------------------------------------------------------

describe('slowloris', () => {
  let sb;
  before(async () => { sb = await startSwitchboard({ config: { handshake_timeout: 2, connect_timeout: 2 } }); });
  after(async () => { await sb.stop(); });

  const upgrade = 'GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

  test('WebSocket handshake one byte per 200 ms: 408 at the handshake_timeout deadline, then closed', async () => {
    const r = await slowClient(sb, upgrade);
    const res = parseHttp(r.reply);
    assert.equal(res.status, 408);
    assert.equal(res.headers.connection, 'close');
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
    assert.ok(r.sent < upgrade.length, `the request never completed (${r.sent} bytes sent)`);
    assert.ok(r.elapsed >= 1900 && r.elapsed < 4500, `answered at the deadline (${r.elapsed} ms)`);
    await sb.waitForEvent({ EVENT: 'http', REASON: /^408 / });
  });

  test('HTTP request one byte per 200 ms: 408, then closed', async () => {
    const req = 'GET /server-status HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nAccept: */*\r\n\r\n';
    const r = await slowClient(sb, req);
    assert.equal(parseHttp(r.reply).status, 408);
    assert.ok(r.sent < req.length, `the request never completed (${r.sent} bytes sent)`);
    assert.ok(r.elapsed >= 1900 && r.elapsed < 4500, `answered at the deadline (${r.elapsed} ms)`);
  });

  test('a header line that never ends, slowly: 408 too', async () => {
    const req = 'GET / HTTP/1.1\r\nX-Padding: ' + 'a'.repeat(200);
    const r = await slowClient(sb, req, { perByteMs: 20 });
    assert.equal(parseHttp(r.reply).status, 408);
    assert.ok(r.elapsed < 4500, `answered at the deadline (${r.elapsed} ms)`);
  });

  test('a policy request one byte per 200 ms: closed at connect_timeout, nothing sent', async () => {
    const r = await slowClient(sb, '<policy-file-request/>\0');
    assert.equal(r.reply.length, 0);
    assert.ok(r.sent < 23);
    assert.ok(r.elapsed >= 1900 && r.elapsed < 4500, `closed at the deadline (${r.elapsed} ms)`);
    await sb.waitForEvent({ EVENT: 'protocol_error', REASON: /nothing received in 2 s/ });
  });
});

// ---- header floods ---------------------------------------------------------

describe('header floods', () => {
  let sb;
  before(async () => { sb = await startSwitchboard(); });
  after(async () => { await sb.stop(); });

  const exchange = async (bytes) => {
    const start = Date.now();
    const res = parseHttp(await rawExchange(sb.host, sb.port, bytes));
    return { ...res, elapsed: Date.now() - start };
  };

  test('49 header lines: 431 at once', async () => {
    const h = Array.from({ length: 49 }, (_, i) => `X-H${i}: ${i}\r\n`).join('');
    const r = await exchange(`GET / HTTP/1.1\r\nHost: x\r\n${h}\r\n`);
    assert.equal(r.status, 431);
    assert.match(r.body, /^431 Request Header Fields Too Large/);
  });

  test('a head over 8192 bytes: 431 without waiting for its end', async () => {
    const r = await exchange(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20000)}`);
    assert.equal(r.status, 431);
    assert.ok(r.elapsed < 3000, `no wait for the rest (${r.elapsed} ms)`);
  });

  test('10,000 small headers in one write: 431, the handler is not swamped', async () => {
    const h = 'X: y\r\n'.repeat(10000);
    const r = await exchange(`GET / HTTP/1.1\r\n${h}\r\n`);
    assert.equal(r.status, 431);
  });

  test('a request target over 1024 bytes: 414', async () => {
    const r = await exchange(`GET /${'u'.repeat(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(r.status, 414);
  });

  test('obsolete line folding and control characters: 400', async () => {
    assert.equal((await exchange('GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n')).status, 400);
    assert.equal((await exchange('GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n')).status, 400);
  });

  test('RFC 9112 Host rules: HTTP/1.1 without Host, or with two, or a bad one: 400', async () => {
    // Issue 16, hole 10: these got 200.
    for (const target of ['/server-status', '/chat']) {
      let r = await exchange(`GET ${target} HTTP/1.1\r\n\r\n`);
      assert.equal(r.status, 400, `no Host on ${target}`);
      assert.match(r.body, /Host/);
      r = await exchange(`GET ${target} HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n`);
      assert.equal(r.status, 400, `two Hosts on ${target}`);
      r = await exchange(`GET ${target} HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n`);
      assert.equal(r.status, 400, `two Hosts, other case, on ${target}`);
      r = await exchange(`GET ${target} HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n`);
      assert.equal(r.status, 400, `two Hosts in HTTP/1.0 on ${target}`);
      r = await exchange(`GET ${target} HTTP/1.1\r\nHost: evil/../x\r\n\r\n`);
      assert.equal(r.status, 400, `a Host that names no host on ${target}`);
    }
    // HTTP/1.0 without Host, and HTTP/1.1 with one, are still served.
    assert.equal((await exchange('GET /server-status HTTP/1.0\r\n\r\n')).status, 200);
    assert.equal((await exchange('GET /server-status HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n')).status, 200);
  });
});

// ---- WebSocket frames --------------------------------------------------------

describe('WebSocket: oversized frames, fragment floods, bad UTF-8, unmasked frames', () => {
  let sb;
  const MAX = 4096;
  before(async () => { sb = await startSwitchboard({ config: { ws_max_message: MAX } }); });
  after(async () => { await sb.stop(); });

  test('a frame announcing more than ws_max_message: 1009 before its payload', async () => {
    const ws = await RawWs.open(sb);
    ws.send(frame(OP.TEXT, Buffer.alloc(0), { len: MAX + 1 }).subarray(0, 8));
    assert.equal((await ws.closed()).code, 1009);
  });

  test('a frame announcing 2^62 bytes: 1009; 2^63 (high bit set): 1002', async () => {
    let ws = await RawWs.open(sb);
    ws.send(Buffer.from([0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    assert.equal((await ws.closed()).code, 1009);
    ws = await RawWs.open(sb);
    ws.send(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    assert.equal((await ws.closed()).code, 1002);
  });

  test('a message whose fragments add up to more than ws_max_message: 1009', async () => {
    const ws = await RawWs.open(sb, '/xmlsocket');
    const part = Buffer.alloc(1500, 0x61);
    ws.send(frame(OP.BINARY, part, { fin: false }), frame(OP.CONT, part, { fin: false }),
      frame(OP.CONT, part, { fin: true }));
    assert.equal((await ws.closed()).code, 1009);
  });

  test('a flood of one-byte fragments is capped by total bytes: 1009', async () => {
    const ws = await RawWs.open(sb);
    const frames = [frame(OP.TEXT, 'x', { fin: false })];
    for (let i = 0; i < 2 * MAX; i++) frames.push(frame(OP.CONT, 'x', { fin: false }));
    ws.send(...frames);
    const c = await ws.closed();
    assert.equal(c.code, 1009);
  });

  test('pings between fragments are answered, and do not count towards the cap', async () => {
    const ws = await RawWs.open(sb, '/chat');
    const msg = JSON.stringify({ type: 'ping', token: 'x'.repeat(10) });
    const frames = [];
    for (let i = 0; i < msg.length; i++) {
      frames.push(frame(i === 0 ? OP.TEXT : OP.CONT, msg[i], { fin: i === msg.length - 1 }));
      frames.push(frame(OP.PING, Buffer.alloc(125, i)));
    }
    ws.send(...frames);
    // Wait for the hub's pong event and a pong frame for every ping.
    const got = await new Promise((resolve, reject) => {
      const t = setTimeout(() => { ws.waiters.delete(check); reject(new Error('no pong event and pongs')); }, WAIT);
      const check = () => {
        const f = ws.frames();
        const pongs = f.filter((x) => x.opcode === OP.PONG).length;
        const ev = f.find((x) => x.opcode === OP.TEXT);
        if (ev && pongs === msg.length) { clearTimeout(t); ws.waiters.delete(check); resolve({ ev, pongs }); }
        else if (ws.ended) { clearTimeout(t); ws.waiters.delete(check); reject(new Error('closed')); }
      };
      ws.waiters.add(check);
      check();
    });
    assert.equal(JSON.parse(got.ev.payload.toString()).type, 'pong');
    ws.send(frame(OP.CLOSE, Buffer.from([0x03, 0xe8])));
    assert.equal((await ws.closed()).code, 1000);
  });

  test('invalid UTF-8 in a text frame: 1007', async () => {
    const ws = await RawWs.open(sb);
    ws.send(frame(OP.TEXT, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])));
    assert.equal((await ws.closed()).code, 1007);
  });

  test('invalid UTF-8 across fragments (a surrogate) and a text ending mid-character: 1007', async () => {
    let ws = await RawWs.open(sb);
    ws.send(frame(OP.TEXT, Buffer.from([0x61, 0xed]), { fin: false }), frame(OP.CONT, Buffer.from([0xa0, 0x80])));
    assert.equal((await ws.closed()).code, 1007);
    ws = await RawWs.open(sb);
    ws.send(frame(OP.TEXT, Buffer.from([0x61, 0xc3])));
    assert.equal((await ws.closed()).code, 1007);
  });

  test('an unmasked client frame: 1002', async () => {
    const ws = await RawWs.open(sb);
    ws.send(frame(OP.TEXT, '{"type":"ping"}', { mask: false }));
    assert.equal((await ws.closed()).code, 1002);
    await sb.waitForEvent({ EVENT: 'protocol_error', REASON: /WebSocket protocol violation/ });
  });

  test('after all that, the server still serves: a JSON login works', async () => {
    const c = await jsonLogin(sb, 'survivor');
    c.close();
  });
});

// ---- injection -------------------------------------------------------------

describe('NUL and newline injection, markup in texts and nicks (three dialects)', () => {
  let sb;
  let bob, carol, dave;		// recipients: text, XML and JSON dialects
  let eve, mallory, trudy;	// senders: text, XML and JSON dialects
  let zed;			// a well-behaved client who sends the markers
  let mark = 0;

  // A hostile text with the markup of all three dialects in it.
  const P = '"/><msg aid="root" from="root" msg="forged" /><x a=\'1\'> &amp; ]]> </msg>' +
    '{"type":"msg","from":"root"} \\ é 😀';

  async function xmlDialectLogin(nick) {
    const c = new XmlSocket(sb.host, sb.port);
    await c.ready;
    c.send(`<login u="${nick}" p=""/>`);
    await c.next(/^<login ok="1"/);
    c.send('<room id="lobby"/>');
    await c.next(/^<joined room_id="lobby">/);
    return c;
  }

  async function textLogin(nick) {
    const c = await xmlLogin(sb, nick);
    c.send('JOIN lobby');
    await c.next(/^<join room="lobby" aid="/);
    return c;
  }

  async function jsonJoin(nick) {
    const c = await jsonLogin(sb, nick);
    c.send({ type: 'join', room: 'lobby' });
    await c.next({ type: 'join', nick });
    return c;
  }

  // Once each sender has its pong, the hub has taken what it sent before.
  async function settle() {
    const tok = `sync${mark}`;
    eve.send(`PING ${tok}`);
    mallory.send(`<ping token="${tok}"/>`);
    trudy.send({ type: 'ping', token: tok });
    await eve.next((m) => m === `<pong token="${tok}" />`);
    await mallory.next((m) => m === `<pong token="${tok}" />`);
    await trudy.next({ type: 'pong', token: tok });
  }

  // What each recipient got in the room before zed's next marker.
  async function roomTraffic() {
    await settle();
    const m = `mark-${++mark}`;
    zed.send(`SAY lobby ${m}`);
    return {
      bob: (await upTo(bob, (x) => x.includes(`msg="${m}"`), m)).filter((x) => x.startsWith('<msg ')).map(element),
      // (seed 001 shows others' joins as <msg from_id="0">: not messages)
      carol: (await upTo(carol, (x) => x.endsWith(`>${m}</msg>`), m)).filter((x) => x.startsWith('<msg '))
        .map(xmlMsg).filter((e) => e.attrs.from_id !== '0'),
      dave: (await upTo(dave, (e) => e.type === 'msg' && e.text === m, m)).filter((e) => e.type === 'msg'),
    };
  }

  // Every recipient saw exactly these [from, text] messages, in each dialect's form.
  function assertSaw(t, expected) {
    assert.deepEqual(t.bob.map((e) => [e.name, e.attrs.from, e.attrs.aid, e.attrs.msg, e.attrs.room]),
      expected.map(([from, text]) => ['msg', from, from, text, 'lobby']));
    assert.deepEqual(t.carol.map((e) => [e.attrs.from_id, e.attrs.room_id, e.text]),
      expected.map(([from, text]) => [from, 'lobby', text]));
    assert.deepEqual(t.dave.map((e) => [e.from, e.room, e.text]),
      expected.map(([from, text]) => [from, 'lobby', text]));
  }

  before(async () => {
    sb = await startSwitchboard({ config: { flood_rate: 100000, flood_burst: 100000 } });
    bob = await textLogin('bob');
    carol = await xmlDialectLogin('carol');
    dave = await jsonJoin('dave');
    eve = await textLogin('eve');
    mallory = await xmlDialectLogin('mallory');
    trudy = await jsonJoin('trudy');
    zed = await textLogin('zed');
  });
  after(async () => {
    for (const c of [bob, carol, dave, eve, mallory, trudy, zed]) c?.close();
    await sb.stop();
  });

  test('markup in a message from each dialect reaches each dialect escaped: one message, right sender, same text', async () => {
    eve.send(`SAY lobby ${P}`);
    mallory.send(`<msg room_id="lobby">${P.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</msg>`);
    trudy.send({ type: 'say', room: 'lobby', text: P });
    const t = await roomTraffic();
    // Each sender's own order is kept; between senders the hub's order is free.
    const order = (list, from) => list.filter((x) => x[0] === from);
    for (const who of ['eve', 'mallory', 'trudy']) {
      assertSaw({
        bob: t.bob.filter((e) => e.attrs.from === who),
        carol: t.carol.filter((e) => e.attrs.from_id === who),
        dave: t.dave.filter((e) => e.from === who),
      }, order([[who, P]], who));
    }
    assert.equal(t.bob.length + t.carol.length + t.dave.length, 9);
  });

  test('text dialect: LF and NUL end the command; the rest is refused, never relayed', async () => {
    eve.raw(`SAY lobby hi\n<msg aid="root" msg="pwned" from="root" to="" room="lobby" />\0`);
    assert.match(await eve.next(/^<error /), /code="syntax"/);
    eve.raw(`SAY lobby yo\0<msg aid="root" msg="pwned2" from="root" to="" room="lobby" />\0`);
    assert.match(await eve.next(/^<error /), /value="Unknown command"|value="Unknown command &lt;msg"/);
    eve.raw('SAY lobby a\rb\0');
    assert.match(await eve.next(/^<error /), /value="Control character in command" code="encoding"/);
    assertSaw(await roomTraffic(), [['eve', 'hi'], ['eve', 'yo']]);
  });

  test('XML dialect: a character reference to LF or NUL is refused; a forged from_id is ignored', async () => {
    mallory.send('<msg room_id="lobby">line1&#10;line2</msg>');
    assert.match(await mallory.next(/^<error /), /^<error code="encoding">Control character in text<\/error>$/);
    mallory.send('<msg room_id="lobby">x&#0;y</msg>');
    assert.match(await mallory.next(/^<error /), /^<error code="syntax">Malformed XML/);
    mallory.raw('<msg room_id="lobby">a\n<msg from_id="root" room_id="lobby">pwned</msg>\0');
    assert.match(await mallory.next(/^<error /), /code="syntax"/);
    assertSaw(await roomTraffic(), [['mallory', 'pwned']]);
  });

  test('JSON dialect: NUL, LF and CR in a text are refused; "from" in a command is ignored', async () => {
    // jansson refuses \u0000 itself (syntax); the dialect refuses the rest.
    const refusals = [
      ['a\u0000<msg from="root"/>', 'syntax', /^Invalid JSON: \\u0000 is not allowed/],
      ['line1\nline2', 'encoding', /^Control character in text$/],
      ['a\r\nSAY lobby x', 'encoding', /^Control character in text$/],
    ];
    for (const [text, code, why] of refusals) {
      trudy.send({ type: 'say', room: 'lobby', text });
      const e = await trudy.next({ type: 'error' });
      assert.equal(e.code, code);
      assert.match(e.text, why);
    }
    trudy.send({ type: 'say', room: 'lobby', text: 'ok', from: 'root', nick: 'root' });
    assertSaw(await roomTraffic(), [['trudy', 'ok']]);
  });

  test('nicks: NUL, newline and markup cannot forge a login in any dialect', async () => {
    // Text: the NUL ends IDENTIFY; what follows is an unknown command.
    const t1 = new XmlSocket(sb.host, sb.port);
    await t1.ready;
    t1.raw('IDENTIFY ned\0<login aid="root" name="root" />\0');
    // The error is the handler's own, the identify the hub's: either first.
    const two = (await t1.take(2)).sort();
    assert.match(two[0], /^<error value="Unknown command &lt;login" code="syntax" \/>$/);
    assert.equal(two[1], '<identify aid="ned" name="ned" />');
    // JSON: NUL and LF in a nick are refused by the handler.
    const j = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
    await j.ready;
    for (const [nick, code] of [['ro\u0000ot', 'syntax'], ['ro\not', 'encoding']]) {
      j.send({ type: 'login', nick });
      const e = await j.next({ type: 'error' });
      assert.equal(e.code, code, e.text);
    }
    // XML: a reference to LF is refused; markup in a nick is refused by the hub.
    const x = new XmlSocket(sb.host, sb.port);
    await x.ready;
    x.send('<login u="ro&#10;ot" p=""/>');
    assert.equal(await x.next(/^<login /), '<login ok="0" error="Control character in nick" code="encoding" />');
    x.send('<login u="x&quot;/&gt;&lt;login" p=""/>');
    assert.match(await x.next(/^<login /), /^<login ok="0" error="Nick contains a space or one of , : &quot; &apos; &lt; &gt; &amp; \\" code="nick_invalid" \/>$/);
    // The others heard of exactly one login: ned's.
    zed.send('QUIT');
    const seen = await upTo(bob, (m) => /^<quit aid="zed"/.test(m), 'zed quits');
    assert.deepEqual(seen.filter((m) => m.startsWith('<login ')), ['<login aid="ned" name="ned" />']);
    zed = await textLogin('zed');
    for (const c of [t1, j, x]) c.close();
  });
});

// ---- XML entity expansion and deep nesting ----------------------------------

describe('entity expansion and deep nesting', () => {
  let sb, x;
  before(async () => {
    sb = await startSwitchboard();
    x = new XmlSocket(sb.host, sb.port);
    await x.ready;
    x.send('<login u="xavier" p=""/>');
    await x.next(/^<login ok="1"/);
  });
  after(async () => { x?.close(); await sb.stop(); });

  const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
    Array.from({ length: 8 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('') +
    ']><msg to="xavier">&lol8;</msg>';

  test('"billion laughs": refused at the DOCTYPE, at once, nothing expanded', async () => {
    const start = Date.now();
    x.send(laughs);
    assert.equal(await x.next(/^<error /), '<error code="syntax">DOCTYPE is not allowed</error>');
    assert.ok(Date.now() - start < 2000);
  });

  test('an external entity (XXE) is refused the same way', async () => {
    x.send('<!DOCTYPE msg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><msg to="xavier">&xxe;</msg>');
    assert.equal(await x.next(/^<error /), '<error code="syntax">DOCTYPE is not allowed</error>');
  });

  test('an undeclared entity is malformed XML, not a lookup', async () => {
    x.send('<msg to="xavier">&lol;</msg>');
    assert.match(await x.next(/^<error /), /^<error code="syntax">Malformed XML: undefined entity/);
  });

  test('500 nested elements: refused at depth 5', async () => {
    x.send(`<msg to="xavier">${'<b>'.repeat(500)}x${'</b>'.repeat(500)}</msg>`);
    assert.equal(await x.next(/^<error /), '<error code="limit">XML nested too deeply (max 4)</error>');
  });

  test('JSON nested 5000 deep over WebSocket: refused before parsing', async () => {
    const j = await jsonLogin(sb, 'jason');
    j.send('{"type":"say","room":"lobby","text":' + '['.repeat(5000) + ']'.repeat(5000) + '}');
    const e = await j.next({ type: 'error' });
    assert.equal(e.text, 'JSON nested too deeply (max 4)');
    j.close();
  });

  test('the session is still good afterwards', async () => {
    x.send('<msg to="xavier">still here</msg>');
    assert.equal(xmlMsg(await x.next(/^<msg /)).text, 'still here');
  });
});

// ---- invisible and bidi characters ------------------------------------------

describe('invisible and bidi characters in nicks and rooms', () => {
  let sb;
  before(async () => { sb = await startSwitchboard(); });
  after(async () => { await sb.stop(); });

  const RULE = 'Nick contains an invisible or bidi control character';
  const hidden = {
    'right-to-left override U+202E': 'ad\u202Enim',
    'zero width space U+200B': 'ad\u200Bmin',
    'zero width joiner U+200D': 'ad\u200Dmin',
    'byte order mark U+FEFF': '\uFEFFadmin',
    'first strong isolate U+2068': 'ad\u2068min',
    'left-to-right mark U+200E': 'admin\u200E',
    'Hangul filler U+3164': 'ad\u3164min',
  };

  test('text dialect: each refused with the rule\'s name', async () => {
    const c = new XmlSocket(sb.host, sb.port);
    await c.ready;
    for (const [what, nick] of Object.entries(hidden)) {
      c.send(`IDENTIFY ${nick}`);
      assert.equal(await c.next(/^<error /), `<error value="${RULE}" code="nick_invalid" />`, what);
    }
    c.close();
  });

  test('XML dialect: refused with the rule\'s name', async () => {
    const c = new XmlSocket(sb.host, sb.port);
    await c.ready;
    for (const [what, nick] of Object.entries(hidden)) {
      c.send(`<login u="${nick}" p=""/>`);
      assert.equal(await c.next(/^<login /), `<login ok="0" error="${RULE}" code="nick_invalid" />`, what);
    }
    c.close();
  });

  test('JSON dialect: refused with the rule\'s name, also as a new nick', async () => {
    const c = new JsonClient(`ws://${sb.host}:${sb.port}/chat`);
    await c.ready;
    for (const [what, nick] of Object.entries(hidden)) {
      c.send({ type: 'login', nick });
      const e = await c.next({ type: 'error' });
      assert.deepEqual([e.code, e.text], ['nick_invalid', RULE], what);
    }
    c.send({ type: 'login', nick: 'plain' });
    await c.next({ type: 'welcome' });
    c.send({ type: 'nick', nick: 'pl\u202Eain' });
    const e = await c.next({ type: 'error' });
    assert.deepEqual([e.code, e.text], ['nick_invalid', RULE]);
    c.send({ type: 'join', room: 'lob\u200Bby' });
    const r = await c.next({ type: 'error' });
    assert.equal(r.text, 'Room name contains an invisible or bidi control character');
    c.close();
  });

  test('no login was announced and none logged for the refused nicks', async () => {
    const logins = sb.events({ EVENT: 'login' }).map((e) => e.NICK);
    assert.deepEqual(logins, ['plain']);
    assert.ok(sb.events({ EVENT: 'login_failed' }).length >= 3 * Object.keys(hidden).length);
  });
});

// ---- 500 connections at once --------------------------------------------------

describe('500 connections at once', () => {
  let sb;
  before(async () => { sb = await startSwitchboard(); });
  after(async () => { await sb.stop(); });

  test('250 GET /server-status and 250 policy requests, all at once: each gets its whole reply; no handler left', { timeout: 180000 }, async (t) => {
    const N = 500;
    const start = Date.now();
    const jobs = Array.from({ length: N }, (_, i) => (i % 2 === 0
      ? rawExchange(sb.host, sb.port, `GET /server-status HTTP/1.1\r\nHost: x\r\n\r\n`, { ms: 120000 })
        .then((b) => ({ kind: 'status', b }))
      : rawExchange(sb.host, sb.port, '<policy-file-request/>\0', { ms: 120000 })
        .then((b) => ({ kind: 'policy', b }))));
    const results = await Promise.allSettled(jobs);
    const failed = results.filter((r) => r.status === 'rejected');
    assert.equal(failed.length, 0, `${failed.length} not answered: ${failed[0]?.reason}`);
    for (const { value: { kind, b } } of results) {
      if (kind === 'status') {
        const r = parseHttp(b);
        assert.equal(r.status, 200);
        assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
        assert.match(r.body, /^OK\nClients: \d+\/\d+\nCreated: .*\nUptime: \d+ days\n$/);
      } else {
        const t = b.toString();
        assert.match(t, /^<\?xml version="1.0"\?>/);
        assert.ok(t.endsWith('</cross-domain-policy>\0'), 'the whole policy and its NUL');
      }
    }
    const answered = Date.now() - start;
    await noHandlersLeft(sb, 60000);
    t.diagnostic(`${N} answered in ${answered} ms; no handler left after ${Date.now() - start} ms`);
  });

  test('the server still answers afterwards', async () => {
    const c = await xmlLogin(sb, 'after500');
    c.close();
  });
});

// ---- a message every millisecond --------------------------------------------

describe('a client sending a message every millisecond', () => {
  let sb;
  before(async () => {
    sb = await startSwitchboard({ config: { flood_rate: 20, flood_burst: 10, flood_kick: 100000 } });
  });
  after(async () => { await sb.stop(); });

  test('flood control answers every message; the hub stays responsive to another client', { timeout: 60000 }, async (t) => {
    const fl = await xmlLogin(sb, 'flooder');
    const ob = await xmlLogin(sb, 'observer');
    const pg = await xmlLogin(sb, 'pinger');
    for (const c of [fl, ob, pg]) { c.send('JOIN lobby'); await c.next(/^<join room="lobby" aid="/); }

    // The pinger measures the hub's round trip while the flood goes on.
    const rtts = [];
    let pinging = true;
    const pinger = (async () => {
      for (let i = 0; pinging && i < 100000; i++) {
        const t0 = Date.now();
        pg.send(`PING p${i}`);
        await pg.next(new RegExp(`^<pong token="p${i}" />$`), 2000);
        rtts.push(Date.now() - t0);
      }
    })();

    const FLOOD_MS = 2000;
    let sent = 0;
    const start = Date.now();
    await new Promise((resolve) => {
      const t = setInterval(() => {
        if (Date.now() - start >= FLOOD_MS || fl.closed || sent >= 5000) { clearInterval(t); resolve(); return; }
        fl.send(`SAY lobby f${sent++}`);
      }, 1);
    });
    const elapsed = Date.now() - start;
    // Everything the flooder sent has been through the hub once it answers this.
    fl.send('PING end');
    const answers = await upTo(fl, (m) => m === '<pong token="end" />', 'the flooder\'s pong');
    pinging = false;
    await pinger;

    const relayed = answers.filter((m) => /^<msg aid="flooder" /.test(m)).length;
    const refused = answers.filter((m) => /^<error value="You are sending too fast; message dropped" code="flood" \/>$/.test(m)).length;
    t.diagnostic(`sent ${sent} in ${elapsed} ms: ${relayed} relayed, ${refused} refused; ` +
      `${rtts.length} pings during the flood, max round trip ${Math.max(...rtts)} ms`);
    assert.ok(sent >= 200, `the flood happened (${sent} messages in ${elapsed} ms)`);
    assert.equal(relayed + refused, sent, 'every message relayed or refused with an answer');
    assert.ok(refused > 0, 'flood control refused some');
    // A bucket of 10 plus 20 per 10 s.
    assert.ok(relayed <= 10 + Math.ceil((elapsed + 1000) / 500), `at most the bucket got through (${relayed})`);
    assert.ok(rtts.length >= 5, `the pinger got through during the flood (${rtts.length} pongs)`);
    assert.ok(Math.max(...rtts) < 1000, `round trips stayed short: max ${Math.max(...rtts)} ms`);

    // The observer saw exactly the relayed ones, in order.
    pg.send('SAY lobby over');
    const seen = (await upTo(ob, (m) => /msg="over"/.test(m), 'the marker')).filter((m) => /^<msg aid="flooder" /.test(m));
    assert.equal(seen.length, relayed);
    const nums = seen.map((m) => Number(/msg="f(\d+)"/.exec(m)[1]));
    assert.deepEqual(nums, [...nums].sort((a, b) => a - b));
    await sb.waitForEvent({ EVENT: 'flood', NICK: 'flooder' });
    for (const c of [fl, ob, pg]) c.close();
  });
});

// A burst must not cost an idle connection memory for the rest of its life:
// thousands of Flash clients sit idle.  After HANDLER_IDLE_TRIM_MS (500 ms)
// of quiet (longer in a room that speaks every few seconds: the second
// test, handler/loop.c's loop_trim_wait) a handler gives back the pages of
// its static buffers
// (handler/store.h: the receive buffers, the queues' first pages, jansson's
// arena, the text dialect's line buffer, ...).  The test finds the buffers
// with nm and asks /proc/PID/pagemap which of their pages are resident.
describe('idle handlers give memory back', () => {
  let sb, store;
  before(async () => {
    sb = await startSwitchboard({ config: { xmlsocket_max: 8192 } });
    const m = /^([0-9a-f]+) ([0-9a-f]+) [bB] handler_store$/m.exec(execFileSync('nm', ['-S', HANDLER], { encoding: 'utf8' }));
    assert.ok(m, `handler_store in nm -S ${HANDLER}`);
    store = { addr: BigInt(`0x${m[1]}`), size: BigInt(`0x${m[2]}`) };
  });
  after(async () => { await sb.stop(); });

  // Offsets of the resident pages of handler_store in process `pid`.
  function residentStorePages(pid) {
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l.endsWith(HANDLER));
    const base = BigInt(`0x${maps[0].split('-')[0]}`);
    const addr = store.addr < base ? base + store.addr : store.addr;	// PIE or not
    const fd = openSync(`/proc/${pid}/pagemap`, 'r');
    const entry = Buffer.alloc(8);
    const pages = [];
    try {
      for (let off = 0n; off < store.size; off += 4096n) {
        readSync(fd, entry, 0, 8, Number(((addr + off) >> 12n) * 8n));
        if (entry.readBigUInt64LE() >> 63n) pages.push(Number(off));
      }
    } finally { closeSync(fd); }
    return pages;
  }

  // The trim cannot be observed but by looking: the resident pages of
  // handler_store in `pid` once there are none, checked every 50 ms, or
  // as they are after `ms`.
  async function storeGivenBack(pid, ms) {
    const until = Date.now() + ms;
    let pages;
    while ((pages = residentStorePages(pid)).length > 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    return pages;
  }

  test('after an 8 KiB text command, an idle handler keeps none of the pages of its static buffers', async () => {
    const old = new Set(handlerPids(sb.saPid));
    const c = new XmlSocket(sb.host, sb.port);
    await c.ready;
    c.send('IDENTIFY verbose');
    await c.next(/^<identify /);
    c.send(`PART nowhere${' '.repeat(8100)}`);
    await c.next(/^<error /);
    const pid = handlerPids(sb.saPid).find((p) => !old.has(p));
    assert.ok(pid, 'the client\'s handler');
    const busy = residentStorePages(pid);
    assert.ok(busy.length >= 4, `the command went through the buffers: ${busy.length} pages resident`);
    const idle = await storeGivenBack(pid, 5000);
    assert.deepEqual(idle, [], `idle: resident pages at offsets ${idle.join(', ')} of handler_store`);
    c.close();
  });

  // A trim that the next message undoes costs a wake-up of its own, the
  // madvise() calls and the page faults that take the pages again (about
  // 600 us of CPU per delivery on this VM, bench/analysis.md).  A handler
  // whose chat comes back a few seconds after each trim waits twice that
  // gap before the next one: it wakes once per message, not twice.
  test('in a room that speaks every 1.5 s, a handler wakes once per message, and gives its pages back once the room is quiet', async () => {
    // Its sleeps so far (a wake-up ends each), once it is asleep again.
    const wakeups = async (pid) => {
      const until = Date.now() + 5000;
      while (/\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))[1] !== 'S' && Date.now() < until)
        await new Promise((r) => setTimeout(r, 10));
      return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
    };
    const old = new Set(handlerPids(sb.saPid));
    const a = await xmlLogin(sb, 'steadyA');
    const pid = handlerPids(sb.saPid).find((p) => !old.has(p));
    assert.ok(pid, 'a\'s handler');
    const b = await xmlLogin(sb, 'steadyB');
    const gap = () => new Promise((r) => setTimeout(r, 1500));	// the subject: time between messages
    const say = async (text) => {
      b.send(`MSG steadyA ${text}`);
      await a.next((m) => m.startsWith('<msg ') && m.includes(`msg="${text}"`));
    };
    // Two to learn from: the first comes 1.5 s after the start-up trim.
    for (let i = 0; i < 2; i++) { await gap(); await say(`learn ${i}`); }
    const w0 = await wakeups(pid);
    const n = 4;
    for (let i = 0; i < n; i++) { await gap(); await say(`steady ${i}`); }
    const woke = await wakeups(pid) - w0;
    // A trim 500 ms after each message would make it 2 n.
    assert.equal(woke, n, `${woke} wake-ups for ${n} messages`);
    assert.ok(residentStorePages(pid).length > 0, 'the pages kept between messages');
    // Quiet now: within twice the gap (3 s) and a margin, they go back.
    const idle = await storeGivenBack(pid, 8000);
    assert.deepEqual(idle, [], `quiet: resident pages at offsets ${idle.join(', ')} of handler_store`);
    a.close(); b.close();
  });
});
