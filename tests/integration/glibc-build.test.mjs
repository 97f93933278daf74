// SPDX-License-Identifier: ISC
// `make HANDLER_LIBC=glibc`, the documented way to a handler with
// Debian's own expat when the musl build cannot get a fixed source
// (docs/deployment.md): it must link, its units must allow what the
// glibc handler makes (units/handler-glibc.syscalls beside
// units/handler.syscalls), and that handler must serve a chat, plain and
// over TLS, under exactly that allow-list (build/syscall-allow, where a
// call left out kills it).  It did not link from the day the handler
// took TLS until 2026-12-05: Debian's libgnutls.a needs a static p11-kit
// that Debian does not ship, so this build links GnuTLS and glibc
// shared.
//
// It builds into build/glibc (the glibc objects, about a minute the
// first time), and runs once: in the pass of the installed programs,
// not the sanitized one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSwitchboard } from './lib/harness.mjs';
import { JsonClient } from './lib/clients.mjs';
import { makeCerts } from './lib/certs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const B = path.join(root, 'build', 'glibc');
const allow = path.join(root, 'build', 'syscall-allow');
const asan = process.env.SB_ASAN === '1';
const names = (file) => readFileSync(path.join(root, 'units', file), 'utf8')
  .replace(/#.*/g, '').split(/\s+/).filter(Boolean);

async function login(url, nick, opts) {
  const c = new JsonClient(url, opts);
  await c.ready;
  c.send({ type: 'login', nick });
  await c.next({ type: 'welcome' });
  return c;
}

test('make HANDLER_LIBC=glibc links, its units allow its calls, and it chats under them, plain and over TLS', {
  skip: (asan && 'run once, with the installed programs') || (!existsSync(allow) && 'build/syscall-allow not built (make check builds it)'),
  timeout: 15 * 60 * 1000,
}, async () => {
  const make = spawnSync('make', ['--no-print-directory', '-C', root, `B=${B}`, 'HANDLER_LIBC=glibc',
    `${B}/switchboard-handler`, `${B}/units/switchboard@.service`, `${B}/units/switchboard-tls@.service`],
  { encoding: 'utf8', timeout: 14 * 60 * 1000 });
  assert.equal(make.status, 0, `make HANDLER_LIBC=glibc failed:\n${(make.stdout + make.stderr).slice(-3000)}`);

  const glibc = names('handler-glibc.syscalls');
  for (const unit of ['switchboard@.service', 'switchboard-tls@.service']) {
    const line = readFileSync(path.join(B, 'units', unit), 'utf8').match(/^SystemCallFilter=(.*)$/m);
    assert.ok(line, `${unit}: no SystemCallFilter=`);
    const allowed = line[1].split(' ');
    for (const c of [...names('handler.syscalls'), ...glibc]) {
      assert.ok(allowed.includes(c), `${unit} of the glibc build does not allow ${c}`);
    }
  }

  const dir = mkdtempSync(path.join(tmpdir(), 'sb-glibc-'));
  let sb;
  try {
    // The units' list: @default and both files, as build/syscall-allow reads them.
    const defaults = spawnSync('systemd-analyze', ['syscall-filter', '--no-pager', '@default'], { encoding: 'utf8' });
    assert.equal(defaults.status, 0, 'systemd-analyze syscall-filter @default');
    writeFileSync(path.join(dir, 'default'), defaults.stdout.split('\n')
      .filter((l) => /^ {4}[a-z0-9_]+$/.test(l)).join('\n'));
    writeFileSync(path.join(dir, 'list'), [...names('handler.syscalls'), ...glibc].join('\n'));
    const f = makeCerts(dir);
    sb = await startSwitchboard({
      handler: path.join(B, 'switchboard-handler'),
      wrap: [allow, path.join(dir, 'default'), path.join(dir, 'list')],
      handlerArgs: ['--syslog', '--sandbox'],
      tls: true,
      config: { tls_cert: f('ec.pem'), tls_key: f('ec.key') },
    });
    const a = await login(`ws://${sb.host}:${sb.port}/chat`, 'glibcann');
    const b = await login(`wss://127.0.0.1:${sb.tlsPort}/chat`, 'glibcben', { ca: readFileSync(f('ca.pem')) });
    b.send({ type: 'msg', to: 'glibcann', text: 'over TLS' });
    assert.equal((await a.next({ type: 'msg', from: 'glibcben' })).text, 'over TLS');
    a.send({ type: 'msg', to: 'glibcben', text: 'and back' });
    assert.equal((await b.next({ type: 'msg', from: 'glibcann' })).text, 'and back');
    a.close();
    b.close();
  } finally {
    await sb?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
