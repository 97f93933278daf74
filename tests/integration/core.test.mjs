// SPDX-License-Identifier: ISC
// The core issue end to end: the real hub, handlers spawned per connection
// by systemd-socket-activate, driven the way a Flash client drives them.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startSwitchboard, handlerPids } from './lib/harness.mjs';
import { XmlSocket, xmlLogin, rawExchange, httpGet, parseHttp } from './lib/clients.mjs';

// With the hub down, a handler still answers its client: HTTP 503 and
// the XMLSocket error element.
async function answersWithoutHub(sb) {
  await sb.stopHub();
  const r = await httpGet(sb, '/server-status');
  assert.equal(r.status, 503);
  const x = (await rawExchange(sb.host, sb.port, 'IDENTIFY kim\0')).toString();
  assert.match(x, /^<error value="The chat server is not available[^"]*" code="unavailable" \/>\0$/);
}

describe('switchboard core', () => {
  let sb;
  before(async () => {
    sb = await startSwitchboard({ config: { connect_timeout: 2, xmlsocket_max: 256, redirect_url: 'http://example.invalid/' } });
  });
  after(async () => { await sb.stop(); });

  test('policy request on its own connection gets the policy and a NUL, then close', async () => {
    const reply = (await rawExchange(sb.host, sb.port, '<policy-file-request/>\0')).toString();
    assert.match(reply, /^<\?xml version="1.0"\?>/);
    assert.match(reply, /<allow-access-from domain="\*" to-ports="80,843"\/>/);
    assert.ok(reply.endsWith('</cross-domain-policy>\0'), 'ends with NUL');
    await sb.waitForEvent({ EVENT: 'policy' });
  });

  test('three clients: identify, login notices, MSG, LIST, quit notice', async () => {
    const alice = await xmlLogin(sb, 'alice');
    const bob = await xmlLogin(sb, 'bob');
    assert.equal(await alice.next(/^<login /), '<login aid="bob" name="bob" />');
    const carol = await xmlLogin(sb, 'carol', { terminator: '\n' });
    await alice.next(/aid="carol"/);
    await bob.next(/aid="carol"/);

    alice.send('MSG bob hello   there, bob');
    const got = await bob.next(/^<msg /);
    assert.match(got, /^<msg aid="alice" time="\d\d:\d\d:\d\d" msg="hello   there, bob" from="alice" to="bob" \/>$/);
    await alice.next(/^<msg aid="alice"/); // echoed to the sender, as seed 000 does

    carol.send('MSG Alice hi from nc'); // nicks are case-insensitive
    assert.match(await alice.next(/^<msg /), /aid="carol".*msg="hi from nc"/);

    carol.send('LIST');
    const list = await carol.next(/^<nicklist>/);
    for (const n of ['alice', 'bob', 'carol']) assert.match(list, new RegExp(`<nick aid="${n}" name="${n}" />`));

    bob.close();
    assert.match(await alice.next(/^<quit /), /aid="bob"/);
    assert.match(await carol.next(/^<quit /), /aid="bob"/);
    alice.send('MSG bob are you there');
    assert.match(await alice.next(/^<error /), /value="User is already left\."/);
    await sb.waitForEvent({ EVENT: 'quit', NICK: 'bob' });
    assert.equal(sb.events({ EVENT: 'login', NICK: 'alice' }).length, 1, 'login logged once');
    assert.equal(sb.events({ EVENT: 'quit', NICK: 'bob' }).length, 1, 'quit logged once');
    alice.close(); carol.close();
  });

  test('nicks are unique case-insensitively; MSG before IDENTIFY is refused', async () => {
    const a = await xmlLogin(sb, 'Dave');
    const b = new XmlSocket(sb.host, sb.port);
    await b.ready;
    b.send('MSG Dave hi');
    assert.match(await b.next(/^<error /), /Not identified/);
    b.send('IDENTIFY dave');
    assert.match(await b.next(/^<error /), /already in use/);
    a.close(); b.close();
  });

  test('several messages in one write and one message split over many writes', async () => {
    const a = await xmlLogin(sb, 'erin');
    const b = await xmlLogin(sb, 'frank');
    a.raw('MSG frank one\0MSG frank two\0MSG frank three\0');
    for (const w of ['one', 'two', 'three']) assert.match(await b.next(/^<msg /), new RegExp(`msg="${w}"`));
    for (const ch of 'MSG frank split message\0') a.raw(ch);
    assert.match(await b.next(/^<msg /), /msg="split message"/);
    a.close(); b.close();
  });

  test('attribute values are escaped: no forged element, sender or line', async () => {
    const a = await xmlLogin(sb, 'mallory');
    const b = await xmlLogin(sb, 'victim', { terminator: '\n' });
    a.send('MSG victim x" from="admin" /><msg aid="admin" msg="pwned');
    const m = await b.next(/^<msg /);
    assert.equal((m.match(/<msg /g) || []).length, 1);
    assert.match(m, /^<msg aid="mallory" /);
    assert.match(m, /msg="x&quot; from=&quot;admin&quot; \/&gt;&lt;msg aid=&quot;admin&quot; msg=&quot;pwned"/);
    a.close(); b.close();
  });

  test('HTTP paths: crossdomain.xml, server-status, json, favicon, redirect, errors', async () => {
    let r = await httpGet(sb, '/crossdomain.xml');
    assert.equal(r.status, 200);
    assert.match(r.body, /<cross-domain-policy>/);
    r = await httpGet(sb, '/server-status');
    assert.equal(r.status, 200);
    assert.match(r.body, /^OK\nClients: \d+\/\d+\nCreated: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nUptime: \d+ days\n$/);
    r = await httpGet(sb, '/server-status?json');
    const j = JSON.parse(r.body);
    assert.equal(j.status, 'OK');
    assert.equal(typeof j.clients, 'number');
    r = await httpGet(sb, '/favicon.ico');
    assert.equal(r.status, 404);
    r = await httpGet(sb, '/anything');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'http://example.invalid/');
    r = await httpGet(sb, '/server-status', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    r = parseHttp(await rawExchange(sb.host, sb.port, 'GET /x HTTP/1.1\r\nBad Header\r\n\r\n'));
    assert.equal(r.status, 400);
    r = parseHttp(await rawExchange(sb.host, sb.port, 'GET / HTTP/1.1\r\n' + 'X-A: b\r\n'.repeat(200) + '\r\n'));
    assert.equal(r.status, 431);
    r = parseHttp(await rawExchange(sb.host, sb.port, 'POST /x HTTP/1.1\r\nHost: a\r\n\r\n'));
    assert.equal(r.status, 405);
    await sb.waitForEvent({ EVENT: 'status' });
  });

  test('bad input: overlong message, garbage, NUL inside, unknown command', async () => {
    const a = await xmlLogin(sb, 'grace');
    a.send('FROB x');
    assert.match(await a.next(/^<error /), /Unknown command FROB/);
    a.raw(Buffer.from([0xff, 0xfe, 0x01, 0x02, 0x00]));
    assert.match(await a.next(/^<error /), /value="/);
    // A NUL ends a command: what follows is a command of its own.  The
    // local error may overtake the hub's reply, so wait for both.
    a.raw('MSG grace a\0b\0');
    const all = (await a.take(2)).join('\n');
    assert.match(all, /msg="a"/);
    assert.match(all, /Unknown command B/i);
    a.raw('MSG grace ' + 'x'.repeat(400));
    assert.match(await a.next(/^<error /), /longer than 256 bytes/);
    await a.waitClose();
    await sb.waitForEvent({ EVENT: 'protocol_error', REASON: /over 256 bytes/ });
  });

  test('a client that sends nothing is dropped after connect_timeout', async () => {
    const out = await rawExchange(sb.host, sb.port, null, { ms: 8000 });
    assert.equal(out.length, 0);
    await sb.waitForEvent({ EVENT: 'protocol_error', REASON: /nothing received/ });
  });

  test('a client that vanishes mid-message and a killed handler give quit notices', async () => {
    const a = await xmlLogin(sb, 'heidi');
    const b = await xmlLogin(sb, 'ivan');
    b.raw('MSG heidi half a mess');
    b.close();
    assert.match(await a.next(/^<quit /), /aid="ivan"/);

    const before = new Set(handlerPids(sb.saPid));
    const c = await xmlLogin(sb, 'judy');
    const pid = handlerPids(sb.saPid).find((p) => !before.has(p));
    assert.ok(pid, 'found the new handler');
    process.kill(pid, 'SIGKILL');
    assert.match(await a.next(/^<quit /), /aid="judy"/);
    await c.waitClose();
    a.close();
  });

  test('with the hub down: HTTP 503, XMLSocket error element, reason logged', async () => {
    await answersWithoutHub(sb);
    assert.match(sb.handlerLog(), /cannot reach the hub/);
  });
});

// The handler as the units start it: --syslog --sandbox. The tests above
// start it bare, so its failures go to stderr; under the units they go
// to syslog(3), one datagram to /dev/log each, and the handler has its
// own seccomp filter on top of the units' allow-list. In the second pass
// of make check every handler runs under that allow-list
// (tests/run-checks.sh), where a call left out kills it: here a handler
// that must log (the hub is down) still answers its client.
test('with the units\' options (--syslog --sandbox) and the hub down, a handler logs and still answers: HTTP 503, the XMLSocket error element', async () => {
  const sb = await startSwitchboard({ handlerArgs: ['--syslog', '--sandbox'] });
  try {
    await answersWithoutHub(sb);
    // --syslog: nothing of it on stderr
    assert.doesNotMatch(sb.handlerLog(), /cannot reach the hub/);
  } finally {
    await sb.stop();
  }
});
