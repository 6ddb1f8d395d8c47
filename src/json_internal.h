/*
 * json_internal.h: what the stages of the JSON decoder share. Not part of
 * the module's interface (that is json.h).
 *
 * The decoder is one pass over the input that pushes Lua values as it goes,
 * one stage per file:
 *   json.c         the state machine, core.decode, the decoder's table
 *   json_string.c  strings: scanning, escapes, UTF-8 checks, the string cache
 *   json_number.c  numbers
 *   json_size.c    table sizing: how many members a new table is made for
 *
 * Rules every stage keeps:
 * - Nothing calls malloc while decoding. A Lua memory error can unwind
 *   through any Lua API call, so every temporary buffer is on the C stack or
 *   a userdata anchored in a stack slot, which the collector reclaims.
 * - A stage that fails calls json_fail and returns (or sets d->next to)
 *   NULL; the state machine then restores the stack. Error offsets point at the first byte that
 *   cannot be accepted; when the input ends too early, one past its end.
 * - Each push_* function says what it leaves on the Lua stack and how many
 *   slots beyond that it uses for a moment; the state machine checks the
 *   room for them (lua_checkstack) before it calls them.
 */
#ifndef INTUNED_JSON_INTERNAL_H
#define INTUNED_JSON_INTERNAL_H

#include <stddef.h>

#include <lua.h>

#include "json.h"

/* The fast paths of the common case, in every stage: a compact document
 * skips the whitespace loop, the string helpers are inlined and their rare
 * paths kept out of line, the plain-text loop is unrolled, a short string
 * is read with one load and a cached one compared by words, \u digits go
 * through a table, a short decimal float is converted exactly without
 * strtod. Each is small alone; together they are about a tenth of decoding
 * an API answer, so they are one trick, switched off as one. */
#ifdef INTUNED_NO_FAST_PATHS
#define INTUNED_NO_WS_FAST
#define INTUNED_NO_FORCE_INLINE
#define INTUNED_NO_OUTLINE
#define INTUNED_NO_UNROLL
#define INTUNED_NO_SHORT_LOAD
#define INTUNED_NO_WORD_COMPARE
#define INTUNED_NO_HEX_TABLE
#define INTUNED_NO_FAST_FLOATS
#endif

/* The stages' functions are the module's own: kept out of its exported
 * symbols, so that their short json_* names never meet a host's. */
#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

struct json_cache_slot;         /* json_string.c */

typedef struct {
    lua_State *L;
    const char *buf;            /* start of the input, for error offsets */
    const char *end;
    intuned_json_err *err;
    int scratch_idx;            /* stack slot anchoring the scratch userdata */
    char *scratch;
    size_t scratch_cap;
    int table_idx;              /* stack slot of the decoder's table */
    struct json_cache_slot *cache; /* the string cache's slots, or NULL */
    const char *last_string;    /* the bytes of the string pushed last when
                                   they are an interned Lua string's own,
                                   else NULL: they name a member's key */
    const char *next;           /* set by json_push_string and
                                   json_push_number: the byte after what
                                   they read, or NULL when they failed */
} json_decoder;

/*
 * The decoder's table: one per Lua state, in the registry, for everything
 * the decoder keeps from one decode to the next.
 *   [1 .. JSON_CACHE_SLOTS]   the strings of the string cache (json_string.c)
 *   [JSON_TABLE_CACHE]        userdata: the cache's slot records
 *   [JSON_TABLE_ARRAY_MT]     the array mark, core.array_mt (json.c)
 *   [JSON_TABLE_SIZER]        userdata: table sizing's working state
 */
#define JSON_CACHE_BITS 10
#define JSON_CACHE_SLOTS (1 << JSON_CACHE_BITS)
#define JSON_TABLE_CACHE 0
#define JSON_TABLE_ARRAY_MT (JSON_CACHE_SLOTS + 1)
#define JSON_TABLE_SIZER (JSON_CACHE_SLOTS + 2)

#define JSON_IS_DIGIT(c) ((unsigned char)((c) - '0') < 10)

/* For the rare paths of a stage: out of line, so that the common path
 * saves and restores no more registers than it needs itself. */
#if defined(__GNUC__) && !defined(INTUNED_NO_OUTLINE)
#define NO_INLINE __attribute__((noinline))
#else
#define NO_INLINE
#endif

/* json.c */

/* Fills in d->err; returns NULL. */
const char *json_fail(json_decoder *d, const char *at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A buffer of at least n bytes, valid until the next call. Stack:
 * unchanged (one temporary slot). */
char *json_scratch(json_decoder *d, size_t n);

/* json_string.c */

/* At the start of a decode, with the decoder's table in place. Stack:
 * unchanged (one temporary slot). */
void json_string_begin(json_decoder *d);

/* s is at the opening quote. -> .., string (one temporary slot); d->next:
 * the byte after the closing quote. */
void json_push_string(json_decoder *d, const char *s);

/* p is just past an opening quote: just past the quote that closes the
 * string, or end. Validates nothing. */
const char *json_string_end(const char *p, const char *end);

/* json_number.c */

/* s is at '-' or a digit. -> .., number (one temporary slot); d->next:
 * the byte after the number. */
void json_push_number(json_decoder *d, const char *s);

/* json_size.c: the size to create each table with.
 *
 * The state machine reports each container as it opens and as it closes;
 * what is done with that (which sizes are remembered, guessed or scanned
 * for) is json_size.c's business. Sizes are only ever hints: a wrong one
 * costs time, never a wrong result. */
typedef struct json_sizer json_sizer;

/* At the start of a decode, with the decoder's table in place; sizing is
 * the caller's memory (NULL: none). Stack: unchanged (one temporary slot). */
json_sizer *json_size_begin(json_decoder *d, intuned_json_sizing *sizing);

/* A container opens at p ('{' or '['): the number of members to make its
 * table for. key: the member's key it is the value of (d->last_string),
 * or NULL. */
int json_size_open(json_sizer *z, int is_array, const char *key,
                   const char *p, const char *end);

/* The innermost open container closes with n members. */
void json_size_close(json_sizer *z, lua_Integer n);

/* The decode ended; ok says whether it succeeded. */
void json_size_end(json_sizer *z, int ok);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif /* INTUNED_JSON_INTERNAL_H */
