// SPDX-License-Identifier: ISC
// Small clients for the integration tests: a raw XMLSocket client (what
// Flash does), a raw HTTP request, and a JSON WebSocket client on `ws`.
// Every wait has a deadline, so a broken server fails a test, never hangs it.

import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';

const DEFAULT_MS = 5000;

// An XMLSocket connection: messages end with NUL (or LF for nc-style use).
// `tls`: options for tls.connect (ca, servername, ...): XMLSocket over TLS.
export class XmlSocket {
  constructor(host, port, { terminator = '\0', localAddress, tls: tlsOpts } = {}) {
    this.term = terminator;
    this.messages = [];
    this.waiters = new Set();
    this.closed = false;
    this.buf = '';
    this.sock = tlsOpts ? tls.connect({ port, host, localAddress, ...tlsOpts })
      : net.connect({ port, host, localAddress });
    this.sock.setEncoding('utf8');
    this.ready = new Promise((resolve, reject) => {
      this.sock.once(tlsOpts ? 'secureConnect' : 'connect', resolve);
      this.sock.once('error', reject);
    });
    this.sock.on('data', (d) => {
      this.buf += d;
      let i;
      while ((i = this.buf.search(/[\0\n]/)) >= 0) {
        const m = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (m.length) this.messages.push(m);
      }
      this.wake();
    });
    this.sock.on('close', () => { this.closed = true; this.wake(); });
    this.sock.on('error', () => {});
  }

  wake() { for (const w of this.waiters) w(); }

  send(text) { this.sock.write(text + this.term); }
  raw(bytes) { this.sock.write(bytes); }

  // Resolve with the first message matching `pred` (RegExp or function),
  // consuming it and every message before it.
  next(pred, ms = DEFAULT_MS) {
    const test = typeof pred === 'function' ? pred : (m) => pred.test(m);
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.messages.findIndex(test);
        if (i >= 0) {
          const m = this.messages[i];
          this.messages.splice(0, i + 1);
          done(); resolve(m); return;
        }
        if (this.closed) { done(); reject(new Error(`closed before ${pred}; got ${JSON.stringify(this.messages).slice(-1500)}`)); }
      };
      const t = setTimeout(() => {
        done(); reject(new Error(`no message ${pred} within ${ms} ms; got ${JSON.stringify(this.messages).slice(-1500)}`));
      }, ms);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  // Resolve when pred(messages) holds (nothing is consumed).
  until(pred, ms = DEFAULT_MS) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred(this.messages)) { done(); resolve(this.messages); return; }
        if (this.closed) { done(); reject(new Error(`closed; got ${JSON.stringify(this.messages).slice(-1500)}`)); }
      };
      const t = setTimeout(() => { done(); reject(new Error(`condition not met within ${ms} ms; got ${JSON.stringify(this.messages).slice(-1500)}`)); }, ms);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  // Resolve with the next `n` messages, in the order they arrived.
  take(n, ms = DEFAULT_MS) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.messages.length >= n) { done(); resolve(this.messages.splice(0, n)); return; }
        if (this.closed) { done(); reject(new Error(`closed before ${n} messages; got ${JSON.stringify(this.messages).slice(-1500)}`)); }
      };
      const t = setTimeout(() => { done(); reject(new Error(`fewer than ${n} messages within ${ms} ms; got ${JSON.stringify(this.messages).slice(-1500)}`)); }, ms);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  // Resolve when the server closes the connection.
  waitClose(ms = DEFAULT_MS) {
    return new Promise((resolve, reject) => {
      const check = () => { if (this.closed) { done(); resolve(this.messages); } };
      const t = setTimeout(() => { done(); reject(new Error(`not closed within ${ms} ms`)); }, ms);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  close() { this.sock.destroy(); }
}

// Connect and identify; resolves once the <identify/> reply arrived.
export async function xmlLogin(sb, nick, opts) {
  const c = new XmlSocket(sb.host, sb.port, opts);
  await c.ready;
  c.send(`IDENTIFY ${nick}`);
  await c.next(/^<identify /);
  return c;
}

// Send raw bytes, collect everything until the server closes.
// `stop(buf)` may end the wait early (e.g. a 101 response stays open);
// `from` is the local address to connect from (another loopback one).
export function rawExchange(host, port, bytes, { ms = DEFAULT_MS, end = false, stop = null, from } = {}) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect({ port, host, localAddress: from }, () => {
      if (bytes != null) s.write(bytes);
      if (end) s.end();
    });
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no close within ${ms} ms; got ${Buffer.concat(chunks)}`)); }, ms);
    s.on('data', (d) => {
      chunks.push(d);
      if (stop && stop(Buffer.concat(chunks))) { clearTimeout(t); s.destroy(); resolve(Buffer.concat(chunks)); }
    });
    s.on('close', () => { clearTimeout(t); resolve(Buffer.concat(chunks)); });
    s.on('error', () => {});
  });
}

export function parseHttp(buf) {
  const text = buf.toString('latin1');
  const i = text.indexOf('\r\n\r\n');
  const head = text.slice(0, i).split('\r\n');
  const [, status] = /^HTTP\/1\.1 (\d{3})/.exec(head[0]) || [];
  const headers = {};
  for (const l of head.slice(1)) {
    const j = l.indexOf(':');
    headers[l.slice(0, j).toLowerCase()] = l.slice(j + 1).trim();
  }
  return { status: Number(status), headers, body: buf.subarray(Buffer.byteLength(text.slice(0, i + 4), 'latin1')).toString('utf8') };
}

export async function httpGet(sb, target, { method = 'GET', headers = {}, from } = {}) {
  const h = Object.entries({ Host: `${sb.host}:${sb.port}`, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const switched = (b) => /^HTTP\/1\.1 101 [^]*\r\n\r\n/.test(b.toString('latin1'));
  return parseHttp(await rawExchange(sb.host, sb.port, `${method} ${target} HTTP/1.1\r\n${h}\r\n`, { stop: switched, from }));
}

// A WebSocket client of the JSON dialect.
export class JsonClient {
  constructor(url, opts = {}) {
    this.events = [];
    this.waiters = new Set();
    this.closed = null;
    this.ws = new WebSocket(url, opts);
    this.ready = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.ws.on('message', (d, binary) => {
      try { this.events.push(JSON.parse(d.toString())); } catch { this.events.push({ raw: d.toString(), binary }); }
      this.wake();
    });
    this.ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() }; this.wake(); });
    this.ws.on('error', () => {});
  }

  wake() { for (const w of this.waiters) w(); }
  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  // Resolve with the first event matching pred, and drop it and EVERY
  // event before it: only where the server orders them (the answer to a
  // command, one sender's messages in one room).  Events on independent
  // paths (a private message and a room's notices, another machine's
  // presence) may come in either order: wait with until() and take what
  // matched (cluster-local's take()).
  next(pred, ms = DEFAULT_MS) {
    const test = typeof pred === 'function' ? pred
      : (e) => Object.entries(pred).every(([k, v]) => (v instanceof RegExp ? v.test(String(e[k])) : e[k] === v));
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.events.findIndex(test);
        if (i >= 0) { const e = this.events[i]; this.events.splice(0, i + 1); done(); resolve(e); return; }
        if (this.closed) { done(); reject(new Error(`closed (${this.closed.code}) before ${JSON.stringify(pred)}; got ${JSON.stringify(this.events).slice(-1500)}`)); }
      };
      const t = setTimeout(() => { done(); reject(new Error(`no event ${JSON.stringify(pred)} within ${ms} ms; got ${JSON.stringify(this.events).slice(-1500)}`)); }, ms);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  // Resolve when pred(events) holds (nothing is consumed).
  until(pred, ms = DEFAULT_MS) {
    return new Promise((resolve, reject) => {
      const check = () => { if (pred(this.events)) { done(); resolve(this.events); } };
      const t = setTimeout(() => { done(); reject(new Error(`condition not met within ${ms} ms; got ${JSON.stringify(this.events).slice(-1500)}`)); }, ms);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  waitClose(ms = DEFAULT_MS) {
    return new Promise((resolve, reject) => {
      const check = () => { if (this.closed) { done(); resolve(this.closed); } };
      const t = setTimeout(() => { done(); reject(new Error(`not closed within ${ms} ms`)); }, ms);
      const done = () => { clearTimeout(t); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  close() { this.ws.close(); }
  terminate() { this.ws.terminate(); }
}

export async function jsonLogin(sb, nick, path = '/chat') {
  const c = new JsonClient(`ws://${sb.host}:${sb.port}${path}`);
  await c.ready;
  c.send({ type: 'login', nick });
  await c.next({ type: 'welcome' });
  return c;
}
