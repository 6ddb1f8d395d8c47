/*
 * json.c: strict RFC 8259 decoder that builds Lua values in a single pass:
 * the state machine, intuned_json_decode and core.decode. Strings, numbers
 * and table sizes are stages of their own (json_internal.h lists them and
 * the rules they all keep).
 *
 * Contract: intuned_json_decode (json.h) accepts exactly the documents of
 * RFC 8259 (no byte order mark, nothing after the value, UTF-8 checked),
 * and pushes one Lua value for them: objects and arrays as tables, null as
 * core.null (a light userdata) except as an object member without
 * keep_nulls, where the member is left out. Every array table carries the
 * array mark, core.array_mt, so a value read from the API and written back
 * keeps its empty arrays as [] (lua/intuned/json.lua). Anything else gives
 * the offset of the first byte that cannot be accepted, and the stack as
 * it was.
 *
 * The parser is an explicit state machine rather than recursive descent:
 * every open container lives on the Lua stack, so deep nesting costs
 * checked Lua stack slots, never C stack frames, whatever max_depth the
 * caller picks. Its states are the labels of intuned_json_decode, one per
 * grammar context; the work of each is a small function beside it. For
 * each open container, the machine keeps in C what the container is and
 * how many members it has (a level), so closing one never reads back
 * from the Lua stack; the table sizing stage (json_size.c) is told as
 * containers open and close, and the machine knows nothing else of it.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "compat.h"
#include "json_internal.h"

/* ---- shared by the stages -------------------------------------------------- */

const char *json_fail(json_decoder *d, const char *at, const char *fmt, ...)
{
    va_list ap;
    d->err->offset = (size_t)(at - d->buf);
    va_start(ap, fmt);
    /* A message cut to the buffer is still a message. clang-tidy 14 calls
     * ap uninitialised when it checks several files in one run (never for
     * this file alone); va_start just above initialises it. */
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
    (void)vsnprintf(d->err->msg, sizeof d->err->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

/*
 * The scratch only ever grows by replacing the userdata in its slot, so no
 * pointer into an older scratch is used after the call.
 */
char *json_scratch(json_decoder *d, size_t n)
{
    if (n > d->scratch_cap) {
        size_t cap = d->scratch_cap ? d->scratch_cap : 256;
        while (cap < n && cap <= (size_t)-1 / 2)
            cap *= 2;
        if (cap < n)
            cap = n;
        d->scratch = (char *)lua_newuserdata(d->L, cap);
        lua_replace(d->L, d->scratch_idx);
        d->scratch_cap = cap;
    }
    return d->scratch;
}

/* ---- the decoder's table and the array mark ------------------------------ */

static const char table_key = 'j'; /* its address names the table */

/* -> .., the decoder's table (json_internal.h), made on first use */
static void push_table(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&table_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_istable(L, -1))
        return;
    lua_pop(L, 1);
    lua_createtable(L, JSON_TABLE_SIZER, 1);
    /* The array mark has no fields, so a marked table behaves like any
     * other; only its identity means "JSON array". */
    lua_newtable(L);
    lua_rawseti(L, -2, JSON_TABLE_ARRAY_MT);
    lua_pushlightuserdata(L, (void *)&table_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void intuned_json_push_array_mt(lua_State *L)
{
    push_table(L);
    lua_rawgeti(L, -1, JSON_TABLE_ARRAY_MT);
    lua_remove(L, -2);
}

/* ---- the machine's state ------------------------------------------------ */

enum { CTX_TOP, CTX_ARRAY, CTX_OBJECT };

/* What the machine keeps of a container while a child of it is open. */
typedef struct {
    lua_Integer count;          /* its members so far */
    int ctx;                    /* CTX_ARRAY, CTX_OBJECT or CTX_TOP */
} level;

#define LEVELS_ON_C_STACK 32    /* deeper documents move them to a userdata */

/* Stack slots from base + 1: the scratch, the decoder's table, the array
 * mark, the levels' userdata (once there is one), then the values. */
enum { SLOT_SCRATCH = 1, SLOT_TABLE, SLOT_ARRAY_MT, SLOT_LEVELS, SLOTS };

typedef struct {
    int base;                   /* the caller's stack top */
    int ctx;                    /* what the innermost container is */
    lua_Integer count;          /* and its members so far */
    int depth, max_depth;
    int keep_nulls;
    level *levels;              /* [depth]: each open container's parent */
    int levels_cap;
    json_sizer *sizer;
} machine;

/* ---- grammar contexts ------------------------------------------------------ */

static const char *skip_ws(const char *p, const char *end)
{
#ifndef INTUNED_NO_WS_FAST
    /* Compact documents have no whitespace between tokens at all. */
    if (p < end && (unsigned char)*p > ' ')
        return p;
#endif
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* Reports the byte at `at`, or the end of input; `expected` may be NULL. */
static const char *fail_at(json_decoder *d, const char *at, const char *expected)
{
    unsigned char c;
    const char *sep = expected ? ", expected " : "";

    if (at >= d->end)
        return json_fail(d, d->end, "unexpected end of input");
    c = (unsigned char)*at;
    if (c >= 0x20 && c < 0x7f)
        return json_fail(d, at, "unexpected character '%c'%s%s", c, sep,
                         expected ? expected : "");
    return json_fail(d, at, "unexpected byte 0x%02X%s%s", c, sep,
                     expected ? expected : "");
}

/* p is where the literal lit (true, false or null) should be. */
static const char *fail_literal(json_decoder *d, const char *p, const char *lit)
{
    while (p < d->end && *p == *lit) {
        p++;
        lit++;
    }
    return fail_at(d, p, NULL);
}

#define LITERAL(p, end, lit) \
    ((end) - (p) >= (ptrdiff_t)sizeof(lit) - 1 \
     && memcmp((p), (lit), sizeof(lit) - 1) == 0)

/* p is at a value that is not a container. -> .., value (1 temporary slot) */
static const char *push_scalar(json_decoder *d, const machine *m, const char *p)
{
    switch (p < d->end ? *p : '\0') {
    case '"':
        json_push_string(d, p);
        return d->next;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        json_push_number(d, p);
        return d->next;
    case 't':
        if (!LITERAL(p, d->end, "true"))
            return fail_literal(d, p, "true");
        lua_pushboolean(d->L, 1);
        return p + 4;
    case 'f':
        if (!LITERAL(p, d->end, "false"))
            return fail_literal(d, p, "false");
        lua_pushboolean(d->L, 0);
        return p + 5;
    case 'n':
        if (!LITERAL(p, d->end, "null"))
            return fail_literal(d, p, "null");
        /* rawset with nil leaves the member absent, and a duplicate key
         * still follows "last wins" by erasing the earlier value. */
        if (m->ctx == CTX_OBJECT && !m->keep_nulls)
            lua_pushnil(d->L);
        else
            lua_pushlightuserdata(d->L, NULL);
        return p + 4;
    default:
        return fail_at(d, p, "a value");
    }
}

/* p is where a member's key should start, after whitespace.
 * .., object -> .., object, key; returns the start of the member's value. */
static const char *push_key(json_decoder *d, const char *p)
{
    if (p >= d->end || *p != '"')
        return fail_at(d, p, "a string key");
    json_push_string(d, p);
    p = d->next;
    if (p == NULL)
        return NULL;
    p = skip_ws(p, d->end);
    if (p >= d->end || *p != ':')
        return fail_at(d, p, "':'");
    return skip_ws(p + 1, d->end);
}

/* Twice the room for the n levels, in a userdata in stack slot idx. */
static level *grow_levels(lua_State *L, int idx, const level *levels, int n)
{
    level *grown = (level *)lua_newuserdata(L, 2 * (size_t)n * sizeof *grown);

    memcpy(grown, levels, (size_t)n * sizeof *grown);
    lua_replace(L, idx);
    return grown;
}

/* p is at '{' or '['. .., [key] -> .., [key,] table, with room checked for
 * the table, its key, its value and a temporary; returns the byte after the
 * bracket. */
static const char *open_container(json_decoder *d, machine *m, const char *p)
{
    lua_State *L = d->L;
    int is_array = *p == '[';
    int size;

    if (m->depth >= m->max_depth || !lua_checkstack(L, 4))
        return json_fail(d, p, "nesting too deep");
    if (m->depth == m->levels_cap) {
        m->levels = grow_levels(L, m->base + SLOT_LEVELS, m->levels, m->levels_cap);
        m->levels_cap *= 2;
    }
    m->levels[m->depth].ctx = m->ctx;
    m->levels[m->depth].count = m->count;
    m->depth++;
    size = json_size_open(m->sizer, is_array,
                          m->ctx == CTX_OBJECT ? d->last_string : NULL, p, d->end);
    if (is_array) {
        lua_createtable(L, size, 0);
        lua_pushvalue(L, m->base + SLOT_ARRAY_MT);
        lua_setmetatable(L, -2);
        m->ctx = CTX_ARRAY;
    } else {
        lua_createtable(L, 0, size);
        m->ctx = CTX_OBJECT;
    }
    m->count = 0;
    return p + 1;
}

/* The innermost container is complete: it becomes its parent's value. */
static void close_container(machine *m)
{
    json_size_close(m->sizer, m->count);
    m->depth--;
    m->ctx = m->levels[m->depth].ctx;
    m->count = m->levels[m->depth].count;
}

/* The value on top joins the innermost container: .., array, value ->
 * .., array; .., object, key, value -> .., object. */
static void add_member(lua_State *L, machine *m)
{
    if (m->ctx == CTX_ARRAY) {
        lua_rawseti(L, -2, ++m->count);
    } else {
        lua_rawset(L, -3);
        m->count++;
    }
}

/* ---- the machine ---------------------------------------------------------- */

/* Everything before the first value: the slots, the stages, the checks of
 * the document's start. Returns the first value's first byte, or NULL. */
static const char *begin(json_decoder *d, machine *m, level *levels, lua_State *L,
                         const char *buf, size_t len, const intuned_json_opts *opts)
{
    const char *p;

    m->base = lua_gettop(L);
    m->ctx = CTX_TOP;
    m->count = 0;
    m->depth = 0;
    m->max_depth = (opts && opts->max_depth > 0) ? opts->max_depth
                                                 : INTUNED_JSON_MAX_DEPTH;
    m->keep_nulls = opts ? opts->keep_object_nulls : 0;
    m->levels = levels;
    m->levels_cap = LEVELS_ON_C_STACK;
    m->sizer = NULL;
    d->L = L;
    d->buf = buf;
    d->end = buf + len;
    d->scratch_idx = m->base + SLOT_SCRATCH;
    d->scratch = NULL;
    d->scratch_cap = 0;
    d->table_idx = m->base + SLOT_TABLE;
    d->last_string = NULL;
    d->err->offset = 0;
    d->err->msg[0] = '\0';
    /* The slots, one value and a temporary. */
    if (!lua_checkstack(L, SLOTS + 1))
        return json_fail(d, buf, "Lua stack exhausted");
    lua_pushnil(L);
    push_table(L);
    lua_rawgeti(L, d->table_idx, JSON_TABLE_ARRAY_MT);
    lua_pushnil(L);
    json_string_begin(d);
    m->sizer = json_size_begin(d, opts ? opts->sizing : NULL);
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        return json_fail(d, buf, "byte order mark not allowed");
    p = skip_ws(buf, d->end);
    if (p == d->end)
        return json_fail(d, p, "empty input");
    return p;
}

int intuned_json_decode(lua_State *L, const char *buf, size_t len,
                        const intuned_json_opts *opts, intuned_json_err *err)
{
    json_decoder d;
    machine m;
    /* Zeroed although every level is set before it is read: clang-tidy's
     * analyzer does not follow open_container far enough to see that. */
    level levels[LEVELS_ON_C_STACK] = {{0, 0}};
    const char *p, *end = buf + len;

    d.err = err;
    p = begin(&d, &m, levels, L, buf, len, opts);
    if (p == NULL)
        goto failed;

value:  /* p is at the first byte of a value, after whitespace */
    if (p < end && (*p == '{' || *p == '[')) {
        p = open_container(&d, &m, p);
        if (p == NULL)
            goto failed;
        p = skip_ws(p, end);
        if (p < end && *p == (m.ctx == CTX_ARRAY ? ']' : '}')) {
            p++;
            goto closed;
        }
        if (m.ctx == CTX_ARRAY)
            goto value;
        goto key;
    }
    p = push_scalar(&d, &m, p);
    if (p == NULL)
        goto failed;

stored: /* a complete value is on top; it joins its container */
    if (m.depth == 0)           /* the document's value */
        goto done;
    p = skip_ws(p, end);
    add_member(L, &m);
    if (p < end && *p == ',') {
        p = skip_ws(p + 1, end);
        if (m.ctx == CTX_ARRAY)
            goto value;
        goto key;
    }
    if (p < end && *p == (m.ctx == CTX_ARRAY ? ']' : '}')) {
        p++;
        goto closed;
    }
    fail_at(&d, p, m.ctx == CTX_ARRAY ? "',' or ']'" : "',' or '}'");
    goto failed;

key:    /* p is where a member's key should start, after whitespace */
    p = push_key(&d, p);        /* .., object -> .., object, key */
    if (p == NULL)
        goto failed;
    goto value;

closed: /* the container on top is complete: .., parent, [key,] table */
    close_container(&m);
    goto stored;

done:
    p = skip_ws(p, end);
    if (p != end) {
        json_fail(&d, p, "trailing garbage");
        goto failed;
    }
    json_size_end(m.sizer, 1);
    lua_replace(L, m.base + 1);     /* the value where the scratch was */
    lua_settop(L, m.base + 1);
    return 1;

failed:
    json_size_end(m.sizer, 0);
    lua_settop(L, m.base);
    return 0;
}

/* ---- core.decode ----------------------------------------------------------- */

static void read_opts(lua_State *L, int idx, intuned_json_opts *opts)
{
    lua_getfield(L, idx, "keep_nulls");
    if (!lua_isnil(L, -1)) {
        if (!lua_isboolean(L, -1))
            luaL_argerror(L, idx, "keep_nulls must be a boolean");
        opts->keep_object_nulls = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);

    lua_getfield(L, idx, "max_depth");
    if (!lua_isnil(L, -1)) {
        lua_Number n = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(n >= 1 && n <= INT_MAX)
            || (lua_Number)(int)n != n)
            luaL_argerror(L, idx, "max_depth must be a positive integer");
        opts->max_depth = (int)n;
    }
    lua_pop(L, 1);
}

int intuned_json_lua_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    intuned_json_opts opts = {0, 0, NULL};
    intuned_json_err err;
    char msg[INTUNED_JSON_ERRLEN + 48];

    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        read_opts(L, 2, &opts);
    }
    if (intuned_json_decode(L, s, len, &opts, &err))
        return 1;
    /* Positions are 1-based for Lua users, like string.find. */
    (void)snprintf(msg, sizeof msg, "%s at byte %lu", err.msg,
                   (unsigned long)err.offset + 1);
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushinteger(L, (lua_Integer)err.offset + 1);
    return 3;
}
