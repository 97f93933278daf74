/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the JSON dialect's parser (WebSocket /chat),
 * dialect_parse() on DIALECT_JSON (handler/dialect_json.c and
 * dialect.c).  The checks are in fuzz_dialect.h: a packet the contract
 * accepts with clean fields, or exactly one error reply that is itself
 * a well-formed client message.
 */
#include "fuzz_dialect.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_dialect_parse(DIALECT_JSON, data, size);
	return 0;
}
