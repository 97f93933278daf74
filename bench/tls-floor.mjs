// SPDX-License-Identifier: ISC
// bench/tls-floor.mjs: the TLS floor of issue 19, "a fresh process's TLS
// handshake with the chosen library and nothing else", for
// bench/tls-churn.mjs and bench/tls-flood.mjs.
//
// build/bench/tls-floor (bench/tls-srv-gnutls.c, static on musl with the
// handler's own GnuTLS build) spawned per connection by
// systemd-socket-activate -a --inetd, as the handler is, holding no key:
// its one signature comes from build/bench/tls-signer over a Unix socket,
// as the handler's comes from the hub.  No session, no hub, no HTTP
// parser.  With `body` it answers one HTTP request with that file and
// closes; without, it sends one byte and waits for the peer to close.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../tests/integration/lib/harness.mjs';

const BB = path.join(import.meta.dirname, '..', 'build', 'bench');

// f: the certificate directory's file namer (lib/certs.mjs); secs: the
// signer's lifetime bound.  Resolves when the activator listens.
export async function startFloor({ dir, f, body, secs }) {
  const sock = path.join(dir, 'signer.sock');
  const signer = spawn(path.join(BB, 'tls-signer'), ['-n', '100000', '-t', String(Math.min(3600, secs)), sock,
    f('ec.key'), f('rsa.key')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const port = await freePort();
  const sa = spawn('systemd-socket-activate', ['-a', '--inetd', '-l', `127.0.0.1:${port}`,
    '-E', `TLS_SIGNER=${sock}`, path.join(BB, 'tls-floor'), f('ec.pem'), '13', ...(body ? [body] : [])],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let failures = 0, log = '';
  sa.stderr.setEncoding('utf8');
  await new Promise((resolve, reject) => {
    sa.stderr.on('data', (d) => {
      failures += (d.match(/tls-srv-gnutls: /g) || []).length;
      log = (log + d).slice(-4096);
      if (/Listening on/.test(log)) resolve();
    });
    sa.on('exit', () => reject(new Error(`tls-floor's activator exited: ${log}`)));
  });
  return {
    port,
    pid: sa.pid,
    signerPid: signer.pid,
    failures: () => failures,
    stop() { for (const p of [sa, signer]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM'); },
  };
}
