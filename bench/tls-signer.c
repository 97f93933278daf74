/* SPDX-License-Identifier: ISC */
/*
 * tls-signer: the prototype of the process that holds the TLS private
 * keys (process A of issue 19) and signs for TLS servers that hold none
 * (process B, bench/tls-srv-gnutls.c).  It listens on a Unix
 * SOCK_SEQPACKET socket and answers the request of bench/tls-sign.h:
 *
 *  - only requests that tls_sign_check() finds shaped like what a TLS
 *    server signs in a handshake, with the scheme's key (EC or RSA);
 *  - at most one signature per connection, and per peer process
 *    (SO_PEERCRED): a B that connects again gets nothing more.  The
 *    handler of issue 19 would be known by its systemd unit instance
 *    instead, which it cannot mint (docs/tls.md).
 *
 * Every request is logged on stdout, one line: what was asked, whether
 * it was signed, and how long signing took.  Signs with GnuTLS, the library chosen.
 *
 *   tls-signer [-n MAXCONN] [-t SECONDS] SOCKET EC.key RSA.key
 *
 * Stops after MAXCONN connections (100) or SECONDS (60), whichever is
 * first.  Exit 0, 1 on a failure to start, 2 on a usage error.
 */
#define _GNU_SOURCE
#include "tls-sign.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXPEERS	4096

static gnutls_privkey_t key_ec, key_rsa;
static pid_t signed_for[MAXPEERS];	/* peers that got their signature */
static size_t nsigned;

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "tls-signer: %s: %s\n", what, why);
	exit(1);
}

static gnutls_privkey_t
load_key(const char *path)
{
	gnutls_datum_t pem;
	gnutls_privkey_t k;
	int r;

	if ((r = gnutls_load_file(path, &pem)) < 0 ||
	    (r = gnutls_privkey_init(&k)) < 0 ||
	    (r = gnutls_privkey_import_x509_raw(k, &pem, GNUTLS_X509_FMT_PEM,
	    NULL, 0)) < 0)
		die(path, gnutls_strerror(r));
	gnutls_free(pem.data);
	return k;
}

/* GnuTLS's name for a TLS SignatureScheme we sign. */
static gnutls_sign_algorithm_t
gnutls_algo(unsigned scheme)
{
	switch (scheme) {
	case TLS_SIG_ECDSA_P256_SHA256: return GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
	case TLS_SIG_ECDSA_P384_SHA384: return GNUTLS_SIGN_ECDSA_SECP384R1_SHA384;
	case TLS_SIG_RSA_PSS_RSAE_SHA256: return GNUTLS_SIGN_RSA_PSS_RSAE_SHA256;
	case TLS_SIG_RSA_PSS_RSAE_SHA384: return GNUTLS_SIGN_RSA_PSS_RSAE_SHA384;
	case TLS_SIG_RSA_PKCS1_SHA256: return GNUTLS_SIGN_RSA_SHA256;
	case TLS_SIG_RSA_PKCS1_SHA384: return GNUTLS_SIGN_RSA_SHA384;
	}
	return GNUTLS_SIGN_UNKNOWN;
}

/*
 * Sign the checked request rq, payload p, into *sig (gnutls_malloc'd).
 * Returns NULL, or why not.
 */
static const char *
sign(const struct tls_sign_req *rq, const unsigned char *p,
    gnutls_datum_t *sig)
{
	gnutls_privkey_t k = (rq->scheme & 0xff) == 0x03 ? key_ec : key_rsa;
	gnutls_datum_t in = { (unsigned char *)(uintptr_t)p, rq->len };
	int r;

	switch (rq->kind) {
	case TLS_SIGN_DIGEST:
		r = gnutls_privkey_sign_hash2(k, gnutls_algo(rq->scheme),
		    GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH, &in, sig);
		break;
	case TLS_SIGN_DIGESTINFO:
		r = gnutls_privkey_sign_hash(k, 0, GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA,
		    &in, sig);
		break;
	case TLS_SIGN_TBS:
		r = gnutls_privkey_sign_data2(k, gnutls_algo(rq->scheme),
		    GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH, &in, sig);
		break;
	default:
		return "kind not signed";
	}
	return r < 0 ? gnutls_strerror(r) : NULL;
}

static const char *const kind_name[] = {
	"?", "digest", "digestinfo", "raw-rsa", "tbs",
};

/*
 * Answer the one request a connection may make, then close it; log it.
 * A signature is sent only if the request is well formed, shaped like a
 * TLS handshake signature, and the peer has had none before.
 */
static void
serve(int fd, int conn)
{
	unsigned char buf[sizeof(struct tls_sign_req) + TLS_SIGN_MAX];
	struct tls_sign_req rq = { 0 };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	gnutls_datum_t sig = { NULL, 0 };
	ssize_t r = recv(fd, buf, sizeof(buf), MSG_TRUNC);
	const char *why = NULL;
	struct timespec t0, t1;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		cred.pid = 0;
	if (r < (ssize_t)sizeof(rq) || (size_t)r > sizeof(buf))
		why = "malformed request";
	else {
		memcpy(&rq, buf, sizeof(rq));
		if (rq.len != (size_t)r - sizeof(rq))
			why = "length does not match";
	}
	for (size_t i = 0; why == NULL && i < nsigned && i < MAXPEERS; i++)
		if (signed_for[i] == cred.pid)
			why = "this process has had its signature";
	if (why == NULL)
		why = tls_sign_check(&rq, buf + sizeof(rq));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (why == NULL && (why = sign(&rq, buf + sizeof(rq), &sig)) == NULL)
		signed_for[nsigned++ % MAXPEERS] = cred.pid;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("signer conn=%d pid=%d version=%u scheme=%04x kind=%s len=%u: %s%s",
	    conn, (int)cred.pid, rq.version, rq.scheme,
	    rq.kind < 5 ? kind_name[rq.kind] : "?", rq.len,
	    why == NULL ? "signed" : "refused: ", why == NULL ? "" : why);
	if (why == NULL)
		printf(" (%ld us)", (t1.tv_sec - t0.tv_sec) * 1000000L +
		    (t1.tv_nsec - t0.tv_nsec) / 1000);
	putchar('\n');
	fflush(stdout);
	send(fd, sig.data, why == NULL ? sig.size : 0, MSG_NOSIGNAL);
	gnutls_free(sig.data);
	close(fd);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int maxconn = 100, seconds = 60, opt, lfd;
	time_t end;

	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		switch (opt) {
		case 'n': maxconn = (int)tls_sign_number(optarg, 1, 100000); break;
		case 't': seconds = (int)tls_sign_number(optarg, 1, 3600); break;
		default: goto usage;
		}
	}
	if (argc - optind != 3 || maxconn < 1 || seconds < 1 ||
	    strlen(argv[optind]) >= sizeof(sa.sun_path))
		goto usage;
	key_ec = load_key(argv[optind + 1]);
	key_rsa = load_key(argv[optind + 2]);
	strcpy(sa.sun_path, argv[optind]);
	unlink(sa.sun_path);
	if ((lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(sa.sun_path, 0666) < 0 || listen(lfd, 64) < 0)
		die(sa.sun_path, strerror(errno));
	end = time(NULL) + seconds;
	for (int conn = 0; conn < maxconn && time(NULL) < end; ) {
		struct pollfd pf = { lfd, POLLIN, 0 };
		int fd;

		if (poll(&pf, 1, 1000) <= 0)
			continue;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		/* One request per connection, at most 1 s to send it. */
		pf.fd = fd;
		if (poll(&pf, 1, 1000) == 1)
			serve(fd, conn);
		else
			close(fd);
		conn++;
	}
	unlink(sa.sun_path);
	return 0;
usage:
	fprintf(stderr, "usage: tls-signer [-n MAXCONN] [-t SECONDS] SOCKET EC.key RSA.key\n");
	return 2;
}
