/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the dialects' renderers, dialect_render() of decoded hub
 * messages (handler/dialect*.c), and the XML escaping they share.
 *
 * Input: byte 0 picks the dialect and the session's state (seed-003
 * registration, a pending login, an own nick, a small output cap); then
 * records [type][u16 length][fields separated by NUL], each encoded with
 * sb_msg_encode() as the hub would, decoded with sb_msg_decode() as the
 * handler does, and rendered in turn on the same session, so lists
 * accumulate across chunks and nick changes follow.  Properties:
 *   - it returns the number of client messages it appended, each a
 *     well-formed message of the dialect (one XML element on one line,
 *     or one JSON object); on an error the output is left as it was;
 *   - dialect_xml_escape() of any bytes is valid UTF-8 that, inside an
 *     attribute or as character data, parses back to the same text when
 *     the text is representable in XML.
 */
#include "fuzz_dialect.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The attribute `v` and the text of <a v="..">..</a>, as expat reads them. */
struct esc_back {
	char	attr[8192];
	size_t	alen;
	char	text[8192];
	size_t	tlen;
	int	too_long;
};

static void XMLCALL
esc_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct esc_back *e = ud;

	(void)name;
	if (atts[0] != NULL && atts[1] != NULL) {
		e->alen = strlen(atts[1]);
		if (e->alen < sizeof(e->attr))
			memcpy(e->attr, atts[1], e->alen);
		else
			e->too_long = 1;
	}
}

static void XMLCALL
esc_chars(void *ud, const XML_Char *s, int len)
{
	struct esc_back *e = ud;

	if (e->tlen + (size_t)len > sizeof(e->text)) {
		e->too_long = 1;
		return;
	}
	memcpy(e->text + e->tlen, s, (size_t)len);
	e->tlen += (size_t)len;
}

/* Is s[0..n) made of characters XML 1.0 can carry (Char production)? */
static int
xml_representable(const unsigned char *s, size_t n)
{
	size_t i;

	if (ref_utf8(s, n) != REF_UTF8_OK)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
		/* U+FFFE and U+FFFF: EF BF BE, EF BF BF */
		if (s[i] == 0xef && i + 2 < n && s[i + 1] == 0xbf &&
		    (s[i + 2] == 0xbe || s[i + 2] == 0xbf))
			return 0;
	}
	return 1;
}

/* Does e[i..] start one of the entities the escaping writes? */
static int
is_entity(const char *e, size_t len, size_t i)
{
	static const char *const ents[] = {
		"&amp;", "&lt;", "&gt;", "&quot;", "&apos;",
	};
	size_t k;

	for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++)
		if (len - i >= strlen(ents[k]) &&
		    memcmp(e + i, ents[k], strlen(ents[k])) == 0)
			return 1;
	if (len - i >= 4 && e[i + 1] == '#') {
		for (k = i + 2; k < len && e[k] >= '0' && e[k] <= '9'; k++)
			;
		return k > i + 2 && k < len && e[k] == ';';
	}
	return 0;
}

static void
check_escape(const char *s, size_t n)
{
	static struct esc_back back;
	struct buf e, doc;
	XML_Parser p;
	size_t i;

	buf_init(&e, DIALECT_OUT_MAX);
	FUZZ_CHECK(dialect_xml_escape(&e, s, n) == 0);
	/* Markup characters never appear raw; '&' only starts an entity. */
	for (i = 0; i < e.len; i++) {
		FUZZ_CHECK(e.buf[i] != '<' && e.buf[i] != '>' &&
		    e.buf[i] != '"' && e.buf[i] != '\'' && e.buf[i] != '\0');
		if (e.buf[i] == '&')
			FUZZ_CHECK(is_entity(e.buf, e.len, i));
	}
	FUZZ_CHECK(ref_utf8((const unsigned char *)e.buf, e.len) ==
	    REF_UTF8_OK);

	buf_init(&doc, DIALECT_OUT_MAX);
	buf_cat(&doc, "<a v=\"");
	buf_catlen(&doc, e.buf != NULL ? e.buf : "", e.len);
	buf_cat(&doc, "\">");
	buf_catlen(&doc, e.buf != NULL ? e.buf : "", e.len);
	buf_cat(&doc, "</a>");
	FUZZ_CHECK(doc.err == 0);
	(void)fuzz_xml_one(doc.buf, doc.len);

	if (xml_representable((const unsigned char *)s, n)) {
		back = (struct esc_back){ .alen = 0 };
		if ((p = XML_ParserCreate("UTF-8")) == NULL)
			abort();
		XML_SetUserData(p, &back);
		XML_SetElementHandler(p, esc_start, NULL);
		XML_SetCharacterDataHandler(p, esc_chars);
		FUZZ_CHECK(XML_Parse(p, doc.buf, (int)doc.len, XML_TRUE) ==
		    XML_STATUS_OK);
		XML_ParserFree(p);
		if (!back.too_long) {
			FUZZ_CHECK(back.alen == n && memcmp(back.attr, s, n) == 0);
			FUZZ_CHECK(back.tlen == n && memcmp(back.text, s, n) == 0);
		}
	}
	buf_free(&e);
	buf_free(&doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned b0 = fuzz_byte(&in);
	enum dialect_kind kind = (enum dialect_kind)(b0 % 3);
	struct dialect d;
	struct buf out;
	const unsigned ntypes = SB_TYPE_COUNT - SB_C_CONFIG;

	dialect_init(&d, kind);
	d.seed003 = (b0 / 3) & 1;
	d.identify_pending = (b0 / 6) & 1;
	if ((b0 / 12) & 1)
		memcpy(d.nick, "alice", 6);
	buf_init(&out, (b0 / 24) & 1 ? 200 : DIALECT_OUT_MAX);

	while (in.n > 0) {
		enum sb_type type = (enum sb_type)(SB_C_CONFIG +
		    fuzz_byte(&in) % ntypes);
		size_t len = fuzz_u16(&in), nf = 0, off = 0, mark;
		const char *f[SB_FIELDS_MAX];
		struct sb_packet pkt;
		struct sb_msg m;
		char *pl;
		int r;

		if (len > in.n)
			len = in.n;
		pl = malloc(len + 1);
		if (pl == NULL)
			abort();
		memcpy(pl, in.p, len);
		pl[len] = '\0';
		in.p += len;
		in.n -= len;
		check_escape(pl, len);

		/* Fields: the NUL-separated pieces of the payload. */
		while (nf < SB_FIELDS_MAX && (len > 0 ? off <= len : nf == 0)) {
			f[nf++] = pl + off;
			off += strlen(pl + off) + 1;
		}
		if (len == 0)
			nf = 0;
		if (sb_msg_encode(&pkt, type, 7, 1, 1, f, nf) == 0) {
			FUZZ_CHECK(sb_msg_decode(&m, pkt.buf, pkt.len) == 0);
			mark = out.len;
			r = dialect_render(&d, &m, &out);
			if (r < 0) {
				FUZZ_CHECK(out.len == mark && out.err == 0);
			} else {
				FUZZ_CHECK(out.err == 0);
				FUZZ_CHECK(fuzz_client_messages(kind, &out, mark) ==
				    r);
			}
			FUZZ_CHECK(strlen(d.nick) <= SB_NICK_MAX);
			buf_truncate(&out, 0);
		}
		free(pl);
	}
	buf_free(&out);
	dialect_free(&d);
	return 0;
}
