// SPDX-License-Identifier: ISC
// Issue 16, holes 5 and 6: throw-away rooms must not use up the history
// slots or the hub's memory and disk.  10,000 rooms are created, spoken
// in and abandoned (JOIN, SAY, PART over real connections, several
// clients at once); the hub's RSS and the state directory stay under the
// bounds below, a room created again gets none of the old messages, and
// the permanent lobby keeps history, also after a hub restart.
//
// history_retention = 0 forgets a room's history when the room goes, so
// the test waits for replies, never for a timer.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { startSwitchboard } from './lib/harness.mjs';
import { xmlLogin } from './lib/clients.mjs';

const ROOMS = 10000;
const CLIENTS = 8;
const BATCH = 25;		// rooms a client pipelines before it waits
const PAD = 'x'.repeat(1900);	// two messages of 1.9 kB per room, as an attacker sends
// Bounds.  Before the fix the 4096 history slots filled up with these
// rooms' messages (about 16 MB of RSS, 16 MB of files); now a gone room
// keeps nothing.  RSS may grow by 8 MB after the warm-up (ASan's small
// quarantine included); the history directory holds the lobby's file only.
const RSS_GROWTH_MAX = 8 * 1024 * 1024;
const STATE_DIR_MAX = 64 * 1024;
const LOBBY_FILE = '6c6f626279.log';	// hex of "lobby"


function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

// Bytes of every file under d (sockets and directories count nothing).
function treeBytes(d) {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) n += treeBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

// Rooms first..last-1 of this client: JOIN, SAY, PART each, pipelined in
// batches; each batch ends when the last PART is answered.
async function churn(c, nick, first, last) {
  for (let i = first; i < last; i += BATCH) {
    const end = Math.min(i + BATCH, last);
    const lines = [];
    for (let k = i; k < end; k++) lines.push(`JOIN t${k}`, `SAY t${k} secret ${k} ${PAD}`, `SAY t${k} again ${PAD}`, `PART t${k}`);
    for (const l of lines) c.send(l);
    await c.next(new RegExp(`^<part room="t${end - 1}" aid="${nick}"`), 10000);
    c.messages.length = 0;
  }
}

describe('history under room churn', () => {
  let sb;
  before(async () => {
    sb = await startSwitchboard({
      config: { history: 5, history_retention: 0, flood_rate: 100000, flood_burst: 100000 },
      // Freed blocks wait in ASan's quarantine (up to 256 MB) and count in
      // RSS; a small one lets the sanitized hub show what it really keeps.
      hubAsanOptions: 'quarantine_size_mb=4',
    });
  });
  after(async () => { await sb.stop(); });

  test('10,000 throw-away rooms: bounded RSS and disk, no old messages, the lobby keeps history', { timeout: 120000 }, async () => {
    const cs = [];
    for (let i = 0; i < CLIENTS; i++) cs.push(await xmlLogin(sb, `churn${i}`));
    // The permanent lobby has history before the churn, too.
    cs[0].send('JOIN lobby');
    cs[0].send('SAY lobby kept 0');
    await cs[0].next(/msg="kept 0"/);
    // Warm-up: allocator and sanitizer pools fill before the baseline.
    await Promise.all(cs.map((c, i) => churn(c, `churn${i}`, i * 100, i * 100 + 100)));
    const rss0 = rssBytes(sb.hubPid);
    const per = ROOMS / CLIENTS;
    const t0 = Date.now();
    await Promise.all(cs.map((c, i) => churn(c, `churn${i}`, i * per, (i + 1) * per)));
    const ms = Date.now() - t0;
    const rss1 = rssBytes(sb.hubPid);
    const disk = treeBytes(sb.dir);
    const files = readdirSync(path.join(sb.dir, 'history'));
    console.log(`# ${ROOMS} rooms in ${ms} ms; hub RSS ${(rss0 / 1048576).toFixed(1)} -> ` +
      `${(rss1 / 1048576).toFixed(1)} MB; state dir ${disk} bytes, ${files.length} history files`);
    assert.ok(rss1 - rss0 < RSS_GROWTH_MAX, `RSS grew by ${rss1 - rss0} bytes`);
    assert.ok(disk < STATE_DIR_MAX, `state directory holds ${disk} bytes`);
    assert.deepEqual(files, [LOBBY_FILE], 'no history file is left by a room that is gone');

    // A room created again does not replay the old room's messages.
    const c = cs[0];
    c.messages.length = 0;
    c.send('JOIN t5');
    c.send('SAY t5 probe');
    const seen = await c.until((ms) => ms.some((m) => m.includes('msg="probe"')));
    assert.equal(seen.filter((m) => m.includes('history="1"')).length, 0);

    // The permanent lobby still keeps history, also after a restart.
    c.send('SAY lobby kept 1');
    await c.next(/msg="kept 1"/);
    for (const x of cs) x.close();
    await sb.restartHub('SIGTERM');
    const late = await xmlLogin(sb, 'late');
    late.send('JOIN lobby');
    await late.next(/^<join room="lobby" aid="late"/);
    assert.match(await late.next(/history="1"/), /msg="kept 0"/);
    assert.match(await late.next(/history="1"/), /msg="kept 1"/);
    late.close();
  });
});
