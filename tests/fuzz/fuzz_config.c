/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: switchboard.conf lines (common/config.c) and the trip of
 * the handler settings through the contract.
 *
 * The input is split into lines and each is applied with
 * config_parse_line(), as config_load() does.  Properties: an error
 * always comes with a reason; whatever configuration the lines produce,
 * the hub can pack the handler settings into one C_CONFIG message (if it
 * could not, every handler connection would be refused), the message
 * decodes, and config_apply_msg() on a handler's defaults reproduces
 * every handler setting exactly.
 */
#include <errno.h>

#include "fuzz.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_config c, h;
	struct sb_packet pkt;
	struct sb_msg m;
	char err[256];
	size_t off = 0;
	int r;

	config_defaults(&c);
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n = nl != NULL ? (size_t)(nl - (data + off)) + 1 :
		    size - off;
		char *line = malloc(n + 1);

		if (line == NULL)
			abort();
		memcpy(line, data + off, n);
		line[n] = '\0';
		off += n;
		err[0] = '\0';
		r = config_parse_line(&c, line, err, sizeof(err));
		FUZZ_CHECK(r == 0 || r == -EINVAL);
		if (r < 0)
			FUZZ_CHECK(err[0] != '\0' &&
			    memchr(err, '\0', sizeof(err)) != NULL);
		free(line);
	}

	r = config_pack_handler(&c, &pkt);
	if (r != 0)
		fprintf(stderr, "config_pack_handler: %s\n", strerror(-r));
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(sb_msg_decode(&m, pkt.buf, pkt.len) == 0);
	FUZZ_CHECK(m.type == SB_C_CONFIG);
	config_defaults(&h);
	FUZZ_CHECK(config_apply_msg(&h, &m, err, sizeof(err)) == 0);
	FUZZ_CHECK(strcmp(h.server_name, c.server_name) == 0);
	FUZZ_CHECK(strcmp(h.policy_domains, c.policy_domains) == 0);
	FUZZ_CHECK(strcmp(h.policy_ports, c.policy_ports) == 0);
	FUZZ_CHECK(strcmp(h.redirect_url, c.redirect_url) == 0);
	FUZZ_CHECK(strcmp(h.ws_origins, c.ws_origins) == 0);
	FUZZ_CHECK(strcmp(h.ws_chat_paths, c.ws_chat_paths) == 0);
	FUZZ_CHECK(strcmp(h.metrics_from, c.metrics_from) == 0);
	FUZZ_CHECK(strcmp(h.proxy_from, c.proxy_from) == 0);
	FUZZ_CHECK(h.xmlsocket_max == c.xmlsocket_max);
	FUZZ_CHECK(h.connect_timeout == c.connect_timeout);
	FUZZ_CHECK(h.idle_timeout == c.idle_timeout);
	FUZZ_CHECK(h.ping_timeout == c.ping_timeout);
	FUZZ_CHECK(h.handshake_timeout == c.handshake_timeout);
	FUZZ_CHECK(h.ws_max_message == c.ws_max_message);
	FUZZ_CHECK(h.ws_echo == c.ws_echo);
	FUZZ_CHECK(h.outq_max == c.outq_max);
	FUZZ_CHECK(h.backlog_max == c.backlog_max);
	return 0;
}
