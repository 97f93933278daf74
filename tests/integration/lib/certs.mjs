// SPDX-License-Identifier: ISC
// A test CA and certificates for 127.0.0.1, made with openssl, for the
// TLS tests (tls.test.mjs, browser-tls.test.mjs): an ECDSA P-256 leaf
// (ec), a second one (ec2) and an RSA-2048 leaf (rsa), each NAME.pem and
// NAME.key, signed by ca.pem.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function openssl(...args) {
  return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

// Make them in dir; returns f(name), the path of a file there.
export function makeCerts(dir) {
  const f = (n) => path.join(dir, n);
  writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('ca.key'));
  openssl('req', '-x509', '-new', '-key', f('ca.key'), '-subj', '/CN=switchboard test CA',
    '-days', '2', '-out', f('ca.pem'));
  const leaf = (name, keyArgs) => {
    openssl(...keyArgs, f(`${name}.key`));
    openssl('req', '-new', '-key', f(`${name}.key`), '-subj', '/CN=127.0.0.1', '-out', f(`${name}.csr`));
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
      '-CAcreateserial', '-days', '2', '-extfile', f('ext'), '-out', f(`${name}.pem`));
  };
  leaf('ec', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out']);
  leaf('ec2', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out']);
  leaf('rsa', ['genrsa', '-out']);
  return f;
}

// The SHA-256 fingerprint of a PEM certificate, as Node writes it.
export function fingerprint(pem) {
  return new crypto.X509Certificate(readFileSync(pem)).fingerprint256;
}

// The base64 SHA-256 of a certificate's public key (SPKI), as Chromium's
// --ignore-certificate-errors-spki-list takes it.
export function spkiHash(pem) {
  const der = new crypto.X509Certificate(readFileSync(pem)).publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}
