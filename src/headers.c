/*
 * headers.c: a response's header block, read for the meta table (headers.h).
 * Values come from the server: every one is length-checked and copied,
 * never trusted as a C string.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "headers.h"
#include "intuned.h"

/*
 * Retry-After is delay-seconds or an HTTP date. Negative or unreadable
 * values are ignored (nil), so the caller falls back to its own backoff.
 */
static void push_retry_after(lua_State *L, const char *v, size_t n)
{
    char tmp[64];
    size_t i;
    if (n == 0 || n >= sizeof tmp) {
        lua_pushnil(L);
        return;
    }
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    for (i = 0; i < n && tmp[i] >= '0' && tmp[i] <= '9'; i++)
        ;
    if (i == n) {
        lua_pushnumber(L, strtod(tmp, NULL));
    } else {
        time_t when = curl_getdate(tmp, NULL);
        if (when == -1 || tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')) {
            lua_pushnil(L);
        } else {
            double d = difftime(when, time(NULL));
            lua_pushnumber(L, d > 0 ? d : 0);
        }
    }
}

/* Calls fn(name, name_len, value, value_len) for each "name: value" line of
 * a header block; names as sent, values trimmed. */
typedef void (*header_fn)(void *ud, const char *name, size_t n,
                          const char *v, size_t vn);

static void each_header(const char *p, size_t len, header_fn fn, void *ud)
{
    const char *end;
    if (p == NULL || len == 0)
        return; /* no header block: nothing to add to NULL */
    end = p + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon != NULL && colon > p) {
            const char *v = colon + 1, *ve = line_end;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            fn(ud, p, (size_t)(colon - p), v, (size_t)(ve - v));
        }
        p = line_end + 1;
    }
}

/* Whether a header's name (n bytes) is want (wn bytes), in any case. */
static int is_name(const char *name, size_t n, const char *want, size_t wn)
{
    return n == wn && strncasecmp(name, want, wn) == 0;
}

typedef struct {
    lua_State *L;
    int meta;
} header_ctx;

/* Sets meta.retry_after and meta.location; the only headers the client
 * itself needs, so the only ones read on every response. */
static void header_special(void *ud, const char *name, size_t n,
                           const char *v, size_t vn)
{
    header_ctx *c = ud;
    if (is_name(name, n, "retry-after", 11)) {
        push_retry_after(c->L, v, vn);
        lua_setfield(c->L, c->meta, "retry_after");
    } else if (is_name(name, n, "location", 8)) {
        lua_pushlstring(c->L, v, vn);
        lua_setfield(c->L, c->meta, "location");
    }
}

/* Stores one header in the table on top: name lower-cased, the last of
 * repeated headers wins. Names too long for the buffer are skipped. */
static void header_store(void *ud, const char *name, size_t n,
                         const char *v, size_t vn)
{
    header_ctx *c = ud;
    char lower[128];
    size_t i;
    if (n >= sizeof lower)
        return;
    for (i = 0; i < n; i++) {
        char ch = name[i];
        lower[i] = (char)((ch >= 'A' && ch <= 'Z') ? ch + ('a' - 'A') : ch);
    }
    lua_pushlstring(c->L, lower, n);
    lua_pushlstring(c->L, v, vn);
    lua_rawset(c->L, -3);
}

/*
 * __index of a response's meta table. meta.headers is built on first
 * access from the raw header block kept in the metatable: most callers
 * never read it, and the table of lower-cased names cost more than
 * everything else the response adds. Once built it is an ordinary field.
 */
static int meta_index(lua_State *L)
{
    size_t len;
    const char *raw;
    header_ctx c;
    if (lua_type(L, 1) != LUA_TTABLE || lua_type(L, 2) != LUA_TSTRING
        || strcmp(lua_tostring(L, 2), "headers") != 0
        || !lua_getmetatable(L, 1))
        return 0;
    lua_rawgeti(L, -1, 1);                     /* -> .., mt, raw */
    if (lua_type(L, -1) != LUA_TSTRING)
        return 0;
    raw = lua_tolstring(L, -1, &len);
    lua_createtable(L, 0, 8);                  /* -> .., mt, raw, headers */
    c.L = L;
    c.meta = 1;
    each_header(raw, len, header_store, &c);
    lua_pushliteral(L, "headers");
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

void intuned_headers_meta(lua_State *L, const char *head, size_t len, int meta)
{
    header_ctx c;
    c.L = L;
    c.meta = meta;
    each_header(head, len, header_special, &c);
    lua_createtable(L, 1, 1);                  /* the metatable */
    lua_pushlstring(L, head ? head : "", len);
    lua_rawseti(L, -2, 1);
    lua_pushcfunction(L, meta_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, meta);
}


/*
 * core.head_meta(meta, head) -> meta
 * The same from a raw header block read outside libcurl (nginx's cosockets,
 * the strings the thread pool hands back). meta must have no metatable.
 */
int intuned_headers_lua_meta(lua_State *L)
{
    size_t n;
    const char *head;
    luaL_checktype(L, 1, LUA_TTABLE);
    head = luaL_checklstring(L, 2, &n);
    lua_settop(L, 2);
    intuned_headers_meta(L, head, n, 1);
    lua_settop(L, 1);
    return 1;
}

/* Whether v[0, n) contains word (lower case), in any case. */
static int contains_word(const char *v, size_t n, const char *word)
{
    size_t w = strlen(word), i;
    for (i = 0; i + w <= n; i++)
        if (strncasecmp(v + i, word, w) == 0)
            return 1;
    return 0;
}

typedef struct {
    intuned_head *h;
    int seen_length, seen_te, seen_connection;
} framing_ctx;

/* The first of each framing header counts (a server that sends two means
 * nothing good either way). */
static void header_framing(void *ud, const char *name, size_t n,
                           const char *v, size_t vn)
{
    framing_ctx *c = ud;
    intuned_head *h = c->h;
    if (!c->seen_length && is_name(name, n, "content-length", 14)) {
        size_t i;
        c->seen_length = 1;
        h->length = 0;
        for (i = 0; i < vn && v[i] >= '0' && v[i] <= '9'; i++)
            h->length = h->length * 10 + (v[i] - '0');
        if (i == 0)
            h->length = -1;
    } else if (!c->seen_te && is_name(name, n, "transfer-encoding", 17)) {
        c->seen_te = 1;
        h->chunked = contains_word(v, vn, "chunked");
    } else if (!c->seen_connection && is_name(name, n, "connection", 10)) {
        c->seen_connection = 1;
        h->keep = h->keep && !contains_word(v, vn, "close");
    } else if (h->type == NULL && is_name(name, n, "content-type", 12)) {
        h->type = v;
        h->type_len = vn;
    }
}

/* The status of a status line "HTTP/d.d ddd ...", or -1; *v11 set when
 * the version is 1.1. */
static int status_of(const char *p, size_t n, int *v11)
{
    int i;
    if (n < 12 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[8] != ' ')
        return -1;
    if (p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
        return -1;
    for (i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    *v11 = p[5] == '1' && p[7] == '1';
    return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

int intuned_headers_parse(const char *head, size_t len, intuned_head *h)
{
    framing_ctx c;
    int v11 = 0;
    memset(h, 0, sizeof *h);
    h->length = -1;
    h->status = status_of(head, len, &v11);
    if (h->status < 0)
        return 0;
    h->keep = v11;
    c.h = h;
    c.seen_length = c.seen_te = c.seen_connection = 0;
    each_header(head, len, header_framing, &c);
    return 1;
}

/*
 * core.parse_head(head) -> status, keep, chunked, length, content_type
 * An HTTP/1.x header block read outside libcurl (nginx's cosockets), in
 * one pass: nothing at all when the status line is not "HTTP/d.d ddd";
 * else the fields of intuned_head (length nil when absent or no digits,
 * content_type nil when absent).
 */
int intuned_headers_lua_parse(lua_State *L)
{
    size_t n;
    const char *head = luaL_checklstring(L, 1, &n);
    intuned_head h;
    if (!intuned_headers_parse(head, n, &h))
        return 0;
    lua_pushinteger(L, h.status);
    lua_pushboolean(L, h.keep);
    lua_pushboolean(L, h.chunked);
    if (h.length >= 0 && h.length < 9007199254740992.0)
        lua_pushinteger(L, (lua_Integer)h.length);
    else if (h.length >= 0)
        lua_pushnumber(L, h.length);
    else
        lua_pushnil(L);
    if (h.type != NULL)
        lua_pushlstring(L, h.type, h.type_len);
    else
        lua_pushnil(L);
    return 5;
}
