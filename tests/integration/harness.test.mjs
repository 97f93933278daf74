// SPDX-License-Identifier: ISC
// The harness leaves nothing running: a test process that ends without
// calling stop() (a failed assertion before it, a process.exit) takes the
// hub and its systemd-socket-activate listeners along.  Without that, a
// hub that had nothing to write to its closed stderr lived on after the
// test run, holding its sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { poll } from './lib/programs.mjs';

const harness = fileURLToPath(new URL('./lib/harness.mjs', import.meta.url));

// The state and start time of `pid` (fields 3 and 22 of
// /proc/PID/stat), or null once it is gone.
function stat(pid) {
  const f = `/proc/${pid}/stat`;
  try {
    const fields = readFileSync(f, 'utf8').replace(/^.*\) /, '').split(' ');
    return { state: fields[0], start: fields[19] };
  } catch {
    return null;
  }
}
// Running, as opposed to gone or a zombie waiting for init to reap it.
const alive = (pid) => { const s = stat(pid); return !!s && s.state !== 'Z'; };

// A child process starts a hub, a listener and a proxied listener, and
// ends with `end` without stop(): all three must be gone.
async function leavesNothing(end) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { startSwitchboard } from ${JSON.stringify(harness)};
    const sb = await startSwitchboard({ proxied: true });
    console.log(sb.hubPid, sb.saPid, sb.proxiedPid);
    ${end};
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  // 'close': its stdout read to the end, as well as the process gone
  await new Promise((r) => child.once('close', r));
  const pids = out.trim().split(/\s+/).map(Number);
  assert.equal(pids.length, 3, `the child printed ${JSON.stringify(out)}`);
  const started = pids.map((p) => stat(p)?.start);
  try {
    // the harness kills them as the process ends: no event reaches us
    // for a process that is not our child, so poll, bounded
    await poll('the hub and listeners gone', () => pids.every((p) => !alive(p)), 10000, 50);
  } finally {
    // only the processes the child started, not a later one of that pid
    pids.forEach((p, i) => { if (alive(p) && stat(p)?.start === started[i]) process.kill(p, 'SIGKILL'); });
  }
  return child;
}

test('a test process that exits without stop() leaves no hub or listener running', async () => {
  const child = await leavesNothing('process.exit(0)');
  assert.equal(child.exitCode, 0);
});

test('nor one ended by SIGTERM (the test runner\'s timeout), which still ends it', async () => {
  const child = await leavesNothing("process.kill(process.pid, 'SIGTERM')");
  assert.equal(child.signalCode, 'SIGTERM');
});
