/* SPDX-License-Identifier: ISC */
/*
 * The control socket's exchange, shared by its two ends: the hub
 * (hub/control.c, which describes the exchange) and switchboardctl
 * (hub/ctl/).  One request datagram of NUL-separated words, verb first;
 * replies of one JSON object a datagram, the last with "done": true.
 */
#ifndef SB_CONTROL_H
#define SB_CONTROL_H

#include "proto.h"

#define CONTROL_REQUEST_MAX	(SB_TEXT_MAX + 512)	/* a request datagram */
#define CONTROL_WORDS_MAX	8	/* verb and arguments */
#define CONTROL_REPLY_MAX	(16 * 1024)	/* one reply datagram */

#endif /* SB_CONTROL_H */
