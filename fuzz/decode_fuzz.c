/*
 * decode_fuzz.c: libFuzzer harness for the JSON decoder.
 *
 * Every input goes through the module's real entry: luaopen_intuned_core is
 * loaded into a Lua state and its `decode` function is called from Lua, with
 * options chosen by the first input byte. The same bytes are then decoded
 * again by intuned_json_decode from a heap copy of exactly their length, so
 * AddressSanitizer sees a read even one byte past the end (a Lua string
 * always has a hidden NUL after it, which would mask that).
 *
 * The first byte also asks for a run under a Lua allocator that fails after
 * a few allocations, to prove a memory error in the middle of a document
 * leaves nothing behind: the heap copy is owned outside the protected call,
 * and LeakSanitizer checks the rest at exit.
 *
 * Any broken contract calls abort(), which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "intuned.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Option byte layout. */
#define OPT_KEEP_NULLS   0x01u
#define OPT_DEPTH_SHIFT  1      /* bits 1-3: max_depth 1..7, 0 = default */
#define OPT_DEPTH_MASK   0x07u
#define OPT_OOM          0x80u  /* rerun with failing allocations */
#define OPT_OOM_BUDGET   0x3Fu  /* bits 0-5: allocations before failing */

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
    intuned_json_opts opts;
} in;

/*
 * The contract of core.decode seen from Lua; returns whether it decoded.
 * Stack: unchanged (the decode function on top).
 */
static int check_lua_decode(lua_State *L, unsigned opt)
{
    int top = lua_gettop(L), n;

    lua_pushvalue(L, top);
    lua_pushlstring(L, in.doc, in.len);
    lua_createtable(L, 0, 2);
    lua_pushboolean(L, (int)(opt & OPT_KEEP_NULLS));
    lua_setfield(L, -2, "keep_nulls");
    if (in.opts.max_depth > 0) {
        lua_pushinteger(L, in.opts.max_depth);
        lua_setfield(L, -2, "max_depth");
    }
    if (lua_pcall(L, 2, LUA_MULTRET, 0) != LUA_OK)
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

/* Decodes the exact-length copy; stack: .., value | .. as it was. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_state();
    unsigned opt;
    char *copy;
    int ok_direct, ok_lua;

    if (size < 1)
        return 0;
    opt = data[0];
    copy = (char *)malloc(size - 1 ? size - 1 : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    in.doc = copy;
    in.len = size - 1;
    in.opts.keep_object_nulls = (int)(opt & OPT_KEEP_NULLS);
    in.opts.max_depth = (int)((opt >> OPT_DEPTH_SHIFT) & OPT_DEPTH_MASK);

    ok_lua = check_lua_decode(L, opt);

    lua_pushcfunction(L, decode_copy);
    if (lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK)
        abort();
    ok_direct = lua_toboolean(L, -1);
    lua_settop(L, 1);
    /* Both paths see the same bytes and options: they must agree. */
    if (ok_lua != ok_direct)
        abort();

    if (opt & OPT_OOM) {
        int status;

        alloc_budget = (long)(opt & OPT_OOM_BUDGET);
        lua_pushcfunction(L, decode_copy);
        status = lua_pcall(L, 0, LUA_MULTRET, 0);
        alloc_budget = -1;
        if (status != LUA_OK && status != LUA_ERRMEM)
            abort();
        lua_settop(L, 1);
    }
    free(copy);
    return 0;
}
