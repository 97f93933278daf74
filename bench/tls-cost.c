/* SPDX-License-Identifier: ISC */
/*
 * tls-cost: what one TLS handshake costs a process started for one
 * connection, for each TLS library a handler could use.  For every
 * server program given (bench/tls-srv-*.c: TLS on fd 0/1, no private
 * key, a signer on fd 3), N times and in turns: fork + exec it on one end
 * of a socketpair, complete one handshake against an OpenSSL client in
 * this process (which checks the chain against the test CA), sign the
 * one signature the server asks for over fd 3 with the key that this
 * process holds, read PSS once the server's handshake is done, close,
 * and reap.  Every round also times the spawn of a reference program, a
 * record of the machine's speed at that moment (bench/analysis.md: this
 * machine has a fast and a slow phase).
 *
 *   tls-cost -n N -d CERTDIR -r REFPROG [-o RAWFILE] NAME=VER,KEY,PROG...
 *
 * CERTDIR holds ca.pem, ec.pem + ec.key (P-256) and rsa.pem + rsa.key
 * (2048); VER is 12 or 13, KEY ec or rsa; PROG is run as
 * "PROG CHAIN VER".  Prints per configuration the p50 and p95 of the
 * handshake time (fork to the server's first byte), of the server's CPU
 * time and of the whole fork-to-reap time, its minor page faults, its
 * PSS after the handshake, and per-round ratios to the first
 * configuration.  A server that fails,
 * or that does not ask for exactly one signature, stops the run.
 */
#define _GNU_SOURCE
#include "tls-sign.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXCFG	24
#define MAXN	5000

struct cfg {
	const char *name, *prog;
	int version;		/* 12 or 13 */
	int rsa;		/* the RSA certificate, else ECDSA */
	double *hs, *cpu, *total, *ratio, *minflt;	/* per run */
	long pss_kb, pss_anon_kb;	/* the last run's */
	long kinds[TLS_SIGN_TBS + 1];	/* signatures asked, by kind */
};

static EVP_PKEY *key_ec, *key_rsa;
static SSL_CTX *client[2];	/* TLS 1.2, 1.3 */
static char dir[4096];
static int devnull;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
die(const char *what)
{
	fprintf(stderr, "tls-cost: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static EVP_PKEY *
load_key(const char *name)
{
	char path[4200];
	FILE *f;
	EVP_PKEY *k;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		die(path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die(path);
	return k;
}

/* The hash a TLS SignatureScheme signs with, or NULL if not one of ours. */
static const EVP_MD *
scheme_md(unsigned scheme)
{
	switch (scheme) {
	case TLS_SIG_ECDSA_P256_SHA256:
	case TLS_SIG_RSA_PSS_RSAE_SHA256:
	case TLS_SIG_RSA_PKCS1_SHA256:
		return EVP_sha256();
	case TLS_SIG_ECDSA_P384_SHA384:
	case TLS_SIG_RSA_PSS_RSAE_SHA384:
	case TLS_SIG_RSA_PKCS1_SHA384:
		return EVP_sha384();
	}
	return NULL;
}

/* Set RSA padding on pctx for scheme; nothing for ECDSA.  1 on success. */
static int
scheme_padding(EVP_PKEY_CTX *pctx, unsigned scheme)
{
	switch (scheme >> 8) {
	case 0x08:
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
	case 0x04:
	case 0x05:
		return (scheme & 0xff) == 0x03 ||
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	}
	return 0;
}

/*
 * Sign one request as the key holder would: the key the scheme names,
 * and for the to-be-signed data only data shaped like a TLS handshake
 * signature.  Returns the signature's length, 0 to refuse.
 */
static size_t
sign(const struct tls_sign_req *rq, const unsigned char *in,
    unsigned char *sig, size_t room)
{
	const EVP_MD *md = scheme_md(rq->scheme);
	int ecdsa = (rq->scheme & 0xff) == 0x03;
	EVP_PKEY *k = ecdsa ? key_ec : key_rsa;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	size_t n = room;
	int ok = 0;

	if (md == NULL)
		return 0;
	switch (rq->kind) {
	case TLS_SIGN_DIGEST:
	case TLS_SIGN_DIGESTINFO:
	case TLS_SIGN_RAW_RSA:
		if ((pctx = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
		    EVP_PKEY_sign_init(pctx) <= 0)
			break;
		if (rq->kind == TLS_SIGN_DIGEST)
			ok = rq->len == (uint32_t)EVP_MD_get_size(md) &&
			    scheme_padding(pctx, rq->scheme) &&
			    EVP_PKEY_CTX_set_signature_md(pctx, md) > 0;
		else if (rq->kind == TLS_SIGN_DIGESTINFO)
			ok = !ecdsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
		else
			ok = !ecdsa && rq->len == (uint32_t)EVP_PKEY_get_size(k) &&
			    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_NO_PADDING) > 0;
		ok = ok && EVP_PKEY_sign(pctx, sig, &n, in, rq->len) > 0;
		break;
	case TLS_SIGN_TBS:
		if (!tls_sign_shape_ok(rq->version, in, rq->len))
			break;
		ok = (mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit(mctx, &pctx, md, NULL, k) > 0 &&
		    scheme_padding(pctx, rq->scheme) &&
		    EVP_DigestSign(mctx, sig, &n, in, rq->len) > 0;
		pctx = NULL;	/* owned by mctx */
		break;
	}
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	return ok ? n : 0;
}

/* Answer one request on fd; count it in c.  0, or -1 on a bad request. */
static int
serve_sign(int fd, struct cfg *c)
{
	unsigned char buf[sizeof(struct tls_sign_req) + TLS_SIGN_MAX];
	unsigned char sig[TLS_SIGN_MAX];
	struct tls_sign_req rq;
	ssize_t r = recv(fd, buf, sizeof(buf), MSG_TRUNC);
	size_t n;

	if (r <= 0)
		return 0;	/* the server closed it: seen at reaping */
	if ((size_t)r < sizeof(rq) || (size_t)r > sizeof(buf))
		return -1;
	memcpy(&rq, buf, sizeof(rq));
	if (rq.len != (size_t)r - sizeof(rq) || rq.kind < TLS_SIGN_DIGEST ||
	    rq.kind > TLS_SIGN_TBS)
		return -1;
	n = sign(&rq, buf + sizeof(rq), sig, sizeof(sig));
	if (n == 0)
		fprintf(stderr, "tls-cost: %s: refused scheme %04x kind %d len %u\n",
		    c->name, rq.scheme, rq.kind, rq.len);
	c->kinds[rq.kind]++;
	return send(fd, sig, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Pss and Pss_Anon of pid, in kB, into c. */
static void
read_pss(pid_t pid, struct cfg *c)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "Pss: %ld", &c->pss_kb);
		sscanf(line, "Pss_Anon: %ld", &c->pss_anon_kb);
	}
	fclose(f);
}

/*
 * Drive the client's side of one handshake on fd, answering signing
 * requests on sfd, until the server's first byte has arrived (its
 * handshake is done).  At most 10 s.  Returns 0, or -1.
 */
static int
client_handshake(SSL *ssl, int fd, int sfd, struct cfg *c)
{
	double deadline = now_us() + 10e6;
	int done = 0, sfd_open = 1;
	unsigned char b;

	for (;;) {
		int r = done ? SSL_read(ssl, &b, 1) : SSL_do_handshake(ssl);
		struct pollfd pf[2] = { { fd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		int left;

		if (r == 1 && done)
			return 0;
		if (r == 1) {
			done = 1;
			continue;
		}
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
			break;
		case SSL_ERROR_WANT_WRITE:
			pf[0].events = POLLOUT;
			break;
		default:
			return -1;
		}
		if ((left = (int)((deadline - now_us()) / 1000)) <= 0)
			return -1;
		if (!sfd_open)
			pf[1].fd = -1;
		if (poll(pf, 2, left) < 0)
			return -1;
		if (pf[1].revents & (POLLIN | POLLHUP)) {
			if (serve_sign(sfd, c) < 0)
				return -1;
			if (pf[1].revents & POLLHUP)
				sfd_open = 0;
		}
	}
}

/* One connection to c's server; run i.  Returns 0, or -1. */
static int
run_one(struct cfg *c, int i)
{
	int tls[2], sg[2], st, ok;
	char chain[4200], ver[8];
	struct rusage ru;
	double t0, t1;
	long asked;
	pid_t pid;
	SSL *ssl;

	snprintf(chain, sizeof(chain), "%s/%s.pem", dir, c->rsa ? "rsa" : "ec");
	snprintf(ver, sizeof(ver), "%d", c->version);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tls) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sg) < 0)
		die("socketpair");
	asked = c->kinds[1] + c->kinds[2] + c->kinds[3] + c->kinds[4];
	t0 = now_us();
	if ((pid = fork()) == 0) {
		dup2(tls[1], 0);
		dup2(tls[1], 1);
		dup2(sg[1], 3);
		execl(c->prog, c->prog, chain, ver, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		die("fork");
	close(tls[1]);
	close(sg[1]);
	fcntl(tls[0], F_SETFL, O_NONBLOCK);
	if ((ssl = SSL_new(client[c->version == 13])) == NULL ||
	    SSL_set_fd(ssl, tls[0]) != 1)
		die("SSL_new");
	SSL_set_connect_state(ssl);
	ok = client_handshake(ssl, tls[0], sg[0], c) == 0;
	t1 = now_us();
	if (ok)
		read_pss(pid, c);
	SSL_free(ssl);
	close(tls[0]);
	close(sg[0]);
	if (wait4(pid, &st, 0, &ru) < 0)
		die("wait4");
	c->total[i] = now_us() - t0;
	c->hs[i] = t1 - t0;
	c->cpu[i] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	c->minflt[i] = (double)ru.ru_minflt;
	asked = c->kinds[1] + c->kinds[2] + c->kinds[3] + c->kinds[4] - asked;
	if (!ok || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || asked != 1) {
		fprintf(stderr, "tls-cost: %s run %d: handshake %s, exit %d, %ld signatures\n",
		    c->name, i, ok ? "done" : "failed",
		    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), asked);
		ERR_print_errors_fp(stderr);
		return -1;
	}
	return 0;
}

/* Time one fork + exec + exit + wait of prog, stdin /dev/null. */
static double
spawn_ref(const char *prog)
{
	double t0 = now_us();
	pid_t pid;
	int st;

	if ((pid = fork()) == 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		die("spawn_ref");
	return now_us() - t0;
}

static SSL_CTX *
client_ctx(int version)
{
	char ca[4200];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		die("client context");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(ctx, version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The p-th percentile (0..100) of v[0..n-1]; sorts a copy. */
static double
pct(const double *v, int n, double p)
{
	double *s = malloc(sizeof(double) * (size_t)n), r;
	int k = (int)(p / 100 * (n - 1) + 0.5);

	if (s == NULL)
		die("malloc");
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	r = s[k];
	free(s);
	return r;
}

/* Parse NAME=VER,KEY,PROG into c.  0, or -1. */
static int
parse_cfg(char *arg, struct cfg *c, int n)
{
	char *eq = strchr(arg, '='), *v, *k, *p, *save = NULL;

	if (eq == NULL)
		return -1;
	*eq = '\0';
	c->name = arg;
	v = strtok_r(eq + 1, ",", &save);
	k = strtok_r(NULL, ",", &save);
	p = strtok_r(NULL, "", &save);
	if (v == NULL || k == NULL || p == NULL)
		return -1;
	c->version = (int)tls_sign_number(v, 12, 13);
	c->rsa = strcmp(k, "rsa") == 0;
	c->prog = p;
	if ((c->version != 12 && c->version != 13) ||
	    (!c->rsa && strcmp(k, "ec") != 0))
		return -1;
	c->hs = calloc((size_t)n, sizeof(double));
	c->cpu = calloc((size_t)n, sizeof(double));
	c->total = calloc((size_t)n, sizeof(double));
	c->ratio = calloc((size_t)n, sizeof(double));
	c->minflt = calloc((size_t)n, sizeof(double));
	return c->hs && c->cpu && c->total && c->ratio && c->minflt ? 0 : -1;
}

/*
 * Print the summary lines.  A round is in the machine's fast phase when
 * its reference spawn took at most 1.5 times the 10th percentile of all
 * rounds' (bench/analysis.md: two speeds rather than a spread); the CPU
 * p50 of those rounds alone is given too.
 */
static void
report(struct cfg *cfg, int ncfg, const double *ref, int n, FILE *raw)
{
	double fast = 1.5 * pct(ref, n, 10), *v = calloc((size_t)n, sizeof(double));
	int nfast = 0;

	if (v == NULL)
		die("calloc");
	for (int i = 0; i < n; i++)
		nfast += ref[i] <= fast;
	printf("TLS ref_spawn p10_us=%.0f p50_us=%.0f p90_us=%.0f fast_rounds=%d/%d\n",
	    pct(ref, n, 10), pct(ref, n, 50), pct(ref, n, 90), nfast, n);
	for (int j = 0; j < ncfg; j++) {
		struct cfg *c = &cfg[j];
		int k = 0;

		for (int i = 0; i < n; i++) {
			c->ratio[i] = c->cpu[i] / cfg[0].cpu[i];
			if (ref[i] <= fast)
				v[k++] = c->cpu[i];
		}
		printf("TLS cfg=%s hs_p50_us=%.0f hs_p95_us=%.0f cpu_p50_us=%.0f "
		    "cpu_p95_us=%.0f cpu_fast_p50_us=%.0f total_p50_us=%.0f "
		    "total_p95_us=%.0f cpu_ratio_p50=%.2f minflt_p50=%.0f "
		    "pss_kb=%ld pss_anon_kb=%ld sign_kinds=%ld/%ld/%ld/%ld\n",
		    c->name, pct(c->hs, n, 50), pct(c->hs, n, 95),
		    pct(c->cpu, n, 50), pct(c->cpu, n, 95),
		    k > 0 ? pct(v, k, 50) : 0, pct(c->total, n, 50),
		    pct(c->total, n, 95), pct(c->ratio, n, 50),
		    pct(c->minflt, n, 50), c->pss_kb,
		    c->pss_anon_kb, c->kinds[1], c->kinds[2], c->kinds[3],
		    c->kinds[4]);
		for (int i = 0; raw != NULL && i < n; i++)
			fprintf(raw, "run=%d cfg=%s hs_us=%.1f cpu_us=%.0f total_us=%.1f ref_us=%.1f\n",
			    i, c->name, c->hs[i], c->cpu[i], c->total[i], ref[i]);
	}
	free(v);
}

int
main(int argc, char *argv[])
{
	struct cfg cfg[MAXCFG] = { 0 };
	const char *refprog = NULL, *rawpath = NULL;
	int n = 300, ncfg = 0, opt;
	double *ref;
	FILE *raw = NULL;

	while ((opt = getopt(argc, argv, "n:d:r:o:")) != -1) {
		switch (opt) {
		case 'n': n = (int)tls_sign_number(optarg, 1, MAXN); break;
		case 'd': snprintf(dir, sizeof(dir), "%s", optarg); break;
		case 'r': refprog = optarg; break;
		case 'o': rawpath = optarg; break;
		default: goto usage;
		}
	}
	if (n < 1 || n > MAXN || dir[0] == '\0' || refprog == NULL || optind >= argc)
		goto usage;
	for (; optind < argc && ncfg < MAXCFG; optind++, ncfg++)
		if (parse_cfg(argv[optind], &cfg[ncfg], n) < 0)
			goto usage;
	if ((ref = calloc((size_t)n, sizeof(double))) == NULL ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		die("setup");
	key_ec = load_key("ec.key");
	key_rsa = load_key("rsa.key");
	client[0] = client_ctx(12);
	client[1] = client_ctx(13);
	if (rawpath != NULL && (raw = fopen(rawpath, "w")) == NULL)
		die(rawpath);
	/* Round i runs every configuration once, starting one further on. */
	for (int i = 0; i < n; i++) {
		ref[i] = spawn_ref(refprog);
		for (int j = 0; j < ncfg; j++)
			if (run_one(&cfg[(i + j) % ncfg], i) < 0)
				return 1;
	}
	report(cfg, ncfg, ref, n, raw);
	if (raw != NULL)
		fclose(raw);
	return 0;
usage:
	fprintf(stderr, "usage: tls-cost -n N -d CERTDIR -r REFPROG [-o RAW] NAME=VER,KEY,PROG...\n");
	return 2;
}
