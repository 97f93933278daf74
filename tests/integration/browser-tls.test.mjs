// SPDX-License-Identifier: ISC
// The built-in chat page over https:// on the TLS port (switchboard-handler
// --tls, issue 19), in headless Chromium: the page loads over https and
// opens its WebSocket as wss:// (a page served over https may not open
// ws://), and two pages chat.  Chromium trusts the test's certificate by
// its public key (--ignore-certificate-errors-spki-list), nothing else:
// the same page with another certificate would not load.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchBrowser, startServer, have, CHROMIUM } from '../flash/kit.mjs';
import { openChat, say, entry, noErrors } from './lib/pages.mjs';
import { makeCerts, spkiHash } from './lib/certs.mjs';

const skip = !have(CHROMIUM) ? `${CHROMIUM} not installed (make deps-test)`
	: !have('openssl') ? 'openssl not installed (make deps-test)' : false;

describe('browser chat page over https and wss', { skip, timeout: 120000 }, () => {
	let server, chrome, base, dir;
	const pages = [];

	before(async () => {
		dir = mkdtempSync(path.join(tmpdir(), 'sb-browser-tls-'));
		const f = makeCerts(dir);
		server = await startServer({ tls: true, config: { tls_cert: f('ec.pem'), tls_key: f('ec.key') } });
		base = `https://127.0.0.1:${server.tlsPort}`;
		chrome = await launchBrowser([`--ignore-certificate-errors-spki-list=${spkiHash(f('ec.pem'))}`]);
	});

	after(async () => {
		for (const p of pages) await p.context.close().catch(() => {});
		if (chrome) await chrome.close().catch(() => {});
		if (server) await server.stop();
		if (dir) rmSync(dir, { recursive: true, force: true });
	});

	it('loads the page over https, chats over wss', async () => {
		const ann = await openChat(chrome, base, 'tlsann');
		pages.push(ann);
		const ben = await openChat(chrome, base, 'tlsben', {});
		pages.push(ben);
		// An https page may only open wss://: the chat below is over it.
		assert.equal(new URL(ann.page.url()).protocol, 'https:');
		assert.equal(await ann.page.evaluate(() => window.isSecureContext), true);
		await say(ann.page, 'hello over wss');
		const got = entry(ben.page, 'room', 'hello over wss');
		await got.waitFor();
		assert.equal(await got.getAttribute('data-from'), 'tlsann');
		// Every handshake was signed by the hub; nothing was refused.
		assert.equal(server.events({ EVENT: 'protocol_error' }).length, 0,
			JSON.stringify(server.events({ EVENT: 'protocol_error' })));
		noErrors(pages);
	});
});
