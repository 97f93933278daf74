// SPDX-License-Identifier: ISC
// A redis-server (or redis-sentinel) of the test's own on 127.0.0.1, for
// the cluster tests (docs/cluster.md).  No persistence unless asked.
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const REDIS = '/usr/bin/redis-server';
export const SENTINEL = '/usr/bin/redis-sentinel';

// Start `prog` with `args`; resolves with the process once its log says
// `ready` (a RegExp), fails if it exits first or within 10 s.
function started(prog, args, ready) {
  const proc = spawn(prog, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.output = () => out;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${prog} did not start: ${out}`)), 10000);
    const onExit = (code) => { clearTimeout(t); reject(new Error(`${prog} exited ${code}: ${out}`)); };
    proc.stdout.on('data', (d) => {
      out += d;
      if (ready.test(out)) { clearTimeout(t); proc.off('exit', onExit); resolve(proc); }
    });
    proc.once('exit', onExit);
  });
}

// The hubs' ACL user: the line docs/cluster.md's security section gives
// ("user switchboard on >PASSWORD ..."), with this run's password; every
// permission where the page has no such line yet, or with
// SB_CLUSTER_ACL=all (to tell a missing permission from another fault).
export function docAclUser(pass) {
  const doc = path.join(root, 'docs', 'cluster.md');
  const line = process.env.SB_CLUSTER_ACL !== 'all' && existsSync(doc)
    && /^user switchboard on .*$/m.exec(readFileSync(doc, 'utf8'))?.[0];
  if (!line) return `user switchboard on >${pass} ~* &* +@all`;
  return line.replace(/ >\S+/, ` >${pass}`);
}

// redis-server on 127.0.0.1:port, its files in `dir`; `acl` lines (the
// default user is open to the test), `args` more options
// (['--replicaof', '127.0.0.1', '6379'], say).
export function startRedis(port, dir, { acl = [], args = [] } = {}) {
  const aclFile = path.join(dir, `users-${port}.acl`);
  writeFileSync(aclFile, ['user default on nopass ~* &* +@all', ...acl, ''].join('\n'));
  return started(REDIS, ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir, '--aclfile', aclFile, ...args],
  /Ready to accept connections/);
}

// redis-sentinel on 127.0.0.1:port watching the master 127.0.0.1:master
// as `name`, alone (quorum 1), deciding within `downMs` of silence.
export function startSentinel(port, dir, name, master, downMs = 1000) {
  const conf = path.join(dir, `sentinel-${port}.conf`);
  writeFileSync(conf, `port ${port}
bind 127.0.0.1
dir ${dir}
sentinel monitor ${name} 127.0.0.1 ${master} 1
sentinel down-after-milliseconds ${name} ${downMs}
sentinel failover-timeout ${name} 10000
sentinel parallel-syncs ${name} 1
`);
  return started(SENTINEL, [conf], /\+monitor master/);
}

export async function stopRedis(proc, signal = 'SIGTERM') {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await gone;
}

export function redisCli(port, ...args) {
  return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]).toString();
}
