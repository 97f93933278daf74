// SPDX-License-Identifier: ISC
// The built-in browser chat page (handler/www) against a running
// Switchboard, driven in headless Chromium: two pages (alice, bob) chat in
// the room and in private, a third party on a raw XMLSocket (carol, the
// seed-000 text dialect) exchanges private messages with them, notices and
// the user list follow logins and quits, and a dropped connection comes back
// by itself.  SB_TEST_MOCK=1 runs the same test against tests/flash/kit.mjs's
// mock server instead of the real one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, startServer, rawXmlSocket, parseElement } from '../flash/kit.mjs';

const WAIT = 10000;	// every single wait; a broken server fails, never hangs

describe('browser chat page', { timeout: 180000 }, () => {
	let server, chrome, base;
	const pages = [];		// { nick, page, context, errors }
	const raws = [];

	before(async () => {
		server = await startServer();
		base = `http://127.0.0.1:${server.port}`;
		chrome = await launchBrowser();
	});

	after(async () => {
		for (const r of raws) await r.close().catch(() => {});
		for (const p of pages) await p.context.close().catch(() => {});
		if (chrome) await chrome.close().catch(() => {});
		if (server) await server.stop();
	});

	/* Open the page in its own browser context and log in as nick. */
	async function openChat(nick) {
		const context = await chrome.browser.newContext();
		const page = await context.newPage();
		page.setDefaultTimeout(WAIT);
		const errors = [];
		page.on('pageerror', (e) => errors.push(String(e)));
		const p = { nick, page, context, errors };
		pages.push(p);
		await page.goto(base + '/', { timeout: WAIT });
		await page.getByTestId('nick-input').fill(nick);
		await page.getByTestId('login-button').click();
		await page.waitForSelector('[data-testid=status][data-state=online]');
		await page.waitForSelector(`[data-testid=user-item][data-nick="${nick}"]`);
		return p;
	}

	const entry = (page, kind, text) =>
		page.locator(`[data-testid=log-entry][data-kind=${kind}]`, { hasText: text });

	async function say(page, text) {
		await page.getByTestId('message-input').fill(text);
		await page.getByTestId('send-button').click();
	}

	async function whisperTo(page, nick) {
		await page.locator(`[data-testid=user-item][data-nick="${nick}"] button`).click();
		await page.waitForSelector(`[data-testid=target][data-kind=private][data-nick="${nick}"]`);
	}

	it('serves the page, its script and its style', async () => {
		for (const [path, type] of [['/', /^text\/html/], ['/app.js', /javascript/], ['/style.css', /^text\/css/]]) {
			const r = await fetch(base + path, { signal: AbortSignal.timeout(WAIT) });
			assert.equal(r.status, 200, path);
			assert.match(r.headers.get('content-type') || '', type, path);
			assert.ok((await r.text()).length > 100, path);
		}
	});

	let alice, bob, carol;

	it('two pages log in, see each other and chat in the room', async () => {
		alice = await openChat('alice');
		bob = await openChat('bob');

		// alice is told bob logged in; both see both in the user list
		await entry(alice.page, 'notice', 'bob logged in').waitFor();
		await alice.page.waitForSelector('[data-testid=user-item][data-nick=bob]');
		await bob.page.waitForSelector('[data-testid=user-item][data-nick=alice]');

		// a room message with markup in it arrives as text, not markup
		const text = 'hello lobby <b>bold</b> & <img src=x onerror=alert(1)>';
		await say(alice.page, text);
		const got = entry(bob.page, 'room', 'hello lobby');
		await got.waitFor();
		assert.equal(await got.getAttribute('data-from'), 'alice');
		assert.match(await got.textContent(), /alice: hello lobby <b>bold<\/b> & <img src=x onerror=alert\(1\)>$/);
		assert.equal(await bob.page.locator('[data-testid=log] b, [data-testid=log] img').count(), 0);
		// the sender sees her own line once
		await entry(alice.page, 'room', 'hello lobby').waitFor();
		assert.equal(await entry(alice.page, 'room', 'hello lobby').count(), 1);

		await say(bob.page, 'hi alice, bob here');
		await entry(alice.page, 'room', 'hi alice, bob here').waitFor();
	});

	it('refuses a nick that is taken, on the login form', async () => {
		const context = await chrome.browser.newContext();
		try {
			const page = await context.newPage();
			page.setDefaultTimeout(WAIT);
			await page.goto(base + '/', { timeout: WAIT });
			await page.getByTestId('nick-input').fill('alice');
			await page.getByTestId('login-button').click();
			await page.waitForFunction(() =>
				document.querySelector('[data-testid=login-error]').textContent.trim() !== '', null, { timeout: WAIT });
			assert.equal(await page.getByTestId('chat').isHidden(), true);
			assert.equal(await page.getByTestId('status').getAttribute('data-state'), 'offline');
		} finally {
			await context.close();
		}
		// and the real alice is still there
		await alice.page.waitForSelector('[data-testid=status][data-state=online]');
	});

	it('whispers by clicking a name, and goes back to the room', async () => {
		await whisperTo(bob.page, 'alice');
		assert.match(await bob.page.getByTestId('target').textContent(), /Whispering to alice/);
		await say(bob.page, 'psst, just you');
		const got = entry(alice.page, 'private', 'psst, just you');
		await got.waitFor();
		assert.equal(await got.getAttribute('data-from'), 'bob');
		// bob sees his own whisper, and alice's page did not put it in the room
		await entry(bob.page, 'private', 'psst, just you').waitFor();
		assert.equal(await entry(alice.page, 'room', 'psst').count(), 0);

		// back to the room: the next message goes to the room again
		await bob.page.getByTestId('back-to-room').click();
		await bob.page.waitForSelector('[data-testid=target][data-kind=room]');
		await say(bob.page, 'back in the lobby');
		await entry(alice.page, 'room', 'back in the lobby').waitFor();
	});

	it('talks with a raw XMLSocket client (seed-000 dialect)', async () => {
		carol = await rawXmlSocket(server.port);
		raws.push(carol);
		carol.send('IDENTIFY carol');
		await carol.waitFor(/^<identify aid="carol"/, { timeout: WAIT });

		// the pages see carol log in
		await entry(alice.page, 'notice', 'carol logged in').waitFor();
		await entry(bob.page, 'notice', 'carol logged in').waitFor();
		await alice.page.waitForSelector('[data-testid=user-item][data-nick=carol]');

		// carol -> alice
		carol.send('MSG alice hi from carol');
		const fromCarol = entry(alice.page, 'private', 'hi from carol');
		await fromCarol.waitFor();
		assert.equal(await fromCarol.getAttribute('data-from'), 'carol');

		// alice answers by clicking carol's name; text with XML specials
		await whisperTo(alice.page, 'carol');
		const reply = 'hi carol, "alice" <here> & there';
		const mark = carol.lines.length;
		await say(alice.page, reply);
		const line = await carol.waitFor(/^<msg /, { timeout: WAIT, from: mark });
		const el = parseElement(line);
		assert.ok(el, `not one element: ${line}`);
		assert.equal(el.attrs.aid, 'alice');
		assert.equal(el.attrs.msg, reply);
		assert.ok(!line.includes('<here>'), `unescaped text reached carol: ${line}`);

		// bob whispers to carol too, from his own user list
		await whisperTo(bob.page, 'carol');
		const mark2 = carol.lines.length;
		await say(bob.page, 'bob says hi');
		const l2 = parseElement(await carol.waitFor(/^<msg /, { timeout: WAIT, from: mark2 }));
		assert.equal(l2.attrs.aid, 'bob');
		assert.equal(l2.attrs.msg, 'bob says hi');

		// carol answers alice
		carol.send('MSG alice got it, thanks');
		await entry(alice.page, 'private', 'got it, thanks').waitFor();

		// the room stays private-free for carol's words on bob's page
		assert.equal(await entry(bob.page, 'private', 'hi from carol').count(), 0);
	});

	it('shows the quit notice and updates the user list', async () => {
		await carol.close();
		await entry(alice.page, 'notice', 'carol quit').waitFor();
		await entry(bob.page, 'notice', 'carol quit').waitFor();
		await alice.page.waitForSelector('[data-testid=user-item][data-nick=carol]', { state: 'detached' });
		await bob.page.waitForSelector('[data-testid=user-item][data-nick=carol]', { state: 'detached' });
	});

	it('reconnects and logs in again after the connection drops', async () => {
		const bobSawLogins = await entry(bob.page, 'notice', 'alice logged in').count();
		assert.equal(await entry(bob.page, 'notice', 'alice quit').count(), 0);
		assert.equal(await alice.page.evaluate(() => window.__sbTestDropConnection()), true);
		await alice.page.waitForSelector('[data-testid=log-entry][data-event=lost]');
		await alice.page.waitForSelector('[data-testid=log-entry][data-event=reconnected]', { timeout: 20000 });
		await alice.page.waitForSelector('[data-testid=status][data-state=online]');
		assert.equal(await alice.page.evaluate(() => window.__sbState().me), 'alice');

		// bob saw alice go and come back
		await entry(bob.page, 'notice', 'alice quit').waitFor();
		await bob.page.waitForFunction(
			([n]) => document.querySelectorAll('[data-testid=log-entry][data-kind=notice]').length &&
				[...document.querySelectorAll('[data-testid=log-entry][data-kind=notice]')]
					.filter((e) => e.textContent.includes('alice logged in')).length > n,
			[bobSawLogins], { timeout: WAIT });
		await bob.page.waitForSelector('[data-testid=user-item][data-nick=alice]');

		// and alice is back in the room: her words reach bob, his reach her
		await alice.page.getByTestId('back-to-room').click();
		await say(alice.page, 'i am back');
		await entry(bob.page, 'room', 'i am back').waitFor();
		await bob.page.getByTestId('back-to-room').click();
		await say(bob.page, 'welcome back');
		await entry(alice.page, 'room', 'welcome back').waitFor();
	});

	it('a kicked page shows the reason and does not reconnect', {
		skip: process.env.SB_TEST_MOCK === '1' ? 'the mock has no control socket' : false,
	}, async () => {
		const { execFileSync } = await import('node:child_process');
		const ctl = new URL('../../build/switchboardctl', import.meta.url).pathname;
		const kicked = await openChat('kim');
		execFileSync(ctl, ['-S', server.controlSocket, 'kick', 'kim', 'stop', 'that']);
		await kicked.page.waitForSelector('[data-testid=log-entry][data-event=kicked]');
		await entry(kicked.page, 'notice', 'You were kicked: stop that').waitFor();
		await kicked.page.waitForSelector('[data-testid=status][data-state=offline]');
		// The effect: nothing is scheduled, nothing is connecting, and the
		// server no longer has kim.
		const state = await kicked.page.evaluate(() => window.__sbState());
		assert.equal(state.retryPending, false);
		assert.equal(state.connecting, false);
		assert.equal(state.want, '');
		const who = JSON.parse(execFileSync(ctl, ['-S', server.controlSocket, '--json', 'who']));
		assert.ok(!who.who.some((w) => w.nick === 'kim'), JSON.stringify(who));
		assert.equal(server.events({ EVENT: 'login', NICK: 'kim' }).length, 1, 'logged in once');
	});

	it('left no script errors on the pages', () => {
		for (const p of pages) assert.deepEqual(p.errors, [], `${p.nick}'s page`);
	});
});

// Past presence_max the server stops announcing logins and joins: the
// page's user list then learns of others from what they say.
describe('browser chat page on a quiet server (presence_max = 1)', {
	timeout: 120000, skip: process.env.SB_TEST_MOCK === '1' ? 'the mock has no presence_max' : false,
}, () => {
	let server, chrome, context, raw;

	before(async () => {
		server = await startServer({ config: { presence_max: '1' } });
		chrome = await launchBrowser();
	});

	after(async () => {
		if (raw) await raw.close().catch(() => {});
		if (context) await context.close().catch(() => {});
		if (chrome) await chrome.close().catch(() => {});
		if (server) await server.stop();
	});

	it('someone who logged in unannounced joins the list when they speak', async () => {
		context = await chrome.browser.newContext();
		const page = await context.newPage();
		page.setDefaultTimeout(WAIT);
		const errors = [];
		page.on('pageerror', (e) => errors.push(String(e)));
		await page.goto(`http://127.0.0.1:${server.port}/`, { timeout: WAIT });
		await page.getByTestId('nick-input').fill('pam');
		await page.getByTestId('login-button').click();
		await page.waitForSelector('[data-testid=status][data-state=online]');
		await page.locator('[data-testid=log-entry][data-event=self-join]').waitFor();

		raw = await rawXmlSocket(server.port);
		raw.send('IDENTIFY quinn');		// the second identified: quiet
		await raw.waitFor(/^<identify aid="quinn"/, { timeout: WAIT });
		raw.send('JOIN lobby');
		await raw.waitFor(/^<join room="lobby"/, { timeout: WAIT });
		raw.send('SAY lobby hello from quinn');
		await page.locator('[data-testid=log-entry][data-kind=room]', { hasText: 'hello from quinn' }).waitFor();
		await page.waitForSelector('[data-testid=user-item][data-nick=quinn]');
		assert.equal(await page.locator('[data-testid=log-entry]', { hasText: 'quinn logged in' }).count(), 0,
			'the login was not announced');
		assert.deepEqual(errors, []);
	});
});
