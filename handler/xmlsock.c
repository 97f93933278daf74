/* SPDX-License-Identifier: ISC */
/*
 * Splitting an XMLSocket byte stream into messages.  Flash ends every
 * message with a NUL; a person typing into nc ends lines with LF (or
 * CRLF).  Both end a message here, and the session remembers which one
 * the client used so replies come back the same way.
 */
#include <assert.h>
#include <string.h>

#include "handler.h"

/*
 * Find the next message in buf[0..len).  On success returns the bytes to
 * consume (message and terminator), and sets *msglen (without the
 * terminator or a CR before LF) and *term ('\0' or '\n').  Returns 0
 * when no terminator has arrived yet, or -1 when the message is longer
 * than `max` bytes: the caller refuses it without waiting for the end.
 */
int
xmlsock_next(const char *buf, size_t len, size_t max, size_t *msglen,
    char *term)
{
	size_t i, n = len < max + 2 ? len : max + 2;

	assert(buf != NULL || len == 0);
	assert(msglen != NULL && term != NULL);
	for (i = 0; i < n; i++) {
		if (buf[i] != '\0' && buf[i] != '\n')
			continue;
		*term = buf[i];
		*msglen = i;
		if (buf[i] == '\n' && i > 0 && buf[i - 1] == '\r')
			(*msglen)--;
		if (*msglen > max)
			return -1;
		return (int)(i + 1);
	}
	return len > max + 1 || (len == max + 1 && buf[max] != '\r') ? -1 : 0;
}
