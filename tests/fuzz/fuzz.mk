# SPDX-License-Identifier: ISC
# Fuzzing and static analysis; included from the Makefile (-include).
#
#   make fuzz          build every libFuzzer target into build/fuzz/ and run
#                      each for $(FUZZ_SECONDS) seconds (default 60)
#   make fuzz-check    the same, $(FUZZ_CHECK_SECONDS) (15) seconds each,
#                      for make check: a regression is caught, and every
#                      seed and regression input in the corpus is replayed
#   make fuzz-build    only build the targets
#   make lint          cppcheck over common/ hub/ handler/ (tests/lint.sh),
#                      no function over 80 lines but the named exceptions
#                      (tests/funclen.sh), and make cycles
#   make cycles        which file calls which in handler/, hub/, hub/ctl/
#                      and common/, from the objects' symbols: fails if
#                      two call each other in a circle (tests/callcycles.sh)
#
# Targets are built with clang and -fsanitize=fuzzer,address,undefined,
# straight from the .c files each one needs (tests/link.mk, the list the
# unit tests link from; not from the Makefile's objects, which are built
# without the fuzzer's instrumentation).  They
# run on a copy of tests/fuzz/corpus in build/fuzz/corpus, so fuzzing
# never writes into the repository; crash inputs land in
# build/fuzz/artifacts/.  See docs/hardening.md.

FUZZ_CC		?= clang-14
FUZZ_SECONDS	?= 60
FUZZ_CHECK_SECONDS ?= 15
FUZZ_OUT	= build/fuzz
FUZZ_CFLAGS	= -std=gnu11 -g -O1 -D_GNU_SOURCE -Wall -Wextra \
		  -Wno-unused-parameter -Icommon -Ihandler -Ihub -Itests/fuzz -I$(B)/gen/www \
		  -fsanitize=fuzzer,address,undefined \
		  -fno-sanitize-recover=undefined -fno-omit-frame-pointer

# The sources of each target are tests/link.mk's (link_srcs, FUZZ_X), the
# list the unit tests use too; here, the libraries each one needs beyond
# common/'s (FUZZ_LIBS).
include tests/link.mk
FUZZ_LIBS	= -lbsd
FUZZ_DIALECT_LIBS = -lexpat -ljansson
# hub/nick.c's rules (the Makefile's ICU_LIBS).
FUZZ_ICU_LIBS	= $(shell pkg-config --libs icu-uc icu-i18n 2>/dev/null || echo -licui18n -licuuc -licudata)

FUZZ_LIBS_http		= -lmd
FUZZ_LIBS_dialect_text	= $(FUZZ_DIALECT_LIBS)
FUZZ_LIBS_dialect_xml	= $(FUZZ_DIALECT_LIBS)
FUZZ_LIBS_dialect_json	= $(FUZZ_DIALECT_LIBS)
FUZZ_LIBS_dialect_render = $(FUZZ_DIALECT_LIBS)
FUZZ_LIBS_proto_decode	= $(FUZZ_DIALECT_LIBS)
FUZZ_LIBS_hub		= $(FUZZ_DIALECT_LIBS) -lcrypt -lmd $(FUZZ_ICU_LIBS)
FUZZ_LIBS_session	= $(FUZZ_DIALECT_LIBS) -lmd -lgnutls
FUZZ_LIBS_tls		= $(FUZZ_LIBS_session)
FUZZ_LIBS_members	= -lcrypt -lmd $(FUZZ_ICU_LIBS)
FUZZ_LIBS_bans		= -ljansson $(FUZZ_ICU_LIBS)
FUZZ_LIBS_cluster_msg	= -ljansson $(FUZZ_ICU_LIBS)

FUZZ_TARGETS	= sniff http wsframe wsconn utf8 xmlsock dialect_text \
		  dialect_xml dialect_json dialect_render proto_decode \
		  proto_roundtrip config buf hub history members session bans \
		  log cidr proxy tls cluster_msg
FUZZ_CHECK_TARGETS ?= $(FUZZ_TARGETS)
FUZZ_BINS	= $(addprefix $(FUZZ_OUT)/fuzz_,$(FUZZ_TARGETS))
# Headers the build generates (the page's ETags, handler/www.c) count too.
FUZZ_HEADERS	= $(wildcard common/*.h handler/*.h hub/*.h tests/fuzz/*.h) \
		  $(B)/gen/www/www-etag.h

define FUZZ_RULE
$(FUZZ_OUT)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(call link_srcs,FUZZ,$(1)) $(FUZZ_HEADERS) \
    tests/fuzz/fuzz.mk tests/link.mk
	@mkdir -p $(FUZZ_OUT)
	@echo "  FUZZCC  $$@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ tests/fuzz/fuzz_$(1).c \
	    $(call link_srcs,FUZZ,$(1)) $(FUZZ_LIBS_$(1)) $(FUZZ_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-check: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_CHECK_SECONDS) $(FUZZ_CHECK_TARGETS)

lint: cycles
	@sh tests/funclen.sh
	@sh tests/lint.sh

# No two files of a program call each other in a circle, however long
# (docs/hacking.md): the handler with common/, and the hub with
# switchboardctl (hub/ctl/) and common/.  build/cycles.txt: who calls whom.
CYCLES_HANDLER	= $(call obj,handler/main.c $(HANDLER_SRC) $(COMMON_SRC))
CYCLES_HUB	= $(call obj,hub/main.c $(HUB_SRC) $(CTL_SRC) $(COMMON_SRC))
cycles: $(CYCLES_HANDLER) $(CYCLES_HUB)
	@rc=0; { echo "# handler/ and common/"; \
	    sh tests/callcycles.sh $(CYCLES_HANDLER) || rc=1; \
	    echo "# hub/, hub/ctl/ and common/"; \
	    sh tests/callcycles.sh $(CYCLES_HUB) || rc=1; } >$(B)/cycles.txt; \
	    if [ $$rc -ne 0 ]; then cat $(B)/cycles.txt; exit 1; fi
	@echo "cycles: none in handler/, hub/, hub/ctl/, common/ ($(B)/cycles.txt: who calls whom)"

.PHONY: fuzz fuzz-build fuzz-check lint cycles
