# SPDX-License-Identifier: ISC
# Benchmarks and the soak, included by the top Makefile (-include).
#
#   make bench               Switchboard vs websocketd vs Node ws, median of
#                            3 runs (~20 min); table on stdout, the report
#                            in docs/benchmarks.md and docs/bench-*.png
#   make bench BENCH_QUICK=1 one run of each, smaller N (~3 min)
#   make bench BENCH_FIGS=churn,rtt
#                            only these figures (churn, rtt, bcast, rate,
#                            uring, scrape, mem, scale, guess, systemd);
#                            raw results, no report (systemd alone
#                            rewrites its section of docs/benchmarks.md)
#   make bench BENCH_BASE=HEAD~1 BENCH_FIGS=churn,rtt,mem
#                            this tree against that commit, built beside it
#                            in build/base (bench/base.sh), each figure's
#                            pairs back to back; ratios on stdout and in
#                            build/bench/compare.txt (bench/compare.mjs).
#                            Installs nothing: a missing peer is skipped.
#   make bench-tls           TLS on 443 (issue 19): chat round trips while
#                            the hub signs handshakes, PSS per idle TLS
#                            handler (bench/tls-stall.mjs), and TLS churn
#                            against websocketd --ssl (bench/tls-churn.mjs),
#                            with the floor beside them (a fresh GnuTLS
#                            process per connection, nothing else),
#                            broadcast under a handshake flood
#                            (bench/tls-flood.mjs), and the relay round
#                            trip through HAProxy with PROXY v2 against
#                            HAProxy in front of websocketd
#                            (bench/proxy-rtt.mjs); a machine-speed probe
#                            around each (bench/tls-run.sh); ~5 min, on
#                            stdout and in build/bench/tls.txt
#   make soak                100 clients for SOAK_SECONDS (600) with
#                            reconnects and a hub restart (tests/soak)
#
# Neither is part of `make check`.  Tools come from Debian (websocketd,
# gnuplot, valgrind, gdb, strace) and npm (ws, already a dev dependency).
# bench/README.md says what each file in bench/ is.

BENCH_B		= $(B)/bench
BENCH_CFLAGS	= -O2 -g -std=gnu11 -Wall -Wextra -Werror
BENCH_DEB	= websocketd gnuplot-nox valgrind gdb strace procps iproute2 \
		  binutils musl-tools liburing-dev
BENCH_QUICK	?= 0
BENCH_FIGS	?= all
BENCH_BASE	?=
SOAK_SECONDS	?= 600

BENCH_TOOLS	= $(BENCH_B)/wsload $(BENCH_B)/listen-exec $(BENCH_B)/spawncost \
		  $(BENCH_B)/uringfan $(BENCH_B)/redisfloor $(BENCH_B)/ringwake
BENCH_STATIC	= $(BENCH_B)/echo $(BENCH_B)/nolibc $(BENCH_B)/echo-musl \
		  $(BENCH_B)/relayfloor $(BENCH_B)/bcastfloor

$(BENCH_B)/wsload $(BENCH_B)/listen-exec $(BENCH_B)/spawncost: $(BENCH_B)/%: bench/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(BENCH_CFLAGS) -o $@ $<

# A wake-up among K processes or K threads (issue 18).
$(BENCH_B)/ringwake: bench/ringwake.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(BENCH_CFLAGS) -pthread -o $@ $<

# The hub's fan-out by send() and by io_uring (issue 18).
$(BENCH_B)/uringfan: bench/uringfan.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(BENCH_CFLAGS) -o $@ $< -luring

# The cluster round trip's floor: the hop through Redis each way, with
# the hubs' script (bench/cluster.mjs, xrtt).
$(BENCH_B)/redisfloor: bench/redisfloor.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(BENCH_CFLAGS) -o $@ $< -lhiredis

# The echo program websocketd runs: static glibc, like the handler.
$(BENCH_B)/echo: bench/echo.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static)"
	@$(CC) $(BENCH_CFLAGS) -static -o $@ $<

# The same program on musl's static start-up (no CPUID probing): what the
# handler's start-up could cost without glibc's.
$(BENCH_B)/echo-musl: bench/echo.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static, musl)"
	@musl-gcc -O2 -static -o $@ $<

# The memory floor of an idle connection (bench/idlefloor.sh).
$(BENCH_B)/idlefloor: bench/idlefloor.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static, musl)"
	@musl-gcc -O2 -static -o $@ $<

# The relay figure's floor: a handler and a hub that only move bytes,
# static on musl like switchboard-handler.
$(BENCH_B)/relayfloor: bench/relayfloor.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static, musl)"
	@musl-gcc $(BENCH_CFLAGS) -static -o $@ $<

# The broadcast's floor: a sender and N receivers that only move bytes,
# static on musl like switchboard-handler.
$(BENCH_B)/bcastfloor: bench/bcastfloor.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static, musl)"
	@musl-gcc $(BENCH_CFLAGS) -static -o $@ $<

# No libc at all: the floor of fork + exec.
$(BENCH_B)/nolibc: bench/nolibc.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static, no libc)"
	@$(CC) -O2 -static -nostdlib -o $@ $<

bench-deps: deps-test
	@sh .ci/deps.sh $(BENCH_DEB)

bench-tools: $(BENCH_TOOLS) $(BENCH_STATIC)

bench: $(if $(BENCH_BASE),,bench-deps)
	@$(MAKE) --no-print-directory all bench-tools
	@$(if $(BENCH_BASE),bash bench/base.sh '$(BENCH_BASE)')
	@BENCH_QUICK=$(BENCH_QUICK) BENCH_FIGS=$(BENCH_FIGS) \
	    BENCH_BASE='$(BENCH_BASE)' bash bench/run.sh

soak: deps-test
	@$(MAKE) --no-print-directory all
	@SOAK_SECONDS=$(SOAK_SECONDS) node tests/soak/soak.mjs

.PHONY: bench bench-deps bench-tools soak

# The hub's fan-out alone: its rule objects (tests/link.mk) with a fake
# clock and fake sockets, for callgrind or perf stat (bench/fanout.c).
$(BENCH_B)/fanout: $(call obj,bench/fanout.c $(LINK_HUB_RULES) hub/journal.c \
		   $(LINK_COMMON))
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(HUB_LIBS)

# The TLS library choice of issue 19 (docs/tls.md): not part of `make
# bench`.  handler/musl-deps.sh builds the five candidates for musl from
# Debian's sources into build/tls (about 15 min cold); each gets a
# key-less server (bench/tls-srv-*.c).  GnuTLS and OpenSSL are built a
# second time against the system's shared libraries.
#
#   make tls-cost            the measurement (bench/tls-cost.sh)
#   make tls-proto           the external signer, end to end (bench/tls-proto.sh)
TLS_B		= $(B)/tls
TLS_LIBS	= gnutls openssl wolfssl mbedtls bearssl
TLS_DEB		= libssl-dev libgnutls28-dev openssl python3 systemd \
		  util-linux iproute2 binutils
TLS_SRV		= $(patsubst %,$(BENCH_B)/tls-srv-%,$(TLS_LIBS))
TLS_LIBS_gnutls	= -lgnutls -lhogweed -lnettle -lgmp -ltasn1
TLS_LIBS_openssl = -lssl -lcrypto
TLS_LIBS_wolfssl = -lwolfssl -lm
TLS_LIBS_mbedtls = -lmbedtls -lmbedx509 -lmbedcrypto
TLS_LIBS_bearssl = -lbearssl
TLS_CFLAGS_mbedtls = -DMBEDTLS_SSL_ASYNC_PRIVATE

$(TLS_B)/musl/stamp: handler/musl-deps.sh
	@MUSL_DEPS_TLS="$(TLS_LIBS)" bash handler/musl-deps.sh $(TLS_B)

$(TLS_SRV): $(BENCH_B)/tls-srv-%: bench/tls-srv-%.c bench/tls-sign.h $(TLS_B)/musl/stamp
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static, musl)"
	@musl-gcc $(BENCH_CFLAGS) $(TLS_CFLAGS_$*) -static \
	    -isystem $(TLS_B)/musl/prefix/include -o $@ $< \
	    -L$(TLS_B)/musl/prefix/lib $(TLS_LIBS_$*)

# The experiment of bench/tls-nofree.c: GnuTLS with a malloc that keeps
# everything.
$(BENCH_B)/tls-srv-gnutls-nofree: bench/tls-srv-gnutls.c bench/tls-nofree.c bench/tls-sign.h $(TLS_B)/musl/stamp
	@mkdir -p $(dir $@)
	@echo "  CC      $< bench/tls-nofree.c (static, musl)"
	@musl-gcc $(BENCH_CFLAGS) -static -isystem $(TLS_B)/musl/prefix/include \
	    -o $@ bench/tls-srv-gnutls.c bench/tls-nofree.c \
	    -L$(TLS_B)/musl/prefix/lib $(TLS_LIBS_gnutls)

$(BENCH_B)/tls-srv-gnutls-glibc $(BENCH_B)/tls-srv-openssl-glibc: $(BENCH_B)/tls-srv-%-glibc: bench/tls-srv-%.c bench/tls-sign.h
	@mkdir -p $(dir $@)
	@echo "  CC      $< (glibc, shared libraries)"
	@$(CC) $(BENCH_CFLAGS) -o $@ $< $(if $(filter gnutls,$*),-lgnutls,-lssl -lcrypto)

$(BENCH_B)/tls-cost: bench/tls-cost.c bench/tls-sign.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(BENCH_CFLAGS) -o $@ $< -lssl -lcrypto

$(BENCH_B)/tls-signer: bench/tls-signer.c bench/tls-sign.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(BENCH_CFLAGS) -o $@ $< -lgnutls

tls-deps: deps-build
	@sh tests/deps.sh $(TLS_DEB)

tls-cost: tls-deps
	@$(MAKE) --no-print-directory $(TLS_SRV) $(BENCH_B)/tls-srv-gnutls-glibc \
	    $(BENCH_B)/tls-srv-openssl-glibc $(BENCH_B)/tls-srv-gnutls-nofree \
	    $(BENCH_B)/tls-cost $(BENCH_B)/echo-musl
	@bash bench/tls-cost.sh

tls-proto: tls-deps
	@$(MAKE) --no-print-directory $(BENCH_B)/tls-srv-gnutls $(BENCH_B)/tls-signer
	@bash bench/tls-proto.sh

# The churn floor (bench/tls-churn.mjs): bench/tls-srv-gnutls.c linked
# as the handler is, static on musl against the handler's own GnuTLS
# build (build/musl), not the candidates' (build/tls).
$(BENCH_B)/tls-floor: bench/tls-srv-gnutls.c bench/tls-sign.h $(MUSL)/stamp
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static, musl, the handler's GnuTLS)"
	@musl-gcc $(BENCH_CFLAGS) -static -isystem $(MUSL)/prefix/include -o $@ $< \
	    -L$(MUSL)/prefix/lib $(TLS_LIBS_gnutls)

bench-tls: all
	@$(MAKE) --no-print-directory $(BENCH_B)/wsload $(BENCH_B)/echo \
	    $(BENCH_B)/listen-exec $(BENCH_B)/spawncost $(BENCH_B)/nolibc $(BENCH_B)/tls-floor \
	    $(BENCH_B)/tls-signer
	@bash bench/tls-run.sh

.PHONY: tls-deps tls-cost tls-proto bench-tls
