/* SPDX-License-Identifier: ISC */
/*
 * The check before a TLS handshake signature, and the hex the signing
 * request travels in (see tlssign.h).
 */
#include <string.h>

#include "tlssign.h"

static const char *const kind_names[] = {
	[TLS_SIGN_DIGEST] = "digest",
	[TLS_SIGN_DIGESTINFO] = "digestinfo",
};

/* The kind named `s`, or TLS_SIGN_BAD. */
enum tls_sign_kind
tls_sign_kind_parse(const char *s)
{
	if (strcmp(s, "digest") == 0)
		return TLS_SIGN_DIGEST;
	if (strcmp(s, "digestinfo") == 0)
		return TLS_SIGN_DIGESTINFO;
	return TLS_SIGN_BAD;
}

const char *
tls_sign_kind_name(enum tls_sign_kind k)
{
	return k == TLS_SIGN_DIGEST || k == TLS_SIGN_DIGESTINFO ?
	    kind_names[k] : "bad";
}

/* The hash length of a SignatureScheme, 0 if not one the hub signs. */
size_t
tls_sign_hash_len(unsigned scheme)
{
	switch (scheme) {
	case TLS_SIG_ECDSA_P256_SHA256:
	case TLS_SIG_RSA_PSS_RSAE_SHA256:
	case TLS_SIG_RSA_PKCS1_SHA256:
		return 32;
	case TLS_SIG_ECDSA_P384_SHA384:
	case TLS_SIG_RSA_PSS_RSAE_SHA384:
	case TLS_SIG_RSA_PKCS1_SHA384:
		return 48;
	}
	return 0;
}

/*
 * Whether the key holder should sign `p` (len bytes) for a handshake of
 * TLS `version` (12 or 13) under `scheme`: the scheme is one TLS allows
 * at that version (no PKCS #1 v1.5 in 1.3, RFC 8446 4.4.3), and the bytes
 * are what TLS signs with it: a hash of exactly the scheme's length, or
 * (PKCS #1, 1.2 only) the DER DigestInfo of exactly that hash.  A raw
 * RSA block is never signed: nothing in it can be checked.  Returns NULL
 * if so, else the reason.
 */
const char *
tls_sign_check(unsigned version, unsigned scheme, enum tls_sign_kind kind,
    const unsigned char *p, size_t len)
{
	static const unsigned char di256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06,
	    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
	    0x00, 0x04, 0x20 };
	static const unsigned char di384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06,
	    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
	    0x00, 0x04, 0x30 };
	size_t hl = tls_sign_hash_len(scheme);
	int pkcs1 = (scheme & 0xff) == 0x01;

	if (version != 12 && version != 13)
		return "not TLS 1.2 or 1.3";
	if (hl == 0 || (pkcs1 && version == 13))
		return "a scheme not allowed at this version";
	switch (kind) {
	case TLS_SIGN_DIGEST:
		return len == hl && !pkcs1 ? NULL :
		    "not a hash of the scheme's length";
	case TLS_SIGN_DIGESTINFO:
		if (!pkcs1)
			return "a DigestInfo for a scheme without one";
		if (len != sizeof(di256) + hl ||
		    memcmp(p, hl == 32 ? di256 : di384, sizeof(di256)) != 0)
			return "a DigestInfo not of the scheme's hash";
		return NULL;
	case TLS_SIGN_BAD:
		break;
	}
	return "a kind that is not signed";
}

/*
 * `n` bytes at `p` as lower-case hex into `out` (room for `size`, the NUL
 * included).  Returns the length written, or 0 when it does not fit.
 */
size_t
tls_hex_encode(char *out, size_t size, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (size < 2 * n + 1)
		return 0;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return 2 * n;
}

static int
hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/*
 * Lower-case hex `s` into `out` (room for `size` bytes).  Returns the
 * number of bytes, or -1 for an odd length, a character that is not a
 * lower-case hex digit, or more than `size` bytes.
 */
int
tls_hex_decode(unsigned char *out, size_t size, const char *s)
{
	size_t len = strlen(s), i;

	if (len % 2 != 0 || len / 2 > size)
		return -1;
	for (i = 0; i < len / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (int)(len / 2);
}
