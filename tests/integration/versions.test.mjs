// SPDX-License-Identifier: ISC
// The libraries linked into switchboard-handler are never older than the
// system's: `switchboard-handler --version` (switchboard-handler(8)) names
// the Debian version of each, and each is compared with the installed
// runtime package (dpkg-query -W libexpat1, ...).  The default handler
// links them statically, so an apt upgrade of libexpat1 does not reach it;
// this test is what notices a handler built from older sources than the
// system has (docs/deployment.md, "Security fixes in the handler's
// libraries").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { HANDLER } from './lib/harness.mjs';

// The library lines, in order, and the runtime package each is compared with.
const LIBS = [
  { name: 'expat', pkg: 'libexpat1' },
  { name: 'jansson', pkg: 'libjansson4' },
  { name: 'libbsd', pkg: 'libbsd0' },
  { name: 'libmd', pkg: 'libmd0' },
  { name: 'gnutls', pkg: 'libgnutls30' },
  { name: 'nettle', pkg: 'libnettle8' },
  { name: 'gmp', pkg: 'libgmp10' },
  { name: 'libtasn1', pkg: 'libtasn1-6' },
];
const LINE = /^(\S+) (\S+) \(Debian (\S+)\)$/;

function handlerVersions() {
  const r = spawnSync(HANDLER, ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0,
    `${HANDLER} --version exited ${r.status}: ${r.stderr.trim()}`);
  const lines = r.stdout.split('\n');
  assert.equal(lines.pop(), '', 'the output ends with a newline');
  return lines;
}

function libraries() {
  const libs = new Map();
  for (const line of handlerVersions().slice(1)) {
    const m = LINE.exec(line);
    assert.ok(m, `not NAME VERSION (Debian VERSION): ${JSON.stringify(line)}`);
    libs.set(m[1], { version: m[2], debian: m[3] });
  }
  return libs;
}

// The installed version of Debian package pkg, or null.
function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${db:Status-Status} ${Version}', pkg],
    { encoding: 'utf8' });
  const m = /^installed (\S+)$/.exec((r.stdout ?? '').trim());
  return r.status === 0 && m ? m[1] : null;
}

function olderThan(a, b) {
  return spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
}

const haveDpkg = spawnSync('dpkg-query', ['--version']).status === 0;

test('--version prints the handler, the libc and each library, one per line', () => {
  const lines = handlerVersions();
  assert.match(lines[0], /^switchboard-handler \S+$/);
  const names = lines.slice(1).map((l) => (LINE.exec(l) ?? [])[1]);
  assert.deepEqual(names.slice(1), LIBS.map((l) => l.name));
  assert.ok(['musl', 'glibc'].includes(names[0]), `libc line: ${lines[1]}`);
});

test('the Debian versions are of what is linked: expat and jansson agree at run time', () => {
  const libs = libraries();
  for (const name of ['expat', 'jansson']) {
    const { version, debian } = libs.get(name);
    const upstream = debian.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
    assert.equal(version, upstream,
      `${name} says ${version} at run time, but the build recorded Debian ${debian}`);
  }
});

for (const { name, pkg } of LIBS) {
  test(`the linked ${name} is not older than the system's ${pkg}`,
    { skip: !haveDpkg && 'no dpkg-query here' }, (t) => {
      const system = installed(pkg);
      if (system === null) {
        t.skip(`${pkg} is not installed: nothing to compare with`);
        return;
      }
      const linked = libraries().get(name).debian;
      assert.ok(!olderThan(linked, system),
        `${HANDLER} links ${name} ${linked}, older than the system's ${pkg} ${system}: ` +
        'it lacks fixes the system has.  Rebuild with the newer source ' +
        '(rm -f build/musl/stamp && make) or link the system\'s library ' +
        '(make HANDLER_LIBC=glibc); see docs/deployment.md.');
    });
}
