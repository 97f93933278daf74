/* SPDX-License-Identifier: ISC */
/*
 * The built-in browser chat page, compiled into the handler so that a
 * spawn reads no file (the handler's sandbox has no access to /usr/share
 * to speak of, and a file read per request would cost a syscall chain).
 *
 * Each file has an ETag, a hash of its bytes computed by the build
 * (www-etag.h, from the Makefile): a browser that revalidates (the
 * answers say Cache-Control: no-cache) gets 304 without the body while
 * the handler binary is the same.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "handler.h"
#include "www-etag.h"

#define WWW_EMBED(sym, file)						\
	__asm__(".section .rodata\n"					\
	    ".global " #sym "_data\n"					\
	    ".type " #sym "_data, @object\n"				\
	    ".balign 16\n"						\
	    #sym "_data:\n"						\
	    ".incbin \"" file "\"\n"					\
	    #sym "_end:\n"						\
	    ".byte 0\n"							\
	    ".balign 8\n"						\
	    ".global " #sym "_size\n"					\
	    #sym "_size:\n"						\
	    ".quad " #sym "_end - " #sym "_data\n"			\
	    ".previous\n");						\
	extern const unsigned char sym##_data[];			\
	extern const unsigned long sym##_size

WWW_EMBED(www_index, "handler/www/index.html");
WWW_EMBED(www_app, "handler/www/app.js");
WWW_EMBED(www_style, "handler/www/style.css");
WWW_EMBED(www_icon, "handler/www/favicon.svg");

/*
 * The file served at `path` (len bytes, no query), or NULL.  /index.html
 * is /, and /favicon.ico, which browsers ask for on their own, is the
 * SVG icon the page links to.
 */
const struct www_file *
www_find(const char *path, size_t len)
{
	static struct www_file files[] = {
		{ "/", "text/html; charset=utf-8", NULL, 0,
		    WWW_ETAG_index_html },
		{ "/app.js", "text/javascript; charset=utf-8", NULL, 0,
		    WWW_ETAG_app_js },
		{ "/style.css", "text/css; charset=utf-8", NULL, 0,
		    WWW_ETAG_style_css },
		{ "/favicon.svg", "image/svg+xml", NULL, 0,
		    WWW_ETAG_favicon_svg },
	};
	size_t i;

	assert(path != NULL);
	if (files[0].data == NULL) {
		files[0].data = www_index_data;
		files[0].size = www_index_size;
		files[1].data = www_app_data;
		files[1].size = www_app_size;
		files[2].data = www_style_data;
		files[2].size = www_style_size;
		files[3].data = www_icon_data;
		files[3].size = www_icon_size;
	}
	if (len == sizeof("/index.html") - 1 &&
	    memcmp(path, "/index.html", len) == 0)
		return &files[0];
	if (len == sizeof("/favicon.ico") - 1 &&
	    memcmp(path, "/favicon.ico", len) == 0)
		return &files[3];
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strlen(files[i].path) == len &&
		    memcmp(files[i].path, path, len) == 0)
			return &files[i];
	return NULL;
}

/*
 * Does the request's If-None-Match name f's ETag (or `*`)?  Then the
 * browser's copy is current and the answer is 304.  The comparison is the
 * weak one RFC 9110 (13.1.2) asks for: a W/ prefix does not matter.
 */
int
www_not_modified(const struct http_request *r, const struct www_file *f)
{
	const struct http_header *h = http_header_find(r, "If-None-Match");
	char weak[WWW_ETAG_LEN + 3];

	assert(r != NULL && f != NULL);
	if (h == NULL)
		return 0;
	snprintf(weak, sizeof(weak), "W/%s", f->etag);
	return http_header_has_token(h, "*") ||
	    http_header_has_token(h, f->etag) ||
	    http_header_has_token(h, weak);
}
