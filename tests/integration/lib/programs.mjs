// SPDX-License-Identifier: ISC
// Other programs a test runs beside Switchboard (haproxy, nginx,
// prometheus): whether one is installed, starting one and stopping it by
// its own PID, and the bounded waits for what such a program has no event
// for (its port open, its state as its API tells it).

import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

// Whether `cmd` (a name on PATH or a path) can be run.
export function have(cmd) {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd]).status === 0;
}

// Start `cmd` in `cwd`; returns { proc, output(), stop() }: what it
// wrote to stdout and stderr so far, and a promise that it exited
// (SIGTERM to this process only, if it still runs).
export function startProgram(cmd, args, { cwd } = {}) {
  const proc = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
  return {
    proc,
    output: () => out,
    stop: () => new Promise((r) => {
      if (proc.exitCode !== null || proc.signalCode !== null) { r(); return; }
      proc.once('exit', r);
      proc.kill('SIGTERM');
    }),
  };
}

// Call `probe` (async; a value, or null, false or a throw for "not yet")
// every `every` ms until it gives a value, which is returned; fails
// after `ms`.  Only for what has no event to await.
export async function poll(what, probe, ms = 30000, every = 200) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`${what}: not within ${ms} ms${last ? `: ${last.message}` : ''}`);
}

// Resolve once something accepts on 127.0.0.1:port, which the program
// `p` (from startProgram) opens; fails as soon as it exits instead.
export async function listening(port, p, ms = 10000) {
  const died = () => new Error(`${p.proc.spawnfile} exited (${p.proc.exitCode ?? p.proc.signalCode}): ${p.output()}`);
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw died();
  let onExit;
  const exited = new Promise((_, reject) => { onExit = () => reject(died()); p.proc.once('exit', onExit); });
  const open = poll(`port ${port} open`, () => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }), ms, 20);
  try {
    return await Promise.race([open, exited]);
  } finally {
    p.proc.off('exit', onExit);
  }
}
