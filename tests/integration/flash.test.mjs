// SPDX-License-Identifier: ISC
// A real Flash client against Switchboard: tests/flash/ChatClient.hx is
// compiled with haxe into a SWF, run by Ruffle (the self-hosted
// @ruffle-rs/ruffle package) in headless Chromium on a page served by this
// test, and Ruffle's socketProxy turns the SWF's XMLSocket.connect() into a
// WebSocket to Switchboard's /xmlsocket path.  The SWF identifies, lists,
// greets its peer (the browser chat page, logged in as that peer) and
// answers every message; the test checks what the SWF reported through
// ExternalInterface (swfLog lines) and what the chat page shows.
//
// The same exchange is first run against the mock in tests/flash/kit.mjs, so
// that a failure there points at haxe/Ruffle/Chromium, not at the server.
// Last, the SWF goes through a wss:// socketProxy to the TLS port.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
	have, compileSwf, launchBrowser, startRuffleHost, startServer,
	startMockSwitchboard, waitSwfLine, freePort,
} from '../flash/kit.mjs';
import { makeCerts, spkiHash } from './lib/certs.mjs';
import { XmlSocket } from './lib/clients.mjs';

const WAIT = 15000;
const SWF_WAIT = 30000;	// Ruffle's first start compiles ~14 MB of wasm

const haveHaxe = have('haxe');
if (!haveHaxe)
	console.warn('\n*** flash.test.mjs: haxe is not installed: the Flash client tests are SKIPPED ***\n');

describe('Flash client (haxe SWF in Ruffle) over /xmlsocket', { timeout: 240000, skip: !haveHaxe && 'haxe is not installed' }, () => {
	let swf, host, chrome;

	before(async () => {
		swf = compileSwf();
		host = await startRuffleHost(swf.swf);
		chrome = await launchBrowser();
	});

	after(async () => {
		if (chrome) await chrome.close().catch(() => {});
		if (host) await host.close();
		if (swf) swf.cleanup();
	});

	/* Log in on the chat page (served by the server under test). */
	async function chatPage(server, nick, track) {
		const context = await chrome.browser.newContext();
		track.push(context);
		const page = await context.newPage();
		page.setDefaultTimeout(WAIT);
		await page.goto(`http://127.0.0.1:${server.port}/`, { timeout: WAIT });
		await page.getByTestId('nick-input').fill(nick);
		await page.getByTestId('login-button').click();
		await page.waitForSelector('[data-testid=status][data-state=online]');
		return page;
	}

	/* Start the SWF as `nick`, greeting `peer` (opts: another browser,
	 * another socketProxy URL). */
	async function flashPage(server, nick, peer, track, opts = {}) {
		const context = await (opts.browser || chrome).browser.newContext();
		track.push(context);
		const page = await context.newPage();
		const consoleLines = [];
		page.on('console', (m) => consoleLines.push(m.text()));
		page.consoleLines = consoleLines;
		await page.goto(host.url({
			host: '127.0.0.1', port: server.port, nick, peer,
			proxy: opts.proxy || `ws://127.0.0.1:${server.port}/xmlsocket`,
		}), { timeout: WAIT });
		return page;
	}

	// A whisper lands in its conversation's log, shown or not.
	const privateEntry = (page, from, text) =>
		page.locator(`[data-testid=log][data-nick="${from}"] [data-testid=log-entry][data-kind=private][data-from="${from}"]`, { hasText: text });
	const notice = (page, text) =>
		page.locator('[data-testid=log-entry][data-kind=notice]', { hasText: text }).first();

	async function exchange(server) {
		const track = [];
		try {
			// the peer is online first: the SWF finds her in the <nicklist>
			const alice = await chatPage(server, 'alice', track);
			const swfPage = await flashPage(server, 'flashy', 'alice', track);
			await waitSwfLine(swfPage, /^connect$/, SWF_WAIT);
			await waitSwfLine(swfPage, /^recv <identify aid="flashy"/);
			await waitSwfLine(swfPage, /^send LIST$/);
			const list = await waitSwfLine(swfPage, /^recv <nicklist>/);
			assert.match(list, /<nick aid="alice"/);
			assert.match(list, /<nick aid="flashy"/);
			await waitSwfLine(swfPage, /^send MSG alice hello from flash$/);

			// the page sees flashy log in and its greeting as a private message
			await notice(alice, 'flashy logged in').waitFor({ state: 'attached' });
			await alice.waitForSelector('[data-testid=user-item][data-nick=flashy]');
			await privateEntry(alice, 'flashy', 'hello from flash').waitFor({ state: 'attached' });

			// alice whispers to flashy (click its name); the SWF answers
			await alice.locator('[data-testid=user-item][data-nick=flashy] button').click();
			await alice.waitForSelector('[data-testid=target][data-kind=private][data-nick=flashy]');
			const text = 'ping <1> & "two"';
			await alice.getByTestId('message-input').fill(text);
			await alice.getByTestId('send-button').click();
			// (seed 000 echoes a sender's own MSG back to it: skip flashy's)
			const recv = await waitSwfLine(swfPage, /^recv <msg aid="alice"/);
			assert.ok(!recv.includes('<1>'), `unescaped text reached the SWF: ${recv}`);
			await waitSwfLine(swfPage, /^msg alice ping <1> & "two"$/);
			await waitSwfLine(swfPage, /^send MSG alice pong: ping <1> & "two"$/);
			const pong = privateEntry(alice, 'flashy', 'pong: ping <1> & "two"');
			await pong.waitFor();
			assert.match(await pong.textContent(), /flashy: pong: ping <1> & "two"$/);

			// the peer logs in after the SWF: it reacts to <login aid="bob">
			const swf2 = await flashPage(server, 'flashy2', 'bob', track);
			await waitSwfLine(swf2, /^recv <nicklist>/, SWF_WAIT);
			const bob = await chatPage(server, 'bob', track);
			await waitSwfLine(swf2, /^recv <login aid="bob"/);
			await waitSwfLine(swf2, /^send MSG bob hello from flash$/);
			await privateEntry(bob, 'flashy2', 'hello from flash').waitFor({ state: 'attached' });

			// closing the SWF's page closes its socket: a quit for the others
			await swfPage.close();
			await notice(alice, 'flashy quit').waitFor({ state: 'attached' });
			await alice.waitForSelector('[data-testid=user-item][data-nick=flashy]', { state: 'detached' });
			await waitSwfLine(swf2, /^recv <quit aid="flashy"/);

			// nothing went wrong inside the SWF
			const lines = await swf2.evaluate(() => window.swfLines);
			assert.deepEqual(lines.filter((l) => /^(ioerror|securityerror|badxml|error )/.test(l)), []);
		} finally {
			for (const c of track) await c.close().catch(() => {});
		}
	}

	it('works against the mock tunnel (haxe + Ruffle + socketProxy path)', async () => {
		const mock = await startMockSwitchboard();
		try {
			await exchange(mock);
			// what Ruffle put on the wire: one binary frame per XMLSocket.send,
			// the NUL included, and no policy-file request
			assert.ok(mock.wireIn.includes('IDENTIFY flashy\0'), JSON.stringify(mock.wireIn));
			assert.ok(!mock.wireIn.some((f) => f.includes('policy-file-request')));
			assert.equal(mock.upgrades[0].url, '/xmlsocket');
			assert.equal(mock.upgrades[0].headers['sec-websocket-protocol'], undefined);
		} finally {
			await mock.stop();
		}
	});

	it('needs the embedding page\'s origin in ws_origins when that is set', { skip: process.env.SB_TEST_MOCK === '1' && 'SB_TEST_MOCK=1' }, async () => {
		const ruffleOrigin = `http://127.0.0.1:${host.port}`;
		for (const allowed of [true, false]) {
			const port = await freePort();
			const origins = `http://127.0.0.1:${port}` + (allowed ? ` ${ruffleOrigin}` : '');
			const server = await startServer({ port, config: { ws_origins: origins } });
			const track = [];
			try {
				const page = await flashPage(server, 'gated', '', track);
				if (allowed) {
					await waitSwfLine(page, /^recv <identify aid="gated"/, SWF_WAIT);
				} else {
					// Ruffle reports "connect" at once, then the refused
					// upgrade (403) shows up as a close
					await waitSwfLine(page, /^close$/, SWF_WAIT);
					const lines = await page.evaluate(() => window.swfLines);
					assert.deepEqual(lines.filter((l) => l.startsWith('recv ')), []);
				}
			} finally {
				for (const c of track) await c.close().catch(() => {});
				await server.stop();
			}
		}
	});

	// As on an https:// page, which may only open wss://: Ruffle's
	// socketProxy on the TLS port (switchboard-handler --tls), the test CA's
	// certificate trusted by its key.
	it('works over a wss:// socketProxy on the TLS port', { skip: (process.env.SB_TEST_MOCK === '1' && 'SB_TEST_MOCK=1') || (!have('openssl') && 'openssl is not installed') }, async () => {
		const dir = mkdtempSync(join(tmpdir(), 'sb-flash-tls-'));
		const f = makeCerts(dir);
		const server = await startServer({ tls: true, config: { tls_cert: f('ec.pem'), tls_key: f('ec.key') } });
		const tlsChrome = await launchBrowser([`--ignore-certificate-errors-spki-list=${spkiHash(f('ec.pem'))}`]);
		const track = [];
		const alice = new XmlSocket('127.0.0.1', server.port);
		try {
			await alice.ready;
			alice.send('IDENTIFY alice');
			await alice.next(/^<identify /);
			const swfPage = await flashPage(server, 'flashtls', 'alice', track, {
				browser: tlsChrome, proxy: `wss://127.0.0.1:${server.tlsPort}/xmlsocket`,
			});
			await waitSwfLine(swfPage, /^recv <identify aid="flashtls"/, SWF_WAIT);
			assert.match(await alice.next(/hello from flash/), /aid="flashtls"/);
			alice.send('MSG flashtls ping over wss');
			await waitSwfLine(swfPage, /^send MSG alice pong: ping over wss$/);
			assert.match(await alice.next(/pong: ping over wss/), /aid="flashtls"/);
			assert.equal(server.events({ EVENT: 'protocol_error' }).length, 0);
		} finally {
			alice.close();
			for (const c of track) await c.close().catch(() => {});
			await tlsChrome.close().catch(() => {});
			await server.stop();
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('works against Switchboard', { skip: process.env.SB_TEST_MOCK === '1' && 'SB_TEST_MOCK=1' }, async () => {
		const server = await startServer();
		try {
			await exchange(server);
		} finally {
			await server.stop();
		}
	});
});
