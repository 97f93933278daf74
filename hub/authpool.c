/* SPDX-License-Identifier: ISC */
/*
 * The password workers: AUTHPOOL_THREADS threads that run crypt(3) for
 * the hub, so that a check (tens of milliseconds of yescrypt) never
 * stops the event loop.  The loop hands a job in (authpool_submit: the
 * session, a copy of the hash and of the password) and gets the answers
 * back through an eventfd it polls (authpool_fd, authpool_collect), on
 * its own thread, where it calls hub_password_checked().
 *
 * They also make the TLS handshake signatures for --tls handlers
 * (authpool_sign, answered through tlskey_signed(); hub/tlskey.c): an
 * RSA signature takes milliseconds.  A signature is taken before any
 * password check, since a handshake waits on it.
 *
 * The threads touch nothing but the job table under its lock and the
 * copies they took out of it: never the hub, the member store or
 * sd-event.  The table has AUTHPOOL_JOBS slots; a full table refuses a
 * job (-EAGAIN), it never grows.  Jobs start in the order they came.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <bsd/string.h>

#include "hub.h"
#include "tlssign.h"

#define AUTHPOOL_THREADS	2
#define AUTHPOOL_JOBS		HUB_CHECKS_MAX

enum job_state { JOB_FREE, JOB_TODO, JOB_RUNNING, JOB_DONE };

struct authjob {
	enum job_state	 state;
	uint64_t	 session;
	uint64_t	 order;		/* jobs start in this order */
	int		 match;		/* the answer, when JOB_DONE */
	char		 setting[MEMBERS_HASH_MAX + 1];
	char		 password[MEMBERS_PASS_MAX + 1];
	/* A TLS signature (key != NULL): what to sign, and the answer. */
	struct tlskey	*key;
	unsigned	 scheme;
	enum tls_sign_kind kind;
	size_t		 len;
	unsigned char	 in[TLS_SIGN_IN_MAX];
	int		 siglen;	/* < 0: failed */
	unsigned char	 sig[TLS_SIGN_OUT_MAX];
};

struct authpool {
	pthread_mutex_t	 lock;
	pthread_cond_t	 work;		/* a job to do, or stop */
	struct authjob	 jobs[AUTHPOOL_JOBS];
	uint64_t	 next_order;
	int		 stop;
	int		 efd;		/* written once per answer */
	pthread_t	 threads[AUTHPOOL_THREADS];
	unsigned	 nthreads;
};

/* The oldest job to do, or NULL.  Called with the lock held. */
static struct authjob *
next_job(struct authpool *a)
{
	struct authjob *best = NULL;
	unsigned i;

	for (i = 0; i < AUTHPOOL_JOBS; i++)
		if (a->jobs[i].state == JOB_TODO && (best == NULL ||
		    (a->jobs[i].key != NULL) > (best->key != NULL) ||
		    ((a->jobs[i].key != NULL) == (best->key != NULL) &&
		    a->jobs[i].order < best->order)))
			best = &a->jobs[i];
	return best;
}

/* Job j is done: wake the loop.  Called with the lock held. */
static void
job_done(struct authpool *a, struct authjob *j)
{
	const uint64_t one = 1;

	j->state = JOB_DONE;
	/* An eventfd write only fails on overflow of the counter. */
	if (write(a->efd, &one, sizeof(one)) < 0) {
		/* The loop will still find the job on its next wake. */
	}
}

/*
 * One password worker: take the oldest job, run crypt on copies made
 * under the lock, put the answer back and wake the loop (the eventfd);
 * until authpool_free() says stop.
 */
static void *
worker(void *arg)
{
	struct authpool *a = arg;
	char setting[MEMBERS_HASH_MAX + 1], password[MEMBERS_PASS_MAX + 1];
	struct authjob *j = NULL;
	int match;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->stop && (j = next_job(a)) == NULL)
			pthread_cond_wait(&a->work, &a->lock);
		if (a->stop)
			break;
		j->state = JOB_RUNNING;
		if (j->key != NULL) {
			/* The job's slot is this worker's while it runs. */
			pthread_mutex_unlock(&a->lock);
			j->siglen = tlskey_sign(j->key, j->scheme, j->kind,
			    j->in, j->len, j->sig, sizeof(j->sig));
			pthread_mutex_lock(&a->lock);
			job_done(a, j);
			continue;
		}
		memcpy(setting, j->setting, sizeof(setting));
		memcpy(password, j->password, sizeof(password));
		explicit_bzero(j->password, sizeof(j->password));
		pthread_mutex_unlock(&a->lock);

		match = members_verify(password, setting);
		explicit_bzero(password, sizeof(password));

		pthread_mutex_lock(&a->lock);
		j->match = match;
		job_done(a, j);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/*
 * Start the workers.  Their signals are blocked: signals reach the hub
 * through sd-event on the main thread.  Returns 0 or a negative errno.
 */
int
authpool_new(struct authpool **out)
{
	struct authpool *a;
	sigset_t all, old;
	unsigned i;
	int r = 0;

	assert(out != NULL);
	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->efd < 0) {
		r = -errno;
		free(a);
		return r;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->work, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < AUTHPOOL_THREADS; i++) {
		if ((r = pthread_create(&a->threads[i], NULL, worker, a)) != 0) {
			r = -r;
			break;
		}
		a->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (a->nthreads == 0) {
		authpool_free(a);
		return r < 0 ? r : -EAGAIN;
	}
	*out = a;
	return 0;
}

/* The fd to poll for answers (EPOLLIN). */
int
authpool_fd(const struct authpool *a)
{
	assert(a != NULL);
	return a->efd;
}

/*
 * Queue a check of `password` against `setting` for `session`.  Returns
 * 0, -EAGAIN when every slot is taken, -ENAMETOOLONG for a hash or a
 * password longer than the member store allows.
 */
int
authpool_submit(struct authpool *a, uint64_t session, const char *setting,
    const char *password)
{
	struct authjob *j = NULL;
	unsigned i;
	int r = 0;

	assert(a != NULL && session != 0 && setting != NULL && password != NULL);
	if (strlen(setting) >= sizeof(j->setting) ||
	    strlen(password) >= sizeof(j->password))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < AUTHPOOL_JOBS && j == NULL; i++)
		if (a->jobs[i].state == JOB_FREE)
			j = &a->jobs[i];
	if (j == NULL)
		r = -EAGAIN;
	else {
		j->state = JOB_TODO;
		j->session = session;
		j->order = a->next_order++;
		strlcpy(j->setting, setting, sizeof(j->setting));
		strlcpy(j->password, password, sizeof(j->password));
		pthread_cond_signal(&a->work);
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

/*
 * Queue the TLS signature `rq` (tlskey_message: its bytes checked by
 * tls_sign_check); the job holds a reference to its key until the
 * answer is handed over.  Returns 0, -EAGAIN
 * when every slot is taken, -EMSGSIZE for more than TLS_SIGN_IN_MAX
 * bytes.
 */
int
authpool_sign(struct authpool *a, const struct tls_sign_job *rq)
{
	struct authjob *j = NULL;
	unsigned i;

	assert(a != NULL && rq != NULL && rq->key != NULL);
	if (rq->len > sizeof(j->in))
		return -EMSGSIZE;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < AUTHPOOL_JOBS && j == NULL; i++)
		if (a->jobs[i].state == JOB_FREE)
			j = &a->jobs[i];
	if (j != NULL) {
		j->state = JOB_TODO;
		j->session = rq->session;
		j->order = a->next_order++;
		j->key = tlskey_ref(rq->key);
		j->scheme = rq->scheme;
		j->kind = rq->kind;
		j->len = rq->len;
		memcpy(j->in, rq->in, rq->len);
		pthread_cond_signal(&a->work);
	}
	pthread_mutex_unlock(&a->lock);
	return j != NULL ? 0 : -EAGAIN;
}

/*
 * Hand the signatures made to the hub (tlskey_signed), one at a time:
 * each is taken out under the lock and handed over after it.
 */
static void
collect_signatures(struct authpool *a, struct hub *h)
{
	struct authjob j;
	unsigned i;

	for (;;) {
		pthread_mutex_lock(&a->lock);
		for (i = 0; i < AUTHPOOL_JOBS; i++)
			if (a->jobs[i].state == JOB_DONE &&
			    a->jobs[i].key != NULL)
				break;
		if (i == AUTHPOOL_JOBS) {
			pthread_mutex_unlock(&a->lock);
			return;
		}
		j = a->jobs[i];
		memset(&a->jobs[i], 0, sizeof(a->jobs[i]));
		a->jobs[i].state = JOB_FREE;
		pthread_mutex_unlock(&a->lock);
		tlskey_signed(h, j.session, j.sig, j.siglen);
		tlskey_unref(j.key);
	}
}

/*
 * Hand every answer to the hub (hub_password_checked, tlskey_signed), on
 * the loop's thread.  The answers are taken out under the lock and
 * handed over after it, so the hub may queue new jobs meanwhile.
 */
void
authpool_collect(struct authpool *a, struct hub *h)
{
	struct { uint64_t session; int match; } done[AUTHPOOL_JOBS];
	uint64_t count;
	unsigned i, n = 0;

	assert(a != NULL && h != NULL);
	if (read(a->efd, &count, sizeof(count)) < 0) {
		/* EAGAIN: nothing new; the table is looked at anyway. */
	}
	collect_signatures(a, h);
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < AUTHPOOL_JOBS; i++)
		if (a->jobs[i].state == JOB_DONE) {
			done[n].session = a->jobs[i].session;
			done[n].match = a->jobs[i].match;
			n++;
			explicit_bzero(&a->jobs[i], sizeof(a->jobs[i]));
			a->jobs[i].state = JOB_FREE;
		}
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < n; i++)
		hub_password_checked(h, done[i].session, done[i].match);
}

/* Stop the workers (a check running is finished first) and free. */
struct authpool *
authpool_free(struct authpool *a)
{
	unsigned i;

	if (a == NULL)
		return NULL;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_broadcast(&a->work);
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < a->nthreads; i++)
		pthread_join(a->threads[i], NULL);
	for (i = 0; i < AUTHPOOL_JOBS; i++)
		tlskey_unref(a->jobs[i].key);
	if (a->efd >= 0)
		close(a->efd);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->work);
	explicit_bzero(a, sizeof(*a));
	free(a);
	return NULL;
}
