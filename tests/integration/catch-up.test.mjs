// SPDX-License-Identifier: ISC
// Catch-up after a reconnect, end to end (docs/delivery.md, "Catching
// up"): room messages carry the room's number in all three dialects; a
// join with `since` gets exactly the messages after it, none twice; a
// `gap` says when the history no longer holds some of them; the numbers
// go on across a hub restart.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSwitchboard } from './lib/harness.mjs';
import { XmlSocket, xmlLogin, jsonLogin } from './lib/clients.mjs';

/* c joins room (with `since` unless undefined) as nick, and is in. */
async function jsonJoin(c, nick, room, since) {
  c.send({ type: 'join', room, ...(since === undefined ? {} : { since }) });
  await c.next({ type: 'join', nick });
}

/* Everything c got up to the answer to a PING (the hub answers in order). */
async function jsonUpTo(c, token) {
  c.send({ type: 'ping', token });
  await c.until((es) => es.some((e) => e.type === 'pong' && e.token === token));
  const got = c.events.splice(0, c.events.findIndex((e) => e.type === 'pong' && e.token === token) + 1);
  return got.filter((e) => e.type === 'msg' || e.type === 'gap');
}

async function textUpTo(c, token) {
  c.send(`PING ${token}`);
  const pong = `<pong token="${token}" />`;
  await c.until((ms) => ms.includes(pong));
  return c.messages.splice(0, c.messages.indexOf(pong) + 1).filter((m) => /^<(msg|gap) /.test(m));
}

describe('catch-up with room numbers, join since and gap', () => {
  let sb;
  before(async () => { sb = await startSwitchboard({ config: { history: '5' } }); });
  after(() => sb.stop());

  test('JSON: numbers on every room message, since gets what came after, once', async () => {
    const jo = await jsonLogin(sb, 'jo');
    await jsonJoin(jo, 'jo', 'lobby');
    for (const t of ['m1', 'm2', 'm3']) jo.send({ type: 'say', room: 'lobby', text: t });
    const echoes = (await jsonUpTo(jo, 'a')).map((e) => [e.text, e.room_seq]);
    assert.deepEqual(echoes, [['m1', 1], ['m2', 2], ['m3', 3]]);
    jo.send({ type: 'msg', to: 'jo', text: 'private' });
    const [pm] = await jsonUpTo(jo, 'b');
    assert.equal(pm.room_seq, undefined, 'private messages have no room number');

    const al = await jsonLogin(sb, 'al');
    await jsonJoin(al, 'al', 'lobby', 1);
    const got = await jsonUpTo(al, 'c');
    assert.deepEqual(got.map((e) => [e.text, e.room_seq, e.history]), [['m2', 2, true], ['m3', 3, true]]);
    al.send({ type: 'part', room: 'lobby' });
    await al.next({ type: 'part', nick: 'al' });
    await jsonJoin(al, 'al', 'lobby', 3);
    assert.deepEqual(await jsonUpTo(al, 'd'), [], 'nothing came after 3');
    al.close();
    jo.close();
  });

  test('a gap when the history no longer holds what came after since', async () => {
    const jo = await jsonLogin(sb, 'jo2');
    await jsonJoin(jo, 'jo2', 'lobby');
    for (let i = 4; i <= 9; i++) jo.send({ type: 'say', room: 'lobby', text: `m${i}` });
    const last = (await jsonUpTo(jo, 'e')).filter((e) => e.history !== true).at(-1);
    assert.deepEqual([last.text, last.room_seq], ['m9', 9]);
    // history = 5 holds 5..9: one that saw up to 2 misses 3 and 4
    const al = await jsonLogin(sb, 'al2');
    await jsonJoin(al, 'al2', 'lobby', 2);
    const got = await jsonUpTo(al, 'f');
    assert.deepEqual(got[0], { ...got[0], type: 'gap', room: 'lobby', since: 2, first: 5 });
    assert.deepEqual(got.slice(1).map((e) => e.room_seq), [5, 6, 7, 8, 9]);
    al.close();
    jo.close();
  });

  test('text and XML dialects: JOIN with since, room_seq, <gap>', async () => {
    const t = await xmlLogin(sb, 'tina');
    t.send('JOIN lobby 7');
    await t.next(/^<join room="lobby" aid="tina">/);
    const got = await textUpTo(t, 'x1');
    assert.equal(got.length, 2);
    assert.match(got[0], /^<msg aid="jo2" .*msg="m8" .*room="lobby" room_seq="8" history="1" \/>$/);
    assert.match(got[1], /room_seq="9"/);
    t.send('PART lobby');
    await t.next(/^<part /);
    t.send('JOIN lobby 1');
    await t.next(/^<join room="lobby" aid="tina">/);
    const gapped = await textUpTo(t, 'x2');
    assert.equal(gapped[0], '<gap room="lobby" since="1" first="5" />');
    assert.equal(gapped.length, 6);
    t.send('JOIN lobby x');
    assert.equal(await t.next(/^<error /), '<error value="Since must be a non-negative integer" code="syntax" />');

    const x = new XmlSocket(sb.host, sb.port);
    await x.ready;
    x.send('<login u="xavier" p=""/>');
    await x.next(/^<login ok="1"/);
    x.send('<room id="lobby" since="8"/>');
    await x.next(/^<joined /);
    x.send('<ping token="x3"/>');
    await x.until((ms) => ms.includes('<pong token="x3" />'));
    const xs = x.messages.filter((m) => /^<msg .*history="1"/.test(m));
    assert.deepEqual(xs, ['<msg from_id="jo2" room_id="lobby" time="' + /time="([^"]+)"/.exec(xs[0])[1] + '" room_seq="9" history="1">m9</msg>']);
    t.close();
    x.close();
  });

  test('the numbers go on across a hub restart', async () => {
    const jo = await jsonLogin(sb, 'jo3');
    await jsonJoin(jo, 'jo3', 'lobby');
    await jsonUpTo(jo, 'g');
    await sb.restartHub('SIGKILL');
    // jo3's handler resumes the session; its next message is number 10
    jo.send({ type: 'say', room: 'lobby', text: 'after the restart' });
    const e = await jo.next({ type: 'msg', text: 'after the restart' }, 15000);
    assert.equal(e.room_seq, 10);
    const al = await jsonLogin(sb, 'al3');
    await jsonJoin(al, 'al3', 'lobby', 9);
    assert.deepEqual((await jsonUpTo(al, 'h')).map((m) => [m.text, m.room_seq]), [['after the restart', 10]]);
    al.close();
    jo.close();
  });
});
