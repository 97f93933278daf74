#!/bin/bash
# SPDX-License-Identifier: ISC
# The handler's libraries for musl: expat, jansson, libmd and libbsd from
# Debian's own source packages (Debian's patches applied): bookworm's, and
# expat from trixie (see apt_setup below), built as static libraries with
# musl-gcc into BUILD/musl/prefix.
#
#   handler/musl-deps.sh [BUILD]       (BUILD defaults to build)
#
# Run by the Makefile when BUILD/musl/stamp is missing or older than this
# script; it prints one line per library.  Sources come through apt-get
# source with a private sources file, lists and cache under BUILD/musl,
# so the system's apt configuration is neither read for sources nor
# changed.  apt verifies the chain: InRelease signed by a key in
# debian-archive-keyring, the Sources index by its hash there, every .dsc
# and tarball by its hash in the index; dpkg-source checks the tarballs
# against the .dsc and applies debian/patches.
#
# Each package is taken at the newest version its suites list (a
# security suite wins when it is newer) that can be downloaded and
# verified.  The handler must never lack a fix that the system's own copy
# of the library has, so a version older than the installed runtime
# package (libexpat1, libjansson4, libbsd0, libmd0; dpkg --compare-versions)
# is never built: the script stops and says what to do (a mirror with the
# newer source, or make HANDLER_LIBC=glibc, which links the system's
# libraries; docs/deployment.md has the costs).  A version older than the
# newest listed but not older than the system's is built with a WARNING
# line; with MUSL_DEPS_STRICT=1 that is an error too.  All of them are
# fetched and checked before any is built.  The versions built are in
# BUILD/musl/versions, and in the handler's --version.
#
# GnuTLS (gnutls28) and what it needs, nettle, gmp and libtasn1-6, are
# always built: the handler's TLS (--tls, docs/tls.md).  GnuTLS is built
# without p11-kit, libidn2, zlib/brotli/zstd, with the unistring copy
# GnuTLS carries.
# MUSL_DEPS_TLS names other TLS libraries to build as well, the same way:
#   openssl wolfssl mbedtls bearssl
#             the other candidates, for bench/tls-cost.sh only
#   gnutls    accepted, and built anyway
# e.g. MUSL_DEPS_TLS=gnutls handler/musl-deps.sh build/tls.
#
# Needs: musl-tools, dpkg-dev, autoconf, automake, libtool, make,
# linux-libc-dev (libbsd's getentropy includes <linux/sysctl.h>; musl-gcc
# does not search /usr/include, so only linux/, asm/ and asm-generic/ are
# offered, through symlinks in BUILD/musl/kernel-include).
set -euo pipefail
cd "$(dirname "$0")/.."
M=${1:-build}/musl
case $M in /*) ;; *) M=$PWD/$M ;; esac
PREFIX=$M/prefix
PKGS="libmd libbsd jansson expat gmp nettle libtasn1-6 gnutls28"
for t in ${MUSL_DEPS_TLS:-}; do
	case $t in
	gnutls) ;;
	openssl|wolfssl|mbedtls|bearssl) PKGS="$PKGS $t" ;;
	*) echo "musl-deps: MUSL_DEPS_TLS: unknown library $t" >&2; exit 1 ;;
	esac
done
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
MIRROR=http://deb.debian.org
JOBS=$(nproc 2>/dev/null || echo 2)

fail() {	# message [log]
	echo "musl-deps: $1" >&2
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		echo "--- last lines of $2" >&2
		tail -n 40 "$2" >&2
	fi
	exit 1
}

for tool in musl-gcc apt-get dpkg-source autoreconf libtoolize make; do
	command -v "$tool" >/dev/null ||
	    fail "$tool not found (apt-get install musl-tools dpkg-dev autoconf automake libtool)"
done
[ -r "$KEYRING" ] || fail "$KEYRING missing (debian-archive-keyring)"

rm -f "$M/stamp"
mkdir -p "$M/cache/archives/partial" "$M/src" "$M/log"

# Two sets of indexes: bookworm's, and for expat also trixie's (Debian
# 13, the current stable).  This mirror serves no source files of the
# security suites, and bookworm's main suite has expat 2.5.0-1+deb12u2,
# without the fixes of deb12u3 to deb12u5 that the system's libexpat1
# has; trixie's point release carries a newer upstream expat with them.
# The other three libraries are taken from bookworm.
apt_setup() {	# name suite-lines...
	local n=$1 log
	shift
	mkdir -p "$M/lists-$n/partial"
	printf '%s\n' "$@" >"$M/sources-$n.list"
	log=$M/log/apt-update-$n.log
	apt-get -o "Dir::Etc::SourceList=$M/sources-$n.list" \
	    -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$M/lists-$n" \
	    -o "Dir::Cache=$M/cache" -o APT::Sandbox::User="$(id -un)" \
	    -o Acquire::Retries=3 update >"$log" 2>&1 ||
	    fail "apt-get update failed" "$log"
	# A failed signature check is only a warning to apt-get update.
	if grep -qE '^(W|E): .*(signature|NO_PUBKEY|not signed|Release file)' "$log"; then
		fail "the Debian indexes did not verify" "$log"
	fi
}
BOOKWORM=("deb-src [signed-by=$KEYRING] $MIRROR/debian bookworm main"
	  "deb-src [signed-by=$KEYRING] $MIRROR/debian-security bookworm-security main")
apt_setup bookworm "${BOOKWORM[@]}"
apt_setup trixie "${BOOKWORM[@]}" \
    "deb-src [signed-by=$KEYRING] $MIRROR/debian trixie main" \
    "deb-src [signed-by=$KEYRING] $MIRROR/debian trixie-updates main" \
    "deb-src [signed-by=$KEYRING] $MIRROR/debian-security trixie-security main"

# The apt options for package $1, in APT.
apt_for() {
	local n=bookworm
	[ "$1" = expat ] && n=trixie
	APT=(-o "Dir::Etc::SourceList=$M/sources-$n.list"
	     -o Dir::Etc::SourceParts=/dev/null
	     -o "Dir::State::Lists=$M/lists-$n"
	     -o "Dir::Cache=$M/cache"
	     -o APT::Sandbox::User="$(id -un)"
	     -o Acquire::Retries=3)
}

# The versions of source package $1 the indexes list, newest first.
versions() {
	local v out=() i j t
	apt_for "$1"
	for v in $(apt-cache "${APT[@]}" showsrc --only-source "$1" 2>/dev/null |
	    sed -n 's/^Version: //p' | sort -u); do
		out+=("$v")
	done
	for ((i = 1; i < ${#out[@]}; i++)); do
		for ((j = i; j > 0; j--)); do
			dpkg --compare-versions "${out[j]}" gt "${out[j-1]}" || break
			t=${out[j]}; out[j]=${out[j-1]}; out[j-1]=$t
		done
	done
	printf '%s\n' "${out[@]}"
}

# The installed version of the runtime package built from source package
# $1, or nothing if it is not installed.
system_version() {
	dpkg-query -W -f='${db:Status-Status} ${Version}' "$(runtime_pkg "$1")" \
	    2>/dev/null | sed -n 's/^installed //p'
}
runtime_pkg() {
	case $1 in
	expat) echo libexpat1 ;;
	jansson) echo libjansson4 ;;
	libbsd) echo libbsd0 ;;
	libmd) echo libmd0 ;;
	gmp) echo libgmp10 ;;
	nettle) echo libnettle8 ;;
	libtasn1-6) echo libtasn1-6 ;;
	gnutls28) echo libgnutls30 ;;
	openssl) echo libssl3 ;;
	wolfssl) echo libwolfssl35 ;;
	mbedtls) echo libmbedtls14 ;;
	bearssl) echo libbearssl0 ;;
	esac
}

# Stop: no version of $1 at least as new as the system's $2 could be
# downloaded; $3 lists the versions tried.
too_old() {
	local rt
	rt=$(runtime_pkg "$1")
	echo "musl-deps: no $1 source as new as the installed $rt $2" >&2
	echo "  could be downloaded and verified (tried: ${3:-none};" >&2
	echo "  see $M/log/$1-source.log)." >&2
	echo "  A handler built from an older one would lack security fixes that" >&2
	echo "  the system's $rt has, so it is not built.  Either:" >&2
	echo "  * make $1 $2 or newer downloadable (a Debian mirror that serves" >&2
	echo "    the source files of the security suites) and run make again, or" >&2
	echo "  * link the handler against the system's libraries instead:" >&2
	echo "      make HANDLER_LIBC=glibc" >&2
	echo "    (a static glibc handler; each connection's spawn then costs about" >&2
	echo "    twice as much, see \"Security fixes\" in docs/deployment.md)." >&2
	exit 1
}

# Fetch, verify and unpack source package $1 into $M/src/$1; print the
# version unpacked.  Versions older than the system's are not tried.
fetch() {
	local p=$1 v newest="" dir log=$M/log/$1-source.log floor tried=""
	: >"$log"
	floor=$(system_version "$p")
	for v in $(versions "$p"); do
		[ -n "$newest" ] || newest=$v
		if [ -n "$floor" ] && dpkg --compare-versions "$v" lt "$floor"; then
			too_old "$p" "$floor" "${tried# }"
		fi
		tried="$tried $v"
		for dir in "$M/src/$p"-[0-9]*/; do
			[ -d "$dir" ] && rm -rf "$dir"
		done
		apt_for "$p"
		if (cd "$M/src" && apt-get "${APT[@]}" source "$p=$v") >>"$log" 2>&1; then
			for dir in "$M/src/$p"-[0-9]*/; do
				[ -d "$dir" ] || continue
				rm -rf "$M/src/$p"
				mv "$dir" "$M/src/$p"
				if [ "$v" != "$newest" ]; then
					echo "  WARNING $p $newest is listed but its source could not be downloaded;" >&2
					echo "          built $p $v, without the fixes made since (see $log)" >&2
				fi
				echo "$v"
				return 0
			done
		fi
		[ "${MUSL_DEPS_STRICT:-0}" = 1 ] &&
		    fail "$p $v could not be downloaded and unpacked (MUSL_DEPS_STRICT=1)" "$log"
	done
	[ -n "$floor" ] && too_old "$p" "$floor" "${tried# }"
	fail "no version of $p could be downloaded and unpacked" "$log"
}

# musl-gcc builds for the machine's own architecture.
BUILD_TYPE=$(gcc -dumpmachine)
HOST_TYPE=${BUILD_TYPE%-gnu}-musl
MULTIARCH=$(gcc -print-multiarch)
KINC=$M/kernel-include
rm -rf "$KINC"
mkdir -p "$KINC"
for d in linux asm-generic "$MULTIARCH/asm"; do
	[ -d "/usr/include/$d" ] || fail "/usr/include/$d missing (linux-libc-dev)"
	ln -s "/usr/include/$d" "$KINC/${d##*/}"
done

rm -rf "$PREFIX"
mkdir -p "$PREFIX"
export CC=musl-gcc AR=ar RANLIB=ranlib
export CFLAGS="-O2 -g -fstack-protector-strong"
export CPPFLAGS="-I$PREFIX/include -isystem $KINC"
export LDFLAGS="-L$PREFIX/lib"
CONF=(--build="$BUILD_TYPE" --host="$HOST_TYPE" --prefix="$PREFIX"
      --disable-shared --enable-static)

# The static library that shows package $1 was built: lib$(lib_name).a.
lib_name() {
	case $1 in
	expat|jansson|nettle|gmp) echo "$1" ;;
	libtasn1-6) echo tasn1 ;;
	gnutls28) echo gnutls ;;
	openssl) echo ssl ;;
	*) echo "${1#lib}" ;;
	esac
}

# Build TLS package $1 (MUSL_DEPS_TLS), unpacked in $2, into $PREFIX.
build_tls() {
	cd "$2" || return 1
	case $1 in
	gmp)
		# Debian's source has no doc/; its patches change Makefile.am.
		autoreconf -fi && ./configure "${CONF[@]}" &&
		    make -j"$JOBS" && make install ;;
	nettle)
		./configure "${CONF[@]}" --libdir="$PREFIX/lib" \
		    --disable-documentation --disable-openssl &&
		    make -j"$JOBS" && make install ;;
	libtasn1-6)
		./configure "${CONF[@]}" --disable-doc --disable-valgrind-tests &&
		    make -C lib -j"$JOBS" && make -C lib install ;;
	gnutls28)
		# No PKCS #11 (p11-kit), IDN, compression or TPM: a handler
		# loads one certificate chain and uses no other key store.
		# The system's priority file (/etc/gnutls/config) is read
		# as the system's GnuTLS reads it.
		PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig PKG_CONFIG_PATH= \
		    ./configure "${CONF[@]}" --without-p11-kit --without-idn \
		    --with-included-unistring --without-tpm --without-tpm2 \
		    --without-brotli --without-zstd --without-zlib \
		    --disable-doc --disable-tests --disable-tools --disable-cxx \
		    --disable-guile --disable-openssl-compatibility \
		    --disable-libdane --disable-nls --disable-valgrind-tests \
		    --with-system-priority-file=/etc/gnutls/config &&
		    make -C gl -j"$JOBS" && make -C lib -j"$JOBS" &&
		    make -C lib install ;;
	openssl)
		./Configure linux-x86_64 --prefix="$PREFIX" --libdir=lib \
		    --openssldir=/etc/ssl no-shared no-dso no-engine no-async \
		    no-afalgeng no-tests no-ssl3 no-idea no-mdc2 no-rc5 no-zlib \
		    no-capieng no-rdrand -isystem "$KINC" &&
		    make -j"$JOBS" build_libs && make install_dev ;;
	wolfssl)
		./autogen.sh && ./configure "${CONF[@]}" --enable-tls13 \
		    --enable-pkcallbacks --enable-ecc --enable-rsapss \
		    --enable-supportedcurves --enable-aesgcm --enable-sha384 \
		    --enable-sha512 --enable-curve25519 --disable-examples \
		    --disable-crypttests --disable-benchmark &&
		    make -j"$JOBS" && make install ;;
	mbedtls)
		# The asynchronous private-key callbacks are the external
		# signer's hook; Debian's build leaves them out.
		make -C library -j"$JOBS" CC=musl-gcc \
		    CFLAGS="$CFLAGS -DMBEDTLS_SSL_ASYNC_PRIVATE" static &&
		    mkdir -p "$PREFIX/lib" "$PREFIX/include" &&
		    cp library/*.a "$PREFIX/lib/" &&
		    cp -r include/mbedtls include/psa "$PREFIX/include/" ;;
	bearssl)
		make -j"$JOBS" CC=musl-gcc CFLAGS="$CFLAGS" lib &&
		    mkdir -p "$PREFIX/lib" "$PREFIX/include" &&
		    cp build/libbearssl.a "$PREFIX/lib/" &&
		    cp inc/*.h "$PREFIX/include/" ;;
	esac
}

declare -A VERSION
for p in $PKGS; do
	VERSION[$p]=$(fetch "$p")
done
: >"$M/versions.new"
for p in $PKGS; do
	v=${VERSION[$p]}
	log=$M/log/$p-build.log
	src=$M/src/$p
	t0=$SECONDS
	case $p in
	libmd)
		(cd "$src" && ./configure "${CONF[@]}" &&
		    make -C src -j"$JOBS" && make -C src install &&
		    make -C include install) >"$log" 2>&1 ;;
	libbsd)
		(cd "$src" && ./configure "${CONF[@]}" &&
		    make -C src -j"$JOBS" && make -C src install &&
		    make -C include install) >"$log" 2>&1 ;;
	jansson)
		# -O3: jansson's lexer saves each byte of a string with
		# strbuffer_append_byte(), a call of strbuffer_append_bytes()
		# with a length of one that -O2 does not inline, so every byte
		# cost a memcpy() call (musl's does `rep movsq`): 18 % of a
		# relaying handler's time.  Inlined, it is one store
		# (bench/analysis.md, relay).
		(cd "$src" && autoreconf -fi &&
		    CFLAGS="${CFLAGS/-O2/-O3}" ./configure "${CONF[@]}" &&
		    make -C src -j"$JOBS" && make -C src install) >"$log" 2>&1 ;;
	expat)
		(cd "$src/expat" && ./buildconf.sh && ./configure "${CONF[@]}" \
		    --without-docbook --without-xmlwf --without-examples \
		    --without-tests &&
		    make -C lib -j"$JOBS" && make -C lib install) >"$log" 2>&1 ;;
	*) (build_tls "$p" "$src") >"$log" 2>&1 ;;
	esac || fail "$p $v: build failed" "$log"
	lib=$(lib_name "$p")
	[ -f "$PREFIX/lib/lib$lib.a" ] || fail "$p $v: no lib$lib.a" "$log"
	echo "  MUSL    $p $v ($((SECONDS - t0)) s)"
	echo "$p $v" >>"$M/versions.new"
done
# Static only: libtool archives and libbsd's linker script for a shared
# library that was not built would only mislead a linker.
rm -f "$PREFIX"/lib/*.la "$PREFIX"/lib/*.so
mv "$M/versions.new" "$M/versions"
touch "$M/stamp"
