// SPDX-License-Identifier: ISC
// make install carries the licenses: Switchboard's, and the notices of
// every library linked statically into the handler (their licenses ask a
// binary distribution to reproduce them), and the opt-in drop-in
// lean-spawn.conf among the examples; make uninstall takes them away.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('make install puts LICENSE, the static libraries\' notices and the lean-spawn.conf example in the doc directory', () => {
  const dest = mkdtempSync(path.join(tmpdir(), 'sb-install-'));
  try {
    const make = (target) => execFileSync('make', ['-C', root, '--no-print-directory', '-s', target,
      `DESTDIR=${dest}`, 'PREFIX=/usr'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    make('install');
    const doc = path.join(dest, 'usr/share/doc/switchboard');
    assert.deepEqual(readdirSync(doc).sort(), ['LICENSE', 'copyright.expat', 'copyright.gmp',
      'copyright.gnutls28', 'copyright.jansson', 'copyright.libbsd', 'copyright.libmd',
      'copyright.libtasn1-6', 'copyright.musl', 'copyright.nettle', 'examples']);
    // Installed as an example, not where systemd would apply it.
    assert.deepEqual(readdirSync(path.join(doc, 'examples')), ['lean-spawn.conf']);
    assert.match(readFileSync(path.join(doc, 'examples/lean-spawn.conf'), 'utf8'),
      /^\[Service\]\nProtectKernelTunables=no$/m);
    assert.equal(existsSync(path.join(dest, 'etc/systemd/system/switchboard@.service.d')), false);
    assert.match(readFileSync(path.join(doc, 'LICENSE'), 'utf8'), /^ISC License/);
    assert.match(readFileSync(path.join(doc, 'copyright.expat'), 'utf8'), /MIT/);
    // GnuTLS (--tls) is LGPL: its notice goes with the static handler.
    assert.match(readFileSync(path.join(doc, 'copyright.gnutls28'), 'utf8'), /LGPL/);
    make('uninstall');
    assert.equal(existsSync(doc), false, 'uninstall removes the doc directory');
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});
