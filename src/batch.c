/*
 * batch.c: the batch type of intuned.core, many requests at once on one
 * libcurl multi handle. Each slot holds a copy of the session's easy handle
 * (same headers, TLS options, caps, no redirects), so a batch sends exactly
 * what session:request would. HTTP/2 streams share one connection when the
 * server offers it. The slots share the multi handle's connection cache, so
 * they share one connection registry (conn.h) too.
 *
 * The Lua layer decides what to run and when to retry; a batch only starts
 * transfers (add) and reports the ones that ended (wait). Same rule as the
 * session: no Lua API call that can raise runs while libcurl is working,
 * and the batch userdata owns every handle and buffer, so a Lua error at
 * any point leaves them to close/__gc.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "compat.h"
#include "conn.h"
#include "intuned.h"
#include "session.h"
#include "util.h"
#include "xfer.h"

#define BATCH_MT "intuned.batch"
/* More transfers at once than this is a mistake, not a tuning choice. */
#define MAX_SLOTS 1024
/* wait() never blocks longer than this, whatever it is asked. */
#define MAX_WAIT_MS 60000L

typedef struct {
    CURL *curl;         /* created on first use, reused afterwards */
    intuned_xfer x;
    int busy;           /* added to the multi handle */
    int keep_nulls;
    int body_ref;       /* keeps the request body alive while it is sent */
    lua_Integer tag;    /* the caller's name for the transfer */
} slot;

typedef struct {
    CURLM *multi;
    slot *slots;
    int nslots;
    int busy;
    intuned_conns *conns;
    /* The slots' handles point at the session's header lists: keep it. */
    int session_ref;
    intuned_session *session;
    int closed;
} batch;

/* ---- lifetime ------------------------------------------------------------ */

static batch *batch_check(lua_State *L, int idx)
{
    batch *b = luaL_checkudata(L, idx, BATCH_MT);
    if (b->closed)
        luaL_error(L, "intuned: batch is closed");
    if (intuned_session_is_closed(b->session))
        luaL_error(L, "intuned: session is closed");
    return b;
}

static void batch_free(lua_State *L, batch *b)
{
    if (b->slots != NULL) {
        int i;
        for (i = 0; i < b->nslots; i++) {
            slot *sl = &b->slots[i];
            if (sl->busy && b->multi != NULL)
                curl_multi_remove_handle(b->multi, sl->curl);
            if (sl->curl != NULL)
                curl_easy_cleanup(sl->curl);
            intuned_xfer_free(&sl->x);
            luaL_unref(L, LUA_REGISTRYINDEX, sl->body_ref);
        }
        free(b->slots);
        b->slots = NULL;
    }
    if (b->multi != NULL)
        curl_multi_cleanup(b->multi); /* closes the sockets through conns */
    b->multi = NULL;
    intuned_conns_free(b->conns);
    b->conns = NULL;
    b->busy = b->nslots = 0;
    luaL_unref(L, LUA_REGISTRYINDEX, b->session_ref);
    b->session_ref = LUA_NOREF;
    b->closed = 1;
}

/* Shared by close and __gc: safe to call any number of times. */
static int batch_close(lua_State *L)
{
    batch_free(L, luaL_checkudata(L, 1, BATCH_MT));
    return 0;
}

/*
 * core.batch(session, slots) -> batch
 * At most `slots` transfers run at once.
 */
int intuned_batch_new(lua_State *L)
{
    intuned_session *s = intuned_session_check(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    batch *b;
    int i;
    luaL_argcheck(L, n >= 1 && n <= MAX_SLOTS, 2, "slots must be from 1 to 1024");
    lua_settop(L, 2);

    b = lua_newuserdata(L, sizeof *b); /* -> session, n, batch */
    memset(b, 0, sizeof *b);
    b->session_ref = LUA_NOREF;
    b->closed = 1; /* until everything exists */
    luaL_getmetatable(L, BATCH_MT);
    lua_setmetatable(L, -2);

    b->slots = calloc((size_t)n, sizeof *b->slots);
    b->multi = curl_multi_init();
    b->conns = intuned_conns_new();
    if (b->slots == NULL || b->multi == NULL || b->conns == NULL) {
        batch_free(L, b);
        return luaL_error(L, "intuned.core: out of memory");
    }
    b->nslots = (int)n;
    for (i = 0; i < b->nslots; i++)
        b->slots[i].body_ref = LUA_NOREF;
    curl_multi_setopt(b->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(b->multi, CURLMOPT_MAXCONNECTS, (long)n);
    b->session = s;
    lua_pushvalue(L, 1);
    b->session_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    b->closed = 0;
    return 1;
}

/* ---- methods ------------------------------------------------------------- */

static slot *free_slot(batch *b)
{
    int i;
    for (i = 0; i < b->nslots; i++)
        if (!b->slots[i].busy)
            return &b->slots[i];
    return NULL;
}

/* A free slot with its handle, or NULL with an error message pushed. */
static slot *slot_ready(lua_State *L, batch *b)
{
    slot *sl = free_slot(b);
    if (sl == NULL) {
        lua_pushliteral(L, "intuned: batch has no free slot");
        return NULL;
    }
    if (sl->curl == NULL) {
        sl->curl = intuned_session_dup(b->session, &sl->x, b->conns);
        if (sl->curl == NULL) {
            lua_pushliteral(L, "intuned.core: cannot copy the session's handle");
            return NULL;
        }
    }
    return sl;
}

static void start(lua_State *L, batch *b, slot *sl)
{
    CURLMcode mc = curl_multi_add_handle(b->multi, sl->curl);
    if (mc != CURLM_OK)
        luaL_error(L, "intuned.core: cannot start a transfer: %s", curl_multi_strerror(mc));
    sl->busy = 1;
    b->busy++;
}

/*
 * batch:add(tag, method, target [, body [, timeout [, keep_nulls]]]) -> true
 * Starts a request as session:request would; its result comes back from
 * wait() under `tag`. Raises when every slot is busy: the caller counts.
 */
static int batch_add(lua_State *L)
{
    batch *b = batch_check(L, 1);
    lua_Integer tag = luaL_checkinteger(L, 2);
    slot *sl = slot_ready(L, b);
    CURLcode rc;
    if (sl == NULL)
        return lua_error(L);
    rc = intuned_session_prepare(L, b->session, &sl->x, 3, 4, 5, 6);
    if (rc == CURLE_OK)
        rc = intuned_xfer_multi(&sl->x, sl);
    if (rc != CURLE_OK)
        return luaL_error(L, "intuned.core: cannot configure libcurl: %s", curl_easy_strerror(rc));
    luaL_unref(L, LUA_REGISTRYINDEX, sl->body_ref);
    lua_pushvalue(L, 5);
    sl->body_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* LUA_REFNIL for none */
    start(L, b, sl);
    sl->tag = tag;
    sl->keep_nulls = lua_toboolean(L, 7);
    lua_pushboolean(L, 1);
    return 1;
}

/* Adds { tag, <the values of session:request> } for slot sl to the list at
 * the top of the stack, as its item number `count`. */
static void report(lua_State *L, slot *sl, CURLcode rc, int count)
{
    int n, k, entry;
    /* 8 slots: .., list, entry, up to 5 values, headroom */
    luaL_checkstack(L, 8, "intuned.core: batch results");
    lua_createtable(L, 6, 0);
    entry = lua_gettop(L);
    lua_pushinteger(L, sl->tag);
    lua_rawseti(L, entry, 1);
    n = intuned_xfer_push(L, &sl->x, rc, sl->keep_nulls ? INTUNED_KEEP_NULLS : 0);
    for (k = n; k >= 1; k--)
        lua_rawseti(L, entry, k + 1);
    intuned_xfer_trim(&sl->x);
    lua_rawseti(L, entry - 1, count);
}

/*
 * Moves every ended transfer into the list at the top of the stack; one
 * refused for stray bytes on its connection starts again instead.
 */
static void collect(lua_State *L, batch *b)
{
    CURLMsg *msg;
    int left, count = 0;
    while ((msg = curl_multi_info_read(b->multi, &left)) != NULL) {
        char *priv = NULL;
        slot *sl;
        CURLcode rc;
        if (msg->msg != CURLMSG_DONE)
            continue;
        rc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        sl = (slot *)(void *)priv;
        curl_multi_remove_handle(b->multi, msg->easy_handle);
        sl->busy = 0;
        b->busy--;
        if (intuned_xfer_again(&sl->x, rc)) {
            start(L, b, sl);
            continue;
        }
        luaL_unref(L, LUA_REGISTRYINDEX, sl->body_ref);
        sl->body_ref = LUA_NOREF;
        report(L, sl, rc, ++count);
    }
}

/*
 * batch:wait([seconds]) -> { {tag, ...}, ... }
 * Drives the transfers and returns those that ended, waiting up to
 * `seconds` (default 1) for at least one when none has yet. May return an
 * empty list (the time passed, or only some bytes moved).
 */
static int batch_wait(lua_State *L)
{
    batch *b = batch_check(L, 1);
    long wait_ms = intuned_arg_millis(L, 2, 1000L);
    int running = 0;
    CURLMcode mc;

    if (wait_ms > MAX_WAIT_MS)
        wait_ms = MAX_WAIT_MS;
    lua_settop(L, 1);
    lua_newtable(L);                   /* -> batch, list */
    mc = curl_multi_perform(b->multi, &running);
    if (mc != CURLM_OK)
        return luaL_error(L, "intuned.core: %s", curl_multi_strerror(mc));
    collect(L, b);
    if (compat_rawlen(L, -1) == 0 && running > 0) {
#if LIBCURL_VERSION_NUM >= 0x074200
        mc = curl_multi_poll(b->multi, NULL, 0, (int)wait_ms, NULL);
#else
        mc = curl_multi_wait(b->multi, NULL, 0, (int)wait_ms, NULL);
#endif
        if (mc == CURLM_OK)
            mc = curl_multi_perform(b->multi, &running);
        if (mc != CURLM_OK)
            return luaL_error(L, "intuned.core: %s", curl_multi_strerror(mc));
        collect(L, b);
    }
    return 1;
}

/* batch:busy() -> number of transfers running */
static int batch_busy(lua_State *L)
{
    lua_pushinteger(L, batch_check(L, 1)->busy);
    return 1;
}

static int batch_tostring(lua_State *L)
{
    batch *b = luaL_checkudata(L, 1, BATCH_MT);
    lua_pushfstring(L, "intuned.batch (%s, %d slots): %p",
                    b->closed ? "closed" : "open", b->nslots, (void *)b);
    return 1;
}

/* ---- registration -------------------------------------------------------- */

static const luaL_Reg batch_methods[] = {
    {"add", batch_add},
    {"wait", batch_wait},
    {"busy", batch_busy},
    {NULL, NULL}
};

void intuned_batch_init(lua_State *L)
{
    intuned_register_type(L, BATCH_MT, batch_methods, batch_close, batch_tostring);
}
