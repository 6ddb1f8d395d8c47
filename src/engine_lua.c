/*
 * engine_lua.c: core.engine_*, the Lua API of the process-wide libcurl
 * engine (engine.h). Arguments are checked and copied before anything is
 * queued; the engine's mutex is never held here, so every Lua error is
 * raised with nothing locked, and ended jobs are owned by a userdata while
 * their Lua values are built.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "engine.h"
#include "intuned.h"
#include "session.h"
#include "util.h"
#include "xfer.h"

/* engine_collect: at most this many items at once, and waits. */
#define MAX_ITEMS 1024
#define MAX_COLLECT_WAIT_MS 60000L
#define HOLDER_MT "intuned.engine.ended"
#define SENTINEL_MT "intuned.engine.state"

/*
 * core.engine_profile(session) -> id
 * A copy of the session's settings (its configured handle, the headers
 * with the key, the base URL, caps, the default timeout) that the engine
 * keeps for the life of the process; the session may be closed afterwards.
 * Each call makes a new one: callers keep one per distinct settings.
 */
int intuned_engine_lua_profile(lua_State *L)
{
    intuned_session *s = intuned_session_check(L, 1);
    intuned_profile p;
    lua_Integer id;
    if (!intuned_session_profile(s, &p))
        return luaL_error(L, "intuned.core: cannot copy the session for the engine (out of memory)");
    if ((id = intuned_engine_add_profile(&p)) == 0) {
        intuned_profile_free(&p);
        return luaL_error(L, "intuned.core: the engine keeps at most %d client profiles (one per"
                          " distinct client settings): make clients once, not per request",
                          intuned_engine_max_profiles());
    }
    lua_pushinteger(L, id);
    return 1;
}

/*
 * core.engine_submit(profile, method, target [, body [, timeout]]) -> id
 * Queues the request as session:request would send it (target: a path
 * for a keyed profile, an absolute URL for a keyless one; body: JSON text;
 * timeout in seconds, the profile's by default, libcurl's limit for the
 * whole transfer) and returns at once; the outcome comes from
 * engine_collect under id. Misuse raises before anything is queued.
 */
int intuned_engine_lua_submit(lua_State *L)
{
    lua_Integer pid = luaL_checkinteger(L, 1), id = 0;
    const char *method = intuned_check_method(L, 2);
    size_t tn, bn = 0;
    const char *t = luaL_checklstring(L, 3, &tn), *body = NULL, *problem, *why;
    long timeout_ms = 0;
    int keyed = 0;
    intuned_engine_profile *pr;
    intuned_job *j;
    if (!lua_isnoneornil(L, 4))
        body = luaL_checklstring(L, 4, &bn);
    pr = intuned_engine_find(pid, &keyed, &timeout_ms);
    luaL_argcheck(L, pr != NULL, 1, "not an engine profile");
    if ((problem = intuned_target_problem(keyed, t, tn)) != NULL)
        return luaL_argerror(L, 3, problem);
    timeout_ms = intuned_arg_millis(L, 5, timeout_ms);
    if ((j = intuned_job_new(pr, method, t, tn, body, bn, timeout_ms)) == NULL)
        return luaL_error(L, "intuned.core: out of memory");
    if ((why = intuned_engine_submit_job(j, &id)) != NULL) {
        intuned_job_free_chain(j);
        return luaL_error(L, "intuned.core: cannot start the engine: %s", why);
    }
    lua_pushinteger(L, id); /* j is the engine's now: it may be gone already */
    return 1;
}

static void set_string(lua_State *L, const char *name, const char *s, size_t n)
{
    lua_pushlstring(L, s != NULL ? s : "", n);
    lua_setfield(L, -2, name);
}

static void set_integer(lua_State *L, const char *name, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
}

static void set_boolean(lua_State *L, const char *name, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, name);
}

/* Pushes the item of an ended job: plain fields only, since nginx copies
 * it from one Lua VM to another. */
static void push_item(lua_State *L, const intuned_job *j)
{
    const intuned_outcome *o = &j->o;
    lua_createtable(L, 0, 7);
    set_integer(L, "id", j->id);
    if (o->out_of_memory) {
        set_boolean(L, "out_of_memory", 1);
    } else if (o->kind != NULL) {
        set_string(L, "kind", o->kind, strlen(o->kind));
        set_string(L, "message", o->message, strlen(o->message));
        set_integer(L, "code", o->code);
        set_boolean(L, "sent", o->sent);
    } else {
        set_integer(L, "status", o->status);
        set_string(L, "body", j->body, j->body_len);
        set_string(L, "head", j->head, j->head_len);
        if (j->ctype != NULL)
            set_string(L, "ctype", j->ctype, strlen(j->ctype));
        set_boolean(L, "reused", o->reused);
        set_integer(L, "bytes", (lua_Integer)o->bytes);
    }
}

static int holder_gc(lua_State *L)
{
    intuned_job **chain = luaL_checkudata(L, 1, HOLDER_MT);
    intuned_job_free_chain(*chain);
    *chain = NULL;
    return 0;
}

/*
 * core.engine_collect([max_wait [, max_items]]) -> { item, ... }
 * The jobs that have ended, oldest first (at most max_items, default
 * 1024), waiting up to max_wait seconds (default 0) for at least one; may
 * be empty. Each item is { id, status, body, head, ctype, reused, bytes }
 * for an answer (the raw body and header block, as session:request gives
 * them with raw = true), { id, kind, message, code, sent } for a failure
 * (as session:request returns it), or { id, out_of_memory = true }. A wait
 * blocks the calling thread: nginx calls it in its thread pool.
 */
int intuned_engine_lua_collect(lua_State *L)
{
    long wait_ms = intuned_arg_millis(L, 1, 0);
    lua_Integer max = luaL_optinteger(L, 2, MAX_ITEMS);
    intuned_job **chain, *j;
    int n = 0;
    luaL_argcheck(L, max >= 1, 2, "max_items must be at least 1");
    if (wait_ms > MAX_COLLECT_WAIT_MS)
        wait_ms = MAX_COLLECT_WAIT_MS;
    if (max > MAX_ITEMS)
        max = MAX_ITEMS;
    lua_settop(L, 2);
    chain = lua_newuserdata(L, sizeof(intuned_job *)); /* -> .., holder: frees them if a push raises */
    *chain = NULL;
    luaL_getmetatable(L, HOLDER_MT);
    lua_setmetatable(L, -2);
    lua_newtable(L);                           /* -> .., holder, list */
    *chain = intuned_engine_take(wait_ms, (long)max);
    for (j = *chain; j != NULL; j = j->batch) {
        push_item(L, j);
        lua_rawseti(L, -2, ++n);
    }
    intuned_job_free_chain(*chain);
    *chain = NULL;
    return 1;
}

/*
 * core.engine_cancel(id) -> whether the engine had the job
 * The caller gave up on it: the job is dropped and freed whether queued,
 * running (its transfer is stopped) or ended.
 */
int intuned_engine_lua_cancel(lua_State *L)
{
    lua_pushboolean(L, intuned_engine_cancel_job(luaL_checkinteger(L, 1)));
    return 1;
}

/* core.engine_stats() -> { queued, running, ended, profiles, thread } */
int intuned_engine_lua_stats(lua_State *L)
{
    intuned_engine_counts c;
    intuned_engine_count(&c);
    lua_createtable(L, 0, 5);
    set_integer(L, "queued", c.queued);
    set_integer(L, "running", c.running);
    set_integer(L, "ended", c.ended);
    set_integer(L, "profiles", c.profiles);
    set_boolean(L, "thread", c.thread);
    return 1;
}

/* core.engine_stop(): stops and joins the thread, frees every job and
 * profile (their ids find nothing afterwards); the next submission starts
 * the engine afresh. */
int intuned_engine_lua_stop(lua_State *L)
{
    (void)L;
    intuned_engine_stop();
    return 0;
}

/* The Lua state is closing; the last one to close stops the engine, so
 * that its thread is gone before the module can be unloaded. */
static int sentinel_gc(lua_State *L)
{
    (void)L;
    intuned_engine_detach();
    return 0;
}

void intuned_engine_init(lua_State *L)
{
    if (luaL_newmetatable(L, HOLDER_MT)) {
        lua_pushcfunction(L, holder_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newuserdata(L, 1);                     /* -> .., sentinel */
    if (luaL_newmetatable(L, SENTINEL_MT)) {
        lua_pushcfunction(L, sentinel_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    intuned_engine_attach();
    (void)luaL_ref(L, LUA_REGISTRYINDEX);      /* kept until the state closes */
}
