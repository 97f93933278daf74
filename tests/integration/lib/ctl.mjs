// SPDX-License-Identifier: ISC
// Run build/switchboardctl from a test: resolves with { code, stdout,
// stderr } and never rejects on a non-zero exit, which tests of refusals
// expect; `input` is written to its standard input; `uid` and `gid`
// run it as another user.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CTL = path.join(root, 'build', 'switchboardctl');

export function ctl(args, { input = '', uid, gid } = {}) {
  return new Promise((resolve, reject) => {
    const p = execFile(CTL, args, { timeout: 20000, uid, gid }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') { reject(err); return; }
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
    p.stdin.on('error', () => {}); // it may exit without reading
    p.stdin.end(input);
  });
}

// The same, for a command that must succeed: resolves with its stdout.
export async function ctlOk(args, opts) {
  const r = await ctl(args, opts);
  if (r.code !== 0) throw new Error(`switchboardctl ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}
