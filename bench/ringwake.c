/* SPDX-License-Identifier: ISC */
/*
 * ringwake: what one wake-up costs when K tasks take turns, as the
 * handlers of a room do when the hub fans a message out to them, with
 * each task a process of its own (a handler) or a thread of one process
 * (one address space, as Node's one process has).  K tasks stand in a
 * ring of pipes and pass one byte round; a task that gets it reads one
 * byte of each of P pages of its own (touched at start), then passes it
 * on.  Run on one CPU (taskset -c 0), every hop is a wake-up and a
 * switch; the wall time per hop is the figure.
 *
 *   ringwake [-t] K P HOPS [TAG]
 *
 * -t: threads instead of processes.  Prints one RESULT line (the tag,
 * then mode, k, pages, hops and us_per_hop).  Bounded: HOPS hops (at
 * least K), then the processes are killed by PID (threads end with the
 * program).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE	4096

static int	 k, pages, (*ring)[2];
static pid_t	*kids;		/* the processes started, by index */

/* End the processes started, by PID, and wait for them. */
static void
end_kids(void)
{
	for (int i = 1; i < k; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* P pages of the task's own, touched now (MAP_POPULATE). */
static volatile char *
own_pages(void)
{
	void *m = mmap(NULL, (size_t)(pages ? pages : 1) * PAGE,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
	    -1, 0);

	if (m == MAP_FAILED) {
		perror("ringwake: mmap");
		exit(1);
	}
	return m;
}

/* One byte of each page: a load from each, as a wake-up's work. */
static char
touch(volatile char *m)
{
	char s = 0;

	for (int j = 0; j < pages; j++)
		s = (char)(s + m[(size_t)j * PAGE]);
	return s;
}

/* Task `i` of the ring (1 .. K-1): until its pipe ends. */
static void *
task(void *arg)
{
	int i = (int)(long)arg;
	volatile char *m = own_pages();
	char c;

	while (read(ring[i][0], &c, 1) == 1) {
		c = (char)(c + touch(m));
		if (write(ring[(i + 1) % k][1], &c, 1) != 1)
			break;
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	int threads = 0, o;
	long hops, rounds;
	volatile char *m;
	const char *tag;
	double t0, t;
	char c = 0;

	while ((o = getopt(argc, argv, "t")) != -1)
		if (o == 't')
			threads = 1;
		else
			goto usage;
	argc -= optind;
	argv += optind;
	if (argc < 3 || (k = atoi(argv[0])) < 2 || k > 100000 ||
	    (pages = atoi(argv[1])) < 0 || pages > 4096 ||
	    (hops = atol(argv[2])) < 1) {
usage:
		fprintf(stderr, "usage: ringwake [-t] K P HOPS [TAG] "
		    "(2 <= K <= 100000, 0 <= P <= 4096)\n");
		return 2;
	}
	tag = argc > 3 ? argv[3] : "";
	rounds = (hops + k - 1) / k;
	if ((ring = calloc((size_t)k, sizeof(*ring))) == NULL ||
	    (kids = calloc((size_t)k, sizeof(*kids))) == NULL)
		return 1;
	for (int i = 0; i < k; i++)
		if (pipe(ring[i]) < 0) {
			perror("ringwake: pipe");
			return 1;
		}
	for (int i = 1; i < k; i++) {
		pthread_attr_t a;
		pthread_t th;
		pid_t p;

		if (threads) {
			pthread_attr_init(&a);
			pthread_attr_setstacksize(&a, 64 * 1024);
			if (pthread_create(&th, &a, task, (void *)(long)i) != 0) {
				fprintf(stderr, "ringwake: no thread %d\n", i);
				return 1;
			}
			continue;
		}
		if ((p = fork()) < 0) {
			perror("ringwake: fork");
			end_kids();
			return 1;
		}
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive us */
			task((void *)(long)i);
			_exit(0);
		}
		kids[i] = p;
	}
	m = own_pages();
	t0 = now_s();
	for (long r = 0; r < rounds; r++) {
		if (write(ring[1][1], &c, 1) != 1 ||
		    read(ring[0][0], &c, 1) != 1) {
			end_kids();
			return 1;
		}
		c = (char)(c + touch(m));
	}
	t = now_s() - t0;
	printf("RESULT%s%s mode=%s k=%d pages=%d hops=%ld us_per_hop=%.2f\n",
	    *tag ? " " : "", tag, threads ? "threads" : "processes", k, pages,
	    rounds * k, t / (double)(rounds * k) * 1e6);
	fflush(stdout);
	if (!threads)
		end_kids();
	return 0;
}
