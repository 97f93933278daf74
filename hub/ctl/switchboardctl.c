/* SPDX-License-Identifier: ISC */
/*
 * switchboardctl: administer a running hub, and its member store.
 *
 *   switchboardctl [-S socket] [--json] status | who | rooms
 *   switchboardctl [-S socket] [--json] kick NICK [--ban DURATION] [REASON...]
 *   switchboardctl [-S socket] [--json] ban NICK|ADDRESS[/PREFIX]
 *                  [--for DURATION] [REASON...]
 *   switchboardctl [-S socket] [--json] unban NICK|ADDRESS[/PREFIX]
 *   switchboardctl [-S socket] [--json] bans
 *   switchboardctl [-S socket] [--json] announce TEXT...
 *   switchboardctl [-S socket] [--json] reload
 *   switchboardctl [-S socket] [--json] metrics
 *   switchboardctl [-S socket] top
 *   switchboardctl [-f members-file] [--json] member add|disable|enable|rekey NICK
 *
 * The first group talks to the hub over its control socket (see
 * hub/control.c for the exchange): one request datagram, replies until
 * the one marked "done".  The member commands change the members file
 * directly (hub/members.c); the hub sees the change on its next reload.
 *
 * Exit codes: 0 done, 1 the hub or the file said no (or could not be
 * reached), 2 usage.  Documented in docs/admin.md.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <jansson.h>

#include "ctl.h"


static int json_out;		/* --json */
static int json_printed;	/* an answer is on stdout already */

/*
 * Print the usage and exit: on stderr with exit 2 (after `why` when it
 * is not empty), on stdout with exit 0 for --help (why is "").
 */
static void __attribute__((noreturn))
usage(const char *why)
{
	FILE *f = why != NULL && why[0] == '\0' ? stdout : stderr;

	if (why != NULL && why[0] != '\0')
		fprintf(stderr, "%s: %s\n", ctl_prog, why);
	fprintf(f,
	    "usage: switchboardctl [-S socket] [--json] status|who|rooms|bans|reload\n"
	    "       switchboardctl [-S socket] [--json] metrics\n"
	    "       switchboardctl [-S socket] top\n"
	    "       switchboardctl [-S socket] [--json] kick NICK [--ban DURATION] "
	    "[REASON...]\n"
	    "       switchboardctl [-S socket] [--json] ban NICK|ADDRESS[/PREFIX] "
	    "[--for DURATION] [REASON...]\n"
	    "       switchboardctl [-S socket] [--json] unban NICK|ADDRESS[/PREFIX]\n"
	    "       switchboardctl [-S socket] [--json] announce TEXT...\n"
	    "       switchboardctl [-f members-file] [--json] "
	    "member add|disable|enable|rekey NICK\n");
	exit(f == stdout ? EXIT_OK : EXIT_USAGE);
}

/* --- output -------------------------------------------------------------- */

/* Print `s` padded to `width` characters (no padding for the last). */
static void
print_cell(const char *s, size_t width, int last)
{
	char buf[CTL_CELL_MAX + 1];
	size_t w = cell(buf, sizeof(buf), s);

	fputs(buf, stdout);
	if (!last)
		for (; w < width + 2; w++)
			fputc(' ', stdout);
}

/* A string member of a JSON object, or `dflt`. */
static const char *
jget_str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* An integer member of a JSON object, or 0. */
static long long
jget_int(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* Fills the cells of one table row from one JSON item. */
typedef void (*cells_fn)(const json_t *, char cells[][CTL_CELL_MAX + 1]);

#define TABLE_COLS	6	/* most columns of a table */

/*
 * Print a table: `ncol` columns with `head`ings, and for each item of
 * `arr` the cells `get` gives.  Columns are as wide as their widest cell.
 */
static void
print_table(const json_t *arr, size_t ncol, const char *const *head,
    cells_fn get)
{
	char cells[TABLE_COLS][CTL_CELL_MAX + 1], tmp[CTL_CELL_MAX + 1];
	size_t width[TABLE_COLS], i, c;
	const json_t *item;

	assert(ncol <= TABLE_COLS);
	for (c = 0; c < ncol; c++)
		width[c] = cell(tmp, sizeof(tmp), head[c]);
	json_array_foreach(arr, i, item) {
		get(item, cells);
		for (c = 0; c < ncol; c++) {
			size_t w = cell(tmp, sizeof(tmp), cells[c]);

			if (w > width[c])
				width[c] = w;
		}
	}
	for (c = 0; c < ncol; c++)
		print_cell(head[c], width[c], c + 1 == ncol);
	fputc('\n', stdout);
	json_array_foreach(arr, i, item) {
		get(item, cells);
		for (c = 0; c < ncol; c++)
			print_cell(cells[c], width[c], c + 1 == ncol);
		fputc('\n', stdout);
	}
}

/* The cells of one `who` row; an empty remote or room list shows "-". */
static void
who_cells(const json_t *o, char cells[][CTL_CELL_MAX + 1])
{
	const json_t *rooms = json_object_get(o, "rooms"), *r;
	size_t i, len = 0;

	snprintf(cells[0], CTL_CELL_MAX + 1, "%s",
	    jget_str(o, "nick", "-"));
	snprintf(cells[1], CTL_CELL_MAX + 1, "%lld", jget_int(o, "session"));
	snprintf(cells[2], CTL_CELL_MAX + 1, "%s",
	    jget_str(o, "transport", "?"));
	snprintf(cells[3], CTL_CELL_MAX + 1, "%s", jget_str(o, "remote", ""));
	cells[4][0] = '\0';
	json_array_foreach(rooms, i, r) {
		const char *name = json_string_value(r);

		if (name == NULL)
			continue;
		if (len > 0)
			len = strlcat(cells[4], ",", CTL_CELL_MAX + 1);
		len = strlcat(cells[4], name, CTL_CELL_MAX + 1);
		if (len > CTL_CELL_MAX) {	/* cut: mark it */
			strcpy(cells[4] + CTL_CELL_MAX - 3, "...");
			break;
		}
	}
	if (cells[3][0] == '\0')
		strcpy(cells[3], "-");
	if (cells[4][0] == '\0')
		strcpy(cells[4], "-");
}

/*
 * The cells of one `who` row of a hub in a cluster: the node after the
 * session (who_cells's, shifted).
 */
static void
who_node_cells(const json_t *o, char cells[][CTL_CELL_MAX + 1])
{
	who_cells(o, cells);
	memmove(cells[3], cells[2], 3 * sizeof(cells[0]));
	snprintf(cells[2], CTL_CELL_MAX + 1, "%s", jget_str(o, "node", "?"));
}

/* The cells of one `rooms` row. */
static void
rooms_cells(const json_t *o, char cells[][CTL_CELL_MAX + 1])
{
	snprintf(cells[0], CTL_CELL_MAX + 1, "%s", jget_str(o, "name", "?"));
	snprintf(cells[1], CTL_CELL_MAX + 1, "%lld", jget_int(o, "members"));
	snprintf(cells[2], CTL_CELL_MAX + 1, "%s",
	    json_is_true(json_object_get(o, "permanent")) ? "yes" : "no");
}

/* "2026-12-02 05:30:00 UTC", or "-" for no end (until 0 or null). */
static void
until_text(char *buf, size_t size, const json_t *o)
{
	time_t t = (time_t)jget_int(o, "until");
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The cells of one `bans` row. */
static void
bans_cells(const json_t *o, char cells[][CTL_CELL_MAX + 1])
{
	snprintf(cells[0], CTL_CELL_MAX + 1, "%s", jget_str(o, "target", "?"));
	snprintf(cells[1], CTL_CELL_MAX + 1, "%s", jget_str(o, "kind", "?"));
	until_text(cells[2], CTL_CELL_MAX + 1, o);
	snprintf(cells[3], CTL_CELL_MAX + 1, "%s", jget_str(o, "reason", ""));
	if (cells[3][0] == '\0')
		strcpy(cells[3], "-");
}

/* "banned nick troll until 2026-12-02 05:30:00 UTC" */
static void
print_ban(const char *what, const json_t *b)
{
	char target[CTL_CELL_MAX + 1], until[64];

	cell(target, sizeof(target), jget_str(b, "target", "?"));
	until_text(until, sizeof(until), b);
	printf("%s %s %s %s%s\n", what, jget_str(b, "kind", "?"), target,
	    strcmp(until, "-") == 0 ? "with no end" : "until ",
	    strcmp(until, "-") == 0 ? "" : until);
}

/* The human form of `status`. */
static void
print_status(const json_t *r)
{
	char when[64] = "?", up[64];
	time_t created = (time_t)jget_int(r, "created");
	struct tm tm;

	if (gmtime_r(&created, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	duration(up, sizeof(up), jget_int(r, "uptime"));
	printf("clients:  %lld of %lld (peak %lld)\n", jget_int(r, "clients"),
	    jget_int(r, "max"), jget_int(r, "peak"));
	printf("rooms:    %lld\n", jget_int(r, "rooms"));
	printf("started:  %s (up %s)\n", when, up);
	printf("epoch:    %lld\n", jget_int(r, "epoch"));
	if (json_object_get(r, "node") != NULL) {	/* a cluster */
		char node[CTL_CELL_MAX + 1];

		cell(node, sizeof(node), jget_str(r, "node", "?"));
		printf("node:     %s (identified on every machine: %lld)\n",
		    node, jget_int(r, "cluster_users"));
	}
}

/* The metrics text: the strings of the reply, one after the other. */
static void
print_metrics(const json_t *pieces)
{
	const json_t *s;
	size_t i;

	json_array_foreach(pieces, i, s)
		if (json_is_string(s))
			fwrite(json_string_value(s), 1, json_string_length(s),
			    stdout);
}

/* The human form of a successful reply to `verb`. */
static void
print_reply(const char *verb, const json_t *r)
{
	static const char *const who_head[] = { "NICK", "SESSION",
	    "TRANSPORT", "REMOTE", "ROOMS" };
	static const char *const who_node_head[] = { "NICK", "SESSION",
	    "NODE", "TRANSPORT", "REMOTE", "ROOMS" };
	const json_t *who = json_object_get(r, "who");
	static const char *const rooms_head[] = { "ROOM", "MEMBERS",
	    "PERMANENT" };
	static const char *const bans_head[] = { "BANNED", "KIND", "UNTIL",
	    "REASON" };
	char nick[CTL_CELL_MAX + 1];

	if (strcmp(verb, "status") == 0)
		print_status(r);
	else if (strcmp(verb, "who") == 0 && json_object_get(json_array_get(who,
	    0), "node") != NULL)	/* a cluster: each user's machine */
		print_table(who, 6, who_node_head, who_node_cells);
	else if (strcmp(verb, "who") == 0)
		print_table(who, 5, who_head, who_cells);
	else if (strcmp(verb, "rooms") == 0)
		print_table(json_object_get(r, "rooms"), 3, rooms_head,
		    rooms_cells);
	else if (strcmp(verb, "kick") == 0) {
		cell(nick, sizeof(nick), jget_str(r, "kicked", "?"));
		printf("kicked %s (session %lld", nick,
		    jget_int(r, "session"));
		if (json_object_get(r, "node") != NULL) {	/* elsewhere */
			cell(nick, sizeof(nick), jget_str(r, "node", "?"));
			printf(" on node %s", nick);
		}
		printf(")\n");
		if (json_object_get(r, "ban") != NULL)
			print_ban("banned", json_object_get(r, "ban"));
	} else if (strcmp(verb, "ban") == 0) {
		print_ban("banned", json_object_get(r, "ban"));
		printf("disconnected %lld session%s\n",
		    jget_int(r, "disconnected"),
		    jget_int(r, "disconnected") == 1 ? "" : "s");
	} else if (strcmp(verb, "unban") == 0) {
		cell(nick, sizeof(nick), jget_str(r, "unbanned", "?"));
		printf("lifted the ban on %s\n", nick);
	} else if (strcmp(verb, "bans") == 0)
		print_table(json_object_get(r, "bans"), 4, bans_head,
		    bans_cells); else if (strcmp(verb, "announce") == 0)
		printf("announced to %lld identified client%s\n",
		    jget_int(r, "recipients"),
		    jget_int(r, "recipients") == 1 ? "" : "s");
	else if (strcmp(verb, "reload") == 0)
		printf("reloaded\n");
	else if (strcmp(verb, "metrics") == 0)
		print_metrics(json_object_get(r, "metrics"));
	if (json_object_get(r, "warning") != NULL) {
		cell(nick, sizeof(nick), jget_str(r, "warning", "?"));
		fprintf(stderr, "%s: warning: the ban list was not saved and "
		    "holds only until the hub restarts: %s\n", ctl_prog, nick);
	}
	if (json_is_true(json_object_get(r, "truncated")))
		fprintf(stderr, "%s: the list was cut short by the hub's "
		    "reply limit\n", ctl_prog);
}

/* The answer as JSON on one line, compact, with sorted keys. */
static void
print_json(const json_t *r)
{
	char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);

	if (s != NULL) {
		puts(s);
		free(s);
		json_printed = 1;
	}
}

/* --- the control socket -------------------------------------------------- */

/* Join argv[0..argc) with spaces into buf; -ENOBUFS when it does not fit. */
static int
join_words(char *buf, size_t size, int argc, char *const *argv)
{
	int i;

	buf[0] = '\0';
	for (i = 0; i < argc; i++)
		if ((i > 0 && strlcat(buf, " ", size) >= size) ||
		    strlcat(buf, argv[i], size) >= size)
			return -ENOBUFS;
	return 0;
}

/*
 * The option `opt` DURATION right after the target, if given: its value
 * (*argc and *argv moved past it), or "".
 */
static const char *
take_duration(int *argc, char *const **argv, const char *opt,
    const char *verb)
{
	static char why[128];
	const char *d;

	if (*argc < 1 || strcmp((*argv)[0], opt) != 0)
		return "";
	if (*argc < 2) {
		snprintf(why, sizeof(why), "%s: %s needs a duration (90s, "
		    "10m, 2h, 7d, forever)", verb, opt);
		usage(why);
	}
	d = (*argv)[1];
	*argc -= 2;
	*argv += 2;
	return d;
}

/* Run a control command (argv[0] is the verb).  Returns the exit code. */
static int
cmd_control(const char *sock, int argc, char *const *argv)
{
	static char text[CTL_REQUEST_MAX];
	const char *verb = argv[0], *words[4] = { argv[0], NULL, NULL, NULL };
	const char *dur;
	size_t n = 1;
	json_t *r;
	int ret = EXIT_OK;

	if (strcmp(verb, "status") == 0 || strcmp(verb, "who") == 0 ||
	    strcmp(verb, "rooms") == 0 || strcmp(verb, "reload") == 0 ||
	    strcmp(verb, "bans") == 0 || strcmp(verb, "metrics") == 0) {
		if (argc != 1)
			usage("this command takes no arguments");
	} else if (strcmp(verb, "top") == 0) {
		if (argc != 1)
			usage("this command takes no arguments");
		if (json_out)
			usage("top: a live view for a terminal; for JSON, "
			    "use status or metrics");
		return ctl_top(sock);
	} else if (strcmp(verb, "kick") == 0 || strcmp(verb, "ban") == 0) {
		int kick = verb[0] == 'k';

		if (argc < 2)
			usage(kick ? "kick: which nick?" :
			    "ban: which nick or address?");
		words[n++] = argv[1];
		argc -= 2;
		argv += 2;
		dur = take_duration(&argc, &argv, kick ? "--ban" : "--for",
		    verb);
		if (join_words(text, sizeof(text), argc, argv) < 0)
			usage(kick ? "kick: the reason is too long" :
			    "ban: the reason is too long");
		/* kick NICK REASON BAN-DURATION; ban TARGET DURATION REASON */
		words[n++] = kick ? text : dur;
		words[n++] = kick ? dur : text;
	} else if (strcmp(verb, "unban") == 0) {
		if (argc != 2)
			usage("unban: which nick or address?");
		words[n++] = argv[1];
	} else if (strcmp(verb, "announce") == 0) {
		if (argc < 2)
			usage("announce: what text?");
		if (join_words(text, sizeof(text), argc - 1, argv + 1) < 0)
			usage("announce: the text is too long");
		words[n++] = text;
	} else {
		char name[64], why[128];

		cell(name, sizeof(name), verb);
		snprintf(why, sizeof(why), "unknown command: %s", name);
		usage(why);
	}

	if ((r = ctl_exchange(sock, words, n)) == NULL)
		return EXIT_FAIL;
	if (json_object_get(r, "error") != NULL) {
		char msg[1024];

		cell(msg, sizeof(msg), jget_str(r, "error", "?"));
		if (json_out)
			print_json(r);
		ret = fail("%s", msg);
	} else if (json_out)
		print_json(r);
	else
		print_reply(verb, r);
	json_decref(r);
	return ret;
}

/* --- members ------------------------------------------------------------- */

static struct termios saved_tio;
static volatile sig_atomic_t echo_off;

/* Signal handler: turn echo back on, then die of the signal. */
static void
restore_echo(int sig)
{
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Read one line of at most MEMBERS_PASS_MAX bytes from stdin into buf
 * (the newline removed).  Returns 0, or a negative errno with the
 * reason said (fail()).
 */
static int
read_line(char *buf, size_t size)
{
	size_t len = 0;
	int c;

	while ((c = getchar()) != EOF && c != '\n') {
		if (len + 1 >= size) {
			explicit_bzero(buf, size);
			fail("the password is longer than %d bytes",
			    MEMBERS_PASS_MAX);
			return -EMSGSIZE;
		}
		buf[len++] = (char)c;
	}
	buf[len] = '\0';
	if (c == EOF && len == 0) {
		fail("no password on standard input");
		return -ENODATA;
	}
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return 0;
}

/*
 * Prompt on the terminal with echo off and read a line (read_line()).
 * Returns 0, or a negative errno with the reason said (fail()).
 */
static int
read_hidden(const char *prompt, char *buf, size_t size)
{
	struct termios tio;
	int r;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0) {
		r = -errno;
		fail("tcgetattr: %s", strerror(-r));
		return r;
	}
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	tio.c_lflag |= ECHONL;
	signal(SIGINT, restore_echo);
	signal(SIGTERM, restore_echo);
	signal(SIGHUP, restore_echo);
	signal(SIGQUIT, restore_echo);
	echo_off = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) < 0) {
		r = -errno;
		echo_off = 0;
		fail("tcsetattr: %s", strerror(-r));
		return r;
	}
	r = read_line(buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	echo_off = 0;
	return r;
}

/*
 * The new password: twice on a terminal, else one line of stdin.
 * Returns 0, or a negative errno with the reason said (fail()).
 */
static int
read_password(const char *nick, char *buf, size_t size)
{
	char again[MEMBERS_PASS_MAX + 2], prompt[128];
	int same, r;

	if (!isatty(STDIN_FILENO))
		return read_line(buf, size);
	snprintf(prompt, sizeof(prompt), "Password for %s: ", nick);
	if ((r = read_hidden(prompt, buf, size)) < 0)
		return r;
	if ((r = read_hidden("Again: ", again, sizeof(again))) < 0) {
		explicit_bzero(buf, size);
		return r;
	}
	same = strcmp(buf, again) == 0;
	explicit_bzero(again, sizeof(again));
	if (!same) {
		explicit_bzero(buf, size);
		fail("the passwords differ");
		return -EINVAL;
	}
	return 0;
}

/* Run `member ACTION NICK` against `file`.  Returns the exit code. */
static int
cmd_member(const char *file, int argc, char *const *argv)
{
	char pw[MEMBERS_PASS_MAX + 2], err[1024];
	const char *action, *nick, *why;
	unsigned long id = 0;
	int r;

	if (argc != 3)
		usage("member: add|disable|enable|rekey NICK");
	action = argv[1];
	nick = argv[2];
	if (strcmp(action, "add") != 0 && strcmp(action, "disable") != 0 &&
	    strcmp(action, "enable") != 0 && strcmp(action, "rekey") != 0) {
		char name[64], msg[160];

		cell(name, sizeof(name), action);
		snprintf(msg, sizeof(msg), "member: unknown action: %s "
		    "(add|disable|enable|rekey)", name);
		usage(msg);
	}
	if (nick_check(nick, &why) < 0)
		usage(why);

	if (strcmp(action, "add") == 0 || strcmp(action, "rekey") == 0) {
		if (read_password(nick, pw, sizeof(pw)) < 0)
			return EXIT_FAIL;
		if (action[0] == 'a')
			r = members_add(file, nick, pw, &id, err, sizeof(err));
		else
			r = members_rekey(file, nick, pw, err, sizeof(err));
		explicit_bzero(pw, sizeof(pw));
	} else
		r = members_set_active(file, nick, action[0] == 'e', err,
		    sizeof(err));
	if (r < 0)
		return fail("%s", err);

	if (json_out) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "member", nick,
		    "action", action, "file", file);

		if (o != NULL && id != 0)
			json_object_set_new(o, "id", json_integer((json_int_t)id));
		if (o != NULL)
			print_json(o);
		json_decref(o);
	} else if (action[0] == 'a')
		printf("added %s as member %lu\n", nick, id);
	else if (action[0] == 'r')
		printf("new password set for %s\n", nick);
	else
		printf("%s %s\n", action[0] == 'e' ? "enabled" : "disabled",
		    nick);
	if (!json_out)
		printf("the hub reads %s again on reload (switchboardctl "
		    "reload)\n", file);
	return EXIT_OK;
}

/* Options, then the command. */
int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "socket",	required_argument,	NULL, 'S' },
		{ "file",	required_argument,	NULL, 'f' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *sock = CONFIG_CONTROL_SOCKET;
	const char *file = MEMBERS_DEFAULT_PATH;
	int ch, ret;

	while ((ch = getopt_long(argc, argv, "+S:s:f:jh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'S':
		case 's':
			sock = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'j':
			json_out = 1;
			break;
		case 'h':
			usage("");	/* on stdout, exit 0 */
		default:
			usage(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage("which command?");
	if (strcmp(argv[0], "member") == 0)
		ret = cmd_member(file, argc, argv);
	else
		ret = cmd_control(sock, argc, argv);
	/*
	 * docs/admin.md: with --json every failure is also an object on
	 * stdout.  The hub's own error answers are printed as they came;
	 * the rest (a members file, an unreachable hub) get one here.
	 */
	if (ret == EXIT_FAIL && json_out && !json_printed) {
		json_t *o = json_pack("{s:s}", "error", ctl_last_error());

		if (o != NULL)
			print_json(o);
		json_decref(o);
	}
	return ret;
}
