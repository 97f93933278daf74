// SPDX-License-Identifier: ISC
// What the units' options cost an idle handler in memory. Each page of
// the handler's static data that it writes becomes 4 KiB of private
// memory per connection; handler/hot.ld keeps what every handler writes
// on a few pages. switchboard@.service starts it with --syslog --sandbox,
// and parsing options writes getopt's optind, which sat on a page of
// its own: the units' handlers held 4 KiB more each than the bench's
// (bench/analysis.md, twenty-fourth session). Here two idle, logged-in
// handlers, one started bare and one with the units' options: the second
// must have written no more pages outside its stack than the first.
//
// The layout is the static musl handler's (build/switchboard-handler):
// skipped for the sanitizer build, which is linked otherwise.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSwitchboard, handlerPidOf } from './lib/harness.mjs';
import { jsonLogin } from './lib/clients.mjs';

const asan = process.env.SB_ASAN === '1';

// KiB of anonymous memory (the pages written: copied from the file, or
// new) of process pid by mapping, but the stack (its depth and argv vary)
// and the kernel's own pages.  Not Private_Dirty: a file just built is
// dirty in the page cache, and its pages count there unwritten.
function writtenKiB(pid) {
  const out = {};
  let name = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) { name = `${m[3] || '[anon]'} ${m[2]} @${m[1]}`; continue; }
    const d = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (d && !/^\[(stack|vvar|vdso|vsyscall)\]/.test(name)) out[name] = (out[name] || 0) + Number(d[1]);
  }
  return out;
}
const total = (o) => Object.values(o).reduce((a, b) => a + b, 0);

// An idle, logged-in handler of a fresh Switchboard whose handlers run
// with `args`: the pages it wrote, by mapping.
async function idleHandler(args, nick) {
  const sb = await startSwitchboard({ handlerArgs: args });
  try {
    const c = await jsonLogin(sb, nick);
    const pid = await handlerPidOf(sb, nick);
    const d = writtenKiB(pid);
    c.close();
    return d;
  } finally {
    await sb.stop();
  }
}

test('the units\' options (--syslog --sandbox) write no page of an idle handler that a bare one leaves clean', { skip: asan && 'the sanitizer build is linked without handler/hot.ld' }, async () => {
  const bare = await idleHandler([], 'bare');
  const units = await idleHandler(['--syslog', '--sandbox'], 'units');
  assert.ok(total(bare) > 0, 'no written pages read at all');
  assert.ok(total(units) <= total(bare),
    `with --syslog --sandbox ${total(units)} KiB written, bare ${total(bare)} KiB:\n` +
    `units ${JSON.stringify(units)}\nbare ${JSON.stringify(bare)}`);
});
