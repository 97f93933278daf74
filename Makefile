# Switchboard: a chat gateway for Flash (XMLSocket) and WebSocket clients.
#
#   make          build/switchboard-hub, build/switchboard-handler, build/switchboardctl
#   make demo     install what is missing, build, run on 127.0.0.1:8080
#   make check    install what is missing, build, run every test
#
# Sources are picked up by wildcard: a new .c file in common/, hub/ or
# handler/ is part of the build, a new tests/unit/test_*.c is a new unit
# test binary, a new tests/integration/*.test.mjs a new integration test.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBEXECDIR	?= $(PREFIX)/libexec
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
SYSCONFDIR	?= /etc
DESTDIR		?=

CC		?= cc
WARN		= -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wpointer-arith \
		  -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual \
		  -Wvla -Wnull-dereference -Wno-unused-parameter \
		  -Wno-format-truncation
CFLAGS		?= -O2 -g
BASEFLAGS	= -std=gnu11 $(WARN) -D_GNU_SOURCE -Icommon \
		  -fstack-protector-strong -fno-strict-aliasing
HARDEN		= -D_FORTIFY_SOURCE=2
SAN		= -fsanitize=address,undefined -fno-omit-frame-pointer \
		  -fno-sanitize-recover=all

B		= build

COMMON_SRC	= $(sort $(wildcard common/*.c))
HUB_SRC		= $(sort $(filter-out hub/main.c,$(wildcard hub/*.c)))
HANDLER_SRC	= $(sort $(filter-out handler/main.c,$(wildcard handler/*.c)))
CTL_SRC		= $(sort $(wildcard ctl/*.c))
UNIT_SRC	= $(sort $(wildcard tests/unit/test_*.c))
WWW		= $(sort $(wildcard handler/www/*))

# The handler is started once per connection: link it statically and
# against nothing it does not use (no libsystemd).
HANDLER_LIBS	= -static -lexpat -ljansson -lbsd -lmd
HUB_LIBS	= $(shell pkg-config --libs libsystemd libbsd 2>/dev/null || echo -lsystemd -lbsd) -lcrypt -lmd -ljansson
UNIT_LIBS	= -lcmocka -lsystemd -lexpat -ljansson -lbsd -lmd -lcrypt

obj		= $(patsubst %.c,$(B)/obj/%.o,$(1))
aobj		= $(patsubst %.c,$(B)/asan/%.o,$(1))

PROGS		= $(B)/switchboard-hub $(B)/switchboard-handler
ifneq ($(CTL_SRC),)
PROGS		+= $(B)/switchboardctl
endif
UNIT_BINS	= $(patsubst tests/unit/%.c,$(B)/asan/%,$(UNIT_SRC))

all: $(PROGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(HARDEN) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -O1 -g $(SAN) -MMD -MP -c -o $@ $<

# The page is built into the handler, so a spawn reads no file.
$(B)/obj/handler/www.o $(B)/asan/handler/www.o: $(WWW)

$(B)/switchboard-handler: $(call obj,handler/main.c $(HANDLER_SRC) $(COMMON_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(HANDLER_LIBS)

$(B)/switchboard-hub: $(call obj,hub/main.c $(HUB_SRC) $(COMMON_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(HUB_LIBS)

$(B)/switchboardctl: $(call obj,$(CTL_SRC) $(COMMON_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(HUB_LIBS)

# Sanitized builds of the programs, for the integration tests.
$(B)/asan/switchboard-handler: $(call aobj,handler/main.c $(HANDLER_SRC) $(COMMON_SRC))
	$(CC) $(SAN) -o $@ $^ -lexpat -ljansson -lbsd -lmd

$(B)/asan/switchboard-hub: $(call aobj,hub/main.c $(HUB_SRC) $(COMMON_SRC))
	$(CC) $(SAN) -o $@ $^ $(HUB_LIBS)

$(B)/asan/test_%: $(call aobj,tests/unit/test_%.c) $(call aobj,$(HANDLER_SRC) $(HUB_SRC) $(COMMON_SRC))
	$(CC) $(SAN) -o $@ $^ $(UNIT_LIBS)

asan: $(B)/asan/switchboard-hub $(B)/asan/switchboard-handler

# --- dependencies ---------------------------------------------------------

DEB_BUILD	= gcc make pkg-config libsystemd-dev libbsd-dev libmd-dev \
		  libexpat1-dev libjansson-dev libcrypt-dev libcmocka-dev \
		  systemd
DEB_TEST	= nodejs npm chromium haxe iproute2 util-linux procps \
		  netcat-openbsd curl
NODE_STAMP	= node_modules/.package-lock.json

deps-build:
	@sh tests/deps.sh $(DEB_BUILD)

deps-test: deps-build
	@sh tests/deps.sh $(DEB_TEST)
	@if [ ! -f $(NODE_STAMP) ] || [ package-lock.json -nt $(NODE_STAMP) ]; then \
		npm ci --no-audit --no-fund; fi

# --- running --------------------------------------------------------------

demo: deps-build
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh

check: deps-test
	@$(MAKE) --no-print-directory all asan $(UNIT_BINS)
	@sh tests/run-checks.sh $(UNIT_BINS)

unit: $(UNIT_BINS)
	@sh tests/run-checks.sh --unit-only $(UNIT_BINS)

clean:
	rm -rf $(B)

.PHONY: all asan deps-build deps-test demo check unit clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)
