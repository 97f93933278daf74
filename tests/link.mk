# SPDX-License-Identifier: ISC
# What each unit test (tests/unit/test_X.c) and each fuzz target
# (tests/fuzz/fuzz_X.c) is linked from: the one list of which code a test
# needs, included by the Makefile and by tests/fuzz/fuzz.mk.  A test links
# only this, so a rule file that starts calling into the I/O files (or a
# parser into the session) no longer links: the list is also the check
# that the layers call in one direction.
#
# The groups follow the directories, by wildcard, so that a new file
# joins its group without an edit here:
#
#   LINK_COMMON            common/*.c: the library both programs share;
#                          every test and every fuzz target links it
#   LINK_HUB_RULES         hub/*.c but LINK_HUB_IO: the hub's rules, which
#                          do no I/O (dispatch, peers, identity, resume,
#                          rooms, replay, messages, flood, send, hub; nick,
#                          members, history, ban, throttle: hub/hub.h)
#   LINK_HUB_IO            the hub files that own a socket, a thread, the
#                          journal or main(): named here, as they are few;
#                          a new hub file that does I/O is added to them
#   LINK_HANDLER_DIALECTS  handler/dialect*.c, json_*.c and store.c (the
#                          buffers the dialects parse into): the dialects
#   LINK_HANDLER           handler/*.c but main.c and version.c (start-up):
#                          the whole connection, for the session's fuzz target
#
# test_X and fuzz_X link X.c, from whichever of common/, hub/ and handler/
# holds it, LINK_COMMON, and what UNIT_X or FUZZ_X below adds: the files
# X.c calls, or a group when it calls into one.  A file named here that
# is not there (moved, deleted) is skipped, so one that moved into
# common/ is still linked, through LINK_COMMON.

ifndef link_srcs

LINK_COMMON		= $(sort $(wildcard common/*.c))
LINK_HUB_IO		= hub/main.c hub/server.c hub/control.c hub/authpool.c \
			  hub/tlskey.c \
			  hub/journal.c hub/cluster.c
LINK_HUB_RULES		= $(sort $(filter-out $(LINK_HUB_IO),$(wildcard hub/*.c)))
LINK_HANDLER_DIALECTS	= $(sort $(wildcard handler/dialect*.c handler/json_*.c \
			  handler/store.c))
LINK_HANDLER		= $(sort $(filter-out handler/main.c handler/version.c, \
			  $(wildcard handler/*.c)))

# $(call link_srcs,UNIT,X) and $(call link_srcs,FUZZ,X): the sources.
link_srcs		= $(sort $(wildcard $(addsuffix /$(2).c,common hub handler) \
			  $($(1)_$(2))) $(LINK_COMMON))

# --- unit tests: what test_X adds to X.c and common/ ----------------------
# (buf config file history http nick proto sniff text wsframe xmlsock:
# nothing)
UNIT_ban		= hub/nick.c
UNIT_members		= hub/nick.c
UNIT_cluster_msg	= hub/nick.c hub/ban.c
UNIT_log		= hub/journal.c
UNIT_route		= $(LINK_HUB_RULES) hub/journal.c
UNIT_wsconn		= handler/wsframe.c
UNIT_wshandshake	= handler/http.c
UNIT_proxy		= handler/http.c
UNIT_dialect_json	= $(LINK_HANDLER_DIALECTS)
UNIT_dialect_text	= $(LINK_HANDLER_DIALECTS)
UNIT_dialect_xml	= $(LINK_HANDLER_DIALECTS)
UNIT_session		= $(LINK_HANDLER)

# --- fuzz targets: what fuzz_X adds to X.c and common/ --------------------
# (buf config history log proto_roundtrip sniff utf8 wsframe xmlsock:
# nothing; utf8 is common/text.c's)
FUZZ_bans		= hub/ban.c $(UNIT_ban)
FUZZ_members		= $(UNIT_members)
FUZZ_cluster_msg	= $(UNIT_cluster_msg)
FUZZ_wsconn		= $(UNIT_wsconn)
FUZZ_http		= handler/wshandshake.c
FUZZ_proxy		= handler/http.c
FUZZ_dialect_json	= $(LINK_HANDLER_DIALECTS)
FUZZ_dialect_text	= $(LINK_HANDLER_DIALECTS)
FUZZ_dialect_xml	= $(LINK_HANDLER_DIALECTS)
FUZZ_dialect_render	= $(LINK_HANDLER_DIALECTS)
FUZZ_proto_decode	= $(LINK_HANDLER_DIALECTS)
# The journal is not linked: fuzz_hub.c formats events and writes nothing.
FUZZ_hub		= $(LINK_HUB_RULES) $(LINK_HANDLER_DIALECTS)
FUZZ_session		= $(LINK_HANDLER)
FUZZ_tls		= $(LINK_HANDLER)

endif
