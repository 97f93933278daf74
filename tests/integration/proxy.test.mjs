// SPDX-License-Identifier: ISC
// Behind a proxy: the real client address (issue 19, section 2).
//
// HAProxy (Debian's; plain, and terminating TLS with the test CA of
// lib/certs.mjs) sends a PROXY v2 header to the --proxy port (as
// switchboard-proxied.socket); nginx proxies HTTP and WebSocket with
// X-Forwarded-For to the public port.  Each client connects from its own
// loopback address (127.0.0.2, 127.0.0.3, ...), the proxies from
// 127.0.0.1, and proxy_from trusts 127.0.0.1 only, so what the hub
// reports is the client's address, and never the proxy's.
//
// Bad input: a PROXY header from an address not in proxy_from, a
// malformed one, a truncated one, and a header sent to the public port:
// each is closed and logged, and the client already chatting is not
// disturbed.  max_per_address counts the real address.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { startSwitchboard, binariesBuilt, freePort, handlerPids } from './lib/harness.mjs';
import { have, listening, poll, startProgram } from './lib/programs.mjs';
import { XmlSocket, JsonClient, rawExchange } from './lib/clients.mjs';
import { ctlOk } from './lib/ctl.mjs';
import { makeCerts } from './lib/certs.mjs';

const HAPROXY = '/usr/sbin/haproxy';
const NGINX = '/usr/sbin/nginx';
const skip = !binariesBuilt() ? 'binaries not built'
  : !have(HAPROXY) || !have(NGINX) ? 'haproxy and nginx not installed (make deps-test)' : false;

// A client's XMLSocket session through a proxy's port, from `from`.
async function xmlVia(port, nick, from) {
  const c = new XmlSocket('127.0.0.1', port, { localAddress: from });
  await c.ready;
  c.send(`IDENTIFY ${nick}`);
  await c.next(/^<identify /);
  return c;
}

// Bytes from `from` to the port; resolves with what came back by the
// close, and the client's "address:port" (the REMOTE of its events).
function rawFrom(port, bytes, from, { end = false } = {}) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let remote;
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      remote = `${s.localAddress}:${s.localPort}`;
      s.write(bytes);
      if (end) s.end();
    });
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no close; got ${Buffer.concat(chunks)}`)); }, 5000);
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => { clearTimeout(t); resolve({ data: Buffer.concat(chunks), remote }); });
    s.on('error', () => {});
  });
}

// A PROXY v2 header for a TCP/IPv4 client src:sport.
function v2(src, sport, dst = '127.0.0.1', dport = 8081) {
  const b = Buffer.alloc(28);
  Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(b, 0);
  b[12] = 0x21;
  b[13] = 0x11;
  b.writeUInt16BE(12, 14);
  src.split('.').forEach((o, i) => { b[16 + i] = Number(o); });
  dst.split('.').forEach((o, i) => { b[20 + i] = Number(o); });
  b.writeUInt16BE(sport, 24);
  b.writeUInt16BE(dport, 26);
  return b;
}

describe('behind a proxy', { skip }, () => {
  let sb, dir, haproxy, nginx, hport, hsport, nport, ca;
  const S = () => ['-S', sb.controlSocket];
  const who = async () => JSON.parse(await ctlOk([...S(), '--json', 'who'])).who;

  before(async () => {
    sb = await startSwitchboard({
      proxied: true,
      config: { proxy_from: '127.0.0.1', max_per_address: 256, max_clients: 1000 },
    });
    dir = mkdtempSync(path.join(tmpdir(), 'sb-proxy-'));
    hport = await freePort();
    hsport = await freePort();
    nport = await freePort();
    // HAProxy terminates TLS too: the test CA's ECDSA certificate, the
    // key after it in one file, as HAProxy's crt takes it.
    const f = makeCerts(dir);
    writeFileSync(path.join(dir, 'haproxy.pem'), readFileSync(f('ec.pem')) + readFileSync(f('ec.key')));
    ca = readFileSync(f('ca.pem'));
    writeFileSync(path.join(dir, 'haproxy.cfg'), `
global
  maxconn 2000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend chat
  bind 127.0.0.1:${hport}
  bind 127.0.0.1:${hsport} ssl crt ${dir}/haproxy.pem
  default_backend switchboard
backend switchboard
  server proxied 127.0.0.1:${sb.proxiedPort} send-proxy-v2
`);
    haproxy = startProgram(HAPROXY, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { cwd: dir });
    writeFileSync(path.join(dir, 'nginx.conf'), `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${nport};
    location / {
      proxy_pass http://127.0.0.1:${sb.port};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 600s;
    }
  }
}
`);
    nginx = startProgram(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { cwd: dir });
    await listening(hport, haproxy);
    await listening(hsport, haproxy);
    await listening(nport, nginx);
  });

  after(async () => {
    await Promise.all([haproxy, nginx].filter(Boolean).map((p) => p.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (sb) await sb.stop();
  });

  test('HAProxy with PROXY v2: the journal and who see the client, not HAProxy', async () => {
    const a = await xmlVia(hport, 'alice', '127.0.0.2');
    const b = await xmlVia(hport, 'bob', '127.0.0.3');
    await sb.waitForEvent({ EVENT: 'login', NICK: 'alice', REMOTE: /^127\.0\.0\.2:\d+$/ });
    await sb.waitForEvent({ EVENT: 'login', NICK: 'bob', REMOTE: /^127\.0\.0\.3:\d+$/ });
    const w = await who();
    assert.match(w.find((x) => x.nick === 'alice').remote, /^127\.0\.0\.2:\d+$/);
    assert.match(w.find((x) => x.nick === 'bob').remote, /^127\.0\.0\.3:\d+$/);
    // They chat through it.
    b.send('MSG alice hello through haproxy');
    assert.match(await a.next(/^<msg /), /hello through haproxy/);
    // A ban on the real address closes that client only.
    await ctlOk([...S(), 'ban', '127.0.0.3', '--for', '1h', 'test']);
    assert.match(await b.next(/^<close /), /code="banned"/);
    await b.waitClose();
    const again = new XmlSocket('127.0.0.1', hport, { localAddress: '127.0.0.3' });
    await again.ready;
    again.send('IDENTIFY bob2');
    assert.match(await again.next(/^<close /), /code="banned"/);
    await ctlOk([...S(), 'unban', '127.0.0.3']);
    a.send('PING still-here');
    await a.next(/still-here/);
    a.close();
  });

  test('HAProxy terminating TLS, PROXY v2 behind it: the client\'s address, chat over TLS', async () => {
    const t = new XmlSocket('127.0.0.1', hsport, { localAddress: '127.0.0.4', tls: { ca, servername: 'localhost' } });
    await t.ready;
    t.send('IDENTIFY tlsviaha');
    await t.next(/^<identify /);
    await sb.waitForEvent({ EVENT: 'login', NICK: 'tlsviaha', REMOTE: /^127\.0\.0\.4:\d+$/ });
    assert.match((await who()).find((x) => x.nick === 'tlsviaha').remote, /^127\.0\.0\.4:\d+$/);
    const p = await xmlVia(hport, 'plainviaha', '127.0.0.5');
    p.send('MSG tlsviaha over haproxy tls');
    assert.match(await t.next(/over haproxy tls/), /aid="plainviaha"/);
    t.close();
    p.close();
  });

  test('300 clients through one HAProxy are not capped at 256', async () => {
    const N = 300;
    const clients = [];
    try {
      for (let i = 0; i < N; i += 20) {
        const batch = [];
        for (let j = i; j < Math.min(N, i + 20); j++)
          batch.push(xmlVia(hport, `many${j}`, `127.0.1.${2 + (j % 3)}`));
        clients.push(...await Promise.all(batch));
      }
      const w = await who();
      assert.equal(w.filter((x) => x.nick?.startsWith('many')).length, N);
      assert.ok(w.every((x) => !x.remote.startsWith('127.0.0.1:')), 'no session has HAProxy\'s address');
      assert.ok(sb.events({ EVENT: 'disconnect', REASON: 'too_many_connections' }).length === 0);
    } finally {
      // Leave the next test a quiet machine: 300 handlers exiting at
      // once (each with LeakSanitizer's check under SB_ASAN) can take
      // longer than a login's timeout.
      for (const c of clients) c.close();
      await poll('the 300 handlers gone', () => handlerPids(sb.proxiedPid).length === 0, 60000);
    }
  });

  test('a PROXY header from outside proxy_from, malformed, truncated, or on the public port: closed and logged', async () => {
    const bystander = await xmlVia(hport, 'bystander', '127.0.0.2');
    const P = sb.proxiedPort;
    // Closed with nothing sent back, and the hub logs why, from where.
    const refused = async (port, bytes, from, reason, opts) => {
      const r = await rawFrom(port, bytes, from, opts);
      assert.equal(r.data.length, 0, `${reason}: ${r.data}`);
      await sb.waitForEvent({ EVENT: 'protocol_error', REMOTE: r.remote, REASON: reason });
    };
    const good = Buffer.concat([v2('192.0.2.7', 4321), Buffer.from('IDENTIFY x\0')]);
    // From 127.0.0.9, which is not a trusted proxy, even a good header.
    await refused(P, good, '127.0.0.9', /not in proxy_from/);
    // Malformed: v1 with a bad address, v2 of an unknown family, none.
    await refused(P, 'PROXY TCP4 192.0.2.300 127.0.0.1 1 2\r\nIDENTIFY x\0', '127.0.0.1', /malformed PROXY/);
    const bad = v2('192.0.2.7', 1);
    bad[13] = 0x41;
    await refused(P, bad, '127.0.0.1', /malformed PROXY/);
    await refused(P, 'IDENTIFY x\0', '127.0.0.1', /malformed PROXY/);
    // Truncated: half a header, then the proxy hangs up.
    await refused(P, v2('192.0.2.7', 1).subarray(0, 20), '127.0.0.1', /cut short/, { end: true });
    // On the public port a header claims nothing: refused.
    await refused(sb.port, good, '127.0.0.4', /port that takes none/);
    await refused(sb.port, 'PROXY TCP4 192.0.2.7 127.0.0.1 1 2\r\n', '127.0.0.4', /port that takes none/);
    assert.equal(sb.events({ REMOTE: /^192\.0\.2\.7:/ }).length, 0, 'no claimed address reached the hub');
    // The one chatting all along is not affected.
    bystander.send('PING 1');
    await bystander.next(/1/);
    assert.equal(bystander.closed, false);
    bystander.close();
  });

  test('max_per_address refuses the next session from one real address, and counts down', async () => {
    await ctlOk([...S(), 'who']);
    writeFileSync(sb.configPath, `${readFileSync(sb.configPath, 'utf8').trim()}\nmax_per_address = 2\n`);
    await ctlOk([...S(), 'reload']);
    const a = await xmlVia(hport, 'pa1', '127.0.0.5');
    const b = await xmlVia(hport, 'pa2', '127.0.0.5');
    const other = await xmlVia(hport, 'pa3', '127.0.0.6');
    const c = new XmlSocket('127.0.0.1', hport, { localAddress: '127.0.0.5' });
    await c.ready;
    c.send('IDENTIFY pa4');
    assert.match(await c.next(/^<close /), /code="too_many_connections"/);
    await c.waitClose();
    await sb.waitForEvent({ EVENT: 'disconnect', REASON: 'too_many_connections', REMOTE: /^127\.0\.0\.5:/ });
    // Over WebSocket through nginx: close 1013.
    const ws = new JsonClient(`ws://127.0.0.1:${nport}/chat`, { localAddress: '127.0.0.5' });
    await ws.ready;
    ws.send({ type: 'login', nick: 'pa5' });
    assert.equal((await ws.waitClose()).code, 1013);
    // One leaves: one more may come.
    a.close();
    await sb.waitForEvent({ EVENT: 'quit', NICK: 'pa1' });
    const d = await xmlVia(hport, 'pa6', '127.0.0.5');
    for (const x of [b, other, d]) x.close();
  });

  test('nginx: HTTP and WebSocket with X-Forwarded-For, believed from proxy_from only', async () => {
    const ws = new JsonClient(`ws://127.0.0.1:${nport}/chat`, { localAddress: '127.0.0.7' });
    await ws.ready;
    ws.send({ type: 'login', nick: 'viaNginx' });
    await ws.next({ type: 'welcome' });
    await sb.waitForEvent({ EVENT: 'login', NICK: 'viaNginx', REMOTE: /^127\.0\.0\.7:/ });
    assert.match((await who()).find((x) => x.nick === 'viaNginx').remote, /^127\.0\.0\.7:/);
    // A client's own X-Forwarded-For through nginx: nginx appends the
    // real address, which is the right-most untrusted one.
    const lie = new JsonClient(`ws://127.0.0.1:${nport}/chat`, { localAddress: '127.0.0.8', headers: { 'X-Forwarded-For': '192.0.2.66' } });
    await lie.ready;
    lie.send({ type: 'login', nick: 'liar' });
    await lie.next({ type: 'welcome' });
    await sb.waitForEvent({ EVENT: 'login', NICK: 'liar', REMOTE: /^127\.0\.0\.8:/ });
    // Plain HTTP through nginx: the http event has the client's address.
    const page = await rawFrom(nport, 'GET /crossdomain.xml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '127.0.0.9');
    assert.match(page.data.toString(), /^HTTP\/1\.1 200/);
    await sb.waitForEvent({ EVENT: 'policy', REMOTE: /^127\.0\.0\.9:/ });
    // Straight to the public port from an untrusted address, the header is ignored.
    const direct = new JsonClient(`ws://127.0.0.1:${sb.port}/chat`, { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': '192.0.2.67' } });
    await direct.ready;
    direct.send({ type: 'login', nick: 'direct' });
    await direct.next({ type: 'welcome' });
    await sb.waitForEvent({ EVENT: 'login', NICK: 'direct', REMOTE: /^127\.0\.0\.10:/ });
    assert.equal(sb.events({ REMOTE: /^192\.0\.2\.6[67]:/ }).length, 0);
    for (const c of [ws, lie, direct]) c.close();
  });
});
