// SPDX-License-Identifier: ISC
// The handler as the units start it: --syslog --sandbox. The other tests
// start it bare, so its failures go to stderr; under the units they go
// to syslog(3), one datagram to /dev/log each, and the handler has its
// own seccomp filter on top of the units' allow-list. In the second pass
// of make check every handler runs under that allow-list
// (tests/run-checks.sh), where a call left out kills it: here a handler
// that must log (the hub is down) still answers its client.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSwitchboard } from './lib/harness.mjs';
import { httpGet, rawExchange } from './lib/clients.mjs';

test('with the units\' options (--syslog --sandbox) and the hub down, a handler logs and still answers: HTTP 503, the XMLSocket error element', async () => {
  const sb = await startSwitchboard({ handlerArgs: ['--syslog', '--sandbox'] });
  try {
    await sb.stopHub();
    const r = await httpGet(sb, '/server-status');
    assert.equal(r.status, 503);
    const x = (await rawExchange(sb.host, sb.port, 'IDENTIFY kim\0')).toString();
    assert.match(x, /^<error value="The chat server is not available[^"]*" code="unavailable" \/>\0$/);
    // --syslog: nothing of it on stderr
    assert.doesNotMatch(sb.handlerLog(), /cannot reach the hub/);
  } finally {
    await sb.stop();
  }
});
