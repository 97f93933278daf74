/* SPDX-License-Identifier: ISC */
/*
 * switchboard-handler --version: the handler's version, then one line per
 * library linked into it, so that an operator (and the tests) can compare
 * them with the system's packages (switchboard-handler(8)):
 *
 *   switchboard-handler 0.1
 *   musl 1.2.3 (Debian 1.2.3-1)
 *   expat 2.5.0 (Debian 2.5.0-1+deb12u2)
 *   jansson 2.14 (Debian 2.14-2)
 *   libbsd 0.11.7 (Debian 0.11.7-2)
 *   libmd 1.0.4 (Debian 1.0.4-2)
 *   gnutls 3.7.9 (Debian 3.7.9-2+deb12u7)
 *   nettle 3.8.1 (Debian 3.8.1-2)
 *   gmp 6.2.1+dfsg1 (Debian 2:6.2.1+dfsg1-1.1)
 *   libtasn1 4.19.0 (Debian 4.19.0-2+deb12u1)
 *
 * Each line is NAME SP VERSION SP "(Debian " DEBIAN-VERSION ")".  VERSION
 * is what the library says at run time where it can (expat, jansson,
 * GnuTLS, glibc); libbsd, libmd, nettle, gmp, libtasn1 and musl have no
 * such call here, and their VERSION is
 * the upstream part of the Debian version.  DEBIAN-VERSION is the source
 * package the library was built from (musl build, by handler/musl-deps.sh)
 * or the -dev package it came from (glibc build), recorded at build time
 * in the generated handler-deps.h (handler/deps-header.sh).
 */
#include <expat.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include "handler.h"
#include "handler-deps.h"

/*
 * Print the version lines to f.  Returns 0, or -1 if writing failed (the
 * caller exits 1: a version nobody could read is a failure, not a usage
 * error).
 */
int
version_print(FILE *f)
{
	const XML_Expat_Version ev = XML_ExpatVersionInfo();
	char expat[32];
	const char *libc;

#ifdef __GLIBC__
	libc = gnu_get_libc_version();
#else
	libc = HANDLER_UP_LIBC;
#endif
	snprintf(expat, sizeof expat, "%d.%d.%d", ev.major, ev.minor,
	    ev.micro);
	fprintf(f, "switchboard-handler %s\n", SB_VERSION);
	fprintf(f, "%s %s (Debian %s)\n", HANDLER_LIBC_NAME, libc,
	    HANDLER_DEB_LIBC);
	fprintf(f, "expat %s (Debian %s)\n", expat, HANDLER_DEB_EXPAT);
	fprintf(f, "jansson %s (Debian %s)\n", jansson_version_str(),
	    HANDLER_DEB_JANSSON);
	fprintf(f, "libbsd %s (Debian %s)\n", HANDLER_UP_LIBBSD,
	    HANDLER_DEB_LIBBSD);
	fprintf(f, "libmd %s (Debian %s)\n", HANDLER_UP_LIBMD,
	    HANDLER_DEB_LIBMD);
	fprintf(f, "gnutls %s (Debian %s)\n", gnutls_check_version(NULL),
	    HANDLER_DEB_GNUTLS28);
	fprintf(f, "nettle %s (Debian %s)\n", HANDLER_UP_NETTLE,
	    HANDLER_DEB_NETTLE);
	fprintf(f, "gmp %s (Debian %s)\n", HANDLER_UP_GMP, HANDLER_DEB_GMP);
	fprintf(f, "libtasn1 %s (Debian %s)\n", HANDLER_UP_LIBTASN1_6,
	    HANDLER_DEB_LIBTASN1_6);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
