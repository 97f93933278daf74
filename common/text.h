/* SPDX-License-Identifier: ISC */
/*
 * Text: the one UTF-8 check (RFC 3629) and the one ASCII case fold, for
 * the handler, the hub and switchboardctl alike.  Pure functions: no
 * allocation, no I/O, no locale.
 *
 * UTF-8 is valid when it has no overlong form, no surrogate (U+D800 to
 * U+DFFF) and nothing above U+10FFFF.  utf8_feed() checks it a piece at
 * a time (WebSocket fragments); utf8_valid() a whole string;
 * utf8_decode() reads one character; utf8_clip() cuts text short without
 * cutting a character in two.  All four apply the same table, in text.c;
 * text_plain() is utf8_valid() without control characters.
 *
 * Case folds.  There are two in Switchboard, on purpose, and they do
 * different things:
 *  - ascii_fold() (here): A-Z to a-z, every other byte as it is.  The keys
 *    of rooms (hub_find_room) and of their history files (history.c,
 *    whose file names are made from the key) are folded this way.  It
 *    needs no tables, so it is the same in every program and never
 *    changes with a Unicode version: a history file keeps its name.
 *  - nick_fold() (hub/nick.c): the comparison key of RFC 8266 (NFKC,
 *    toLowerCase, NFKC), which needs ICU.  Nicks, members and nick bans
 *    are folded this way.  It lives in the hub only: the handler is a
 *    static musl binary without ICU.
 */
#ifndef SB_TEXT_H
#define SB_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The state of utf8_feed(): UTF8_ACCEPT at a character boundary,
 * UTF8_REJECT once a byte was invalid (for good), anything else inside a
 * character.
 */
enum { UTF8_ACCEPT = 0, UTF8_REJECT = 1 };

/* text.c */
uint32_t utf8_feed(uint32_t, const unsigned char *, size_t);
int	 utf8_valid(const void *, size_t);
size_t	 utf8_decode(const void *, size_t, uint32_t *);
size_t	 utf8_clip(const char *, size_t, size_t);
int	 text_plain(const void *, size_t);
void	 ascii_fold(char *, size_t, const char *);

#endif /* SB_TEXT_H */
