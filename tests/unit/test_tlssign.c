/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/tlssign.c: what the key holder agrees to sign
 * for a handshake (tls_sign_check), and the hex the request travels in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "../../common/tlssign.h"

/* The DER prefix of a SHA-256 DigestInfo. */
static const unsigned char di256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
    0x20 };

static void
test_hashes(void **state)
{
	unsigned char h[64] = { 0 };

	(void)state;
	assert_null(tls_sign_check(13, TLS_SIG_ECDSA_P256_SHA256,
	    TLS_SIGN_DIGEST, h, 32));
	assert_null(tls_sign_check(12, TLS_SIG_RSA_PSS_RSAE_SHA256,
	    TLS_SIGN_DIGEST, h, 32));
	assert_null(tls_sign_check(13, TLS_SIG_RSA_PSS_RSAE_SHA384,
	    TLS_SIGN_DIGEST, h, 48));
	/* Not the scheme's length. */
	assert_non_null(tls_sign_check(13, TLS_SIG_ECDSA_P256_SHA256,
	    TLS_SIGN_DIGEST, h, 31));
	assert_non_null(tls_sign_check(13, TLS_SIG_ECDSA_P256_SHA256,
	    TLS_SIGN_DIGEST, h, 48));
	assert_non_null(tls_sign_check(13, TLS_SIG_ECDSA_P256_SHA256,
	    TLS_SIGN_DIGEST, h, 0));
	/* Neither TLS 1.2 nor 1.3; a scheme the hub does not sign. */
	assert_non_null(tls_sign_check(11, TLS_SIG_ECDSA_P256_SHA256,
	    TLS_SIGN_DIGEST, h, 32));
	assert_non_null(tls_sign_check(13, 0x0807, TLS_SIGN_DIGEST, h, 32));
	assert_non_null(tls_sign_check(13, TLS_SIG_ECDSA_P256_SHA256,
	    TLS_SIGN_BAD, h, 32));
}

static void
test_pkcs1(void **state)
{
	unsigned char d[19 + 32];

	(void)state;
	memcpy(d, di256, sizeof(di256));
	memset(d + 19, 7, 32);
	assert_null(tls_sign_check(12, TLS_SIG_RSA_PKCS1_SHA256,
	    TLS_SIGN_DIGESTINFO, d, sizeof(d)));
	/* Never in TLS 1.3 (RFC 8446, 4.4.3). */
	assert_non_null(tls_sign_check(13, TLS_SIG_RSA_PKCS1_SHA256,
	    TLS_SIGN_DIGESTINFO, d, sizeof(d)));
	/* A bare hash for PKCS #1: that would be a raw RSA operation. */
	assert_non_null(tls_sign_check(12, TLS_SIG_RSA_PKCS1_SHA256,
	    TLS_SIGN_DIGEST, d + 19, 32));
	/* The wrong OID, the wrong length, a DigestInfo for PSS. */
	d[14] = 0x02;
	assert_non_null(tls_sign_check(12, TLS_SIG_RSA_PKCS1_SHA256,
	    TLS_SIGN_DIGESTINFO, d, sizeof(d)));
	d[14] = 0x01;
	assert_non_null(tls_sign_check(12, TLS_SIG_RSA_PKCS1_SHA256,
	    TLS_SIGN_DIGESTINFO, d, sizeof(d) - 1));
	assert_non_null(tls_sign_check(12, TLS_SIG_RSA_PSS_RSAE_SHA256,
	    TLS_SIGN_DIGESTINFO, d, sizeof(d)));
}

static void
test_hex(void **state)
{
	const unsigned char b[] = { 0x00, 0x9f, 0xff, 0x10 };
	unsigned char out[8];
	char hex[16];

	(void)state;
	assert_int_equal(tls_hex_encode(hex, sizeof(hex), b, 4), 8);
	assert_string_equal(hex, "009fff10");
	assert_int_equal(tls_hex_encode(hex, 8, b, 4), 0);
	assert_int_equal(tls_hex_decode(out, sizeof(out), hex), 4);
	assert_memory_equal(out, b, 4);
	assert_int_equal(tls_hex_decode(out, sizeof(out), "0"), -1);
	assert_int_equal(tls_hex_decode(out, sizeof(out), "0G"), -1);
	assert_int_equal(tls_hex_decode(out, sizeof(out), "AB"), -1);
	assert_int_equal(tls_hex_decode(out, 1, "abcd"), -1);
	assert_int_equal(tls_hex_decode(out, 1, ""), 0);
	assert_int_equal(tls_sign_kind_parse("digest"), TLS_SIGN_DIGEST);
	assert_int_equal(tls_sign_kind_parse("digestinfo"),
	    TLS_SIGN_DIGESTINFO);
	assert_int_equal(tls_sign_kind_parse("raw"), TLS_SIGN_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_pkcs1),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
