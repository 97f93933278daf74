/* SPDX-License-Identifier: ISC */
/*
 * A bump allocator for jansson, a tuning of the JSON dialect
 * (dialect_json.c) that changes no behaviour: see json_arena.c.
 */
#ifndef SB_JSON_ARENA_H
#define SB_JSON_ARENA_H

void	json_arena_init(void);
void	json_arena_trim(void);

#endif
