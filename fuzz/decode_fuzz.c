/*
 * decode_fuzz.c: libFuzzer harness for the JSON decoder.
 *
 * Every input is a whole document, so the JSON files of spec/json/ are
 * meaningful seeds. Each one is decoded three ways:
 *   1. through the module's real entry: luaopen_intuned_core is loaded into a
 *      Lua state and its `decode` is called from Lua, without options and
 *      with keep_nulls and a small max_depth picked from the input length;
 *   2. by intuned_json_decode from a heap copy of exactly the input's length,
 *      so AddressSanitizer sees a read even one byte past the end (a Lua
 *      string always has a hidden NUL after it, which would mask that); it
 *      must agree with the Lua call;
 *   3. again from the copy under a Lua allocator that fails after a number
 *      of allocations picked from the input, to prove a memory error in the
 *      middle of a document leaves nothing behind. The copy is owned outside
 *      the protected call; LeakSanitizer checks the rest.
 * The same bytes are also read as a response's header block by
 * intuned_headers_parse (the cosocket transport's core.parse_head), alone
 * and behind a status line, each from an exact-length heap copy.
 * Any broken contract calls abort(), which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "headers.h"
#include "intuned.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_DEPTHS 8          /* max_depth 1..8 in the second Lua call */
#define OOM_BUDGETS 64          /* allocations allowed before failing */

static long alloc_budget = -1;  /* < 0: never fail */

static void *fuzz_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (alloc_budget == 0 && (ptr == NULL || nsize > osize))
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return realloc(ptr, nsize);
}

static struct {
    const char *doc;            /* heap copy, exactly len bytes */
    size_t len;
    intuned_json_opts opts;     /* for the direct calls */
} in;

/*
 * Calls core.decode(doc [, opts]) and checks what it returns; returns
 * whether it decoded. Stack: unchanged (the decode function at index 1).
 */
static int check_lua_decode(lua_State *L, const intuned_json_opts *opts)
{
    int top = lua_gettop(L), n;

    lua_pushvalue(L, 1);
    lua_pushlstring(L, in.doc, in.len);
    if (opts != NULL) {
        lua_createtable(L, 0, 2);
        lua_pushboolean(L, opts->keep_object_nulls);
        lua_setfield(L, -2, "keep_nulls");
        lua_pushinteger(L, opts->max_depth);
        lua_setfield(L, -2, "max_depth");
    }
    if (lua_pcall(L, opts != NULL ? 2 : 1, LUA_MULTRET, 0) != LUA_OK)
        abort();                /* only misuse or memory errors may raise */
    n = lua_gettop(L) - top;
    if (n == 1) {
        if (lua_isnil(L, -1))
            abort();
    } else if (n == 3) {
        lua_Integer pos;
        if (!lua_isnil(L, -3) || lua_type(L, -2) != LUA_TSTRING
            || !lua_isinteger(L, -1))
            abort();
        pos = lua_tointeger(L, -1);
        if (pos < 1 || (size_t)pos > in.len + 1)
            abort();
    } else {
        abort();
    }
    lua_settop(L, top);
    return n == 1;
}

/* Decodes the exact-length copy. -> .., [value,] ok */
static int decode_copy(lua_State *L)
{
    intuned_json_err err;
    int top = lua_gettop(L);
    int ok = intuned_json_decode(L, in.doc, in.len, &in.opts, &err);

    if (ok ? lua_gettop(L) != top + 1 : lua_gettop(L) != top)
        abort();
    if (!ok && (err.offset > in.len || err.msg[0] == '\0'
                || memchr(err.msg, '\0', sizeof err.msg) == NULL))
        abort();
    lua_pushboolean(L, ok);
    return ok ? 2 : 1;
}

static lua_State *fuzz_state(void)
{
    static lua_State *L;

    if (L == NULL) {
        L = lua_newstate(fuzz_alloc, NULL);
        if (L == NULL)
            abort();
        /* Stack: decode (kept for every input) */
        lua_pushcfunction(L, luaopen_intuned_core);
        lua_call(L, 0, 1);
        lua_getfield(L, -1, "decode");
        lua_remove(L, -2);
    }
    return L;
}

/* Reads p[0, n) as a header block; what it finds must lie inside it. */
static void check_head(const char *p, size_t n)
{
    intuned_head h;
    if (!intuned_headers_parse(p, n, &h))
        return;
    if (h.status < 0 || h.status > 999
        || (h.type != NULL && (h.type < p || h.type_len > (size_t)(p + n - h.type))))
        abort();
}

/* The input as a header block, then behind a status line. */
static void check_heads(const uint8_t *data, size_t size)
{
    static const char line[] = "HTTP/1.1 200 OK\r\n";
    char *copy = (char *)malloc(sizeof line - 1 + size); /* exactly */
    if (copy == NULL)
        return;
    memcpy(copy, line, sizeof line - 1);
    memcpy(copy + sizeof line - 1, data, size);
    check_head(copy + sizeof line - 1, size);
    check_head(copy, sizeof line - 1 + size);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_state();
    intuned_json_opts small;
    char *copy = (char *)malloc(size ? size : 1);
    int ok_lua, status;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    in.doc = copy;
    in.len = size;
    small.keep_object_nulls = 1;
    small.max_depth = 1 + (int)(size % SMALL_DEPTHS);

    ok_lua = check_lua_decode(L, NULL);
    (void)check_lua_decode(L, &small);

    /* The same bytes with the same (default) options must give the same
     * verdict from the exact-length copy. */
    in.opts.keep_object_nulls = 0;
    in.opts.max_depth = 0;
    lua_pushcfunction(L, decode_copy);
    if (lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK)
        abort();
    if (lua_toboolean(L, -1) != ok_lua)
        abort();
    lua_settop(L, 1);

    in.opts.keep_object_nulls = 1;
    alloc_budget = (long)(size % OOM_BUDGETS);
    lua_pushcfunction(L, decode_copy);
    status = lua_pcall(L, 0, LUA_MULTRET, 0);
    alloc_budget = -1;
    if (status != LUA_OK && status != LUA_ERRMEM)
        abort();
    lua_settop(L, 1);

    free(copy);
    check_heads(data, size);
    return 0;
}
