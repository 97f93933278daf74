/* SPDX-License-Identifier: ISC */
/*
 * switchboardctl's way to the hub and to its user, shared by its
 * commands (switchboardctl.c) and its live view (top.c): the control
 * socket's exchange (one request, replies until the one marked done:
 * hub/control.c describes it), fail() to say what went wrong, and the
 * cells and durations a terminal is shown.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>
#include <jansson.h>

#include "ctl.h"
#include "text.h"

const char ctl_prog[] = "switchboardctl";
int ctl_quiet;			/* top draws the errors itself */
static char last_error[1024];	/* what fail() said last */

/*
 * Say what went wrong on stderr (unless ctl_quiet: top shows it on its
 * screen), and keep it for the --json error object main() prints when
 * no answer is on stdout yet; returns EXIT_FAIL.
 */
int
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	if (!ctl_quiet)
		fprintf(stderr, "%s: %s\n", ctl_prog, last_error);
	return EXIT_FAIL;
}

/* What fail() said last. */
const char *
ctl_last_error(void)
{
	return last_error;
}

/*
 * Copy `s` into out[0..size) for a terminal: control characters become
 * '?', cut short without cutting a character in two (utf8_clip()).
 * Returns the number of characters (code points), which is the width
 * for the scripts nicks may use.
 */
size_t
cell(char *out, size_t size, const char *s)
{
	size_t o, n = utf8_clip(s, strlen(s), size - 1), width = 0;

	for (o = 0; o < n; o++) {
		unsigned char c = (unsigned char)s[o];

		out[o] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
		if ((c & 0xc0) != 0x80)
			width++;
	}
	out[o] = '\0';
	return width;
}

/* "3d 04:05:06" */
void
duration(char *buf, size_t size, long long s)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, size, "%lldd %02lld:%02lld:%02lld", s / 86400,
		    s / 3600 % 24, s / 60 % 60, s % 60);
	else
		snprintf(buf, size, "%02lld:%02lld:%02lld", s / 3600,
		    s / 60 % 60, s % 60);
}

/* Fold one reply datagram into the result: arrays are concatenated. */
static void
merge(json_t *result, json_t *part)
{
	const char *key;
	json_t *v;

	json_object_foreach(part, key, v) {
		json_t *have = json_object_get(result, key);

		if (strcmp(key, "done") == 0)
			continue;
		if (json_is_array(have) && json_is_array(v))
			json_array_extend(have, v);
		else
			json_object_set(result, key, v);
	}
}

/*
 * Connect to the control socket at `path`.  Returns the fd, or a
 * negative errno, said here (fail()) with what the user can do.
 */
static int
connect_hub(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		fail("%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0) {
		e = errno;
		fail("socket: %s", strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			fail("cannot reach the hub at %s: %s (is "
			    "switchboard-hub running?)", path, strerror(e));
		else if (e == EACCES || e == EPERM)
			fail("%s: %s (root and the admin group only)", path,
			    strerror(e));
		else
			fail("%s: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

/*
 * Wait for and read one datagram of the hub's answer on fd into buf
 * (CTL_DGRAM_MAX + 1 bytes), adding its size to *total.  Returns the
 * part, a JSON object the caller frees, or NULL (said why): no answer
 * within CTL_TIMEOUT_MS, the connection closed, a datagram or the whole
 * answer too large, or not a JSON object.
 */
static json_t *
answer_read(int fd, const char *sock, char *buf, size_t *total)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	json_error_t jerr;
	json_t *part;
	ssize_t r;

	for (;;) {
		r = poll(&pfd, 1, CTL_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail("%s: no answer from the hub within %d s", sock,
			    CTL_TIMEOUT_MS / 1000);
			return NULL;
		}
		r = recv(fd, buf, CTL_DGRAM_MAX + 1, MSG_TRUNC);
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r < 0) {
		fail("%s: %s", sock, strerror(errno));
		return NULL;
	}
	if (r == 0) {
		fail("%s: the hub closed the connection before its "
		    "answer was complete", sock);
		return NULL;
	}
	if (r > CTL_DGRAM_MAX || (*total += (size_t)r) > CTL_TOTAL_MAX) {
		fail("%s: the answer is too large", sock);
		return NULL;
	}
	part = json_loadb(buf, (size_t)r, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(part)) {
		json_decref(part);
		fail("%s: the hub's answer is not a JSON object", sock);
		return NULL;
	}
	return part;
}

/*
 * Send one request (words joined by NULs) and collect the replies until
 * the one marked done.  Returns the merged reply, or NULL (said why).
 */
json_t *
ctl_exchange(const char *sock, const char *const *words, size_t n)
{
	char req[CTL_REQUEST_MAX], *buf = NULL;
	json_t *result = NULL, *part;
	size_t len = 0, total = 0, i, wl;
	int fd, done = 0;

	for (i = 0; i < n; i++) {
		wl = strlen(words[i]);
		if (len + wl + 1 > sizeof(req)) {
			fail("the request is longer than %d bytes",
			    CTL_REQUEST_MAX);
			return NULL;
		}
		memcpy(req + len, words[i], wl + 1);
		len += wl + 1;
	}
	if ((fd = connect_hub(sock)) < 0)
		return NULL;
	/*
	 * A hub that refuses us answers and closes at once, maybe before
	 * the request is sent: then its answer is still there to read.
	 */
	if (send(fd, req, len, MSG_NOSIGNAL) < 0 && errno != EPIPE &&
	    errno != ECONNRESET) {
		fail("%s: send: %s", sock, strerror(errno));
		goto out;
	}
	if ((buf = malloc(CTL_DGRAM_MAX + 1)) == NULL ||
	    (result = json_object()) == NULL) {
		fail("out of memory");
		goto out;
	}
	while (!done) {
		if ((part = answer_read(fd, sock, buf, &total)) == NULL) {
			json_decref(result);
			result = NULL;
			break;
		}
		done = json_is_true(json_object_get(part, "done"));
		merge(result, part);
		json_decref(part);
	}
out:
	free(buf);
	close(fd);
	return result;
}
