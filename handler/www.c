/* SPDX-License-Identifier: ISC */
/*
 * The built-in browser chat page, compiled into the handler so that a
 * spawn reads no file (the handler's sandbox has no access to /usr/share
 * to speak of, and a file read per request would cost a syscall chain).
 */
#include <assert.h>
#include <string.h>

#include "handler.h"

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

/* The file served at `path` (len bytes, no query), or NULL. */
const struct www_file *
www_find(const char *path, size_t len)
{
	static struct www_file files[] = {
		{ "/", "text/html; charset=utf-8", NULL, 0 },
		{ "/app.js", "text/javascript; charset=utf-8", NULL, 0 },
		{ "/style.css", "text/css; charset=utf-8", NULL, 0 },
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
	}
	if (len == sizeof("/index.html") - 1 &&
	    memcmp(path, "/index.html", len) == 0)
		return &files[0];
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strlen(files[i].path) == len &&
		    memcmp(files[i].path, path, len) == 0)
			return &files[i];
	return NULL;
}
