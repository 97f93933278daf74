// SPDX-License-Identifier: ISC
// TLS in the handler (issue 19, section 1): switchboard-handler --tls, as
// switchboard-tls.socket runs it on port 443, with the key in the hub.
//
// The test makes its own CA and certificates with openssl: an ECDSA P-256
// leaf, an RSA-2048 leaf and a second ECDSA leaf, all for 127.0.0.1.  The
// clients trust that CA only: https GETs (the page, /server-status,
// /crossdomain.xml), the WebSocket chat and the /xmlsocket tunnel over
// wss (`ws`), and XMLSocket over TLS (a Node tls socket); TLS 1.3 and 1.2,
// both certificates, and TLS 1.2 with PKCS #1 v1.5 only.
//
// Certificates: a key that does not match, a missing key and one that is
// no file are refused at start and at `switchboardctl reload`, naming the
// file, and a failed reload keeps the old certificate; a good reload is
// used for new connections while a connection from before goes on.
//
// Bad input, each closed and logged, with a client chatting throughout:
// plaintext, a handshake that never completes (handshake_timeout), a
// garbage and an oversized ClientHello, an oversized record, a TLS 1.2
// renegotiation.
//
// The key is not in the handler: while a TLS handler serves, its readable
// memory (/proc/PID/maps, /proc/PID/mem) holds none of the private key's
// secret bytes; the same search finds them in the hub, which holds the key.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync,
  rmSync, writeFileSync,
} from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import WebSocket from 'ws';
import { startSwitchboard, binariesBuilt, HUB } from './lib/harness.mjs';
import { XmlSocket } from './lib/clients.mjs';
import { ctl } from './lib/ctl.mjs';
import { have } from './lib/programs.mjs';
import { fingerprint, makeCerts, openssl } from './lib/certs.mjs';

const skip = !binariesBuilt() ? 'binaries not built'
  : !have('openssl') ? 'openssl not installed (make deps-test)' : false;

// The private key's secret numbers (EC: the scalar; RSA: d, p and q) as
// big-endian bytes, from `openssl pkey -text`.
function secrets(keyFile) {
  const text = openssl('pkey', '-in', keyFile, '-noout', '-text');
  const out = [];
  for (const name of ['priv', 'privateExponent', 'prime1', 'prime2']) {
    const m = new RegExp(`^${name}:\\n((?:\\s+[0-9a-f:]+\\n)+)`, 'm').exec(text);
    if (!m) continue;
    let b = Buffer.from(m[1].replace(/[\s:]/g, ''), 'hex');
    while (b.length > 1 && b[0] === 0) b = b.subarray(1);
    out.push(b);
  }
  assert.ok(out.length > 0, `no secret numbers in openssl's text of ${keyFile}`);
  return out;
}

// Does process pid's readable memory hold any of the secrets, as stored
// big-endian (DER, a PEM decoded) or little-endian (gmp's limbs)?  The
// 24 least significant bytes of each are looked for, in both orders.
function memoryHolds(pid, secretList) {
  const needles = [];
  for (const s of secretList) {
    const low = s.subarray(s.length - 24);
    needles.push(Buffer.from(low), Buffer.from(low).reverse());
  }
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n');
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  const chunk = Buffer.alloc(1 << 20);
  let found = null;
  try {
    for (const line of maps) {
      const [range, perms, , , , name = ''] = line.split(/\s+/);
      if (perms[0] !== 'r' || /\[(vvar|vsyscall)\]/.test(name)) continue;
      const [lo, hi] = range.split('-').map((x) => parseInt(x, 16));
      // AddressSanitizer's shadow (terabytes reserved, SB_ASAN=1) holds
      // no program data of its own: skip mappings past 1 GiB.
      if (hi - lo > 2 ** 30) continue;
      for (let at = lo; at < hi && !found; at += chunk.length - 64) {
        let n;
        try {
          n = readSync(fd, chunk, 0, Math.min(chunk.length, hi - at), at);
        } catch { break; }
        const view = chunk.subarray(0, n);
        for (const nd of needles) if (view.indexOf(nd) >= 0) found = `${line}`;
      }
      if (found) break;
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

// The live children of process ppid.
function childrenOf(ppid) {
  const kids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid && fields[0] !== 'Z') kids.push(Number(d));
    } catch { /* gone */ }
  }
  return kids;
}

// An https GET; resolves with { status, headers, body, cert }.
function get(port, target, opts = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: target, agent: false, ...opts }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(),
        cert: res.socket.getPeerCertificate?.()?.fingerprint256,
      }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('https GET timed out')));
  });
}

// Open a TLS connection; resolves with the socket once the handshake is done.
function tlsOpen(port, opts) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...opts }, () => resolve(s));
    s.once('error', reject);
  });
}

// Resolve when socket s closes (any error is part of closing).
function closed(s, ms = 5000) {
  return new Promise((resolve, reject) => {
    if (s.destroyed && s.closed) { resolve(); return; }
    const t = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms);
    s.on('error', () => {});
    s.once('close', () => { clearTimeout(t); resolve(); });
  });
}

// A JSON chat client over wss; resolves once logged in.
function wssLogin(port, ca, nick, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/chat`, { ca, ...opts });
    const events = [];
    const waiters = new Set();
    ws.on('message', (d) => { events.push(JSON.parse(d.toString())); for (const w of waiters) w(); });
    ws.on('error', reject);
    ws.next = (type, ms = 5000) => new Promise((res, rej) => {
      const check = () => {
        const i = events.findIndex((e) => e.type === type);
        if (i >= 0) { const e = events[i]; events.splice(0, i + 1); waiters.delete(check); clearTimeout(t); res(e); }
      };
      const t = setTimeout(() => { waiters.delete(check); rej(new Error(`no ${type} in ${ms} ms: ${JSON.stringify(events)}`)); }, ms);
      waiters.add(check);
      check();
    });
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'login', nick }));
      ws.next('welcome').then(() => resolve(ws), reject);
    });
  });
}

describe('TLS in the handler', { skip }, () => {
  let sb, dir, f, ca, keeper;
  const S = () => ['-S', sb.controlSocket];
  const conf = (cert, key) => {
    const text = readFileSync(sb.configPath, 'utf8')
      .replace(/^tls_cert = .*$/m, `tls_cert = ${cert}`)
      .replace(/^tls_key = .*$/m, `tls_key = ${key}`);
    writeFileSync(sb.configPath, text);
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sb-tls-'));
    f = makeCerts(dir);
    ca = readFileSync(f('ca.pem'));
    sb = await startSwitchboard({
      tls: true,
      config: { tls_cert: f('ec.pem'), tls_key: f('ec.key'), handshake_timeout: 2 },
    });
    // A client chatting over TLS throughout: no bad input may reach it.
    keeper = new XmlSocket('127.0.0.1', sb.tlsPort, { tls: { ca } });
    await keeper.ready;
    keeper.send('IDENTIFY keeper');
    await keeper.next(/^<identify /);
  });

  after(async () => {
    keeper?.close();
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // keeper and a new plain client still exchange a message.
  let probes = 0;
  async function keeperAlive() {
    const c = new XmlSocket(sb.host, sb.port);
    const n = ++probes;
    await c.ready;
    c.send(`IDENTIFY probe${n}`);
    await c.next(/^<identify /);
    c.send(`MSG keeper still there ${n}`);
    assert.match(await keeper.next(new RegExp(`msg="still there ${n}"`)), new RegExp(`aid="probe${n}"`));
    c.close();
  }

  test('https: the page, /server-status and /crossdomain.xml, TLS 1.3 and 1.2', async () => {
    for (const [minVersion, maxVersion] of [['TLSv1.3', 'TLSv1.3'], ['TLSv1.2', 'TLSv1.2']]) {
      const page = await get(sb.tlsPort, '/', { ca, minVersion, maxVersion });
      assert.equal(page.status, 200);
      assert.match(page.headers['content-type'], /text\/html/);
      assert.equal(page.cert, fingerprint(f('ec.pem')));
      const status = await get(sb.tlsPort, '/server-status', { ca, minVersion, maxVersion });
      assert.equal(status.status, 200);
      assert.match(status.body, /^Clients: \d+\/\d+$/m);
      const policy = await get(sb.tlsPort, '/crossdomain.xml', { ca, minVersion, maxVersion });
      assert.equal(policy.status, 200);
      assert.match(policy.body, /<cross-domain-policy>/);
    }
    // Every handshake was signed by the hub: nothing refused.
    assert.equal(sb.events({ REASON: 'TLS signature refused' }).length, 0);
  });

  test('wss: chat, and the /xmlsocket tunnel; XMLSocket over TLS', async () => {
    const a = await wssLogin(sb.tlsPort, ca, 'wssann');
    const b = await wssLogin(sb.tlsPort, ca, 'wssben', { maxVersion: 'TLSv1.2' });
    b.send(JSON.stringify({ type: 'msg', to: 'wssann', text: 'over wss' }));
    assert.equal((await a.next('msg')).text, 'over wss');

    const tunnel = new WebSocket(`wss://127.0.0.1:${sb.tlsPort}/xmlsocket`, { ca });
    const frames = [];
    tunnel.on('message', (d) => frames.push(d.toString()));
    await new Promise((r, j) => { tunnel.once('open', r); tunnel.once('error', j); });
    tunnel.send(Buffer.from('IDENTIFY tunneler\0'));
    const until = async (re) => {
      for (let i = 0; i < 100 && !frames.some((x) => re.test(x)); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(frames.some((x) => re.test(x)), `no ${re} in ${JSON.stringify(frames)}`);
    };
    await until(/<identify /);
    keeper.send('MSG tunneler through the tunnel');
    await until(/msg="through the tunnel"/);

    // keeper is XMLSocket over TLS: a message to it over wss arrives.
    a.send(JSON.stringify({ type: 'msg', to: 'keeper', text: 'to xmlsocket' }));
    assert.match(await keeper.next(/msg="to xmlsocket"/), /aid="wssann"/);
    for (const w of [a, b, tunnel]) w.close();
  });

  test('bad input: plaintext, never a handshake, garbage and oversized ClientHello', async () => {
    const cases = [
      ['plaintext', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /TLS handshake/],
      ['nothing at all', null, /handshake_timeout/],
      ['half a ClientHello', Buffer.from('16030100f4010000f00303', 'hex'), /handshake_timeout/],
      ['a garbage ClientHello', Buffer.concat([Buffer.from('160301002c01000028', 'hex'), Buffer.alloc(40, 0xa5)]), /TLS handshake/],
      // A ClientHello that says it is 1 MiB long, over TLS_HELLO_MAX.
      // 32 KiB of it come, over TLS_HELLO_MAX (16 KiB) in handler/tls.c.
      ['an oversized ClientHello', Buffer.concat([Buffer.from('16030140000110000003', 'hex'), Buffer.alloc(16379, 1),
        Buffer.from('1603014000', 'hex'), Buffer.alloc(16384, 1)]), /TLS handshake/],
    ];
    for (const [what, bytes, reason] of cases) {
      const s = net.connect({ host: '127.0.0.1', port: sb.tlsPort });
      await new Promise((r) => s.once('connect', r));
      const remote = `127.0.0.1:${s.localPort}`;
      if (bytes) s.write(bytes);
      await closed(s, 6000);
      const ev = await sb.waitForEvent({ EVENT: 'protocol_error', REMOTE: remote });
      assert.match(ev.REASON, reason, `${what}: ${ev.REASON}`);
    }
    await keeperAlive();
  });

  test('bad input: an oversized record, a TLS 1.2 renegotiation', async () => {
    // A record header over TLS's limit, after a handshake, on the raw socket.
    const raw = net.connect({ host: '127.0.0.1', port: sb.tlsPort });
    await new Promise((r) => raw.once('connect', r));
    const rawRemote = `127.0.0.1:${raw.localPort}`;
    const s = await tlsOpen(sb.tlsPort, { socket: raw, ca, servername: undefined });
    raw.write(Buffer.concat([Buffer.from('17030348ff', 'hex'), Buffer.alloc(1000, 7)]));
    await closed(s);
    let ev = await sb.waitForEvent({ EVENT: 'protocol_error', REMOTE: rawRemote });
    assert.match(ev.REASON, /TLS record/);

    const r = await tlsOpen(sb.tlsPort, { ca, maxVersion: 'TLSv1.2' });
    const remote = `127.0.0.1:${r.localPort}`;
    assert.match(remote, /:\d+$/);
    r.renegotiate({ rejectUnauthorized: false }, () => {});
    await closed(r);
    ev = await sb.waitForEvent({ EVENT: 'protocol_error', REMOTE: remote });
    assert.match(ev.REASON, /renegotiation/);
    await keeperAlive();
  });

  test('a new connection between the same two addresses gets its handshake signed again', async () => {
    // The client's port comes round again (loopback reuses ports in
    // TIME_WAIT): another connection, another socket, not a second
    // signature for the first.  The server closes first, so the port is
    // free on the client's side.
    const localPort = 20000 + (process.pid % 20000);
    for (let i = 0; i < 2; i++) {
      const s = await tlsOpen(sb.tlsPort, { ca, localAddress: '127.0.0.6', localPort });
      s.write('GET /server-status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      let got = '';
      s.on('data', (d) => { got += d; });
      await closed(s);
      assert.match(got, /^HTTP\/1\.1 200 /, `connection ${i + 1}`);
    }
    assert.equal(sb.events({ REASON: 'TLS signature refused' }).length, 0);
  });

  test('RSA-2048 after a reload: TLS 1.3 (RSA-PSS) and TLS 1.2 with PKCS #1 only; the old connection goes on', async () => {
    conf(f('rsa.pem'), f('rsa.key'));
    const r = await ctl([...S(), 'reload']);
    assert.equal(r.code, 0, r.stderr);
    for (const opts of [{ maxVersion: 'TLSv1.3' }, { maxVersion: 'TLSv1.2', sigalgs: 'RSA+SHA256' },
      { maxVersion: 'TLSv1.2', sigalgs: 'RSA-PSS+SHA256' }]) {
      const page = await get(sb.tlsPort, '/server-status', { ca, ...opts });
      assert.equal(page.status, 200, JSON.stringify(opts));
      assert.equal(page.cert, fingerprint(f('rsa.pem')), JSON.stringify(opts));
    }
    // keeper, connected under the ECDSA certificate, still chats.
    await keeperAlive();
  });

  test('a key that does not match, is missing or is no file: reload refused, naming it; the old certificate stays', async () => {
    const bad = [
      [f('ec.pem'), f('rsa.key'), /rsa\.key does not match the certificate in tls_cert .*ec\.pem/],
      [f('rsa.pem'), path.join(dir, 'missing.key'), /tls_key .*missing\.key: No such file/],
      [f('rsa.pem'), dir, /tls_key .*sb-tls-[^ ]*: not a file/],
      [path.join(dir, 'missing.pem'), f('rsa.key'), /tls_cert .*missing\.pem: No such file/],
    ];
    if (process.getuid() !== 0) {
      writeFileSync(path.join(dir, 'locked.key'), readFileSync(f('rsa.key')), { mode: 0 });
      bad.push([f('rsa.pem'), path.join(dir, 'locked.key'), /tls_key .*locked\.key: Permission denied/]);
    }
    for (const [cert, key, why] of bad) {
      conf(cert, key);
      const r = await ctl([...S(), 'reload']);
      assert.notEqual(r.code, 0, `reload with ${cert} ${key} succeeded`);
      assert.match(r.stderr + r.stdout, why);
      const page = await get(sb.tlsPort, '/server-status', { ca });
      assert.equal(page.cert, fingerprint(f('rsa.pem')), 'the old certificate is still used');
    }
    // A good pair again: used from the next connection on.
    conf(f('ec2.pem'), f('ec2.key'));
    assert.equal((await ctl([...S(), 'reload'])).code, 0);
    assert.equal((await get(sb.tlsPort, '/', { ca })).cert, fingerprint(f('ec2.pem')));
    await keeperAlive();
  });

  test('the hub refuses to start with a key that does not match, naming the file', async () => {
    const d = path.join(dir, 'start');
    mkdirSync(d);
    const cfg = path.join(d, 'sb.conf');
    writeFileSync(cfg, `state_dir = ${d}\ntls_cert = ${f('ec.pem')}\ntls_key = ${f('ec2.key')}\n`);
    const hub = spawn(HUB, ['-s', path.join(d, 'hub.sock'), '-C', path.join(d, 'ctl.sock'), '-c', cfg],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SWITCHBOARD_LOG_STDERR: '1' } });
    let err = '';
    hub.stderr.on('data', (x) => { err += x; });
    const code = await new Promise((r) => hub.once('exit', r));
    assert.notEqual(code, 0);
    assert.match(err, /ec2\.key does not match the certificate in tls_cert .*ec\.pem/);
  });

  test('the private key is not in a serving handler (and the search finds it in the hub)', async () => {
    for (const [cert, key] of [[f('ec2.pem'), f('ec2.key')], [f('rsa.pem'), f('rsa.key')]]) {
      conf(cert, key);
      assert.equal((await ctl([...S(), 'reload'])).code, 0);
      const ws = await wssLogin(sb.tlsPort, ca, 'memcheck');
      const secret = secrets(key);
      let checked = 0;
      for (const pid of childrenOf(sb.tlsListenerPid)) {
        let found;
        try {
          found = memoryHolds(pid, secret);
        } catch (e) {
          if (e.code === "ENOENT" || e.code === "ESRCH") continue;	// it ended meanwhile
          throw e;
        }
        assert.equal(found, null, `handler ${pid} holds ${key}`);
        checked++;
      }
      assert.ok(checked >= 2, 'the handlers of keeper and memcheck were searched');
      // The control: the hub holds the key, and the search finds it there.
      assert.ok(memoryHolds(sb.hubPid, secret), `the search did not find ${key} in the hub`);
      ws.close();
      await new Promise((r) => ws.once('close', r));
    }
  });
});
