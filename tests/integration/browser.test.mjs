// SPDX-License-Identifier: ISC
// The built-in browser chat page (handler/www) against a running
// Switchboard, driven in headless Chromium as people use it: three pages
// (alice, bob, cleo) chat in rooms they create, join and leave, each room
// with its own log, member list and unread count; they talk in private
// conversations, also with a raw XMLSocket client (carol, the seed-000 text
// dialect); they use every command; a kicked page stays offline; a logout
// ends the session with QUIT; notifications and the title count come for
// private messages and mentions while the tab is hidden.  The page is
// served with an ETag (a reload gets 304) and with its icon.  Every page
// fails the test on a script or console error.
//
// browser-session.test.mjs has the rest: offline state, hub restarts and
// catch-up, dates, keyboard-only use, accessibility and the screenshots.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { launchBrowser, startServer, rawXmlSocket, parseElement } from '../flash/kit.mjs';
import { CTL } from './lib/harness.mjs';
import {
	WAIT, SERVER, newPage, logIn, openChat, joined, entry, seen, say, open, unread, absent, noErrors,
} from './lib/pages.mjs';

describe('browser chat page', { timeout: 300000 }, () => {
	let server, chrome, base;
	const pages = [];
	const raws = [];
	const ctl = (...args) => execFileSync(CTL, ['-S', server.controlSocket, ...args], { encoding: 'utf8' });

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

	async function chat(nick, opts) {
		const p = await openChat(chrome, base, nick, opts);
		pages.push(p);
		return p;
	}

	it('serves the page, its script, style and icon with an ETag, and 304 when unchanged', async () => {
		for (const [path, type] of [['/', /^text\/html/], ['/app.js', /javascript/], ['/style.css', /^text\/css/],
			['/favicon.svg', /^image\/svg\+xml/], ['/favicon.ico', /^image\/svg\+xml/]]) {
			const r = await fetch(base + path, { signal: AbortSignal.timeout(WAIT) });
			assert.equal(r.status, 200, path);
			assert.match(r.headers.get('content-type') || '', type, path);
			assert.equal(r.headers.get('cache-control'), 'no-cache', path);
			const etag = r.headers.get('etag');
			assert.match(etag || '', /^"[0-9a-f]{16}"$/, path);
			assert.ok((await r.text()).length > 100, path);
			for (const inm of [etag, `W/${etag}`, `"x", ${etag}`, '*']) {
				const again = await fetch(base + path, { headers: { 'if-none-match': inm }, signal: AbortSignal.timeout(WAIT) });
				assert.equal(again.status, 304, `${path} If-None-Match: ${inm}`);
				assert.equal(again.headers.get('etag'), etag);
				assert.equal(await again.text(), '');
			}
			const other = await fetch(base + path, { headers: { 'if-none-match': '"0000000000000000"' }, signal: AbortSignal.timeout(WAIT) });
			assert.equal(other.status, 200, path);
		}
		const a = await (await fetch(base + '/app.js')).headers.get('etag');
		const c = await (await fetch(base + '/style.css')).headers.get('etag');
		assert.notEqual(a, c, 'each file has its own ETag');
	});

	it('a reload gets 304, and the page asks for nothing that is missing', async () => {
		const p = await newPage(chrome, base, 'reloader');
		pages.push(p);
		const bad = [];
		p.page.on('response', (r) => { if (r.status() >= 400) bad.push(`${r.status()} ${r.url()}`); });
		await p.page.reload({ timeout: WAIT });
		await p.page.waitForLoadState('load');
		// The handler logs each answer's status (an `http` event).
		for (const path of ['/', '/app.js', '/style.css'])
			await server.waitForEvent({ EVENT: 'http', REASON: `GET ${path} 304` }, WAIT);
		assert.deepEqual(bad, []);
		assert.equal(server.events({ EVENT: 'http', REASON: /\b404\b/ }).length, 0);
	});

	it('shows no offline badge before the first connect', async () => {
		const { page } = pages.find((x) => x.nick === 'reloader');
		assert.equal(await page.getByTestId('status').isVisible(), false);
		assert.equal(await page.getByText('offline').count(), 0);
		assert.equal(await page.getByTestId('login-form').isVisible(), true);
	});

	let alice, bob, cleo, carol;

	it('three pages log in, see each other and chat in the lobby; text stays text', async () => {
		alice = await chat('alice');
		bob = await chat('bob');
		cleo = await chat('cleo');
		await seen(alice.page, 'notice', 'bob logged in', SERVER);
		await alice.page.waitForSelector('[data-testid=member-item][data-nick=cleo]');
		await cleo.page.waitForSelector('[data-testid=user-item][data-nick=alice]');

		// a room message with markup in it arrives as text, not markup
		const text = 'hello lobby <b>bold</b> & <img src=x onerror=alert(1)>';
		await say(alice.page, text);
		const got = entry(bob.page, 'room', 'hello lobby');
		await got.waitFor();
		assert.equal(await got.getAttribute('data-from'), 'alice');
		assert.match(await got.textContent(), /alice: hello lobby <b>bold<\/b> & <img src=x onerror=alert\(1\)>$/);
		assert.equal(await bob.page.locator('[data-testid=log] b, [data-testid=log] img').count(), 0);
		// the sender sees her own line once, marked as hers and confirmed by the echo
		const mine = entry(alice.page, 'room', 'hello lobby');
		await alice.page.waitForSelector('[data-testid=log-entry][data-own="1"][data-state=sent]');
		assert.equal(await mine.count(), 1);
		assert.equal(await got.getAttribute('data-own'), null);

		await say(bob.page, 'hi alice, bob here');
		await entry(alice.page, 'room', 'hi alice, bob here').waitFor();
	});

	it('refuses a nick that is taken, on the login form', async () => {
		const p = await newPage(chrome, base, 'alice-again');
		pages.push(p);
		await p.page.getByTestId('nick-input').fill('alice');
		await p.page.getByTestId('login-button').click();
		await p.page.waitForFunction(() =>
			document.querySelector('[data-testid=login-error]').textContent.trim() !== '', null, { timeout: WAIT });
		assert.equal(await p.page.getByTestId('chat').isHidden(), true);
		assert.equal(await p.page.getByTestId('status').isVisible(), false);
		await alice.page.waitForSelector('[data-testid=status][data-state=online]');
	});

	it('creates a room, joins it from a link and from the room list; each log holds only its own messages', async () => {
		// alice creates #music with /join; the URL names the open room
		await say(alice.page, '/join music');
		await joined(alice.page, 'music');
		await alice.page.waitForSelector('[data-testid=target][data-room=music]');
		assert.equal(new URL(alice.page.url()).hash, '#/room/music');

		// cleo opens a link to it in a new page
		const cleo2 = await chat('cleo2', { hash: '#/room/music', room: 'music' });
		await cleo2.page.waitForSelector('[data-testid=target][data-room=music]');
		await joined(cleo2.page, 'lobby');
		await seen(alice.page, 'notice', 'cleo2 joined #music', 'music');

		// bob asks for the room list and joins from it
		await say(bob.page, '/rooms');
		const listed = bob.page.locator('[data-testid=other-room][data-room=music] button');
		await listed.click();
		await joined(bob.page, 'music');
		await bob.page.waitForSelector('[data-testid=target][data-room=music]');
		assert.equal(await bob.page.locator('[data-testid=other-room][data-room=music]').count(), 0);

		// join notices only in the room they happened in
		await seen(alice.page, 'notice', 'bob joined #music', 'music');
		assert.equal(await entry(alice.page, 'notice', 'joined #music', 'lobby').count(), 0);

		// counts and member lists follow
		await alice.page.waitForFunction(() =>
			document.querySelector('[data-testid=room-item][data-room=music] [data-testid=room-count]').textContent === '3');
		await alice.page.waitForSelector('[data-testid=member-list] [data-testid=member-item][data-nick=cleo2]');
		assert.equal(await alice.page.locator('[data-testid=member-list] [data-testid=member-item][data-nick=cleo]').count(), 0);

		// messages stay in their room
		await say(alice.page, 'music only');
		await open(bob.page, 'lobby');
		await say(bob.page, 'lobby only');
		await seen(cleo2.page, 'room', 'music only', 'music');
		await seen(cleo2.page, 'room', 'lobby only', 'lobby');
		for (const p of [alice, bob, cleo2]) {
			await seen(p.page, 'room', 'lobby only', 'lobby');
			await seen(p.page, 'room', 'music only', 'music');
			assert.equal(await entry(p.page, null, 'music only', 'lobby').count(), 0, p.nick);
			assert.equal(await entry(p.page, null, 'lobby only', 'music').count(), 0, p.nick);
		}
		assert.equal(await entry(cleo.page, null, 'music only', 'lobby').count(), 0);
		assert.equal(await cleo.page.locator('[data-testid=log][data-room=music]').count(), 0);
		cleo2.keep = true;
	});

	it('counts unread messages per room, and opening the room clears them', async () => {
		await open(alice.page, 'lobby');
		await open(bob.page, 'music');
		await say(bob.page, 'unread one');
		await say(bob.page, 'unread two');
		await seen(alice.page, 'room', 'unread two', 'music');
		assert.equal(await unread(alice.page, 'music'), 2);
		assert.equal(await unread(alice.page, 'lobby'), 0);
		// a mention is marked as one
		await say(bob.page, 'alice, look');
		await alice.page.waitForSelector('[data-testid=room-item][data-room=music] .unread.mention');
		assert.equal(await unread(alice.page, 'music'), 3);
		await open(alice.page, 'music');
		assert.equal(await unread(alice.page, 'music'), 0);
		assert.equal(await entry(alice.page, 'room', 'alice, look').getAttribute('data-mention'), '1');
	});

	it('leaving a room: the others see the part in that room, and the counts follow', async () => {
		const cleo2 = pages.find((p) => p.nick === 'cleo2');
		await open(cleo2.page, 'music');
		await cleo2.page.getByTestId('leave-button').click();
		await cleo2.page.waitForSelector('[data-testid=room-item][data-room=music]', { state: 'detached' });
		await seen(alice.page, 'notice', 'cleo2 left #music', 'music');
		assert.equal(await entry(alice.page, 'notice', 'cleo2 left', 'lobby').count(), 0);
		await alice.page.waitForFunction(() =>
			document.querySelector('[data-testid=room-item][data-room=music] [data-testid=room-count]').textContent === '2');
		// cleo2 is back in the lobby, and her page says where she is
		await cleo2.page.waitForSelector('[data-testid=target][data-room=lobby]');
	});

	it('a whisper opens its own conversation, with an unread count, and never lands in a room', async () => {
		await open(alice.page, 'lobby');
		await bob.page.locator('[data-testid=user-item][data-nick=alice] button').click();
		await bob.page.waitForSelector('[data-testid=target][data-kind=private][data-nick=alice]');
		assert.equal(new URL(bob.page.url()).hash, '#/private/alice');
		await say(bob.page, 'psst, just you');
		await seen(alice.page, 'private', 'psst, just you', { nick: 'bob' });
		const got = entry(alice.page, 'private', 'psst, just you', { nick: 'bob' });
		assert.equal(await got.getAttribute('data-from'), 'bob');
		assert.equal(await unread(alice.page, { nick: 'bob' }), 1);
		for (const p of [alice, bob, cleo])
			for (const room of ['lobby', 'music'])
				assert.equal(await entry(p.page, null, 'psst', room).count(), 0, `${p.nick} #${room}`);
		assert.equal(await cleo.page.locator('[data-testid=log-entry]', { hasText: 'psst' }).count(), 0);

		await open(alice.page, { nick: 'bob' });
		assert.equal(await unread(alice.page, { nick: 'bob' }), 0);
		await say(alice.page, 'got it, bob');
		await entry(bob.page, 'private', 'got it, bob').waitFor();
		assert.equal(await entry(bob.page, 'private', 'psst, just you').getAttribute('data-state'), 'sent');
	});

	it('talks in private with a raw XMLSocket client (seed-000 dialect)', async () => {
		carol = await rawXmlSocket(server.port);
		raws.push(carol);
		carol.send('IDENTIFY carol');
		await carol.waitFor(/^<identify aid="carol"/, { timeout: WAIT });
		await seen(alice.page, 'notice', 'carol logged in', SERVER);
		await alice.page.waitForSelector('[data-testid=user-item][data-nick=carol]');

		carol.send('MSG alice hi from carol');
		await seen(alice.page, 'private', 'hi from carol', { nick: 'carol' });

		// alice answers from the conversation; text with XML specials
		await open(alice.page, { nick: 'carol' });
		const reply = 'hi carol, "alice" <here> & there';
		const mark = carol.lines.length;
		await say(alice.page, reply);
		const line = await carol.waitFor(/^<msg /, { timeout: WAIT, from: mark });
		const el = parseElement(line);
		assert.ok(el, `not one element: ${line}`);
		assert.equal(el.attrs.aid, 'alice');
		assert.equal(el.attrs.msg, reply);
		assert.ok(!line.includes('<here>'), `unescaped text reached carol: ${line}`);
		assert.equal(await entry(bob.page, null, 'hi from carol').count(), 0);
	});

	it('shows the quit notice where the one who quit was, and updates the lists', async () => {
		await carol.close();
		await seen(alice.page, 'notice', 'carol quit', { nick: 'carol' });
		await seen(alice.page, 'notice', 'carol quit', SERVER);
		await alice.page.waitForSelector('[data-testid=user-item][data-nick=carol]', { state: 'detached' });
		await bob.page.waitForSelector('[data-testid=user-item][data-nick=carol]', { state: 'detached' });
		assert.equal(await entry(alice.page, 'notice', 'carol quit', 'lobby').count(), 0, 'carol was in no room');
	});

	it('links become links (http, https) with rel="noopener noreferrer"; nothing else is markup', async () => {
		await open(alice.page, 'lobby');
		await open(bob.page, 'lobby');
		const text = 'see https://example.org/a?b=1&c=2 (and http://x.test/y). not javascript:alert(1) ' +
			'nor www.example.com nor <a href="https://evil.test">this</a>';
		await say(bob.page, text);
		const got = entry(alice.page, 'room', 'see https://example.org');
		await got.waitFor();
		assert.equal(await got.locator('.text').textContent(), text);
		const links = await got.locator('a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.rel, a.target, a.textContent]));
		const link = (u) => [u, 'noopener noreferrer', '_blank', u];
		assert.deepEqual(links, [link('https://example.org/a?b=1&c=2'), link('http://x.test/y'), link('https://evil.test')]);
		assert.equal(await alice.page.locator('[data-testid=log] a[href^="javascript"]').count(), 0);
		assert.equal(await alice.page.locator('[data-testid=log] a:not([rel="noopener noreferrer"])').count(), 0);
	});

	it('every command: /help, unknown ones, /me, /msg, /names, /rooms, /nick, /join, /part', async () => {
		const { page } = bob;
		// /help lists every command
		await say(page, '/help');
		for (const c of ['/join ROOM', '/part [ROOM]', '/nick NEW', '/me ACTION', '/msg NICK TEXT', '/names', '/rooms', '/quit [REASON]', '/help'])
			await entry(page, 'notice', c).first().waitFor();

		// an unknown command is answered with a hint and never sent
		await say(page, '/frobnicate all the things');
		const hint = page.locator('[data-testid=log]:visible [data-event=unknown-command]');
		await hint.waitFor();
		assert.match(await hint.textContent(), /Unknown command \/frobnicate.*\/help/);
		await say(page, '/join');
		await entry(page, 'error', 'Usage: /join ROOM').waitFor();
		// what follows it arrives; the command before it never did
		await say(page, 'after the unknown command');
		await entry(alice.page, 'room', 'after the unknown command').waitFor();
		assert.equal(await alice.page.locator('[data-testid=log-entry]', { hasText: 'frobnicate' }).count(), 0);
		// a line that starts with / is sent with //
		await say(page, '//shrug is not a command');
		await entry(alice.page, 'room', '/shrug is not a command').waitFor();

		// /me
		await say(page, '/me waves');
		const action = entry(alice.page, 'action', 'waves');
		await action.waitFor();
		assert.match(await action.textContent(), /\* bob waves$/);

		// /msg opens the conversation and sends in private
		await say(page, '/msg cleo a word in private');
		await page.waitForSelector('[data-testid=target][data-nick=cleo]');
		await seen(cleo.page, 'private', 'a word in private', { nick: 'bob' });

		// /names and /rooms answer in the log
		await open(page, 'lobby');
		await say(page, '/names');
		const names = entry(page, 'notice', 'In #lobby');
		await names.waitFor();
		assert.match(await names.textContent(), /In #lobby \(4\): alice, bob, cleo, cleo2$/);
		await say(page, '/rooms');
		const rooms = entry(page, 'notice', 'Rooms:').last();
		await rooms.waitFor();
		assert.match(await rooms.textContent(), /Rooms: #lobby \(4\), #music \(2\)$/);

		// /nick: the others see it where they share a room, and the conversation follows
		await say(page, '/nick bobby');
		await page.waitForSelector('[data-testid=me]:text("bobby")');
		await seen(alice.page, 'notice', 'bob is now known as bobby', 'lobby');
		await seen(alice.page, 'notice', 'bob is now known as bobby', 'music');
		await alice.page.waitForSelector('[data-testid=conv-item][data-nick=bobby]');
		await seen(alice.page, 'private', 'psst, just you', { nick: 'bobby' });
		await say(page, '/nick bob');
		await alice.page.waitForSelector('[data-testid=conv-item][data-nick=bob]');

		// /join and /part (with and without a room)
		await say(page, '/join #scratch');
		await joined(page, 'scratch');
		await say(page, '/part');
		await page.waitForSelector('[data-testid=room-item][data-room=scratch]', { state: 'detached' });
		await say(page, '/join scratch');
		await joined(page, 'scratch');
		await open(page, 'lobby');
		await say(page, '/part scratch');
		await page.waitForSelector('[data-testid=room-item][data-room=scratch]', { state: 'detached' });
		await entry(page, 'notice', 'You left #scratch').last().waitFor();
		await say(page, '/part nowhere');
		await entry(page, 'error', 'You are not in #nowhere').waitFor();
	});

	it('Tab completes nicks, rooms and commands; with nothing to complete it moves on', async () => {
		const box = alice.page.getByTestId('message-input');
		await open(alice.page, 'lobby');
		await box.fill('cle');
		await box.press('Tab');
		assert.equal(await box.inputValue(), 'cleo: ');
		await box.press('Tab');		// the next candidate
		assert.equal(await box.inputValue(), 'cleo2: ');
		await box.fill('/jo');
		await box.press('Tab');
		assert.equal(await box.inputValue(), '/join ');
		await box.pressSequentially('mu');	// a room after /join
		await box.press('Tab');
		assert.equal(await box.inputValue(), '/join music ');
		for (const [typed, want] of [['see #mu', 'see #music '], ['/msg bo', '/msg bob ']]) {
			await box.fill(typed);
			await box.press('Tab');
			assert.equal(await box.inputValue(), want);
		}
		await box.fill('');
		await box.press('Tab');
		assert.equal(await alice.page.evaluate(() => document.activeElement.dataset.testid), 'send-button');
	});

	it('own messages are marked; one the server refused is marked on itself', async () => {
		await say(alice.page, '/msg nobody-here are you there?');
		await alice.page.waitForSelector('[data-testid=target][data-nick=nobody-here]');
		const failed = entry(alice.page, 'private', 'are you there?');
		await alice.page.waitForSelector('[data-testid=log]:visible [data-testid=log-entry][data-state=failed]');
		assert.match(await failed.textContent(), /Not sent: User is already left\./);
		assert.equal(await failed.getAttribute('data-own'), '1');
		// and the failure is not a separate line: the log holds just that one entry
		assert.equal(await alice.page.locator('[data-testid=log]:visible [data-testid=log-entry]').count(), 1);
		await alice.page.getByTestId('leave-button').click();
		await alice.page.waitForSelector('[data-testid=conv-item][data-nick=nobody-here]', { state: 'detached' });
	});

	it('a notification and a title count for private messages and mentions while the tab is hidden', async () => {
		// Chromium cannot hide a headless tab: the init script pretends, and
		// stands in for Notification (granted) to record what is shown.
		const init = () => {
			let hidden = false;
			Object.defineProperty(document, 'hidden', { get: () => hidden });
			Object.defineProperty(document, 'visibilityState', { get: () => hidden ? 'hidden' : 'visible' });
			window.__setHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
			window.__notes = [];
			window.Notification = class {
				constructor(title, o) { window.__notes.push({ title, body: o.body }); }
				close() {}
				static requestPermission() { return Promise.resolve('granted'); }
			};
			window.Notification.permission = 'granted';
		};
		const nora = await openChat(chrome, base, 'nora', { init });
		pages.push(nora);
		await nora.page.evaluate(() => window.__setHidden(true));
		await say(bob.page, 'nothing for anyone');
		await seen(nora.page, 'room', 'nothing for anyone', 'lobby');
		assert.doesNotMatch(await nora.page.title(), /^\(/);
		await say(bob.page, 'hey nora, look at this');
		await nora.page.waitForFunction(() => document.title.startsWith('(1) '));
		await say(bob.page, '/msg nora just for you');
		await nora.page.waitForFunction(() => document.title.startsWith('(2) '));
		assert.deepEqual(await nora.page.evaluate(() => window.__notes), [
			{ title: 'bob in #lobby', body: 'hey nora, look at this' },
			{ title: 'bob (private)', body: 'just for you' },
		]);
		assert.equal(await unread(nora.page, { nick: 'bob' }), 1);
		await nora.page.evaluate(() => window.__setHidden(false));
		await nora.page.waitForFunction(() => !document.title.startsWith('('));
		assert.equal(await nora.page.getByTestId('notify-button').isVisible(), false, 'permission is granted already');
	});

	it('a logout ends the session with QUIT', async () => {
		const lea = await chat('lea');
		await lea.page.getByTestId('logout-button').click();
		await lea.page.waitForSelector('[data-testid=login-form]');
		assert.equal(await lea.page.getByTestId('chat').isHidden(), true);
		assert.equal(await lea.page.getByTestId('status').isVisible(), false);
		await server.waitForEvent({ EVENT: 'quit', NICK: 'lea', REASON: 'Quit' }, WAIT);
		await seen(alice.page, 'notice', 'lea quit', 'lobby');
		// logged out for good: no reconnect
		assert.equal(await absent(() => server.events({ EVENT: 'login', NICK: 'lea' }).length > 1, 2000), true);
		// /quit with a reason does the same
		const quin = await chat('quin');
		await say(quin.page, '/quit gone fishing');
		await quin.page.waitForSelector('[data-testid=login-form]');
		await seen(alice.page, 'notice', 'quin quit (gone fishing)', 'lobby');
		await server.waitForEvent({ EVENT: 'quit', NICK: 'quin', REASON: 'gone fishing' }, WAIT);
	});

	it('a kicked page shows the reason and does not reconnect', async () => {
		const kim = await chat('kim');
		ctl('kick', 'kim', 'stop', 'that');
		await kim.page.waitForSelector('[data-testid=log]:visible [data-testid=log-entry][data-event=kicked]');
		await entry(kim.page, 'notice', 'You were kicked: stop that. Not reconnecting.').waitFor();
		await kim.page.waitForSelector('[data-testid=status][data-state=kicked]');
		assert.match(await kim.page.getByTestId('banner').textContent(), /You were kicked: stop that/);
		await seen(alice.page, 'notice', 'kim quit', 'lobby');
		// The effect: for 10 s no new connection, no new login.
		const again = async () => server.events({ EVENT: 'login', NICK: 'kim' }).length > 1 ||
			(await kim.page.evaluate(() => window.__sbState().connects)) > 1;
		assert.equal(await absent(again, 10000), true, 'the kicked page came back');
		const state = await kim.page.evaluate(() => window.__sbState());
		assert.equal(state.retryPending, false);
		assert.equal(state.connecting, false);
		assert.equal(state.want, '');
		const who = JSON.parse(ctl('--json', 'who'));
		assert.ok(!who.who.some((w) => w.nick === 'kim'), JSON.stringify(who));
		// the user may log in again, by choice
		await kim.page.getByTestId('banner-action').click();
		await logIn(kim, 'kim');
	});

	it('left no script or console errors on the pages', () => {
		noErrors(pages);
	});
});

// Past presence_max the server stops announcing logins and joins: the
// page's user list then learns of others from what they say.
describe('browser chat page on a quiet server (presence_max = 1)', { timeout: 120000 }, () => {
	let server, chrome, p, raw;

	before(async () => {
		server = await startServer({ config: { presence_max: '1' } });
		chrome = await launchBrowser();
	});

	after(async () => {
		if (raw) await raw.close().catch(() => {});
		if (p) await p.context.close().catch(() => {});
		if (chrome) await chrome.close().catch(() => {});
		if (server) await server.stop();
	});

	it('someone who logged in unannounced joins the lists when they speak', async () => {
		p = await openChat(chrome, `http://127.0.0.1:${server.port}`, 'pam');
		raw = await rawXmlSocket(server.port);
		raw.send('IDENTIFY quinn');		// the second identified: quiet
		await raw.waitFor(/^<identify aid="quinn"/, { timeout: WAIT });
		raw.send('JOIN lobby');
		await raw.waitFor(/^<join room="lobby"/, { timeout: WAIT });
		raw.send('SAY lobby hello from quinn');
		await entry(p.page, 'room', 'hello from quinn').waitFor();
		await p.page.waitForSelector('[data-testid=user-item][data-nick=quinn]');
		await p.page.waitForSelector('[data-testid=member-item][data-nick=quinn]');
		assert.equal(await p.page.locator('[data-testid=log-entry]', { hasText: 'quinn logged in' }).count(), 0,
			'the login was not announced');
		noErrors([p]);
	});
});
