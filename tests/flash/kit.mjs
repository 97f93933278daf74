// Test kit for the browser and Flash integration tests: headless Chromium,
// the haxe-built Flash client, a loopback page that runs it in Ruffle, and a
// mock of Switchboard's /xmlsocket tunnel.  Everything binds to 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
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
 * and removes it on close(), which is what we want.
 */
export async function launchBrowser() {
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		timeout: 30000,
		args: [
			'--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
			'--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync',
		],
	});
	return { browser, close: () => browser.close() };
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
 * A mock of Switchboard's Flash tunnel: a ws server on /xmlsocket that
 * speaks the seed-000 dialect the way Switchboard does (IDENTIFY, LIST, MSG;
 * replies as XML elements, one NUL-terminated message per binary frame).
 * Other paths are refused.  Returns { port, frames, upgrades, wireIn,
 * close() }: frames logs [nick, 'in'|'out', text] per NUL-terminated
 * message, upgrades the handshake requests, wireIn each binary frame.
 */
export async function startMockTunnel() {
	const http = createServer((req, res) => { res.writeHead(404); res.end(); });
	const wss = new WebSocketServer({ noServer: true });
	const clients = new Map();	// ws -> { nick, buf }
	const frames = [];
	const upgrades = [];	// { url, headers } of every upgrade request
	const wireIn = [];	// every binary frame received, as a string
	http.on('upgrade', (req, sock, head) => {
		upgrades.push({ url: req.url, headers: req.headers });
		if (new URL(req.url, 'http://x').pathname !== '/xmlsocket') {
			sock.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
			return;
		}
		wss.handleUpgrade(req, sock, head, (ws) => wss.emit('connection', ws, req));
	});
	const send = (ws, text) => {
		frames.push([clients.get(ws)?.nick ?? '', 'out', text]);
		ws.send(Buffer.from(text + '\0', 'utf8'), { binary: true });
	};
	const hhmmss = () => new Date().toISOString().slice(11, 19);
	const byNick = (n) => [...clients].find(([, c]) => c.nick === n)?.[0];
	const everyoneBut = (me) => [...clients].filter(([ws, c]) => ws !== me && c.nick).map(([ws]) => ws);

	wss.on('connection', (ws) => {
		clients.set(ws, { nick: '', buf: Buffer.alloc(0) });
		ws.on('message', (data, isBinary) => {
			const c = clients.get(ws);
			if (!isBinary) { ws.close(1003, 'binary frames only'); return; }
			wireIn.push(Buffer.from(data).toString('utf8'));
			c.buf = Buffer.concat([c.buf, data]);
			let i;
			while ((i = c.buf.indexOf(0)) >= 0) {
				const line = c.buf.subarray(0, i).toString('utf8').replace(/[\r\n]+$/, '');
				c.buf = c.buf.subarray(i + 1);
				frames.push([c.nick, 'in', line]);
				command(ws, c, line);
			}
		});
		ws.on('close', () => {
			const c = clients.get(ws);
			clients.delete(ws);
			if (c?.nick)
				for (const o of everyoneBut(ws)) send(o, `<quit aid="${xmlAttr(c.nick)}" />`);
		});
	});

	function command(ws, c, line) {
		const [cmd, who = '', ...rest] = line.split(' ');
		switch (cmd.toUpperCase()) {
		case 'IDENTIFY':
			if (!who || byNick(who)) { send(ws, '<error value="Nick is already in use." />'); return; }
			c.nick = who;
			send(ws, `<identify aid="${xmlAttr(who)}" name="${xmlAttr(who)}" />`);
			for (const o of everyoneBut(ws))
				send(o, `<login aid="${xmlAttr(who)}" name="${xmlAttr(who)}" />`);
			return;
		case 'LIST': {
			if (!c.nick) { send(ws, '<error value="Not identified." />'); return; }
			const items = [...clients.values()].filter((x) => x.nick)
				.map((x) => `<nick aid="${xmlAttr(x.nick)}" name="${xmlAttr(x.nick)}" />`).join('');
			send(ws, `<nicklist>${items}</nicklist>`);
			return;
		}
		case 'MSG': {
			if (!c.nick) { send(ws, '<error value="Not identified." />'); return; }
			const to = byNick(who);
			if (!to) { send(ws, '<error value="User is already left." />'); return; }
			const text = rest.join(' ');
			send(to, `<msg aid="${xmlAttr(c.nick)}" time="${hhmmss()}" msg="${xmlAttr(text)}" ` +
				`from="${xmlAttr(c.nick)}" to="${xmlAttr(who)}" />`);
			return;
		}
		default:
			send(ws, '<error value="Unknown command." />');
		}
	}

	await new Promise((ok, fail) => { http.once('error', fail); http.listen(0, '127.0.0.1', ok); });
	return {
		port: http.address().port,
		frames, upgrades, wireIn,
		close() {
			for (const ws of wss.clients) ws.terminate();
			wss.close();
			http.closeAllConnections?.();
			return new Promise((ok) => http.close(() => ok()));
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

