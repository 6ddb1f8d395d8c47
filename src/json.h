/*
 * json.h: strict RFC 8259 decoder that builds Lua values directly.
 */
#ifndef INTUNED_JSON_H
#define INTUNED_JSON_H

#include <stddef.h>
#include <lua.h>

#define INTUNED_JSON_MAX_DEPTH 256
#define INTUNED_JSON_ERRLEN 128

/*
 * What a decode can remember of a document's tables for the next one, so a
 * session that gets the same shape of answer again and again creates its
 * tables at their size (json_size.c). Opaque; only ever a size hint.
 */
typedef struct intuned_json_sizing intuned_json_sizing;

/* A fresh memory, or NULL when there is no memory for it (decoding works
 * without one). Freed with intuned_json_sizing_free (NULL is fine). */
intuned_json_sizing *intuned_json_sizing_new(void);
void intuned_json_sizing_free(intuned_json_sizing *sizing);

typedef struct {
    int keep_object_nulls; /* object members that are null become core.null */
    int max_depth;         /* 0 means INTUNED_JSON_MAX_DEPTH */
    intuned_json_sizing *sizing; /* NULL, or read and updated by the decode */
} intuned_json_opts;

typedef struct {
    size_t offset;                  /* 0-based byte offset of the failure */
    char msg[INTUNED_JSON_ERRLEN];  /* short reason, without the offset */
} intuned_json_err;

/*
 * Decode buf[0, len) and push exactly one Lua value; every array in it has
 * the array metatable (intuned_json_push_array_mt).
 * Returns 1 with the value pushed, or 0 with the stack as it was and *err
 * filled in. The only Lua error it can raise is a memory error, and it owns
 * no C allocation when that happens.
 */
int intuned_json_decode(lua_State *L, const char *buf, size_t len,
                        const intuned_json_opts *opts, intuned_json_err *err);

/*
 * -> .., the array metatable: every array the decoder builds has it, and
 * intuned.json marks tables as arrays with it. One per Lua state, created in
 * the registry on first use (a memory error is the only error).
 */
void intuned_json_push_array_mt(lua_State *L);

/* core.decode(string [, opts]) -> value | nil, message, offset */
int intuned_json_lua_decode(lua_State *L);

#endif /* INTUNED_JSON_H */
