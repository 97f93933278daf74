// SPDX-License-Identifier: ISC
// The built-in chat page over time and for everyone, in headless Chromium
// against a real Switchboard: history replayed from earlier days carries
// dates and day separators; the page works with the keyboard alone; axe-core
// finds no serious accessibility problem in light and dark mode and at
// 360 px; screenshots of those states go to build/screenshots/; a page that
// loses the network says so plainly and, after a hub restart, comes back
// into every room it was in.
//
// The hub starts on a state directory whose lobby history holds messages
// from two days ago and from yesterday.  The browser's time zone is chosen
// so that it is around noon there now: no day changes during the test.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, startServer } from '../flash/kit.mjs';
import {
	newPage, openChat, joined, entry, seen, say, open, unread, reconnectNow, axeSerious, screenshot,
	noErrors,
} from './lib/pages.mjs';

/* An Etc/GMT zone where it is about noon now (Etc/GMT-5 is UTC+5). */
function noonZone(now = new Date()) {
	const off = 12 - now.getUTCHours();
	return off === 0 ? 'UTC' : off > 0 ? `Etc/GMT-${off}` : `Etc/GMT+${-off}`;
}

/* YYYY-MM-DD of t (ms) in a zone `off` hours east of UTC. */
function dayIn(t, off) { return new Date(t + off * 3600e3).toISOString().slice(0, 10); }

describe('browser chat page over time, by keyboard, for everyone', { timeout: 300000 }, () => {
	const zone = noonZone();
	const offset = zone === 'UTC' ? 0 : -Number(zone.slice(7));	// hours east of UTC
	const now = Date.now();
	const old = [now - 2 * 86400e3 - 3600e3, now - 86400e3 + 1800e3];
	let server, chrome, base, dir;
	const pages = [];
	const desk = { timezoneId: zone, viewport: { width: 1100, height: 640 } };

	before(async () => {
		dir = mkdtempSync(join(tmpdir(), 'sb-web-'));
		mkdirSync(join(dir, 'history'));
		// hub/history.h: "<unix time> TAB <kind> TAB <from> TAB <text> LF",
		// in <hex of the room name>.log
		writeFileSync(join(dir, 'history', Buffer.from('lobby').toString('hex') + '.log'),
			`${Math.floor(old[0] / 1000)}\troom\tolga\ttwo days ago, see https://example.org/plan\n` +
			`${Math.floor(old[1] / 1000)}\troom\tolga\tyesterday's news\n`);
		server = await startServer({ config: { state_dir: dir, history: '5' } });
		base = `http://127.0.0.1:${server.port}`;
		chrome = await launchBrowser();
	});

	after(async () => {
		for (const p of pages) await p.context.close().catch(() => {});
		if (chrome) await chrome.close().catch(() => {});
		if (server) await server.stop();
		if (dir) rmSync(dir, { recursive: true, force: true });
	});

	async function chat(nick, opts = {}) {
		const p = await openChat(chrome, base, nick, { context: desk, ...opts });
		pages.push(p);
		return p;
	}

	let alice, bob;

	it('history from earlier days shows its dates and day separators, and is marked as history', async () => {
		alice = await chat('alice');
		const { page } = alice;
		await seen(page, 'room', "yesterday's news", 'lobby');
		await say(page, 'and this is today');
		await entry(page, 'room', 'and this is today').waitFor();
		const days = await page.locator('[data-testid=log][data-room=lobby] [data-testid=day-separator]')
			.evaluateAll((ds) => ds.map((d) => [d.dataset.day, d.textContent]));
		const want = [dayIn(old[0], offset), dayIn(old[1], offset), dayIn(Date.now(), offset)];
		assert.deepEqual(days.map((d) => d[0]), want);
		assert.match(days[1][1], /^Yesterday, /);
		assert.match(days[2][1], /^Today, /);
		// times carry the date when the day is not today
		const first = entry(page, 'room', 'two days ago', 'lobby');
		assert.equal(await first.locator('time').textContent(), `${want[0]} ${new Date(old[0] + offset * 3600e3).toISOString().slice(11, 16)}`);
		assert.match(await entry(page, 'room', 'and this is today').locator('time').textContent(), /^\d\d:\d\d$/);
		// history is marked, on each entry and with a marker before it
		assert.equal(await first.getAttribute('data-history'), '1');
		assert.equal(await entry(page, 'room', 'and this is today').getAttribute('data-history'), null);
		const order = await page.locator('[data-testid=log][data-room=lobby] li').evaluateAll((ls) =>
			ls.map((l) => l.dataset.testid === 'history-marker' ? 'marker' : l.dataset.history ? 'history' : null).filter(Boolean));
		assert.deepEqual(order, ['marker', 'history', 'history']);
		// and a link in history is a link too
		assert.equal(await first.locator('a[rel="noopener noreferrer"]').getAttribute('href'), 'https://example.org/plan');
	});

	it('light and dark mode have no serious accessibility problem; screenshots', async () => {
		bob = await chat('bob');
		await say(alice.page, '/join music');
		await joined(alice.page, 'music');
		await open(alice.page, 'lobby');
		await say(bob.page, '/join music');
		await joined(bob.page, 'music');
		await say(bob.page, 'alice, the rehearsal moved to 8, details: https://example.org/rehearsal');
		await say(bob.page, 'bring the cables');
		await say(bob.page, '/msg alice can you take the van?');
		await seen(alice.page, 'private', 'the van', { nick: 'bob' });
		await say(alice.page, 'ok, see you there');
		await alice.page.waitForSelector('[data-testid=log]:visible [data-own="1"][data-state=sent]');
		assert.equal(await unread(alice.page, 'music'), 2);
		assert.deepEqual(await axeSerious(alice.page), [], 'light');
		await screenshot(alice.page, 'light.png');

		await alice.page.emulateMedia({ colorScheme: 'dark' });
		await open(alice.page, { nick: 'bob' });
		assert.deepEqual(await axeSerious(alice.page), [], 'dark');
		await screenshot(alice.page, 'dark.png');
		await alice.page.emulateMedia({ colorScheme: 'light' });
		await open(alice.page, 'lobby');

		// the login form, in both
		const login = await newPage(chrome, base, 'login-form', { context: desk });
		pages.push(login);
		assert.deepEqual(await axeSerious(login.page), [], 'login, light');
		await login.page.emulateMedia({ colorScheme: 'dark' });
		assert.deepEqual(await axeSerious(login.page), [], 'login, dark');
	});

	it('works at 360 px wide: the panels are drawers, nothing overflows', async () => {
		const mia = await chat('mia', { context: { timezoneId: zone, viewport: { width: 360, height: 700 }, isMobile: true, hasTouch: true } });
		const { page } = mia;
		await open(bob.page, 'lobby');
		await say(bob.page, 'hello on the small screen, mia');
		await seen(page, 'room', 'small screen', 'lobby');
		assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 360);
		assert.equal(await page.getByTestId('sidebar').isVisible(), false);
		assert.deepEqual(await axeSerious(page), [], '360 px');
		await screenshot(page, 'mobile.png');
		await page.getByTestId('nav-toggle').click();
		await page.getByTestId('sidebar').waitFor();
		assert.equal(await page.getByTestId('nav-toggle').getAttribute('aria-expanded'), 'true');
		assert.deepEqual(await axeSerious(page), [], '360 px, rooms open');
		await screenshot(page, 'mobile-rooms.png');
		await page.keyboard.press('Escape');
		await page.getByTestId('sidebar').waitFor({ state: 'hidden' });
		await page.getByTestId('people-toggle').click();
		await page.getByTestId('people').waitFor();
		await page.locator('[data-testid=member-item][data-nick=bob] button').click();
		await page.waitForSelector('[data-testid=target][data-nick=bob]');
		assert.equal(await page.getByTestId('people').isVisible(), false, 'the drawer closes on a choice');
	});

	it('works with the keyboard alone', async () => {
		const kay = await newPage(chrome, base, 'kay', { context: desk });
		pages.push(kay);
		const { page } = kay;
		const focused = () => page.evaluate(() => {
			const a = document.activeElement;
			return a.dataset.testid || a.dataset.fk || a.id;
		});
		/* Press key until focused() is want: at most 60 times. */
		const tabTo = async (want, key = 'Tab') => {
			for (let i = 0; i < 60 && await focused() !== want; i++) await page.keyboard.press(key);
			assert.equal(await focused(), want);
		};
		// the nick box has the focus
		assert.equal(await focused(), 'nick-input');
		await page.keyboard.type('kay');
		await page.keyboard.press('Enter');
		await page.waitForSelector('[data-testid=status][data-state=online]');
		await joined(page, 'lobby');
		assert.equal(await focused(), 'message-input');
		await page.keyboard.type('typed, never clicked');
		await page.keyboard.press('Enter');
		await seen(bob.page, 'room', 'typed, never clicked', 'lobby');

		// join a room from the sidebar's box, come back with Alt+arrows
		await tabTo('join-input', 'Shift+Tab');
		await page.keyboard.type('music');
		await page.keyboard.press('Enter');
		await joined(page, 'music');
		await page.waitForSelector('[data-testid=target][data-room=music]');
		assert.equal(await focused(), 'message-input');
		await page.keyboard.press('Alt+ArrowUp');
		await page.waitForSelector('[data-testid=target][data-room=lobby]');
		await page.keyboard.press('Alt+ArrowDown');
		await page.waitForSelector('[data-testid=target][data-room=music]');
		// a room in the sidebar, with Enter
		await tabTo('v:room:lobby', 'Shift+Tab');
		await page.keyboard.press('Enter');
		await page.waitForSelector('[data-testid=target][data-room=lobby]');
		assert.equal(await focused(), 'message-input');

		// a name in the people list opens a conversation; Tab completes
		await tabTo('member-item:bob');
		await page.keyboard.press('Enter');
		await page.waitForSelector('[data-testid=target][data-nick=bob]');
		await page.keyboard.type('hello b');
		await page.keyboard.press('Tab');
		await page.keyboard.type('from the keyboard');
		assert.equal(await page.getByTestId('message-input').inputValue(), 'hello bob from the keyboard');
		await page.keyboard.press('Enter');
		await seen(bob.page, 'private', 'hello bob from the keyboard', { nick: 'kay' });
		// Esc goes back to the room
		await page.keyboard.press('Escape');
		await page.waitForSelector('[data-testid=target][data-room=lobby]');

		// the log scrolls with the keyboard; log out from the header
		await tabTo('log', 'Shift+Tab');
		await tabTo('logout-button', 'Shift+Tab');
		await page.keyboard.press('Enter');
		await page.waitForSelector('[data-testid=login-form]');
	});

	it('offline, it says so plainly; after a hub restart it re-joins every room', async () => {
		const { page, context } = alice;
		await open(alice.page, 'music');
		await say(bob.page, '/join music');
		await say(bob.page, 'before the break');
		await seen(page, 'room', 'before the break', 'music');

		// the network goes: every reconnect fails until it is back
		alice.netDown = true;
		await context.setOffline(true);
		await page.evaluate(() => window.__sbTestDropConnection());
		await page.locator('[data-testid=log]:visible [data-event=lost]').waitFor();
		await page.getByTestId('banner').waitFor();
		assert.match(await page.getByTestId('banner').textContent(), /You are offline/);
		await page.waitForSelector('[data-testid=status][data-state=reconnecting]');
		await page.waitForSelector('[data-testid=people][data-stale]');
		assert.match(await page.getByTestId('stale').textContent(), /offline.*not current|may be out of date/);
		// what is typed now is marked as not sent, on the message
		await say(page, 'typed while offline');
		const lost = entry(page, 'room', 'typed while offline');
		assert.equal(await lost.getAttribute('data-state'), 'failed');
		assert.match(await lost.textContent(), /Not sent: not connected/);
		await seen(bob.page, 'notice', 'alice quit', 'music');
		assert.deepEqual(await axeSerious(page), [], 'offline');
		await screenshot(page, 'offline.png');

		// the hub restarts; bob's session resumes; he says something in each room
		await server.restartHub('SIGKILL');
		await say(bob.page, 'while alice was away, in music');
		await open(bob.page, 'lobby');
		await say(bob.page, 'while alice was away, in the lobby');
		await bob.page.waitForSelector('[data-testid=log]:visible [data-testid=log-entry][data-state=sent]:has-text("in the lobby")');

		// the network is back: alice reconnects at once and re-joins both rooms
		await context.setOffline(false);
		await reconnectNow(page);
		alice.netDown = false;
		await joined(page, 'lobby');
		await joined(page, 'music');
		await page.getByTestId('banner').waitFor({ state: 'hidden' });
		assert.equal(await page.locator('[data-testid=people][data-stale]').count(), 0);
		await seen(page, 'room', 'while alice was away, in music', 'music');
		await seen(page, 'room', 'while alice was away, in the lobby', 'lobby');
		// exactly what she missed, marked so, and nothing she had seen again
		const missed = entry(page, 'room', 'while alice was away, in music', 'music');
		assert.equal(await missed.count(), 1);
		assert.equal(await missed.getAttribute('data-history'), '1');
		await page.locator('[data-testid=log][data-room=music] [data-testid=history-marker]',
			{ hasText: 'Missed while you were away' }).waitFor({ state: 'attached' });
		for (const [text, room] of [['before the break', 'music'], ['rehearsal moved', 'music'],
			['two days ago', 'lobby'], ['ok, see you there', 'lobby'], ['small screen', 'lobby']])
			assert.equal(await entry(page, 'room', text, room).count(), 1, `${text} in #${room}`);
		assert.equal(await page.locator('[data-event=gap]').count(), 0);
		await say(bob.page, 'live again');
		await seen(page, 'room', 'live again', 'lobby');
		await open(bob.page, 'music');
		await say(page, 'back in music');
		await seen(bob.page, 'room', 'back in music', 'music');
	});

	it('after a longer absence, the page says how many messages the history no longer holds', async () => {
		const { page, context } = alice;
		await open(page, 'lobby');
		await open(bob.page, 'lobby');
		alice.netDown = true;
		await context.setOffline(true);
		await page.evaluate(() => window.__sbTestDropConnection());
		await seen(bob.page, 'notice', 'alice quit', 'lobby');
		// history = 5: of these 7, the first 2 are gone when she is back
		for (let i = 1; i <= 7; i++) await say(bob.page, `away ${i}`);
		await bob.page.waitForSelector('[data-testid=log]:visible [data-state=sent]:has-text("away 7")');
		await context.setOffline(false);
		await reconnectNow(page);
		alice.netDown = false;
		await seen(page, 'room', 'away 7', 'lobby');
		const gap = page.locator('[data-testid=log][data-room=lobby] [data-event=gap]');
		assert.match(await gap.textContent(), /2 messages from while you were away are no longer in the history\./);
		for (let i = 1; i <= 7; i++)
			assert.equal(await entry(page, 'room', `away ${i}`, 'lobby').count(), i <= 2 ? 0 : 1, `away ${i}`);
	});

	it('Reconnect now, clicked twice, opens one connection; no button while it is on its way', async () => {
		const { page, context } = alice;
		alice.netDown = true;
		await context.setOffline(true);
		await page.evaluate(() => window.__sbTestDropConnection());
		await seen(bob.page, 'notice', 'alice quit', 'lobby');
		await context.setOffline(false);
		// Between attempts (none on its way), two clicks at once, as a
		// double click: the first starts an attempt, the second must not
		// open a connection beside it.
		const r = await page.waitForFunction(() => {
			const s = window.__sbState(), b = document.querySelector('[data-testid=banner-action]');
			if (s.connecting || !b || b.hidden || b.closest('[hidden]')) return false;
			const before = s.connects;
			b.click();
			const shown = !b.hidden;
			b.click();
			return { before, after: window.__sbState().connects, shown };
		}, null, { polling: 50, timeout: 30000 });
		const { before, after, shown } = await r.jsonValue();
		assert.equal(after, before + 1, 'connections opened by two clicks');
		assert.equal(shown, false, 'the button stayed while the attempt was on its way');
		await page.waitForSelector('[data-testid=status][data-state=online]', { timeout: 30000 });
		alice.netDown = false;
		await say(page, 'back once');
		await seen(bob.page, 'room', 'back once', 'lobby');
	});

	it('a message typed the moment the page is back, before its rooms are joined again, is sent after the joins', async () => {
		const { page, context } = alice;
		const quits = () => entry(bob.page, 'notice', 'alice quit', 'lobby').count();
		const before = await quits();
		alice.netDown = true;
		await context.setOffline(true);
		await page.evaluate(() => window.__sbTestDropConnection());
		await bob.page.waitForFunction(([n]) => [...document.querySelectorAll(
			'[data-testid=log][data-room="lobby"] [data-testid=log-entry][data-kind=notice]')]
			.filter((e) => e.textContent.includes('alice quit')).length > n, [before]);
		// Type as the welcome is handled: the observer runs right after
		// it, before any answer to the page's joins can have come.
		await page.evaluate(() => {
			const status = document.querySelector('[data-testid=status]');
			new MutationObserver((_, obs) => {
				if (status.dataset.state !== 'online') return;
				obs.disconnect();
				window.__sbTypedWhileJoined = document.querySelector(
					'[data-testid=room-item][data-room="lobby"]').dataset.joined;
				const input = document.querySelector('[data-testid=message-input]');
				input.value = 'typed at once';
				input.form.requestSubmit();
			}).observe(status, { attributes: true, attributeFilter: ['data-state'] });
		});
		await context.setOffline(false);
		await reconnectNow(page);
		alice.netDown = false;
		assert.equal(await page.evaluate(() => window.__sbTypedWhileJoined), 'no',
			'lobby was joined again before the message was typed: the test came too late');
		await seen(bob.page, 'room', 'typed at once', 'lobby');
		await page.locator('[data-testid=log][data-room="lobby"] [data-testid=log-entry][data-state=sent]',
			{ hasText: 'typed at once' }).waitFor({ state: 'attached' });
	});

	it('left no script or console errors on the pages', () => {
		noErrors(pages);
	});
});
