/*
 * engine.h: the process-wide libcurl engine, for nginx's pool transport.
 *
 * Without Lua: engine_thread.c is one background thread that runs every
 * submitted transfer of the process on one multi handle; engine.c keeps
 * the queue of submitted jobs, the list of ended ones and the profiles
 * (copies of sessions, session.h), and is what callers use (below).
 * engine_lua.c is its Lua API, core.engine_*.
 * Everything here may be called from any thread; nothing blocks beyond
 * the engine's mutex, except intuned_engine_take (it waits, as asked) and
 * intuned_engine_stop (it joins the thread).
 */
#ifndef INTUNED_ENGINE_H
#define INTUNED_ENGINE_H

#include <lua.h>

#include "session.h"
#include "xfer.h"

typedef struct intuned_engine_profile intuned_engine_profile;

/* One request, from submission until its caller has its outcome. */
typedef struct intuned_job {
    struct intuned_job *prev, *next;  /* in the engine's lists (engine.c) */
    struct intuned_job *batch;        /* a chain a caller or the thread holds */
    lua_Integer id;
    intuned_engine_profile *prof;
    lua_Integer profile_id;
    int slot;                         /* of prof, for the thread's handles */
    int cancelled;                    /* running when cancelled: the thread drops it */
    struct intuned_worker *w;         /* the handle, while running */
    intuned_request rq;               /* method, url and body point into the job */
    char method[24];
    /* Once ended: */
    intuned_outcome o;                /* o.ctype is never set: see ctype */
    char *result;                     /* holds body, head and ctype */
    char *body, *head, *ctype;        /* ctype NULL: none */
    size_t body_len, head_len;
} intuned_job;

/* Counts for core.engine_stats. */
typedef struct {
    int queued, running, ended, profiles, thread;
} intuned_engine_counts;

/* Before any other call, once per Lua state that loads the module. */
void intuned_engine_attach(void);
/* When that state closes; the last one stops the engine (the module may
 * be unloaded afterwards). */
void intuned_engine_detach(void);

/* Takes p (an engine copy of a session) for the life of the process, or
 * until intuned_engine_stop. Returns its id, or 0 when the engine holds
 * as many as it keeps (p is then the caller's still). */
lua_Integer intuned_engine_add_profile(const intuned_profile *p);
int intuned_engine_max_profiles(void);
/* The profile with this id, or NULL; *keyed and *timeout_ms say what its
 * requests take. */
intuned_engine_profile *intuned_engine_find(lua_Integer id, int *keyed, long *timeout_ms);

/* A job for method on target (checked by the caller: intuned_target_problem)
 * with body (NULL: none); NULL when memory ran out. */
intuned_job *intuned_job_new(intuned_engine_profile *pr, const char *method, const char *t,
                             size_t tn, const char *body, size_t bn, long timeout_ms);
/* Frees a chain of jobs linked through `batch`. */
void intuned_job_free_chain(intuned_job *j);

/* Queues j (starting the thread when it is not running): j is the
 * engine's from then on, *id its id. NULL, or why it could not (j is then
 * the caller's still). */
const char *intuned_engine_submit_job(intuned_job *j, lua_Integer *id);
/* Up to max ended jobs as a chain through `batch`, oldest first, waiting up
 * to wait_ms for one; NULL when none ended in time. */
intuned_job *intuned_engine_take(long wait_ms, long max);
/* Drops the job whether queued, running or ended; 0 when there is none. */
int intuned_engine_cancel_job(lua_Integer id);
void intuned_engine_count(intuned_engine_counts *c);
/* Stops and joins the thread, frees every job and profile. */
void intuned_engine_stop(void);

/* engine_lua.c: the Lua API */
void intuned_engine_init(lua_State *L);           /* once per Lua state */
int intuned_engine_lua_profile(lua_State *L);     /* core.engine_profile(session) -> id */
int intuned_engine_lua_submit(lua_State *L);      /* core.engine_submit(profile, method, target [, body [, timeout]]) -> id */
int intuned_engine_lua_collect(lua_State *L);     /* core.engine_collect([max_wait [, max_items]]) -> items */
int intuned_engine_lua_cancel(lua_State *L);      /* core.engine_cancel(id) -> found */
int intuned_engine_lua_stats(lua_State *L);       /* core.engine_stats() -> counts */
int intuned_engine_lua_stop(lua_State *L);        /* core.engine_stop() */

#endif /* INTUNED_ENGINE_H */
