// SPDX-License-Identifier: ISC
// make demo (units/demo.sh): it checks its two ports before it starts or
// prints anything; a busy port is named with the variable that changes
// it, and the script exits non-zero.  On free ports it runs, serves, and
// stops cleanly on SIGTERM.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpGet } from './lib/clients.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BANNER = /Switchboard demo running/;

// A server listening on a free port of 127.0.0.1 (to hold it busy).
function occupy() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

// A port that was free a moment ago.
async function freePort() {
  const s = await occupy();
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// Start units/demo.sh with `env`; `exited` resolves with the exit code
// (or signal name) and everything it printed, kept apart.
function demo(env) {
  const child = spawn('bash', ['units/demo.sh'], {
    cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d) => { out.stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { out.stderr += d; });
  const timer = setTimeout(() => child.kill('SIGTERM'), 20000);
  const exited = new Promise((resolve) => child.on('close', (code, signal) => {
    clearTimeout(timer);
    resolve({ code: code ?? signal, ...out });
  }));
  return { child, out, exited };
}

describe('make demo', () => {
  for (const [busyVar, otherVar] of [['DEMO_PORT', 'DEMO_POLICY_PORT'], ['DEMO_POLICY_PORT', 'DEMO_PORT']]) {
    test(`a busy ${busyVar}: named with its variable, exit non-zero, no banner, nothing started`, async () => {
      const busy = await occupy();
      const port = busy.address().port;
      try {
        const r = await demo({ [busyVar]: String(port), [otherVar]: String(await freePort()) }).exited;
        assert.notEqual(r.code, 0, `exit code; output: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, new RegExp(`port ${port}\\b.*already in use.*${busyVar}`));
        assert.doesNotMatch(r.stdout + r.stderr, BANNER);
        // Nothing was started: no hub event, no "stopped" from a cleanup.
        assert.doesNotMatch(r.stdout + r.stderr, /switchboard-hub|stopped/);
        assert.equal(r.stdout, '');
      } finally {
        busy.close();
      }
    });
  }

  test('free ports: the banner, a working server, a clean stop on SIGTERM', async () => {
    const port = await freePort();
    const d = demo({ DEMO_PORT: String(port), DEMO_POLICY_PORT: String(await freePort()) });
    // The banner, or the end (demo() stops it after 20 s at the latest).
    await new Promise((resolve) => {
      const check = () => { if (BANNER.test(d.out.stdout)) resolve(); };
      d.child.stdout.on('data', check);
      d.child.on('close', resolve);
      check();
    });
    assert.match(d.out.stdout, BANNER, d.out.stderr);
    const r = await httpGet({ host: '127.0.0.1', port }, '/server-status');
    assert.equal(r.status, 200);
    d.child.kill('SIGTERM');
    const end = await d.exited;
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /switchboard demo stopped/);
  });
});
