/* SPDX-License-Identifier: ISC */
/*
 * The XML the text and XML dialects write must be well-formed, one
 * element per message: whatever a client or the hub put in a field, a
 * strict parser (expat here) reads exactly one element, so nothing can
 * forge a second element or close the first early.
 */
#ifndef SB_FUZZ_XML_H
#define SB_FUZZ_XML_H

#include <expat.h>

#include "fuzz.h"

struct fuzz_xml {
	int	depth;
	int	roots;		/* top-level elements */
	char	root[64];	/* name of the first one */
};

static void XMLCALL
fuzz_xml_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct fuzz_xml *x = ud;

	(void)atts;
	if (x->depth++ == 0 && x->roots++ == 0)
		snprintf(x->root, sizeof(x->root), "%s", name);
}

static void XMLCALL
fuzz_xml_end(void *ud, const XML_Char *name)
{
	struct fuzz_xml *x = ud;

	(void)name;
	x->depth--;
}

/*
 * Is s[0..n) one well-formed XML element?  Aborts with the text if not;
 * returns the root element's name (valid until the next call).
 */
static inline const char *
fuzz_xml_one(const char *s, size_t n)
{
	static struct fuzz_xml x;
	XML_Parser p;
	int ok;

	x = (struct fuzz_xml){ .depth = 0 };
	if ((p = XML_ParserCreate("UTF-8")) == NULL)
		abort();
	XML_SetUserData(p, &x);
	XML_SetElementHandler(p, fuzz_xml_start, fuzz_xml_end);
	ok = XML_Parse(p, s, (int)n, XML_TRUE) == XML_STATUS_OK;
	if (!ok)
		fprintf(stderr, "not well-formed XML (%s at column %lu): %.*s\n",
		    XML_ErrorString(XML_GetErrorCode(p)),
		    (unsigned long)XML_GetCurrentColumnNumber(p), (int)n, s);
	XML_ParserFree(p);
	FUZZ_CHECK(ok);
	FUZZ_CHECK(x.roots == 1);
	return x.root;
}

#endif /* SB_FUZZ_XML_H */
