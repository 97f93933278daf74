# SPDX-License-Identifier: ISC
# Fuzzing and static analysis; included from the Makefile (-include).
#
#   make fuzz          build every libFuzzer target into build/fuzz/ and run
#                      each for $(FUZZ_SECONDS) seconds (default 60)
#   make fuzz-check    the same, $(FUZZ_CHECK_SECONDS) (15) seconds each,
#                      for make check: a regression is caught, and every
#                      seed and regression input in the corpus is replayed
#   make fuzz-build    only build the targets
#   make lint          cppcheck over common/ hub/ handler/ (tests/lint.sh)
#
# Targets are built with clang and -fsanitize=fuzzer,address,undefined,
# straight from the .c files each one needs (not from the Makefile's
# objects, which are built without the fuzzer's instrumentation).  They
# run on a copy of tests/fuzz/corpus in build/fuzz/corpus, so fuzzing
# never writes into the repository; crash inputs land in
# build/fuzz/artifacts/.  See docs/hardening.md.

FUZZ_CC		?= clang-14
FUZZ_SECONDS	?= 60
FUZZ_CHECK_SECONDS ?= 15
FUZZ_OUT	= build/fuzz
FUZZ_CFLAGS	= -std=gnu11 -g -O1 -D_GNU_SOURCE -Wall -Wextra \
		  -Wno-unused-parameter -Icommon -Ihandler -Ihub -Itests/fuzz \
		  -fsanitize=fuzzer,address,undefined \
		  -fno-sanitize-recover=undefined -fno-omit-frame-pointer

FUZZ_DIALECT	= handler/dialect.c handler/dialect_text.c \
		  handler/dialect_xml.c handler/dialect_json.c handler/store.c \
		  common/proto.c common/buf.c common/text.c
FUZZ_DIALECT_LIBS = -lexpat -ljansson -lbsd
# hub/nick.c's rules (the Makefile's ICU_LIBS).
FUZZ_ICU_LIBS	= $(shell pkg-config --libs icu-uc icu-i18n 2>/dev/null || echo -licui18n -licuuc -licudata)

# Each target: the sources it is linked from, and its libraries.
FUZZ_SRC_sniff		= handler/sniff.c
FUZZ_SRC_http		= handler/http.c handler/wshandshake.c
FUZZ_LIBS_http		= -lmd
FUZZ_SRC_wsframe	= handler/wsframe.c
FUZZ_SRC_wsconn		= handler/wsconn.c handler/wsframe.c common/text.c \
			  common/buf.c
FUZZ_SRC_utf8		= common/text.c
FUZZ_SRC_xmlsock	= handler/xmlsock.c
FUZZ_SRC_dialect_text	= $(FUZZ_DIALECT)
FUZZ_LIBS_dialect_text	= $(FUZZ_DIALECT_LIBS)
FUZZ_SRC_dialect_xml	= $(FUZZ_DIALECT)
FUZZ_LIBS_dialect_xml	= $(FUZZ_DIALECT_LIBS)
FUZZ_SRC_dialect_json	= $(FUZZ_DIALECT)
FUZZ_LIBS_dialect_json	= $(FUZZ_DIALECT_LIBS)
FUZZ_SRC_dialect_render	= $(FUZZ_DIALECT)
FUZZ_LIBS_dialect_render = $(FUZZ_DIALECT_LIBS)
FUZZ_SRC_proto_decode	= $(FUZZ_DIALECT) common/config.c
FUZZ_LIBS_proto_decode	= $(FUZZ_DIALECT_LIBS)
FUZZ_SRC_proto_roundtrip = common/proto.c
FUZZ_SRC_config		= common/config.c common/proto.c
FUZZ_LIBS_config	= -lbsd
FUZZ_SRC_buf		= common/buf.c
FUZZ_SRC_hub		= hub/route.c hub/nick.c hub/members.c hub/history.c \
			  hub/ban.c hub/throttle.c common/file.c common/config.c common/log.c \
			  $(FUZZ_DIALECT)
FUZZ_LIBS_hub		= $(FUZZ_DIALECT_LIBS) -lcrypt $(FUZZ_ICU_LIBS)
FUZZ_SRC_session	= handler/session.c handler/serve.c handler/conn.c \
			  handler/www.c handler/sniff.c handler/http.c \
			  handler/wshandshake.c handler/wsframe.c \
			  handler/wsconn.c handler/xmlsock.c \
			  common/config.c common/log.c $(FUZZ_DIALECT)
FUZZ_LIBS_session	= $(FUZZ_DIALECT_LIBS) -lmd
FUZZ_SRC_history	= hub/history.c common/file.c common/text.c
FUZZ_LIBS_history	= -lbsd
FUZZ_SRC_members	= hub/members.c hub/nick.c common/file.c common/text.c \
			  common/buf.c
FUZZ_LIBS_members	= -lbsd -lcrypt $(FUZZ_ICU_LIBS)
FUZZ_SRC_bans		= hub/ban.c hub/nick.c common/file.c common/text.c
FUZZ_LIBS_bans		= -lbsd -ljansson $(FUZZ_ICU_LIBS)
FUZZ_SRC_log		= common/log.c
FUZZ_LIBS_log		= -lbsd

FUZZ_TARGETS	= sniff http wsframe wsconn utf8 xmlsock dialect_text \
		  dialect_xml dialect_json dialect_render proto_decode \
		  proto_roundtrip config buf hub history members session bans \
		  log
FUZZ_CHECK_TARGETS ?= $(FUZZ_TARGETS)
FUZZ_BINS	= $(addprefix $(FUZZ_OUT)/fuzz_,$(FUZZ_TARGETS))
FUZZ_HEADERS	= $(wildcard common/*.h handler/*.h hub/*.h tests/fuzz/*.h)

define FUZZ_RULE
$(FUZZ_OUT)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_HEADERS) tests/fuzz/fuzz.mk
	@mkdir -p $(FUZZ_OUT)
	@echo "  FUZZCC  $$@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-check: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_CHECK_SECONDS) $(FUZZ_CHECK_TARGETS)

lint:
	@sh tests/lint.sh

.PHONY: fuzz fuzz-build fuzz-check lint
