# SPDX-License-Identifier: ISC
# Switchboard: a chat gateway for Flash (XMLSocket) and WebSocket clients.
#
#   make          build/switchboard-hub, build/switchboard-handler, build/switchboardctl
#   make demo     install what is missing, build, run on 127.0.0.1:8080
#   make check    install what is missing, build, run every test
#
# Sources are picked up by wildcard: a new .c file in common/, hub/ or
# handler/ is part of the build, a new tests/unit/test_*.c is a new unit
# test binary (linked from tests/link.mk's list), a new
# tests/integration/*.test.mjs a new integration test.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBEXECDIR	?= $(PREFIX)/libexec
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
DOCDIR		?= $(DATADIR)/doc/switchboard
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
CTL_SRC		= $(sort $(wildcard hub/ctl/*.c))
UNIT_SRC	= $(sort $(wildcard tests/unit/test_*.c))
WWW		= $(sort $(wildcard handler/www/*))

# The handler is started once per connection: link it statically and
# against nothing it does not use (no libsystemd), on musl, whose static
# start-up costs far less than glibc's (docs/deployment.md).  Its objects
# are compiled a second time with musl-gcc into build/musl-obj and linked
# against expat, jansson, libbsd and libmd built for musl from Debian's
# source packages by handler/musl-deps.sh (cached in build/musl), and
# GnuTLS (with nettle, gmp and libtasn1) for --tls, built the same way.
# make HANDLER_LIBC=glibc links the glibc objects instead, with Debian's
# libraries (below).
HANDLER_LIBC	?= musl
# ICU (the nick rules, hub/nick.c) is for the hub and switchboardctl only,
# never for the handler: it is large, and the hub lives long.
ICU_LIBS	= $(shell pkg-config --libs icu-uc icu-i18n 2>/dev/null || echo -licui18n -licuuc -licudata)
# The hub holds the TLS key (hub/tlskey.c): the system's GnuTLS.
HUB_LIBS	= $(shell pkg-config --libs libsystemd libbsd gnutls 2>/dev/null || echo -lsystemd -lbsd -lgnutls) -lcrypt -lmd -ljansson -lhiredis \
		  $(ICU_LIBS) -pthread
UNIT_LIBS	= -lcmocka -lsystemd -lgnutls -lexpat -ljansson -lbsd -lmd -lcrypt $(ICU_LIBS) -pthread

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
	@echo "  CC      $<"
	@$(CC) $(BASEFLAGS) $(HARDEN) $(GEN_INC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (asan)"
	@$(CC) $(BASEFLAGS) $(GEN_INC) -O1 -g $(SAN) -MMD -MP -c -o $@ $<

# The page is built into the handler, so a spawn reads no file; each
# file's ETag (the first 16 hex digits of its SHA-256) is computed here,
# once, not by every handler that serves it.
WWW_O		= $(B)/obj/handler/www.o $(B)/asan/handler/www.o \
		  $(B)/musl-obj/handler/www.o
$(WWW_O): $(WWW) $(B)/gen/www/www-etag.h
$(WWW_O): GEN_INC = -I$(B)/gen/www
$(B)/gen/www/www-etag.h: $(WWW)
	@mkdir -p $(dir $@)
	@for f in $(WWW); do \
	    printf '#define WWW_ETAG_%s "\\"%.16s\\""\n' \
	    "$$(basename $$f | tr . _)" "$$(sha256sum <$$f)"; \
	done >$@.tmp && mv $@.tmp $@

MUSL		= $(B)/musl
mobj		= $(patsubst %.c,$(B)/musl-obj/%.o,$(1))
HANDLER_ALL	= handler/main.c $(HANDLER_SRC) $(COMMON_SRC)
ifeq ($(HANDLER_LIBC),musl)
HANDLER_OBJS	= $(call mobj,$(HANDLER_ALL))
# handler/hot.ld: the static variables every handler writes on few pages.
HANDLER_LD	= musl-gcc -L$(MUSL)/prefix/lib -Wl,-T,handler/hot.ld
HANDLER_LIBS	= -static -lgnutls -lhogweed -lnettle -lgmp -ltasn1 -lexpat \
		  -ljansson -lbsd -lmd
else ifeq ($(HANDLER_LIBC),glibc)
HANDLER_OBJS	= $(call obj,$(HANDLER_ALL))
HANDLER_LD	= $(CC)
# expat, jansson, libbsd and libmd from Debian's static libraries; glibc
# and GnuTLS shared, since Debian ships no static p11-kit, which its
# libgnutls.a needs.  The loader's calls join the units' allow-list
# (units/handler-glibc.syscalls).
HANDLER_LIBS	= -Wl,-Bstatic -lexpat -ljansson -lbsd -lmd -Wl,-Bdynamic \
		  $(shell pkg-config --libs gnutls 2>/dev/null || echo -lgnutls)
else
$(error HANDLER_LIBC must be musl or glibc, not $(HANDLER_LIBC))
endif

$(MUSL)/stamp: handler/musl-deps.sh
	@bash handler/musl-deps.sh $(B)

# The musl build's headers are system headers, as /usr/include is for the
# glibc build, and so are the kernel's (linux/, asm/: handler/sandbox.c),
# which musl-gcc does not search; _FORTIFY_SOURCE does nothing on musl.
$(B)/musl-obj/%.o: %.c $(MUSL)/stamp
	@mkdir -p $(dir $@)
	@echo "  CC      $< (musl)"
	@musl-gcc $(BASEFLAGS) -isystem $(MUSL)/prefix/include \
	    -isystem $(MUSL)/kernel-include $(GEN_INC) \
	    $(CFLAGS) -MMD -MP -c -o $@ $<

# handler/version.c's handler-deps.h: the Debian versions of the libraries
# each build links (handler/deps-header.sh).  It runs on every make and
# rewrites the header only when a version changed, which recompiles
# version.c and so relinks the handler: an upgraded libexpat1-dev gets
# into the glibc handler with a plain `make`.
$(B)/gen/musl/handler-deps.h: $(MUSL)/stamp handler-deps-check
	@sh handler/deps-header.sh musl $(B) $@
$(B)/gen/glibc/handler-deps.h: handler-deps-check
	@sh handler/deps-header.sh glibc $(B) $@
$(B)/musl-obj/handler/version.o: $(B)/gen/musl/handler-deps.h
$(B)/musl-obj/handler/version.o: GEN_INC = -I$(B)/gen/musl
$(B)/obj/handler/version.o $(B)/asan/handler/version.o: $(B)/gen/glibc/handler-deps.h
$(B)/obj/handler/version.o $(B)/asan/handler/version.o: GEN_INC = -I$(B)/gen/glibc

# Which libc the handler was linked with; changing HANDLER_LIBC relinks.
$(B)/handler-libc: handler-libc-check
	@mkdir -p $(dir $@)
	@echo $(HANDLER_LIBC) | cmp -s - $@ || echo $(HANDLER_LIBC) >$@

$(B)/switchboard-handler: $(HANDLER_OBJS) $(B)/handler-libc handler/hot.ld \
			  handler/hot-check.sh
	@echo "  LD      $@ ($(HANDLER_LIBC))"
	@$(HANDLER_LD) $(CFLAGS) -o $@ $(HANDLER_OBJS) $(HANDLER_LIBS)
	@$(if $(filter musl,$(HANDLER_LIBC)),sh handler/hot-check.sh $@ || { rm -f $@; exit 1; })

$(B)/switchboard-hub: $(call obj,hub/main.c $(HUB_SRC) $(COMMON_SRC))
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(HUB_LIBS)

$(B)/switchboardctl: $(call obj,$(CTL_SRC) $(COMMON_SRC))
$(B)/switchboardctl: $(call obj,hub/members.c hub/nick.c)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(HUB_LIBS)

# Sanitized builds of the programs, for the integration tests.
$(B)/asan/switchboard-handler: $(call aobj,handler/main.c $(HANDLER_SRC) $(COMMON_SRC))
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ -lgnutls -lexpat -ljansson -lbsd -lmd

$(B)/asan/switchboard-hub: $(call aobj,hub/main.c $(HUB_SRC) $(COMMON_SRC))
	@echo "  LD      $@"
	@$(CC) $(SAN) -o $@ $^ $(HUB_LIBS)

# A unit test links only the code it tests, from tests/link.mk's list,
# which the fuzz targets use too.
include tests/link.mk
define UNIT_RULE
$(B)/asan/test_$(1): $(call aobj,tests/unit/test_$(1).c $(call link_srcs,UNIT,$(1)))
	@echo "  LD      $$@"
	@$$(CC) $$(SAN) -o $$@ $$^ $$(UNIT_LIBS)
endef
$(foreach t,$(patsubst tests/unit/test_%.c,%,$(UNIT_SRC)),$(eval $(call UNIT_RULE,$(t))))

asan: $(B)/asan/switchboard-hub $(B)/asan/switchboard-handler

# Runs a program under the units' allow-list for the handler: the
# integration tests' second pass runs every handler so (tests/run-checks.sh).
$(B)/syscall-allow: tests/syscall-allow.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(BASEFLAGS) -o $@ $< -lseccomp

# --- dependencies ---------------------------------------------------------

DEB_BUILD	= gcc make pkg-config libsystemd-dev libbsd-dev libmd-dev \
		  libexpat1-dev libjansson-dev libcrypt-dev libcmocka-dev \
		  libicu-dev libgnutls28-dev libhiredis-dev \
		  systemd musl-tools dpkg-dev autoconf automake libtool \
		  linux-libc-dev debian-archive-keyring
DEB_TEST	= chromium haxe python3 util-linux clang-14 libclang-rt-14-dev \
		  llvm-14 cppcheck haproxy nginx prometheus tmux openssl redis-server \
		  libseccomp-dev
NODE_STAMP	= node_modules/.package-lock.json
# redis-server, redis-sentinel, ip netns and veths for the cluster tests
# (tests/integration/lib/cluster.mjs)
DEB_TEST	+= redis-server redis-sentinel iproute2

deps-build:
	@sh .ci/deps.sh $(DEB_BUILD)

deps-test: deps-build
	@sh .ci/deps.sh $(DEB_TEST)
	@command -v node >/dev/null && command -v npm >/dev/null || \
		sh .ci/deps.sh nodejs npm
	@if [ ! -f $(NODE_STAMP) ] || [ package-lock.json -nt $(NODE_STAMP) ]; then \
		npm ci --no-audit --no-fund; fi

# --- running --------------------------------------------------------------

# The ports are checked first, so that a busy one is reported before
# minutes of installing and building (units/demo.sh; README).
demo:
	@bash units/demo.sh --check-ports
	@$(MAKE) --no-print-directory deps-build all
	@bash units/demo.sh

# security-check (below, with the units) rates the services first;
# tests/run-checks.sh runs tests/systemd/units.test.sh itself.
check: deps-test security-check
	@$(MAKE) --no-print-directory all asan $(UNIT_BINS) $(B)/syscall-allow
	@sh tests/run-checks.sh $(UNIT_BINS)

unit: $(UNIT_BINS)
	@sh tests/run-checks.sh --unit-only $(UNIT_BINS)

clean:
	rm -rf $(B)

.PHONY: all asan deps-build deps-test demo check unit clean handler-libc-check \
	handler-deps-check

# Our objects' dependency files; not the unpacked library sources of
# handler/musl-deps.sh (BUILD/musl/src, and BUILD/tls/musl/src for
# `make tls-cost`), some of which have directories named *.d.
-include $(shell find $(B) -path '$(B)/*/src' -prune -o -name '*.d' -type f -print 2>/dev/null)

# --- install (deployment) ---
# make install [PREFIX=/usr] [DESTDIR=pkgroot]: the programs, the systemd
# units (@SBINDIR@, @BINDIR@ filled in), the sysusers.d file, the journal
# catalog, the man pages and the config file (never over an existing
# one).  With DESTDIR empty it also creates the users, rebuilds the
# catalog and reloads systemd; packages do that in their scripts.  The
# unit, sysusers and catalog directories come from systemd's pkg-config
# file; override them like PREFIX.  See docs/deployment.md.

sd_pkgvar	= $(shell pkg-config --variable=$(1) systemd 2>/dev/null)
ifndef SYSTEMDUNITDIR
SYSTEMDUNITDIR	:= $(or $(call sd_pkgvar,systemdsystemunitdir),/lib/systemd/system)
endif
ifndef SYSUSERSDIR
SYSUSERSDIR	:= $(or $(call sd_pkgvar,sysusersdir),/usr/lib/sysusers.d)
endif
ifndef CATALOGDIR
CATALOGDIR	:= $(or $(call sd_pkgvar,catalogdir),/usr/lib/systemd/catalog)
endif
CONFDIR		= $(SYSCONFDIR)/switchboard

UNIT_FILES	= switchboard.socket switchboard@.service \
		  switchboard-policy.socket switchboard-policy@.service \
		  switchboard-proxied.socket switchboard-proxied@.service \
		  switchboard-tls.socket switchboard-tls@.service \
		  switchboard-hub.socket switchboard-control.socket \
		  switchboard-hub.service \
		  switchboard-redis.socket switchboard-redis.service
SOCKET_UNITS	= $(filter %.socket,$(UNIT_FILES))
MAN_PAGES	= $(sort $(wildcard docs/man/*.[1-8]))
BUILT_UNITS	= $(addprefix $(B)/units/,$(UNIT_FILES))
SECURITY_BASELINE = units/security.baseline

# The units as installed: the same substitution for install and checks.
# $(B)/units-paths holds the values substituted: a make install with
# another PREFIX (tests/integration/install.test.mjs uses /usr) rebuilds
# the units instead of installing ones that name the other paths.
UNIT_PATHS	= $(SBINDIR) $(BINDIR) $(SYSCONFDIR)
$(B)/units-paths: units-paths-check
	@mkdir -p $(dir $@)
	@echo '$(UNIT_PATHS)' | cmp -s - $@ || echo '$(UNIT_PATHS)' >$@

# @HANDLER_SYSCALLS@: the handler's system call allow-list, one list for
# its four units (units/handler.syscalls, comments dropped).
HANDLER_SYSCALL_LISTS = units/handler.syscalls \
		  $(if $(filter glibc,$(HANDLER_LIBC)),units/handler-glibc.syscalls)
# An empty list would make "SystemCallFilter=" a reset (no filter at all),
# and a placeholder left in a unit a group systemd does not know: both
# stop the build.
HANDLER_SYSCALLS := $(strip $(shell sed -e 's/\#.*//' $(HANDLER_SYSCALL_LISTS)))
$(if $(HANDLER_SYSCALLS),,$(error $(HANDLER_SYSCALL_LISTS): no system call named))
$(B)/units/%: units/% Makefile $(B)/units-paths $(B)/handler-libc \
	      $(HANDLER_SYSCALL_LISTS)
	@mkdir -p $(dir $@)
	@sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@HANDLER_SYSCALLS@|$(HANDLER_SYSCALLS)|g' $< > $@.tmp
	@! grep -n '@[A-Z_]*@' $@.tmp || \
	    { echo "$<: a placeholder the Makefile does not fill in" >&2; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@

install: all $(BUILT_UNITS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(CATALOGDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(B)/switchboard-hub $(B)/switchboard-handler \
	    $(DESTDIR)$(SBINDIR)/
	if [ -f $(B)/switchboardctl ]; then \
		install -d $(DESTDIR)$(BINDIR) && \
		install -m 0755 $(B)/switchboardctl $(DESTDIR)$(BINDIR)/; fi
	install -m 0644 $(BUILT_UNITS) $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 0644 units/switchboard.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/switchboard.conf
	install -m 0644 units/switchboard.catalog \
	    $(DESTDIR)$(CATALOGDIR)/switchboard.catalog
	@if [ -e $(DESTDIR)$(CONFDIR)/switchboard.conf ]; then \
		echo "install: keeping $(DESTDIR)$(CONFDIR)/switchboard.conf"; \
	else \
		echo "install -m 0644 units/switchboard.conf $(DESTDIR)$(CONFDIR)/"; \
		install -m 0644 units/switchboard.conf $(DESTDIR)$(CONFDIR)/; fi
	for m in $(MAN_PAGES); do s=$${m##*.}; \
		install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	@# The licenses: Switchboard's, and the notices of what is linked
	@# statically into the handler (docs/deployment.md).
	install -d $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 LICENSE $(DESTDIR)$(DOCDIR)/LICENSE
	@# An opt-in drop-in: a cheaper sandbox per connection (deployment.md).
	install -m 0644 units/lean-spawn.conf $(DESTDIR)$(DOCDIR)/examples/
	if [ "$(HANDLER_LIBC)" = musl ]; then \
		install -m 0644 /usr/share/doc/musl/copyright \
		    $(DESTDIR)$(DOCDIR)/copyright.musl && \
		for c in $(MUSL)/src/*/debian/copyright; do \
			l=$${c%/debian/copyright}; \
			install -m 0644 $$c $(DESTDIR)$(DOCDIR)/copyright.$${l##*/} \
			    || exit 1; done; fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		echo "systemd-sysusers $(SYSUSERSDIR)/switchboard.conf"; \
		systemd-sysusers $(SYSUSERSDIR)/switchboard.conf; \
		journalctl --update-catalog; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		echo "install: now: systemctl enable --now $(SOCKET_UNITS)"; \
	fi

uninstall:
	@if [ -n "$(DESTDIR)" ]; then \
		systemctl --root=$(DESTDIR) disable $(SOCKET_UNITS) 2>/dev/null; \
	elif [ -d /run/systemd/system ]; then \
		systemctl disable --now $(SOCKET_UNITS) switchboard-hub.service; \
	fi; true
	rm -f $(DESTDIR)$(SBINDIR)/switchboard-hub \
	    $(DESTDIR)$(SBINDIR)/switchboard-handler \
	    $(DESTDIR)$(BINDIR)/switchboardctl
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(UNIT_FILES))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/switchboard.conf \
	    $(DESTDIR)$(CATALOGDIR)/switchboard.catalog
	for m in $(sort $(wildcard docs/man/*.[1-8])); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	rm -f $(DESTDIR)$(DOCDIR)/LICENSE $(DESTDIR)$(DOCDIR)/copyright.* \
	    $(DESTDIR)$(DOCDIR)/examples/lean-spawn.conf
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	@# The config stays if it was edited; users and /var/lib/switchboard stay.
	if cmp -s units/switchboard.conf $(DESTDIR)$(CONFDIR)/switchboard.conf; \
		then rm -f $(DESTDIR)$(CONFDIR)/switchboard.conf; fi
	rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null || true
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		journalctl --update-catalog; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi

# systemd-analyze security rates each service; fail above 1.0 or above
# the score recorded in units/security.baseline (lower is better).
security-check: $(BUILT_UNITS)
	@sh tests/systemd/security-check.sh $(SECURITY_BASELINE) $(B)/units

# systemd-analyze verify on the installed units, in a throw-away overlay
# of / (needs root and namespaces).
verify-units: all
	@sh tests/systemd/verify-units.sh

# Boot systemd as PID 1 in namespaces, install, and talk to Switchboard.
systemd-test: all
	@bash tests/systemd/units.test.sh

.PHONY: install uninstall security-check verify-units systemd-test \
	units-paths-check
# --- end install ---

# Fuzzing and lint (tests/fuzz/fuzz.mk), benchmarks and soak (bench/bench.mk).
-include tests/fuzz/fuzz.mk
-include bench/bench.mk
