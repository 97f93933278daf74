/* SPDX-License-Identifier: ISC */
/*
 * The server side of the WebSocket opening handshake (RFC 6455 section
 * 4.2): check a parsed upgrade request, compute Sec-WebSocket-Accept, and
 * write the whole response, 101 or an error, into the caller's buffer.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sha1.h>

#include "ws.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_BYTES	16	/* a client key decodes to this many bytes */
#define WS_KEY_CHARS	24	/* ... and so has this many base64 chars */
#define WS_ACCEPT_CHARS	28	/* base64 of a SHA-1 digest */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode in[0..len) as padded base64 into out, NUL-terminated. */
static void
b64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*out++ = b64_alphabet[in[i] >> 2];
		*out++ = b64_alphabet[(in[i] & 0x03) << 4 | in[i + 1] >> 4];
		*out++ = b64_alphabet[(in[i + 1] & 0x0f) << 2 | in[i + 2] >> 6];
		*out++ = b64_alphabet[in[i + 2] & 0x3f];
	}
	if (i < len) {
		*out++ = b64_alphabet[in[i] >> 2];
		if (i + 1 < len) {
			*out++ = b64_alphabet[(in[i] & 0x03) << 4 | in[i + 1] >> 4];
			*out++ = b64_alphabet[(in[i + 1] & 0x0f) << 2];
		} else {
			*out++ = b64_alphabet[(in[i] & 0x03) << 4];
			*out++ = '=';
		}
		*out++ = '=';
	}
	*out = '\0';
}

/*
 * Is key the canonical base64 encoding of exactly WS_KEY_BYTES bytes?
 * That is 21 full characters, one whose low 4 bits are unused (so must
 * be zero), and "==".
 */
static int
ws_key_valid(const char *key, size_t len)
{
	const char *p;
	size_t i;

	if (len != WS_KEY_CHARS || key[22] != '=' || key[23] != '=')
		return 0;
	for (i = 0; i < 22; i++) {
		if (key[i] == '\0' ||
		    (p = strchr(b64_alphabet, key[i])) == NULL)
			return 0;
	}
	return ((p - b64_alphabet) & 0x0f) == 0;
}

/*
 * Sec-WebSocket-Accept for a client key: base64(SHA-1(key + GUID)).
 * Returns 0, or -1 when the key is not base64 for 16 bytes (RFC 6455
 * section 4.1: such a request is not a valid handshake).
 */
int
ws_accept_key(const char *key, size_t keylen, char out[29])
{
	SHA1_CTX ctx;
	uint8_t digest[SHA1_DIGEST_LENGTH];

	assert(key != NULL);
	assert(out != NULL);

	if (!ws_key_valid(key, keylen))
		return -1;
	SHA1Init(&ctx);
	SHA1Update(&ctx, (const uint8_t *)key, keylen);
	SHA1Update(&ctx, (const uint8_t *)WS_GUID, sizeof(WS_GUID) - 1);
	SHA1Final(digest, &ctx);
	b64_encode(digest, sizeof(digest), out);
	return 0;
}

int
ws_is_upgrade(const struct http_request *req)
{
	assert(req != NULL);

	return http_header_has_token(http_header_find(req, "Upgrade"),
	    "websocket");
}

/* How many headers are named `name`? */
static size_t
ws_header_count(const struct http_request *req, const char *name)
{
	size_t i, n = 0, len = strlen(name);

	for (i = 0; i < req->nheaders; i++)
		if (req->headers[i].name_len == len &&
		    strncasecmp(req->headers[i].name, name, len) == 0)
			n++;
	return n;
}

/*
 * Is the request's Origin in the space-separated allow-list?  Entries
 * are serialized origins, scheme://host[:port], compared whole and
 * without regard to case.  A request without Origin is not allowed.
 */
static int
ws_origin_allowed(const struct http_request *req, const char *list)
{
	const struct http_header *o = http_header_find(req, "Origin");
	const char *p = list;
	size_t n;

	if (o == NULL)
		return 0;
	while (*p != '\0') {
		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (n > 0 && n == o->value_len &&
		    strncasecmp(p, o->value, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/*
 * Write a complete error response for status into out.  Returns status,
 * or -1 when out is too small.
 */
static int
ws_error(int status, char *out, size_t outsz)
{
	const char *reason;
	int n;

	switch (status) {
	case 400:
		reason = "Bad Request";
		break;
	case 403:
		reason = "Forbidden";
		break;
	default:
		assert(status == 426);
		reason = "Upgrade Required";
		break;
	}
	n = snprintf(out, outsz,
	    "HTTP/1.1 %d %s\r\n"
	    "Connection: close\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "\r\n"
	    "%s\n",
	    status, reason, strlen(reason) + 1,
	    status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "", reason);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return status;
}

/*
 * Check an upgrade request in the order of RFC 6455 section 4.2.1 and
 * write the response.  Returns 101, 400, 403 or 426 (see ws.h), or -1
 * when out is too small for the response.
 */
int
ws_handshake(const struct http_request *req,
    const struct ws_handshake_policy *policy, char *out, size_t outsz)
{
	const struct http_header *key, *version;
	char accept[WS_ACCEPT_CHARS + 1];
	int n;

	assert(req != NULL);
	assert(policy != NULL);
	assert(out != NULL);

	if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0 ||
	    req->minor != 1 ||
	    http_header_find(req, "Host") == NULL ||
	    !ws_is_upgrade(req) ||
	    !http_header_has_token(http_header_find(req, "Connection"),
	    "upgrade"))
		return ws_error(400, out, outsz);

	version = http_header_find(req, "Sec-WebSocket-Version");
	if (version == NULL || ws_header_count(req, "Sec-WebSocket-Version") != 1 ||
	    version->value_len != 2 || memcmp(version->value, "13", 2) != 0)
		return ws_error(426, out, outsz);

	key = http_header_find(req, "Sec-WebSocket-Key");
	if (key == NULL || ws_header_count(req, "Sec-WebSocket-Key") != 1 ||
	    ws_accept_key(key->value, key->value_len, accept) < 0)
		return ws_error(400, out, outsz);

	if (policy->origins != NULL && policy->origins[0] != '\0' &&
	    !ws_origin_allowed(req, policy->origins))
		return ws_error(403, out, outsz);

	n = snprintf(out, outsz,
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "\r\n", accept);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return 101;
}
