// SPDX-License-Identifier: ISC
// The harness leaves nothing running: a test process that ends without
// calling stop() (a failed assertion before it, a process.exit) takes the
// hub and its systemd-socket-activate listeners along.  Without that, a
// hub that had nothing to write to its closed stderr lived on after the
// test run, holding its sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { poll } from './lib/programs.mjs';

const harness = fileURLToPath(new URL('./lib/harness.mjs', import.meta.url));

// Running, as opposed to gone or a zombie waiting for init to reap it.
function alive(pid) {
  const f = `/proc/${pid}/stat`;
  if (!existsSync(f)) return false;
  try {
    return readFileSync(f, 'utf8').replace(/^.*\) /, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

test('a test process that exits without stop() leaves no hub or listener running', async () => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { startSwitchboard } from ${JSON.stringify(harness)};
    const sb = await startSwitchboard({ proxied: true });
    console.log(sb.hubPid, sb.saPid, sb.proxiedPid);
    process.exit(0);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0);
  const pids = out.trim().split(/\s+/).map(Number);
  assert.equal(pids.length, 3, `the child printed ${JSON.stringify(out)}`);
  try {
    // the harness kills them as the process exits: no event reaches us
    // for a process that is not our child, so poll, bounded
    await poll('the hub and listeners gone', () => pids.every((p) => !alive(p)), 10000, 50);
  } finally {
    for (const p of pids.filter(alive)) process.kill(p, 'SIGKILL');
  }
});
