// SPDX-License-Identifier: ISC
// Test kit for the browser and Flash integration tests: headless Chromium,
// the haxe-built Flash client, a loopback page that runs it in Ruffle, and a
// mock of Switchboard's /xmlsocket tunnel.  Everything binds to 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createNetServer, createConnection } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, extname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');
export const ruffleDir = join(repoRoot, 'node_modules', '@ruffle-rs', 'ruffle');

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/*
 * Headless Chromium.  playwright-core refuses --user-data-dir in launch():
 * it always starts the browser with a fresh temporary profile of its own
 * and removes it on close(), which is what we want.  extraArgs: more
 * command-line switches (the TLS test trusts its certificate so).
 */
export async function launchBrowser(extraArgs = []) {
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		timeout: 30000,
		args: [
			'--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
			'--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', ...extraArgs,
		],
	});
	return { browser, close: () => browser.close() };
}

/* A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
	return new Promise((ok, fail) => {
		const s = createNetServer();
		s.once('error', fail);
		s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
	});
}

/* Is a program on PATH? */
export function have(prog) {
	return spawnSync('sh', ['-c', `command -v ${prog}`], { stdio: 'ignore' }).status === 0;
}

/*
 * Compile tests/flash/ChatClient.hx into a fresh temp dir with haxe.
 * Returns { dir, swf, cleanup() }.  Throws with haxe's output on failure.
 */
export function compileSwf() {
	const dir = mkdtempSync(join(tmpdir(), 'sb-swf-'));
	const swf = join(dir, 'ChatClient.swf');
	const r = spawnSync('haxe', [
		'-swf', swf, '-swf-version', '10', '-swf-header', '480:240:30:ffffff',
		'-cp', here, '-main', 'ChatClient',
	], { encoding: 'utf8', timeout: 120000 });
	if (r.status !== 0 || !existsSync(swf))
		throw new Error(`haxe failed (${r.status}): ${r.stdout}\n${r.stderr}`);
	return { dir, swf, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const MIME = {
	'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
	'.wasm': 'application/wasm', '.swf': 'application/x-shockwave-flash',
	'.map': 'application/json',
};

/*
 * The page that runs the SWF.  Query: host, port (what the SWF connects
 * to), nick, peer, proxy (the WebSocket URL Ruffle maps host:port to).
 * window.swfLines collects every swfLog line; each is also a
 * <div class="swf-line"> for screenshots and debugging.
 */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Switchboard Flash client (Ruffle)</title>
<style>body{font:13px monospace;margin:8px}#player{width:480px;height:240px}</style>
</head><body>
<div id="player"></div>
<div id="swflog"></div>
<script>
window.swfLines = [];
window.swfLog = function (line) {
	line = String(line);
	window.swfLines.push(line);
	var d = document.createElement('div');
	d.className = 'swf-line';
	d.textContent = line;
	document.getElementById('swflog').appendChild(d);
};
window.ruffleErrors = [];
window.addEventListener('error', function (e) { window.ruffleErrors.push(String(e.message)); });
</script>
<script src="/ruffle/ruffle.js"></script>
<script>
(function () {
	var q = new URLSearchParams(location.search);
	var host = q.get('host') || '127.0.0.1', port = Number(q.get('port'));
	var player = window.RufflePlayer.newest().createPlayer();
	player.style.width = '480px'; player.style.height = '240px';
	document.getElementById('player').appendChild(player);
	player.ruffle().load({
		url: '/ChatClient.swf',
		parameters: { host: host, port: String(port), nick: q.get('nick') || 'flashy',
			peer: q.get('peer') || '', password: q.get('password') || '' },
		allowScriptAccess: true,      // ExternalInterface.call("swfLog", ...)
		allowNetworking: 'all',
		socketProxy: [{ host: host, port: port, proxyUrl: q.get('proxy') }],
		autoplay: 'on',
		unmuteOverlay: 'hidden',
		splashScreen: false,
		warnOnUnsupportedContent: false,
		letterbox: 'off',
		logLevel: 'warn',
	}).catch(function (e) { window.ruffleErrors.push('load: ' + e); });
})();
</script>
</body></html>
`;

/*
 * Loopback http server: "/" is the Ruffle page above, "/ChatClient.swf" the
 * compiled client, "/ruffle/*" the self-hosted Ruffle package.
 * Returns { port, url(params), close() }.
 */
export async function startRuffleHost(swfPath) {
	const swf = readFileSync(swfPath);
	const srv = createServer((req, res) => {
		const path = new URL(req.url, 'http://x').pathname;
		let body, type;
		if (path === '/' || path === '/index.html') {
			body = PAGE; type = MIME['.html'];
		} else if (path === '/ChatClient.swf') {
			body = swf; type = MIME['.swf'];
		} else if (path.startsWith('/ruffle/')) {
			const name = basename(path);
			const file = join(ruffleDir, name);
			if (name && !name.startsWith('.') && existsSync(file) && statSync(file).isFile()) {
				body = readFileSync(file); type = MIME[extname(name)] || 'application/octet-stream';
			}
		}
		if (body === undefined) {
			res.writeHead(404, { 'content-type': 'text/plain' });
			res.end('not found\n');
			return;
		}
		res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
		res.end(body);
	});
	const sockets = new Set();
	srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
	await new Promise((ok, fail) => { srv.once('error', fail); srv.listen(0, '127.0.0.1', ok); });
	const port = srv.address().port;
	return {
		port,
		url(params) { return `http://127.0.0.1:${port}/?${new URLSearchParams(params)}`; },
		close() {
			for (const s of sockets) s.destroy();
			return new Promise((ok) => srv.close(() => ok()));
		},
	};
}

/* XML attribute escaping for the seed-000 replies. */
export function xmlAttr(s) {
	return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/*
 * A mock of Switchboard for developing the tests without the real server
 * (SB_TEST_MOCK=1 makes the integration tests use it).  One loopback port,
 * sniffed like the real handler: HTTP GET serves handler/www; an upgrade on
 * /chat speaks the JSON dialect, one on /xmlsocket the seed-000 dialect in
 * binary frames (one NUL-terminated message per frame); any other first
 * bytes are a raw XMLSocket in the seed-000 dialect.  It routes private
 * messages across all three, room "lobby" messages between JSON clients.
 * Returns { port, host, stop(), frames, upgrades, wireIn }: frames logs
 * [nick, 'in'|'out', text] per seed-000 message, upgrades the /xmlsocket
 * handshake requests, wireIn each binary frame received on /xmlsocket.
 */
export async function startMockSwitchboard() {
	const www = join(repoRoot, 'handler', 'www');
	const http = createServer((req, res) => {
		const path = new URL(req.url, 'http://x').pathname;
		const name = path === '/' ? 'index.html' : path.slice(1);
		if (!/^(index\.html|app\.js|style\.css|favicon\.svg)$/.test(name)) { res.writeHead(404); res.end('not found\n'); return; }
		res.writeHead(200, { 'content-type': MIME[extname(name)] });
		res.end(readFileSync(join(www, name)));
	});
	const wss = new WebSocketServer({ noServer: true });
	const clients = new Set();	// { kind: 'json'|'xml', nick, rooms:Set, out(obj|string), close() }
	const frames = [], upgrades = [], wireIn = [];
	const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
	const hhmmss = () => new Date().toISOString().slice(11, 19);
	const named = () => [...clients].filter((c) => c.nick);
	const byNick = (n) => named().find((c) => c.nick === n);

	/* Deliver an event, given in JSON form, to a client in its dialect. */
	function deliver(c, ev) {
		ev = { time: now(), from: '', ...ev };
		if (c.kind === 'json') { c.out(JSON.stringify(ev)); return; }
		const a = (x) => xmlAttr(x ?? '');
		if (ev.type === 'login') c.out(`<login aid="${a(ev.nick)}" name="${a(ev.nick)}" />`);
		else if (ev.type === 'quit') c.out(`<quit aid="${a(ev.nick)}" />`);
		else if (ev.type === 'msg' && ev.to)
			c.out(`<msg aid="${a(ev.from)}" time="${hhmmss()}" msg="${a(ev.text)}" from="${a(ev.from)}" to="${a(ev.to)}" />`);
	}
	function identify(c, nick) {
		if (!nick || byNick(nick)) return false;
		c.nick = nick;
		for (const o of named()) if (o !== c) deliver(o, { type: 'login', nick });
		return true;
	}
	function privmsg(c, to, text, action) {
		const t = byNick(to);
		if (!t) return false;
		const ev = { type: 'msg', from: c.nick, to, text, ...(action ? { action: true } : {}) };
		deliver(t, ev);
		if (t !== c) deliver(c, ev);	// Switchboard echoes to the sender, as seed 000 does
		return true;
	}
	function gone(c) {
		if (!clients.delete(c) || !c.nick) return;
		for (const o of named()) deliver(o, { type: 'quit', nick: c.nick, reason: 'Connection closed' });
	}

	function jsonClient(ws) {
		const c = { kind: 'json', nick: '', rooms: new Set(), out: (t) => ws.send(t), close: () => ws.terminate() };
		clients.add(c);
		const reply = (ev) => deliver(c, ev);
		const err = (code, text) => reply({ type: 'error', code, text });
		ws.on('message', (data, bin) => {
			let m;
			try { m = JSON.parse(String(data)); } catch { err('bad_json', 'Bad JSON.'); return; }
			if (m.type !== 'login' && m.type !== 'ping' && !c.nick) { err('not_identified', 'Not identified.'); return; }
			switch (m.type) {
			case 'login':
				if (c.nick) err('already', 'Already logged in.');
				else if (!identify(c, String(m.nick || ''))) err('nick_in_use', 'Nick is already in use.');
				else reply({ type: 'welcome', nick: c.nick });
				break;
			case 'users': reply({ type: 'users', users: named().map((x) => x.nick) }); break;
			case 'rooms': {
				const names = [...new Set(named().flatMap((x) => [...x.rooms]))].sort();
				reply({ type: 'rooms', rooms: names.map((name) => ({ name, members: named().filter((x) => x.rooms.has(name)).length })) });
				break;
			}
			case 'join': {
				const room = String(m.room);
				c.rooms.add(room);
				const members = named().filter((x) => x.rooms.has(room));
				for (const o of members) deliver(o, o === c
					? { type: 'join', room, nick: c.nick, members: members.map((x) => x.nick) }
					: { type: 'join', room, nick: c.nick });
				break;
			}
			case 'say': case 'me':
				for (const o of named()) if (o.rooms.has(m.room))	// the sender too
					deliver(o, { type: 'msg', from: c.nick, room: m.room, text: m.text, ...(m.type === 'me' ? { action: true } : {}) });
				break;
			case 'msg':
				if (!privmsg(c, String(m.to), String(m.text))) err('no_such_nick', 'User is already left.');
				break;
			case 'ping': reply({ type: 'pong' }); break;
			default: err('unknown', 'Unknown command.');
			}
		});
		ws.on('close', () => gone(c));
	}

	/* seed-000 over a byte stream: `write(buf)` sends, returns a feed(buf). */
	function xmlClient(write, close, nl) {
		const c = { kind: 'xml', nick: '', rooms: new Set(), close };
		c.out = (text) => { frames.push([c.nick, 'out', text]); write(Buffer.from(text + (nl ? '\n' : '\0'), 'utf8')); };
		clients.add(c);
		let buf = Buffer.alloc(0);
		c.feed = (data) => {
			buf = Buffer.concat([buf, data]);
			let i;
			while ((i = buf.indexOf(0)) >= 0 || (i = buf.indexOf(10)) >= 0) {
				const line = buf.subarray(0, i).toString('utf8').replace(/\r$/, '');
				buf = buf.subarray(i + 1);
				frames.push([c.nick, 'in', line]);
				const [cmd, who = '', ...rest] = line.split(' ');
				const up = cmd.toUpperCase();
				if (up === 'IDENTIFY') {
					if (c.nick || !identify(c, who)) c.out('<error value="Nick is already in use." />');
					else c.out(`<identify aid="${xmlAttr(who)}" name="${xmlAttr(who)}" />`);
				} else if (!c.nick) {
					c.out('<error value="Not identified." />');
				} else if (up === 'LIST') {
					c.out('<nicklist>' + named().map((x) => `<nick aid="${xmlAttr(x.nick)}" name="${xmlAttr(x.nick)}" />`).join('') + '</nicklist>');
				} else if (up === 'MSG') {
					if (!privmsg(c, who, rest.join(' '))) c.out('<error value="User is already left." />');
				} else if (line) {
					c.out('<error value="Unknown command." />');
				}
			}
		};
		c.gone = () => gone(c);
		return c;
	}

	http.on('upgrade', (req, sock, head) => {
		const path = new URL(req.url, 'http://x').pathname;
		if (path !== '/chat' && path !== '/xmlsocket') { sock.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n'); return; }
		if (path === '/xmlsocket') upgrades.push({ url: req.url, headers: req.headers });
		wss.handleUpgrade(req, sock, head, (ws) => {
			if (path === '/chat') { jsonClient(ws); return; }
			const c = xmlClient((b) => ws.send(b, { binary: true }), () => ws.terminate(), false);
			ws.on('message', (data, bin) => {
				if (!bin) { ws.close(1003, 'binary frames only'); return; }
				wireIn.push(Buffer.from(data).toString('utf8'));
				c.feed(Buffer.from(data));
			});
			ws.on('close', c.gone);
		});
	});

	const raw = new Set();
	const tcp = createNetServer((sock) => {
		raw.add(sock);
		sock.on('close', () => raw.delete(sock));
		sock.on('error', () => {});
		sock.once('data', (first) => {
			if (/^(GET|HEAD|POST|PUT|OPTIONS) /.test(first.toString('latin1', 0, 8))) {
				sock.pause();
				sock.unshift(first);
				http.emit('connection', sock);
				sock.resume();
				return;
			}
			const c = xmlClient((b) => sock.write(b), () => sock.destroy(), false);
			sock.on('data', (d) => c.feed(d));
			sock.on('close', c.gone);
			c.feed(first);
		});
	});
	await new Promise((ok, fail) => { tcp.once('error', fail); tcp.listen(0, '127.0.0.1', ok); });
	return {
		port: tcp.address().port, host: '127.0.0.1', frames, upgrades, wireIn,
		stop() {
			for (const c of clients) c.close();
			for (const s of raw) s.destroy();
			wss.close();
			return new Promise((ok) => tcp.close(() => ok()));
		},
	};
}

/*
 * A line-oriented client over any byte transport that carries the seed-000
 * stream (a raw net socket or a ws binary tunnel): splits on NUL, keeps
 * every received element, and lets a test wait for one with a timeout.
 */
export class NulLineClient {
	constructor(write) {
		this.write = write;
		this.lines = [];
		this.buf = Buffer.alloc(0);
		this.waiters = [];
		this.closed = false;
	}
	feed(data) {
		this.buf = Buffer.concat([this.buf, Buffer.from(data)]);
		let i;
		while ((i = this.buf.indexOf(0)) >= 0) {
			const line = this.buf.subarray(0, i).toString('utf8');
			this.buf = this.buf.subarray(i + 1);
			this.lines.push(line);
			this.waiters = this.waiters.filter((w) => !w.check());
		}
	}
	ended() {
		this.closed = true;
		this.waiters = this.waiters.filter((w) => !w.check());
	}
	send(text) { this.write(Buffer.from(text + '\0', 'utf8')); }
	/* Resolve with the first line (from `from` on) matching re. */
	waitFor(re, { timeout = 10000, from = 0, what = String(re) } = {}) {
		return new Promise((resolve, reject) => {
			const w = {
				check: () => {
					const hit = this.lines.slice(from).find((l) => re.test(l));
					if (hit !== undefined) { clearTimeout(w.timer); resolve(hit); return true; }
					if (this.closed) {
						clearTimeout(w.timer);
						reject(new Error(`connection closed while waiting for ${what}; got:\n${this.lines.join('\n')}`));
						return true;
					}
					return false;
				},
			};
			w.timer = setTimeout(() => {
				this.waiters = this.waiters.filter((x) => x !== w);
				reject(new Error(`timed out after ${timeout} ms waiting for ${what}; got:\n${this.lines.join('\n')}`));
			}, timeout);
			if (!w.check()) this.waiters.push(w);
		});
	}
}

/* Wait for a swfLog line matching re on a Ruffle page; fails with the log. */
export async function waitSwfLine(page, re, timeout = 20000) {
	try {
		await page.waitForFunction(
			([src, flags]) => (window.swfLines || []).some((l) => new RegExp(src, flags).test(l)),
			[re.source, re.flags], { timeout, polling: 100 });
	} catch (e) {
		const lines = await page.evaluate(() => [...(window.swfLines || []), ...(window.ruffleErrors || []).map((x) => 'page-error ' + x)]).catch(() => []);
		throw new Error(`no swfLog line matching ${re} within ${timeout} ms; swfLog so far:\n${lines.join('\n')}`);
	}
	return page.evaluate(([src, flags]) => window.swfLines.find((l) => new RegExp(src, flags).test(l)), [re.source, re.flags]);
}


/*
 * The server under test: the real Switchboard through the integration
 * harness (tests/integration/lib/harness.mjs), or the mock above when
 * SB_TEST_MOCK=1 (to tell a test bug from a server bug).
 */
export async function startServer(opts = {}) {
	if (process.env.SB_TEST_MOCK === '1') return startMockSwitchboard();
	const harness = join(repoRoot, 'tests', 'integration', 'lib', 'harness.mjs');
	if (!existsSync(harness))
		throw new Error(`${harness} is missing (set SB_TEST_MOCK=1 to run against the mock)`);
	const { startSwitchboard } = await import(harness);
	return startSwitchboard(opts);
}

/* A raw TCP XMLSocket client (seed-000 dialect) as a NulLineClient. */
export async function rawXmlSocket(port, host = '127.0.0.1', timeout = 10000) {
	const sock = createConnection({ port, host });
	const c = new NulLineClient((b) => sock.write(b));
	sock.on('data', (d) => c.feed(d));
	sock.on('close', () => c.ended());
	sock.on('error', () => {});
	await new Promise((ok, fail) => {
		const t = setTimeout(() => { sock.destroy(); fail(new Error(`connect to ${host}:${port} timed out`)); }, timeout);
		sock.once('connect', () => { clearTimeout(t); ok(); });
		sock.once('error', (e) => { clearTimeout(t); fail(e); });
	});
	c.socket = sock;
	c.close = () => new Promise((ok) => { if (sock.destroyed) ok(); else { sock.once('close', ok); sock.end(); setTimeout(() => sock.destroy(), 2000).unref(); } });
	return c;
}

/* Decode the attributes of one seed-000 element: { name, attrs }. */
export function parseElement(line) {
	const m = /^<([A-Za-z]+)((?:\s+[A-Za-z_]+="[^"]*")*)\s*\/?>/.exec(line);
	if (!m) return null;
	const attrs = {};
	for (const a of m[2].matchAll(/([A-Za-z_]+)="([^"]*)"/g))
		attrs[a[1]] = a[2].replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-fA-F]+));/g, (all, n, d, h) =>
			d ? String.fromCodePoint(+d) : h ? String.fromCodePoint(parseInt(h, 16))
				: { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }[n]);
	return { name: m[1], attrs };
}
