/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the seed-001 XML dialect's parser, dialect_parse() on
 * DIALECT_XML (handler/dialect_xml.c and dialect.c).  The checks are in
 * fuzz_dialect.h: a packet the contract accepts with clean fields, or
 * exactly one error reply that is itself a well-formed client message.
 */
#include "fuzz_dialect.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_dialect_parse(DIALECT_XML, data, size);
	return 0;
}
