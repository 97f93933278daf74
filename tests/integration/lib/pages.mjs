// SPDX-License-Identifier: ISC
// Driving the built-in chat page (handler/www) in headless Chromium, for
// the browser tests: open a page and log in, find log entries in one
// room's or one conversation's log, type into the message box, wait for
// something NOT to happen within a bound, and check the page with
// axe-core.  Every page records its script errors and console errors;
// noErrors() fails a test on any.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WAIT = 10000;	// every single wait; a broken server fails, never hangs

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SCREENSHOTS = join(root, 'build', 'screenshots');
const AXE = join(root, 'node_modules', 'axe-core', 'axe.min.js');

// Chromium logs a refused WebSocket as a console error of its own; a test
// that takes the server away on purpose sets p.netDown while it is away.
const NET_ERROR = /^WebSocket connection to '.*' failed|^Failed to load resource/;

/*
 * A page in its own browser context, its errors recorded.  opts: hash (the
 * URL fragment), context (newContext options), init (an init script).
 */
export async function newPage(chrome, base, name, opts = {}) {
	const context = await chrome.browser.newContext(opts.context || {});
	if (opts.init) await context.addInitScript(opts.init);
	const page = await context.newPage();
	page.setDefaultTimeout(WAIT);
	const p = { nick: name, page, context, errors: [], netDown: false };
	page.on('pageerror', (e) => p.errors.push(`pageerror: ${e}`));
	page.on('console', (m) => {
		if (m.type() !== 'error') return;
		if (p.netDown && NET_ERROR.test(m.text())) return;
		p.errors.push(`console: ${m.text()}`);
	});
	await page.goto(base + '/' + (opts.hash || ''), { timeout: WAIT });
	return p;
}

/* Log in on the form as nick; resolves once the page is online. */
export async function logIn(p, nick) {
	await p.page.getByTestId('nick-input').fill(nick);
	await p.page.getByTestId('login-button').click();
	await p.page.waitForSelector('[data-testid=status][data-state=online]');
	p.nick = nick;
	return p;
}

/* A page logged in as nick, in the lobby (or the room of opts.hash). */
export async function openChat(chrome, base, nick, opts = {}) {
	const p = await logIn(await newPage(chrome, base, nick, opts), nick);
	await joined(p.page, opts.room || 'lobby');
	return p;
}

/* Resolves once the page is in room (its sidebar may be a closed drawer). */
export function joined(page, room) {
	return page.waitForSelector(`[data-testid=room-item][data-room="${room}"][data-joined=yes]`, { state: 'attached' });
}

/* Where a log is: a room ('lobby'), a conversation ({ nick: 'bob' }), or
 * the server's notices (SERVER). */
export const SERVER = Object.freeze({ server: true });

export function log(page, where) {
	return typeof where === 'string'
		? page.locator(`[data-testid=log][data-room="${where}"]`)
		: where.server ? page.locator('[data-testid=log][data-kind=server]')
			: page.locator(`[data-testid=log][data-nick="${where.nick}"]`);
}

/* Entries of one kind holding text: in the log shown, or in `where`. */
export function entry(page, kind, text, where) {
	const scope = where === undefined ? page.locator('[data-testid=log]:visible') : log(page, where);
	return scope.locator(`[data-testid=log-entry]${kind ? `[data-kind=${kind}]` : ''}`, { hasText: text });
}

/* Wait until `where` holds an entry with text (shown or not). */
export function seen(page, kind, text, where) {
	return entry(page, kind, text, where).first().waitFor({ state: 'attached' });
}

/* Type a line into the message box and press Enter. */
export async function say(page, text) {
	await page.getByTestId('message-input').fill(text);
	await page.getByTestId('message-input').press('Enter');
}

/* Open a room or conversation from the sidebar. */
export async function open(page, where) {
	const item = typeof where === 'string'
		? `[data-testid=room-item][data-room="${where}"]` : `[data-testid=conv-item][data-nick="${where.nick}"]`;
	await page.locator(`${item} button`).first().click();
	await page.waitForSelector(typeof where === 'string'
		? `[data-testid=target][data-room="${where}"]` : `[data-testid=target][data-nick="${where.nick}"]`);
}

/*
 * An offline page whose network is back: "Reconnect now" until it is
 * online (checked and clicked in one step in the page, every 100 ms).
 * Once is not enough: an attempt of its own timer that started while
 * the network was down may be on its way at the first look, and fail
 * after it, with the next one up to 18 s away (app.js BACKOFF_MAX).
 */
export async function reconnectNow(page) {
	await page.waitForFunction(() => {
		if (document.querySelector('[data-testid=status][data-state=online]'))
			return true;
		const b = document.querySelector('[data-testid=banner-action]');
		if (b && !b.hidden && !b.closest('[hidden]')) b.click();
		return false;
	}, null, { polling: 100, timeout: 10000 });
}

/* The unread count on a sidebar item (0 when none is shown). */
export async function unread(page, where) {
	const item = typeof where === 'string'
		? `[data-testid=room-item][data-room="${where}"]` : `[data-testid=conv-item][data-nick="${where.nick}"]`;
	const u = page.locator(`${item} [data-testid=unread]`);
	return await u.count() ? parseInt(await u.textContent(), 10) : 0;
}

/*
 * Poll check() (it may be async) every 200 ms for up to ms: true when it
 * never held, false as soon as it does.  A bounded wait for something
 * that must not happen, such as a reconnect after a kick.
 */
export async function absent(check, ms) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (await check()) return false;
		await new Promise((r) => setTimeout(r, 200));
	}
	return !(await check());
}

/* axe-core's violations of impact serious or critical on the page. */
export async function axeSerious(page) {
	if (!await page.evaluate(() => !!window.axe)) await page.addScriptTag({ path: AXE });
	const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
	return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export async function screenshot(page, name) {
	mkdirSync(SCREENSHOTS, { recursive: true });
	await page.screenshot({ path: join(SCREENSHOTS, name) });
}

/* Fail on any script or console error a page recorded. */
export function noErrors(pages) {
	for (const p of pages) assert.deepEqual(p.errors, [], `${p.nick}'s page`);
}
