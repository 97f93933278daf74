/* SPDX-License-Identifier: ISC */
/*
 * switchboardctl top: a live view of a running hub in the terminal,
 * refreshed every second until `q` or Ctrl-C: clients and users, the
 * messages, deliveries and errors per second, the hub's CPU and memory,
 * and the busiest rooms (the hub shows room names to the admin group
 * only).  It asks the hub's control socket "top" once a second (one
 * connection each, as every request) and works out the rates from two
 * answers in a row.
 *
 * For a terminal over SSH: it fits 80 x 24 (and uses what a larger one
 * gives, for rooms), draws with plain VT100 sequences on the alternate
 * screen, uses colour only when NO_COLOR is unset (or empty) and TERM is
 * not "dumb", and gives the terminal back as it found it whatever ends
 * it: q, Ctrl-C, SIGTERM, a hangup.  A hub that goes away is said on the
 * screen and asked again each second.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"

#define TOP_COLS_MIN	40	/* a narrower terminal: 40 columns anyway */
#define TOP_ROOMS_MAX	10	/* as many as the hub sends */

/* One answer of the hub, and when it came. */
struct sample {
	int		 ok;		/* the hub answered */
	double		 at;		/* seconds, CLOCK_MONOTONIC */
	long long	 clients, max, users, rooms, uptime;
	long long	 messages, deliveries, errors, resident;
	double		 cpu;
	json_t		*busiest;	/* NULL: not for us */
	double		 window;
};

static volatile sig_atomic_t stop;	/* a signal said to quit */
static volatile sig_atomic_t resized;	/* SIGWINCH */
static struct termios saved;
static int color;			/* SGR sequences allowed */

static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else
		stop = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Raw keys (no line editing, no echo), the alternate screen, no cursor;
 * Ctrl-C still makes SIGINT.  Returns 0, or a negative errno.
 */
static int
term_enter(void)
{
	struct termios t;
	struct sigaction sa = { .sa_handler = on_signal };

	if (tcgetattr(STDIN_FILENO, &saved) < 0)
		return -errno;
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return -errno;
	fputs("\033[?1049h\033[?25l", stdout);
	fflush(stdout);
	return 0;
}

/* The terminal as it was. */
static void
term_leave(void)
{
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
}

/* The terminal's size, 80 x 24 when it does not say. */
static void
term_size(int *cols, int *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_row > 0) {
		*cols = ws.ws_col < TOP_COLS_MIN ? TOP_COLS_MIN : ws.ws_col;
		*rows = ws.ws_row;
	}
}

/* Ask the hub; `s` gets its numbers, or ok = 0 (ctl_last_error says why). */
static void
take_sample(const char *sock, struct sample *s)
{
	static const char *const words[] = { "top" };
	json_t *r;

	*s = (struct sample){ .at = now_s() };
	if ((r = ctl_exchange(sock, words, 1)) == NULL)
		return;
	if (json_object_get(r, "error") != NULL) {
		fail("%s", json_string_value(json_object_get(r, "error")) ?
		    json_string_value(json_object_get(r, "error")) : "?");
		json_decref(r);
		return;
	}
	s->ok = 1;
	s->clients = json_integer_value(json_object_get(r, "clients"));
	s->max = json_integer_value(json_object_get(r, "max"));
	s->users = json_integer_value(json_object_get(r, "users"));
	s->rooms = json_integer_value(json_object_get(r, "rooms"));
	s->uptime = json_integer_value(json_object_get(r, "uptime"));
	s->messages = json_integer_value(json_object_get(r, "messages"));
	s->deliveries = json_integer_value(json_object_get(r, "deliveries"));
	s->errors = json_integer_value(json_object_get(r, "errors"));
	s->resident = json_integer_value(json_object_get(r, "resident_bytes"));
	s->cpu = json_number_value(json_object_get(r, "cpu_seconds"));
	s->window = json_number_value(json_object_get(r, "window"));
	if ((s->busiest = json_object_get(r, "busiest")) != NULL)
		json_incref(s->busiest);
	json_decref(r);
}

/* "12.5/s", or "-" without two answers to compare. */
static void
rate(char *buf, size_t size, long long now, long long before, double dt)
{
	if (dt <= 0 || now < before)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.1f/s", (double)(now - before) / dt);
}

/* Start a line: clear it; a heading in bold when colour is allowed. */
static void
line(int *row, int rows, int bold, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
line(int *row, int rows, int bold, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (*row >= rows)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printf("\033[%d;1H\033[2K%s%s%s", *row + 1, bold && color ?
	    "\033[1;36m" : "", text, bold && color ? "\033[0m" : "");
	(*row)++;
}

/* The busiest rooms, as many as the rows below `row` hold. */
static void
draw_rooms(const struct sample *s, int *row, int rows, int cols)
{
	char name[CTL_CELL_MAX + 1], r[32];
	const json_t *o;
	int width = cols - 24;
	size_t i;

	if (width > 40)
		width = 40;
	if (s->busiest == NULL) {
		line(row, rows, 0, "busiest rooms: for the admin group only");
		return;
	}
	line(row, rows, 1, "%-*s %8s %10s", width, "BUSIEST ROOMS", "MEMBERS",
	    "MSG/S");
	if (json_array_size(s->busiest) == 0)
		line(row, rows, 0, "(no room messages in the last %.1f s)",
		    s->window);
	json_array_foreach(s->busiest, i, o) {
		if ((int)i >= TOP_ROOMS_MAX || *row >= rows - 1)
			break;
		cell(name, sizeof(name), json_string_value(json_object_get(o,
		    "name")) ? json_string_value(json_object_get(o, "name")) :
		    "?");
		if ((int)strlen(name) > width)	/* room names are ASCII */
			name[width] = '\0';
		if (s->window > 0)
			snprintf(r, sizeof(r), "%.1f", (double)
			    json_integer_value(json_object_get(o, "messages")) /
			    s->window);
		else
			snprintf(r, sizeof(r), "-");
		line(row, rows, 0, "%-*s %8lld %10s", width, name,
		    (long long)json_integer_value(json_object_get(o,
		    "members")), r);
	}
}

/* One screen: the numbers of `s`, the rates since `p`. */
static void
draw(const char *sock, const struct sample *s, const struct sample *p)
{
	char up[64], m[32], d[32], e[32], cpu[32];
	double dt = p->ok && s->ok ? s->at - p->at : 0;
	int cols, rows, row = 0;

	term_size(&cols, &rows);
	fputs("\033[H\033[2J", stdout);
	line(&row, rows, 1, "switchboard top: every %d s; q quits",
	    CTL_TOP_MS / 1000);
	if (!s->ok) {
		char why[CTL_CELL_MAX + 1];

		cell(why, sizeof(why), ctl_last_error());
		row++;
		line(&row, rows, 0, "no answer from the hub at %.*s:",
		    cols - 30, sock);
		line(&row, rows, 0, "%.*s", cols, why);
		line(&row, rows, 0, "asking again every second");
		fflush(stdout);
		return;
	}
	duration(up, sizeof(up), s->uptime);
	rate(m, sizeof(m), s->messages, p->messages, dt);
	rate(d, sizeof(d), s->deliveries, p->deliveries, dt);
	rate(e, sizeof(e), s->errors, p->errors, dt);
	if (dt > 0 && s->cpu >= p->cpu)
		snprintf(cpu, sizeof(cpu), "%.1f%%",
		    (s->cpu - p->cpu) / dt * 100);
	else
		snprintf(cpu, sizeof(cpu), "-");
	line(&row, rows, 0, "hub up %s", up);
	row++;
	line(&row, rows, 0, "clients    %8lld of %lld", s->clients, s->max);
	line(&row, rows, 0, "users      %8lld   rooms %lld", s->users,
	    s->rooms);
	line(&row, rows, 0, "messages   %10s   total %lld", m, s->messages);
	line(&row, rows, 0, "deliveries %10s   total %lld", d, s->deliveries);
	line(&row, rows, 0, "errors     %10s   total %lld", e, s->errors);
	line(&row, rows, 0, "hub cpu    %10s   memory %.1f MiB", cpu,
	    (double)s->resident / (1024 * 1024));
	row++;
	draw_rooms(s, &row, rows, cols);
	fflush(stdout);
}

/*
 * Wait for a key until `until` (monotonic seconds).  Returns 1 when the
 * user asked to quit (q, Q, Ctrl-C read as a byte) or a signal came.
 */
static int
wait_key(double until)
{
	char c;
	double left;

	while (!stop && !resized && (left = until - now_s()) > 0) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int r = poll(&pfd, 1, (int)(left * 1000) + 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (read(STDIN_FILENO, &c, 1) == 1 &&
		    (c == 'q' || c == 'Q' || c == 3))
			return 1;
		if (pfd.revents & (POLLHUP | POLLERR))
			return 1;
	}
	return stop;
}

/*
 * Run the live view until q, Ctrl-C or a signal.  Returns the exit
 * code: 0, or 1 when there is no terminal to draw on (said why).
 */
int
ctl_top(const char *sock)
{
	struct sample s = { 0 }, p = { 0 };
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	double next;
	int r;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return fail("top: needs a terminal; for a script, use status "
		    "or metrics");
	color = (nc == NULL || nc[0] == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	if ((r = term_enter()) < 0)
		return fail("top: the terminal: %s", strerror(-r));
	ctl_quiet = 1;
	for (next = now_s(); !stop; ) {
		if (!resized) {
			json_decref(p.busiest);
			p = s;
			take_sample(sock, &s);
			next += CTL_TOP_MS / 1000.0;
			if (next < s.at)	/* slow to answer: go on */
				next = s.at + CTL_TOP_MS / 1000.0;
		}
		resized = 0;
		draw(sock, &s, &p);
		if (wait_key(next))
			break;
	}
	ctl_quiet = 0;
	term_leave();
	json_decref(s.busiest);
	json_decref(p.busiest);
	return 0;
}
