/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: a whole handler session without its epoll wait: the mode
 * machine, the chat session, the HTTP answers, the hub link, the client's
 * output queue and every parser (handler/modes.c, chat.c, serve.c,
 * hublink.c, client_io.c), driven through the loop's own handlers
 * (loop.c: loop_client_bytes, loop_hub_input, loop_tick,
 * loop_client_eof): client bytes in reads, hub messages, time passing,
 * the client or the hub going away.
 *
 * The hub is the other end of a real SOCK_SEQPACKET socketpair: its
 * messages are sent there and received by the hub link; what the client
 * reads is taken from the output queue after a step, unless the step
 * says the client is not reading (its window is full).  As in the loop,
 * once the connection is closing and its queue is flushed, the write
 * side is shut and nothing more is queued.  Input: byte 0 sets options
 * (echo path, small limits); then records [kind][u16 length][bytes]:
 * client bytes, a hub message (type byte and NUL-separated fields,
 * encoded as the hub would; for C_BATCH, each field a room message's
 * text), time passing, client EOF, the hub closing
 * its end; bit 3 of kind: the client does not read this turn.
 * Properties:
 *   - every datagram the handler sends decodes, and is a handler type;
 *   - what an XMLSocket client reads is NUL- or LF-terminated messages,
 *     each one well-formed XML element (policy files apart);
 *   - after a 101, what a WebSocket client reads is well-formed unmasked
 *     frames; on /chat each text frame is one JSON object;
 *   - an HTTP response's Content-Length is the length of its body;
 *   - no crash, leak or undefined behaviour (the sanitizers).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_dialect.h"
#include "handler.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What the client has seen so far, to check the next bytes in context. */
struct client {
	int	 upgraded;	/* the 101 head has been read */
	int	 http_done;	/* an HTTP response has been checked */
	int	 policy;	/* the policy file was asked for */
	int	 closed;	/* a WebSocket close frame was read */
};

static void
check_http(const unsigned char *b, size_t n, int head_only)
{
	const char *end = memmem(b, n, "\r\n\r\n", 4), *cl;
	size_t hl;

	FUZZ_CHECK(n >= 12 && memcmp(b, "HTTP/1.1 ", 9) == 0);
	FUZZ_CHECK(end != NULL);
	hl = (size_t)(end - (const char *)b) + 4;
	cl = memmem(b, hl, "Content-Length: ", 16);
	if (cl != NULL && !head_only)
		FUZZ_CHECK(strtoul(cl + 16, NULL, 10) == n - hl);
}

static void
check_frames(const struct conn *c, struct client *k, const unsigned char *b,
    size_t n)
{
	size_t off = 0;

	while (off < n) {
		struct ws_frame f;
		int h = ws_frame_decode(&f, b + off, n - off);

		FUZZ_CHECK(!k->closed);		/* nothing after a close */
		FUZZ_CHECK(h >= 2 && !f.masked && f.rsv == 0 && f.fin);
		if (f.opcode == WS_OP_CLOSE)
			k->closed = 1;
		FUZZ_CHECK(f.len <= n - off - (size_t)h);
		if (f.opcode == WS_OP_TEXT && c->modes.ws_kind == WSK_CHAT)
			fuzz_client_message(DIALECT_JSON,
			    (const char *)b + off + h, (size_t)f.len);
		if (f.opcode == WS_OP_BINARY && c->modes.ws_kind == WSK_TUNNEL &&
		    f.len > 0) {
			FUZZ_CHECK(b[off + h + f.len - 1] == '\0');
			(void)fuzz_xml_one((const char *)b + off + h,
			    (size_t)f.len - 1);
		}
		off += (size_t)h + (size_t)f.len;
	}
}

/* Check what the client would read now, then let it read it. */
static void
client_reads(struct conn *c, struct client *k)
{
	const unsigned char *b;
	size_t n = c->io.out.len, off = 0;

	if (n == 0)
		return;
	b = buf_head(&c->io.out);
	if (c->modes.ws_active && !k->upgraded) {
		const unsigned char *e = memmem(b, n, "\r\n\r\n", 4);

		FUZZ_CHECK(e != NULL && memcmp(b, "HTTP/1.1 101 ", 13) == 0);
		k->upgraded = 1;
		off = (size_t)(e - b) + 4;
	}
	if (k->upgraded)
		check_frames(c, k, b + off, n - off);
	else if (n >= 5 && memcmp(b, "HTTP/", 5) == 0 && !k->http_done) {
		check_http(b, n, c->modes.http.head_only);
		k->http_done = 1;
	} else if (c->chat.dialect_set && !k->policy) {
		/* XMLSocket: whole messages, each one element. */
		while (off < n) {
			size_t m = off;

			while (m < n && b[m] != '\0' && b[m] != '\n')
				m++;
			FUZZ_CHECK(m < n);
			if (m > off)
				(void)fuzz_xml_one((const char *)b + off, m - off);
			off = m + 1;
		}
	} else if (!k->http_done && n > 0 && b[0] == '<')
		k->policy = 1;
	buf_reset(&c->io.out);
}

/* Everything the handler sent the hub must decode, as a handler type. */
static void
hub_reads(int fd)
{
	static unsigned char d[SB_MSG_MAX + 1];
	struct sb_msg m;
	ssize_t n;

	while ((n = recv(fd, d, sizeof(d), MSG_DONTWAIT)) > 0) {
		FUZZ_CHECK((size_t)n <= SB_MSG_MAX);
		FUZZ_CHECK(sb_msg_decode(&m, d, (size_t)n) == 0);
		FUZZ_CHECK(m.type >= SB_H_HELLO && m.type < SB_C_CONFIG);
	}
}

/*
 * A C_BATCH from the hub: each of the `nf` fields the text of a room
 * message, numbered on from 1 (the first field's first byte: a gap).
 */
static void
hub_says_batch(struct conn *c, int fd, const char *const *f, size_t nf)
{
	static unsigned char b[SB_MSG_MAX];
	static struct sb_packet pkt;
	size_t bl = 0, i;
	uint64_t seq = nf > 0 ? (unsigned char)f[0][0] % 3 : 0;

	for (i = 0; i < nf; i++) {
		if (sb_msg_pack(&pkt, SB_C_MSG, c->hub.session, "room", "x",
		    "", "lobby", f[i], "0", "", NULL) < 0)
			continue;
		sb_packet_stamp(&pkt, 1, ++seq);
		if (sb_batch_add(b, &bl, pkt.buf, pkt.len) < 0)
			break;
	}
	if (bl > 0 && send(fd, b, bl, MSG_DONTWAIT) >= 0)
		loop_hub_input(c);
}

/*
 * A message from the hub, encoded as the hub encodes it, sent on the
 * hub's end of the socket (`fd`) and taken in as the loop would.
 */
static void
hub_says(struct conn *c, int fd, const unsigned char *p, size_t n)
{
	static struct sb_packet pkt;
	const unsigned ntypes = SB_C_BATCH - SB_C_CONFIG + 1;
	enum sb_type type;
	const char *f[SB_FIELDS_MAX];
	char *pl;
	size_t nf = 0, off = 0;

	if (n == 0)
		return;
	type = (enum sb_type)(SB_C_CONFIG + p[0] % ntypes);
	p++;
	n--;
	if ((pl = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(pl, p, n);
	pl[n] = '\0';
	while (n > 0 && off <= n && nf < SB_FIELDS_MAX) {
		f[nf++] = pl + off;
		off += strlen(pl + off) + 1;
	}
	if (type == SB_C_BATCH)
		hub_says_batch(c, fd, f, nf);
	else if (sb_msg_encode(&pkt, type, c->hub.session, 1, 1, f, nf) ==
	    0 && send(fd, pkt.buf, pkt.len, MSG_DONTWAIT) >= 0)
		loop_hub_input(c);
	free(pl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned opt = fuzz_byte(&in);
	struct conn c = { .io = { .in_fd = -1, .out_fd = -1 } };
	struct client k = { 0 };
	uint64_t now;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) < 0)
		abort();
	config_defaults(&c.cfg);
	c.cfg.ws_echo = opt & 1;
	if (opt & 2)
		c.cfg.xmlsocket_max = 64;
	if (opt & 4)
		c.cfg.ws_max_message = 200;
	/* As main.c, with the hub connected already. */
	hublink_init(&c, "/nonexistent/switchboard-fuzz/hub.sock");
	c.hub.fd = sv[0];
	client_io_init(&c, -1, -1, 0);
	snprintf(c.remote, sizeof(c.remote), "127.0.0.1:4242");
	c.loop.clock_ms = now = now_ms();
	modes_start(&c, now);
	chat_init(&c, now);

	while (in.n > 0 && !(c.io.closing && c.io.out.len == 0 && in.n < 3)) {
		unsigned kind = fuzz_byte(&in);
		size_t len = fuzz_u16(&in);

		if (len > in.n)
			len = in.n;
		switch (kind % 8) {
		case 0: case 1: case 2:	/* as the loop's client_readable() */
			c.loop.clock_ms = now_ms();
			loop_client_bytes(&c, in.p, len);
			break;
		case 3: case 4:
			if (c.hub.fd == sv[0])
				hub_says(&c, sv[1], in.p, len);
			break;
		case 5:
			now += (uint64_t)(len % 4096) * 100;
			loop_tick(&c, now);
			break;
		case 6:
			if (!c.io.eof) {	/* as client_io_read() */
				c.io.eof = 1;
				loop_client_eof(&c);
			}
			break;
		case 7:
			if (c.hub.fd == sv[0] && (len & 1)) {
				shutdown(sv[1], SHUT_RDWR);
				loop_hub_input(&c);
			}
			break;
		}
		in.p += len;
		in.n -= len;
		if (c.hub.fd == sv[0])
			hub_reads(sv[1]);
		if (!(kind & 8))
			client_reads(&c, &k);
		/* client_io_done(): flushed, the write side is shut. */
		if (c.io.closing && c.io.out.len == 0)
			c.io.write_shut = 1;
	}
	client_reads(&c, &k);
	if (c.hub.fd == sv[0])
		hub_reads(sv[1]);
	loop_free(&c);		/* closes sv[0] unless the hub was lost */
	close(sv[1]);
	return 0;
}
