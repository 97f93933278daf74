/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the glue between TLS and the handler's session
 * (handler/tls.c under client_io.c, driven through the loop's own
 * handlers as in fuzz_session.c): a --tls handler's client sends the
 * fuzzer's bytes, as one stream, then closes.
 *
 * The hub is the other end of a real SOCK_SEQPACKET socketpair, with its
 * answers queued before they are asked for: the certificate chain
 * (C_TLS_CHAIN; an ECDSA or an RSA certificate, by bit 0 of byte 0) and
 * a signature (C_TLS_SIGNATURE, the next 64 bytes, or a refusal when
 * bit 1 is set).  The client's end is a stream socketpair; whatever the
 * handler writes there is read and dropped.
 *
 * Properties:
 *   - the handshake never completes: a client Finished cannot be forged,
 *     so no byte of the fuzzer's reaches the mode machine as plaintext;
 *   - a refused connection says why (io.refused) and is closing;
 *   - every datagram the handler sends the hub decodes, and is
 *     H_TLS_START, H_TLS_SIGN (at most one), H_HELLO or H_EVENT;
 *   - no crash, leak or undefined behaviour (the sanitizers).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "handler.h"
#include "tlssign.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CLIENT_MAX	(48 * 1024)	/* bytes the client sends, at most */

static const char ec_chain[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdTCCARugAwIBAgIUHNFQamxLZAewSrt9akzdRhggODEwCgYIKoZIzj0EAwIw\n"
    "DzENMAsGA1UEAwwEZnV6ejAgFw0yNjEyMDIxMDUzNDFaGA8yMTI2MTEwODEwNTM0\n"
    "MVowDzENMAsGA1UEAwwEZnV6ejBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABC/U\n"
    "b+OHSWbcNTaAuHQ1dqlv0lam5CvuDR8cjtzWXei/TKS1s6MEDXERE+OcrFJ79M6X\n"
    "M8aIv2TOqUmVUh1Bt5yjUzBRMB0GA1UdDgQWBBQoaWa8d3kVwh+FZq4hYmvSUHvW\n"
    "YjAfBgNVHSMEGDAWgBQoaWa8d3kVwh+FZq4hYmvSUHvWYjAPBgNVHRMBAf8EBTAD\n"
    "AQH/MAoGCCqGSM49BAMCA0gAMEUCICQCiWRNiEI00oRbfWnOWTJRtSIX86pJnWdA\n"
    "TvOgAJsaAiEA746Q7kHN1bL+2I8bAg2kqeC1ppR61407UhravZaX7WA=\n"
    "-----END CERTIFICATE-----\n"
    ;
static const char rsa_chain[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDATCCAemgAwIBAgIUTYl+7bxCF7sAcxC8bm9qc1xz7UowDQYJKoZIhvcNAQEL\n"
    "BQAwDzENMAsGA1UEAwwEZnV6ejAgFw0yNjEyMDIxMDUzNDFaGA8yMTI2MTEwODEw\n"
    "NTM0MVowDzENMAsGA1UEAwwEZnV6ejCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC\n"
    "AQoCggEBAMd1pnHrFM73v6PoCqmQMEDOEM5pg0fBTkomM1lmBf9ia6gNbypggqzq\n"
    "UPSmYQlcgQ5EoxCoLYg3VFo6MWC+AG2huYuihaDHX91YblQlEfwzZlp/ZYz3fGi/\n"
    "W3ljnZ2AkGm5tAgY0bc9q1z5Vr0wpav6lz/OTIZeFe/ryD/pq2HN9a2F17xaJoqf\n"
    "9VCgHfl1Rb+qG6sUlh8R055pBSwaF21SLxyI2Z0c+TQqJsiRbOy3aZc2Tw2S429x\n"
    "aH3R0XjAzU5DiHfiDQTWNCumh0iTb2xj5zDEFbMlBUBWY2jkO3n9508ogsENk0oK\n"
    "kqBbOHKMPiumaLlXdff7Nk305EQRJUkCAwEAAaNTMFEwHQYDVR0OBBYEFPZuuMn1\n"
    "7OUCRCgQnq1H9BXCRJx+MB8GA1UdIwQYMBaAFPZuuMn17OUCRCgQnq1H9BXCRJx+\n"
    "MA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEBAG1oYPd8O208wm7D\n"
    "5SVfGPvTojCQjjihLTLwmHW9gWFKw1DxtTf70ad81K46QFX9WXIjJ+ky2TyZb5W+\n"
    "9E3cLADnRGO0KEnk4gfV4i3TFneFbRtjSgxNbDjPlzDkN5IPY4QosN+vLK0WHgQo\n"
    "9I6tTUiXGzlV3i6hkG+WhiOa9mkKkvpXb5UA0D7XLchMNDDFUSVcpDZBzusEHdY/\n"
    "pXLD7a8ZoPn2JMncAAaoRfscnOWbyfRSIu4KBffct+Vl1x6lr8Qbs8spzdKQU4GQ\n"
    "EUUkoycJV4zOuQZq5HXk/tM3qlR2WnwKBHJFnA9l1ezCTUUuBJmjxa6c10UDKCax\n"
    "gwT0iU0=\n"
    "-----END CERTIFICATE-----\n"
    ;

/* Queue the hub's message of `type` with the one field `v`. */
static void
hub_says(int fd, enum sb_type type, const char *v)
{
	static struct sb_packet p;

	FUZZ_CHECK(sb_msg_pack(&p, type, 0, v, NULL) == 0);
	FUZZ_CHECK(send(fd, p.buf, p.len, 0) == (ssize_t)p.len);
}

/* Read and check what the handler sent the hub. */
static void
hub_reads(int fd)
{
	static unsigned char b[SB_MSG_MAX];
	struct sb_msg m;
	unsigned signs = 0;
	ssize_t n;

	while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0) {
		FUZZ_CHECK(sb_msg_decode(&m, b, (size_t)n) == 0);
		FUZZ_CHECK(m.type == SB_H_TLS_START || m.type == SB_H_TLS_SIGN ||
		    m.type == SB_H_HELLO || m.type == SB_H_EVENT);
		if (m.type == SB_H_TLS_SIGN)
			FUZZ_CHECK(++signs == 1);
	}
}

/* The hub's answers, queued: the chain, then a signature (or not). */
static void
hub_prepare(int fd, unsigned opts, const uint8_t **data, size_t *size)
{
	char hex[2 * 64 + 1];
	size_t n = *size < 64 ? *size : 64;

	hub_says(fd, SB_C_TLS_CHAIN, opts & 1 ? rsa_chain : ec_chain);
	if (opts & 2 || n == 0)
		hex[0] = '\0';
	else
		tls_hex_encode(hex, sizeof(hex), *data, n);
	hub_says(fd, SB_C_TLS_SIGNATURE, hex);
	*data += n;
	*size -= n;
}

/* Turns of the loop, as loop.c takes them, without epoll. */
static void
run(struct conn *c, int peer)
{
	static unsigned char sink[65536];
	unsigned char *p;
	ssize_t n;
	int i;

	for (i = 0; i < 256 && !c->io.eof; i++) {
		n = client_io_read(c, &p);
		if (n == -EPROTO) {
			FUZZ_CHECK(c->io.refused != NULL);
			loop_client_refused(c);
			FUZZ_CHECK(client_io_closing(c));
		} else if (n < 0)
			loop_client_eof(c);
		else if (n > 0)
			loop_client_bytes(c, p, (size_t)n);
		if (client_io_flush(c) == -EPROTO)
			loop_client_refused(c);
		while (read(peer, sink, sizeof(sink)) > 0)
			;
		FUZZ_CHECK(!c->tls.ready);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conn c;
	int cl[2], hub[2];
	unsigned opts;

	if (size < 1)
		return 0;
	opts = data[0];
	data++, size--;
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, cl) == 0);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, hub) == 0);
	memset(&c, 0, sizeof(c));
	config_defaults(&c.cfg);
	hublink_init(&c, "fuzz");
	c.hub.fd = hub[0];
	client_io_init(&c, cl[0], cl[0], 0);
	hub_prepare(hub[1], opts, &data, &size);
	if (client_io_tls(&c, now_ms()) == 0) {
		if (size > CLIENT_MAX)
			size = CLIENT_MAX;
		/* The socket buffer takes what it takes; the rest is cut. */
		(void)write(cl[1], data, size);
		shutdown(cl[1], SHUT_WR);
		run(&c, cl[1]);
	}
	hub_reads(hub[1]);
	loop_free(&c);
	close(cl[0]);
	close(cl[1]);
	close(hub[0]);
	close(hub[1]);
	return 0;
}
