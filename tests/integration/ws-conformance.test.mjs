// SPDX-License-Identifier: ISC
// WebSocket (RFC 6455) conformance of the real server's echo path, case by
// case after the Autobahn testsuite's categories 1-7: framing, ping/pong,
// reserved bits, opcodes, fragmentation, UTF-8 and close handling.  Every
// client frame is built byte by byte and written to a raw TCP socket after
// a hand-written handshake; every case states what the server must echo
// and the close code it must end with.  Waits are on socket events only
// (each bounded by a timeout, so a broken server fails instead of hanging).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HARNESS = join(dirname(fileURLToPath(import.meta.url)), 'lib', 'harness.mjs');
const WAIT = 10000;		// ms, any single wait
const MAX = 65536;		// ws_max_message given to the server
const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const hex = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const utf8 = (s) => Buffer.from(s, 'utf8');
const bytes = (n, seed = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
const text = (n) => Buffer.from(Array.from({ length: n }, (_, i) => 0x41 + (i % 26)));
const code = (c, reason = Buffer.alloc(0)) =>
	Buffer.concat([Buffer.from([c >> 8, c & 0xff]), Buffer.from(reason)]);

/*
 * One client frame, byte by byte: FIN, RSV bits (0..7), opcode, MASK and
 * the minimal length encoding (or `len` to force another encoding), the
 * masking key, the masked payload.
 */
function frame(opcode, payload = Buffer.alloc(0), { fin = true, rsv = 0, mask = true, len } = {}) {
	const p = Buffer.from(payload);
	const out = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
	const m = mask ? 0x80 : 0;
	const enc = len ?? (p.length < 126 ? 7 : p.length <= 0xffff ? 16 : 64);
	if (enc === 7) out.push(m | p.length);
	else if (enc === 16) out.push(m | 126, p.length >> 8, p.length & 0xff);
	else {
		out.push(m | 127);
		const n = BigInt(p.length);
		for (let i = 7; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn));
	}
	const key = randomBytes(4);
	if (mask) out.push(...key);
	for (let i = 0; i < p.length; i++) out.push(mask ? p[i] ^ key[i & 3] : p[i]);
	return Buffer.from(out);
}

/* A raw client connection: bytes out, server frames in, all by events. */
class RawWs {
	constructor(sock) {
		this.sock = sock;
		this.buf = Buffer.alloc(0);
		this.ended = false;
		this.waiters = [];
		sock.setNoDelay(true);
		sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.wake(); });
		sock.on('end', () => { this.ended = true; this.wake(); });
		sock.on('close', () => { this.ended = true; this.wake(); });
		sock.on('error', (e) => { this.error = e; this.ended = true; this.wake(); });
	}

	wake() {
		const w = this.waiters;
		this.waiters = [];
		for (const f of w) f();
	}

	/* Resolve with check()'s first non-undefined result, re-checked on every event. */
	until(check, what) {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT);
			const poll = () => {
				let v;
				try { v = check(); } catch (e) { clearTimeout(timer); reject(e); return; }
				if (v !== undefined) { clearTimeout(timer); resolve(v); return; }
				if (this.ended) {
					clearTimeout(timer);
					reject(new Error(`connection ended waiting for ${what}` +
					    (this.error ? ` (${this.error.code})` : '')));
					return;
				}
				this.waiters.push(poll);
			};
			poll();
		});
	}

	/* Write bytes, in pieces of `chop` bytes each written on its own. */
	async write(b, chop) {
		const step = chop ?? b.length;
		for (let i = 0; i < b.length; i += step) {
			if (this.ended) return;
			await new Promise((resolve) => this.sock.write(b.subarray(i, i + step), () => resolve()));
		}
	}

	/* The next complete server frame: { fin, rsv, opcode, masked, payload }. */
	parseFrame() {
		const b = this.buf;
		if (b.length < 2) return undefined;
		let len = b[1] & 0x7f, off = 2;
		if (len === 126) {
			if (b.length < 4) return undefined;
			len = b.readUInt16BE(2); off = 4;
		} else if (len === 127) {
			if (b.length < 10) return undefined;
			len = Number(b.readBigUInt64BE(2)); off = 10;
		}
		const masked = (b[1] & 0x80) !== 0;
		if (masked) off += 4;
		if (b.length < off + len) return undefined;
		this.buf = b.subarray(off + len);
		return { fin: b[0] >> 7, rsv: (b[0] >> 4) & 7, opcode: b[0] & 0xf, masked,
			payload: Buffer.from(b.subarray(off, off + len)) };
	}

	readFrame(what = 'a frame') {
		return this.until(() => this.parseFrame(), what);
	}

	/* After the server's close frame: no more bytes, and the TCP connection ends. */
	async ends() {
		await this.until(() => (this.buf.length > 0 || this.ended ? true : undefined),
		    'the server to close the connection');
		assert.equal(this.buf.length, 0, 'bytes after the close frame');
	}

	destroy() { this.sock.destroy(); }
}

/* Connect to path and do the opening handshake by hand. */
async function connect(server, path = '/echo') {
	const sock = createConnection({ port: server.port, host: server.host ?? '127.0.0.1' });
	const ws = new RawWs(sock);
	await new Promise((resolve, reject) => {
		sock.once('connect', resolve);
		sock.once('error', reject);
	});
	const key = randomBytes(16).toString('base64');
	await ws.write(Buffer.from(
		`GET ${path} HTTP/1.1\r\n` +
		`Host: ${server.host ?? '127.0.0.1'}:${server.port}\r\n` +
		'Upgrade: websocket\r\n' +
		'Connection: Upgrade\r\n' +
		`Sec-WebSocket-Key: ${key}\r\n` +
		'Sec-WebSocket-Version: 13\r\n' +
		'\r\n'));
	const head = await ws.until(() => {
		const i = ws.buf.indexOf('\r\n\r\n');
		if (i < 0) return undefined;
		const h = ws.buf.subarray(0, i).toString('latin1');
		ws.buf = ws.buf.subarray(i + 4);
		return h;
	}, 'the handshake response');
	const lines = head.split('\r\n');
	assert.match(lines[0], /^HTTP\/1\.1 101 /, `handshake: ${lines[0]}`);
	const headers = Object.fromEntries(lines.slice(1).map((l) => {
		const i = l.indexOf(':');
		return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
	}));
	const accept = createHash('sha1').update(key + GUID).digest('base64');
	assert.equal(headers['sec-websocket-accept'], accept);
	assert.equal(headers.upgrade?.toLowerCase(), 'websocket');
	return ws;
}

/*
 * The cases.  Each: id (the Autobahn case it follows), what it does, the
 * bytes to send (`send`, written in `chop`-byte pieces if given), the
 * frames the server must send back in order (`expect`: [opcode, payload]),
 * and the close code the server must end with (`close`).  Without `close`
 * the connection must still be open: the client then closes with 1000 and
 * the server must answer 1000 and nothing else.
 */
const cases = [];
const add = (id, title, c) => cases.push({ id, title, ...c });
const echo = (op, p) => [op, Buffer.from(p)];

// 1: framing, text and binary echo at the length-encoding boundaries.
for (const [i, n] of [0, 125, 126, 127, 128, 65535, 65536].entries()) {
	add(`1.1.${i + 1}`, `text message of ${n} bytes`,
	    { send: [frame(OP.TEXT, text(n))], expect: [echo(OP.TEXT, text(n))] });
	add(`1.2.${i + 1}`, `binary message of ${n} bytes`,
	    { send: [frame(OP.BINARY, bytes(n))], expect: [echo(OP.BINARY, bytes(n))] });
}
add('1.1.8', 'text message of 65536 bytes written in chops of 997 bytes',
    { send: [frame(OP.TEXT, text(65536))], chop: 997, expect: [echo(OP.TEXT, text(65536))] });
add('1.2.8', 'binary message of 65536 bytes written in chops of 997 bytes',
    { send: [frame(OP.BINARY, bytes(65536))], chop: 997, expect: [echo(OP.BINARY, bytes(65536))] });
add('1.3.1', 'two messages in one write, then one split mid-header',
    { send: [frame(OP.TEXT, utf8('one')), frame(OP.BINARY, bytes(200)), frame(OP.TEXT, utf8('three'))],
	chop: 9, expect: [echo(OP.TEXT, 'one'), echo(OP.BINARY, bytes(200)), echo(OP.TEXT, 'three')] });
add('1.4.1', 'unmasked client frame', { send: [frame(OP.TEXT, utf8('hi'), { mask: false })], close: 1002 });
add('1.4.2', 'non-minimal 16-bit length', { send: [frame(OP.TEXT, text(10), { len: 16 })], close: 1002 });
add('1.4.3', 'non-minimal 64-bit length', { send: [frame(OP.BINARY, bytes(300), { len: 64 })], close: 1002 });
add('1.4.4', '64-bit length with the high bit set',
    { send: [hex('82ff 8000000000000000 01020304')], close: 1002 });

// 2: ping and pong.
add('2.1', 'ping without payload', { send: [frame(OP.PING)], expect: [echo(OP.PONG, '')] });
add('2.2', 'ping with text payload', { send: [frame(OP.PING, utf8('Hello, world!'))],
    expect: [echo(OP.PONG, 'Hello, world!')] });
add('2.3', 'ping with binary payload', { send: [frame(OP.PING, hex('00fffe0180'))],
    expect: [echo(OP.PONG, hex('00fffe0180'))] });
add('2.4', 'ping with 125-byte payload', { send: [frame(OP.PING, bytes(125))],
    expect: [echo(OP.PONG, bytes(125))] });
add('2.5', 'ping with 126-byte payload', { send: [frame(OP.PING, bytes(126))], close: 1002 });
add('2.6', 'ping with 125-byte payload written byte by byte',
    { send: [frame(OP.PING, bytes(125, 7))], chop: 1, expect: [echo(OP.PONG, bytes(125, 7))] });
add('2.7', 'unsolicited empty pong is ignored', { send: [frame(OP.PONG)] });
add('2.8', 'unsolicited pong with payload is ignored', { send: [frame(OP.PONG, utf8('unsolicited'))] });
add('2.9', 'unsolicited pong, then ping', { send: [frame(OP.PONG, utf8('x')), frame(OP.PING, utf8('y'))],
    expect: [echo(OP.PONG, 'y')] });
add('2.10', 'ten pings, each answered', {
	send: Array.from({ length: 10 }, (_, i) => frame(OP.PING, utf8(`ping ${i}`))),
	expect: Array.from({ length: 10 }, (_, i) => echo(OP.PONG, `ping ${i}`)) });
add('2.11', 'ten pings written byte by byte', {
	send: Array.from({ length: 10 }, (_, i) => frame(OP.PING, utf8(`ping ${i}`))), chop: 1,
	expect: Array.from({ length: 10 }, (_, i) => echo(OP.PONG, `ping ${i}`)) });

// 3: reserved bits (no extension is negotiated).
add('3.1', 'text with RSV1', { send: [frame(OP.TEXT, utf8('x'), { rsv: 4 })], close: 1002 });
add('3.2', 'text, text with RSV2, ping', {
	send: [frame(OP.TEXT, utf8('a')), frame(OP.TEXT, utf8('b'), { rsv: 2 }), frame(OP.PING)],
	expect: [echo(OP.TEXT, 'a')], close: 1002 });
add('3.3', 'text with RSV3 (bits 011)', { send: [frame(OP.TEXT, utf8('x'), { rsv: 3 })], close: 1002 });
add('3.4', 'text with RSV1+RSV3, written byte by byte',
    { send: [frame(OP.TEXT, utf8('x'), { rsv: 5 })], chop: 1, close: 1002 });
add('3.5', 'binary with RSV1+RSV2', { send: [frame(OP.BINARY, bytes(10), { rsv: 6 })], close: 1002 });
add('3.6', 'ping with all RSV bits', { send: [frame(OP.PING, utf8('p'), { rsv: 7 })], close: 1002 });
add('3.7', 'close with RSV1', { send: [frame(OP.CLOSE, code(1000), { rsv: 4 })], close: 1002 });

// 4: opcodes.
for (const op of [3, 4, 5, 6, 7])
	add(`4.1.${op - 2}`, `reserved data opcode ${op}`, {
		send: [frame(OP.TEXT, utf8('ok')), frame(op, utf8('reserved')), frame(OP.PING)],
		expect: [echo(OP.TEXT, 'ok')], close: 1002 });
for (const op of [0xb, 0xc, 0xd, 0xe, 0xf])
	add(`4.2.${op - 0xa}`, `reserved control opcode ${op}`, {
		send: [frame(op, op & 1 ? utf8('reserved') : Buffer.alloc(0))], close: 1002 });

// 5: fragmentation.
add('5.1', 'fragmented ping', { send: [frame(OP.PING, utf8('frag'), { fin: false }),
    frame(OP.CONT, utf8('ment'))], close: 1002 });
add('5.2', 'fragmented pong', { send: [frame(OP.PONG, utf8('frag'), { fin: false }),
    frame(OP.CONT, utf8('ment'))], close: 1002 });
add('5.3', 'text in two fragments', { send: [frame(OP.TEXT, utf8('frag'), { fin: false }),
    frame(OP.CONT, utf8('ment'))], expect: [echo(OP.TEXT, 'fragment')] });
add('5.4', 'text in two fragments, byte by byte', { send: [frame(OP.TEXT, utf8('frag'), { fin: false }),
    frame(OP.CONT, utf8('ment'))], chop: 1, expect: [echo(OP.TEXT, 'fragment')] });
add('5.6', 'text in two fragments with a ping between', {
	send: [frame(OP.TEXT, utf8('frag'), { fin: false }), frame(OP.PING, utf8('between')),
	    frame(OP.CONT, utf8('ment'))],
	expect: [echo(OP.PONG, 'between'), echo(OP.TEXT, 'fragment')] });
add('5.8', 'same, byte by byte', {
	send: [frame(OP.TEXT, utf8('frag'), { fin: false }), frame(OP.PING, utf8('between')),
	    frame(OP.CONT, utf8('ment'))], chop: 1,
	expect: [echo(OP.PONG, 'between'), echo(OP.TEXT, 'fragment')] });
add('5.9', 'final continuation without a message', {
	send: [frame(OP.CONT, utf8('cont')), frame(OP.TEXT, utf8('never'))], close: 1002 });
add('5.10', 'non-final continuation without a message', {
	send: [frame(OP.CONT, utf8('cont'), { fin: false }), frame(OP.TEXT, utf8('never'))], close: 1002 });
add('5.15', 'message, then a stray continuation', {
	send: [frame(OP.TEXT, utf8('one'), { fin: false }), frame(OP.CONT, utf8(' two')),
	    frame(OP.CONT, utf8(' three'))],
	expect: [echo(OP.TEXT, 'one two')], close: 1002 });
add('5.17', 'new text message while one is in progress', {
	send: [frame(OP.TEXT, utf8('one'), { fin: false }), frame(OP.TEXT, utf8('two'))], close: 1002 });
add('5.18', 'new binary message while one is in progress', {
	send: [frame(OP.BINARY, bytes(3), { fin: false }), frame(OP.BINARY, bytes(3))], close: 1002 });
add('5.19', 'text in five fragments with pings between', {
	send: ['a', 'b', 'c', 'd', 'e'].flatMap((s, i) => [
		frame(i === 0 ? OP.TEXT : OP.CONT, utf8(s), { fin: i === 4 }),
		...(i < 4 ? [frame(OP.PING, utf8(`p${i}`))] : [])]),
	expect: [0, 1, 2, 3].map((i) => echo(OP.PONG, `p${i}`)).concat([echo(OP.TEXT, 'abcde')]) });
add('5.20', 'binary in three fragments, the middle one empty', {
	send: [frame(OP.BINARY, bytes(100), { fin: false }), frame(OP.CONT, Buffer.alloc(0), { fin: false }),
	    frame(OP.CONT, bytes(100, 100))],
	expect: [echo(OP.BINARY, Buffer.concat([bytes(100), bytes(100, 100)]))] });
add('5.21', 'binary message of exactly the cap in 64 fragments', {
	send: Array.from({ length: 64 }, (_, i) => frame(i === 0 ? OP.BINARY : OP.CONT,
	    bytes(MAX).subarray(i * 1024, (i + 1) * 1024), { fin: i === 63 })),
	expect: [echo(OP.BINARY, bytes(MAX))] });
add('5.22', 'message over the cap, refused at the frame header', {
	send: [frame(OP.BINARY, bytes(MAX + 1)).subarray(0, 14)], close: 1009 });
add('5.23', 'fragments adding up to more than the cap', {
	send: [frame(OP.TEXT, text(MAX / 2), { fin: false }),
	    frame(OP.CONT, text(MAX / 2 + 1)).subarray(0, 8)], close: 1009 });

// 6: UTF-8 in text messages.
const kosme = hex('cebae1bdb9cf83cebcceb5');
add('6.1.1', 'empty text', { send: [frame(OP.TEXT)], expect: [echo(OP.TEXT, '')] });
add('6.1.2', 'empty text in three empty fragments', {
	send: [frame(OP.TEXT, Buffer.alloc(0), { fin: false }), frame(OP.CONT, Buffer.alloc(0), { fin: false }),
	    frame(OP.CONT)], expect: [echo(OP.TEXT, '')] });
add('6.2.1', 'valid UTF-8 text', { send: [frame(OP.TEXT, utf8('Hello-µ@ßöäüàá-UTF-8!!'))],
    expect: [echo(OP.TEXT, utf8('Hello-µ@ßöäüàá-UTF-8!!'))] });
add('6.2.3', 'valid UTF-8, one byte per fragment', {
	send: [...kosme].map((b, i) => frame(i === 0 ? OP.TEXT : OP.CONT, Buffer.from([b]),
	    { fin: i === kosme.length - 1 })),
	expect: [echo(OP.TEXT, kosme)] });
add('6.2.4', 'valid UTF-8 written byte by byte', { send: [frame(OP.TEXT, kosme)], chop: 1,
    expect: [echo(OP.TEXT, kosme)] });
add('6.3.1', 'text with a surrogate', { send: [frame(OP.TEXT, hex('cebae1bdb9cf83cebcceb5eda080656469746564'))],
    close: 1007 });
add('6.4.1', 'fail fast: bad byte mid-frame, rest of the frame never sent', {
	send: [frame(OP.TEXT, hex('cebae1bdb9cf83cebcceb5 f4908080 656469746564')).subarray(0, 6 + 13)],
	close: 1007 });
add('6.4.2', 'fail fast: bad byte in the first fragment, no more fragments sent', {
	send: [frame(OP.TEXT, hex('cebae1bdb9cf83cebcceb5f490'), { fin: false })], close: 1007 });
add('6.4.3', 'fail fast: bad byte starts the second fragment, rest never sent', {
	send: [frame(OP.TEXT, hex('cebae1bdb9cf83cebcceb5f4'), { fin: false }),
	    frame(OP.CONT, hex('908080656469746564')).subarray(0, 6 + 1)], close: 1007 });
add('6.5.1', 'valid text split inside a character across fragments', {
	send: [frame(OP.TEXT, kosme.subarray(0, 3), { fin: false }), frame(OP.CONT, kosme.subarray(3))],
	expect: [echo(OP.TEXT, kosme)] });
add('6.6.1', 'message ends inside a character', { send: [frame(OP.TEXT, hex('ce'))], close: 1007 });
add('6.6.2', 'fragmented message ends inside a character', {
	send: [frame(OP.TEXT, hex('cebae1'), { fin: false }), frame(OP.CONT, hex('bd'))], close: 1007 });
const invalid = {
	'6.8.1': 'f888808080', '6.8.2': 'fc8480808080', '6.10.1': 'f7bfbfbf', '6.11.5': 'f4908080',
	'6.12.1': '80', '6.12.8': '80bf80bf80bf', '6.13.1': 'c020c120', '6.13.2': 'e020', '6.14.2': 'e080',
	'6.14.6': 'df', '6.15.1': 'c0e080f08080', '6.16.1': 'fe', '6.16.3': 'fefeffff', '6.17.1': 'c0af',
	'6.17.2': 'e080af', '6.17.3': 'f08080af', '6.18.2': 'e09fbf', '6.19.1': 'c080',
	'6.19.3': 'f0808080', '6.20.1': 'eda080', '6.20.7': 'edbfbf', '6.21.1': 'eda080edb080',
	'6.21.8': 'edafbfedbfbf',
};
for (const [id, h] of Object.entries(invalid))
	add(id, `invalid UTF-8 ${h}`, { send: [frame(OP.TEXT, hex(h))], close: 1007 });
const valid = {
	'6.7.1': '00', '6.7.4': 'f0908080', '6.9.4': 'f48fbfbf', '6.11.1': 'ed9fbf', '6.11.2': 'ee8080',
	'6.22.1': 'efbfbe', '6.22.34': 'f48fbfbf', '6.23.1': 'efbfb9', '6.23.5': 'efbfbd',
};
for (const [id, h] of Object.entries(valid))
	add(id, `valid UTF-8 ${h}`, { send: [frame(OP.TEXT, hex(h))], expect: [echo(OP.TEXT, hex(h))] });
add('6.24.1', 'invalid UTF-8 in a binary message is fine', {
	send: [frame(OP.BINARY, hex('c0afeda080ff'))], expect: [echo(OP.BINARY, hex('c0afeda080ff'))] });

// 7: closing.
add('7.1.1', 'close 1000 is echoed', { send: [frame(OP.CLOSE, code(1000))], close: 1000 });
add('7.1.2', 'nothing is answered after the close', {
	send: [frame(OP.CLOSE, code(1000)), frame(OP.PING, utf8('late')), frame(OP.TEXT, utf8('late'))], close: 1000 });
add('7.1.5', 'close in the middle of a fragmented message', {
	send: [frame(OP.TEXT, utf8('frag'), { fin: false }), frame(OP.CLOSE, code(1000)),
	    frame(OP.CONT, utf8('ment'))], close: 1000 });
add('7.1.6', 'big message, ping, close: echo, pong, close in order', {
	send: [frame(OP.BINARY, bytes(MAX)), frame(OP.PING, utf8('p')), frame(OP.CLOSE, code(1000))],
	expect: [echo(OP.BINARY, bytes(MAX)), echo(OP.PONG, 'p')], close: 1000 });
add('7.3.1', 'empty close is answered with 1000', { send: [frame(OP.CLOSE)], close: 1000 });
add('7.3.2', 'close with a 1-byte payload', { send: [frame(OP.CLOSE, hex('03'))], close: 1002 });
add('7.3.3', 'close 1000 with a reason', { send: [frame(OP.CLOSE, code(1000, utf8('Hello World!')))],
    close: 1000 });
add('7.3.4', 'close 1000 with a 123-byte reason', { send: [frame(OP.CLOSE, code(1000, text(123)))],
    close: 1000 });
add('7.3.5', 'close 1000 with a 124-byte reason (126-byte control frame)', {
	send: [frame(OP.CLOSE, code(1000, text(124)))], close: 1002 });
add('7.5.1', 'close reason with invalid UTF-8', {
	send: [frame(OP.CLOSE, code(1000, hex('cebae1bdb9cf83cebcceb5eda080656469746564')))], close: 1007 });
for (const [i, c] of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].entries())
	add(`7.7.${i + 1}`, `valid close code ${c} is echoed`, { send: [frame(OP.CLOSE, code(c))], close: c });
for (const [i, c] of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].entries())
	add(`7.9.${i + 1}`, `invalid close code ${c}`, { send: [frame(OP.CLOSE, code(c))], close: 1002 });

async function runCase(server, c) {
	const ws = await connect(server);
	try {
		await ws.write(Buffer.concat(c.send), c.chop);
		for (const [i, [op, payload]] of (c.expect ?? []).entries()) {
			const f = await ws.readFrame(`expected frame ${i}`);
			assert.equal(f.opcode, op, `frame ${i}: opcode`);
			assert.equal(f.fin, 1, `frame ${i}: FIN`);
			assert.equal(f.rsv, 0, `frame ${i}: RSV`);
			assert.equal(f.masked, false, `frame ${i}: server frames are not masked`);
			assert.ok(f.payload.equals(payload),
			    `frame ${i}: payload (${f.payload.length} bytes, want ${payload.length})`);
		}
		let want = c.close;
		if (want === undefined) {
			await ws.write(frame(OP.CLOSE, code(1000, utf8('done'))));
			want = 1000;
		}
		const f = await ws.readFrame('the close frame');
		assert.equal(f.opcode, OP.CLOSE, `a close frame, not opcode ${f.opcode}` +
		    (f.opcode === OP.CLOSE ? '' : ` with ${f.payload.length} bytes`));
		assert.ok(f.payload.length >= 2, 'the close frame carries a code');
		assert.equal(f.payload.readUInt16BE(0), want, 'close code');
		assert.ok(f.payload.length === 2 || Buffer.from(f.payload.subarray(2).toString('utf8')).equals(f.payload.subarray(2)),
		    'the close reason is valid UTF-8');
		await ws.ends();
	} finally {
		ws.destroy();
	}
}

describe('WebSocket conformance (echo path)', { timeout: 300000 }, () => {
	let server;

	before(async () => {
		if (!existsSync(HARNESS))
			throw new Error(`${HARNESS} is missing`);
		const { startSwitchboard } = await import(HARNESS);
		server = await startSwitchboard({ config: { ws_echo: 'yes', ws_max_message: String(MAX) } });
	});

	after(async () => {
		if (server) await server.stop();
	});

	it('has at least 60 cases', () => {
		assert.ok(cases.length >= 60, `${cases.length} cases`);
	});

	for (const c of cases)
		it(`${c.id} ${c.title}`, () => runCase(server, c));
});
