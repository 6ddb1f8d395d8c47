/*
 * engine.c: one libcurl engine thread per process, for nginx's pool
 * transport (lua/intuned/ngx.lua); this file is the callers' side.
 *
 * A blocking transfer per thread-pool thread lets slow calls hold every
 * thread. Here every transfer of the process runs on one multi handle,
 * driven by one background thread (engine_thread.c): callers submit jobs
 * (never waiting beyond the mutex), the thread runs them as streams and
 * connections of that handle, and ended jobs wait in a list until a
 * collector takes them (nginx runs one collector per worker in its thread
 * pool, which blocks in engine_collect until some have ended).
 *
 * Everything here is process-global and behind one mutex: the queued,
 * running and ended jobs, the profiles (copies of sessions, session.h,
 * kept for the life of the process) and the thread's state. A job's
 * strings are copied at submission, so the engine points into no Lua
 * state. No Lua in this file either: engine_lua.c is the Lua API.
 *
 * A forked child forgets the parent's thread, jobs and connections.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <lua.h>

#include "engine.h"
#include "engine_impl.h"
#include "session.h"
#include "xfer.h"

#define E intuned_engine

typedef intuned_engine_profile profile;
typedef intuned_job job;

pthread_mutex_t intuned_engine_mu = PTHREAD_MUTEX_INITIALIZER;

struct intuned_engine_state intuned_engine;

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- lists and jobs -------------------------------------------------------- */

void intuned_list_push(intuned_job_list *l, job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->n++;
}

void intuned_list_unlink(intuned_job_list *l, job *j)
{
    if (j->prev != NULL)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next != NULL)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->n--;
}

static job *find(const intuned_job_list *l, lua_Integer id)
{
    job *j;
    for (j = l->head; j != NULL; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

void intuned_job_free(job *j)
{
    if (j == NULL)
        return;
    free(j->result);
    free(j);
}

void intuned_job_free_chain(job *j)
{
    while (j != NULL) {
        /* A chain has no cycle (each job is in at most one); the analyzer
         * cannot know that of the global lists chains come from. */
        job *next = j->batch; /* NOLINT(clang-analyzer-unix.Malloc) */
        intuned_job_free(j);
        j = next;
    }
}

job *intuned_list_take_all(intuned_job_list *l)
{
    job *chain = NULL, *j;
    while ((j = l->tail) != NULL) {
        intuned_list_unlink(l, j);
        j->batch = chain;
        chain = j;
    }
    return chain;
}

void intuned_engine_stop(void)
{
    job *chain;
    int i, join;
    pthread_mutex_lock(&intuned_engine_mu);
    E.stopping = 1;
    if (E.multi != NULL)
        curl_multi_wakeup(E.multi);
    E.sleeping = 0;
    join = E.joinable;
    E.joinable = 0;
    pthread_mutex_unlock(&intuned_engine_mu);
    if (join)
        pthread_join(E.thread, NULL);
    pthread_mutex_lock(&intuned_engine_mu);
    E.stopping = 0;
    chain = intuned_list_take_all(&E.queued);
    intuned_job_free_chain(chain);
    chain = intuned_list_take_all(&E.ended);
    intuned_job_free_chain(chain);
    E.cancels = 0;
    for (i = 0; i < INTUNED_MAX_PROFILES; i++) {
        if (E.profiles[i] != NULL) {
            intuned_profile_free(&E.profiles[i]->p);
            free(E.profiles[i]);
            E.profiles[i] = NULL;
        }
    }
    E.nprofiles = 0;
    E.stops++;
    pthread_cond_broadcast(&E.ended_cv);
    pthread_mutex_unlock(&intuned_engine_mu);
}


static void init_cond(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&E.ended_cv, &attr);
    pthread_condattr_destroy(&attr);
}

static void before_fork(void)
{
    pthread_mutex_lock(&intuned_engine_mu);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&intuned_engine_mu);
}

/* The child has no engine thread, and the parent's connections, handles
 * and jobs are the parent's: they are forgotten (their memory stays), and
 * the child starts afresh. Profiles hold no connection and stay. */
static void after_fork_child(void)
{
    memset(&E.queued, 0, sizeof E.queued);
    memset(&E.running, 0, sizeof E.running);
    memset(&E.ended, 0, sizeof E.ended);
    E.alive = E.joinable = E.stopping = E.cancels = E.sleeping = E.wakers = 0;
    E.multi = NULL;
    init_cond(); /* its waiters were the parent's threads */
    pthread_mutex_unlock(&intuned_engine_mu);
}

static void engine_once(void)
{
    init_cond();
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}



/* ---- what engine.h offers -------------------------------------------------- */

void intuned_engine_attach(void)
{
    pthread_once(&once, engine_once);
    pthread_mutex_lock(&intuned_engine_mu);
    E.states++;
    pthread_mutex_unlock(&intuned_engine_mu);
}

void intuned_engine_detach(void)
{
    int last;
    pthread_mutex_lock(&intuned_engine_mu);
    last = --E.states == 0;
    pthread_mutex_unlock(&intuned_engine_mu);
    if (last)
        intuned_engine_stop();
}

int intuned_engine_max_profiles(void)
{
    return INTUNED_MAX_PROFILES;
}

lua_Integer intuned_engine_add_profile(const intuned_profile *p)
{
    profile *pr = malloc(sizeof *pr);
    lua_Integer id = 0;
    int i;
    if (pr == NULL)
        return 0;
    pr->p = *p;
    pthread_mutex_lock(&intuned_engine_mu);
    for (i = 0; i < INTUNED_MAX_PROFILES && E.profiles[i] != NULL; i++)
        ;
    if (i < INTUNED_MAX_PROFILES) {
        E.profiles[i] = pr;
        E.nprofiles++;
        pr->id = id = ++E.next_profile; /* never reused: a stale id finds nothing */
    }
    pthread_mutex_unlock(&intuned_engine_mu);
    if (id == 0)
        free(pr);
    return id;
}

/* Under the mutex: the slot of the profile with this id, or -1. */
static int slot_of(lua_Integer id)
{
    int i;
    for (i = 0; i < INTUNED_MAX_PROFILES; i++)
        if (E.profiles[i] != NULL && E.profiles[i]->id == id)
            return i;
    return -1;
}

profile *intuned_engine_find(lua_Integer id, int *keyed, long *timeout_ms)
{
    profile *pr = NULL;
    int slot;
    pthread_mutex_lock(&intuned_engine_mu);
    if ((slot = slot_of(id)) >= 0) {
        pr = E.profiles[slot];
        *keyed = pr->p.base != NULL;
        *timeout_ms = pr->p.timeout_ms;
    }
    pthread_mutex_unlock(&intuned_engine_mu);
    return pr;
}

job *intuned_job_new(profile *pr, const char *method, const char *t, size_t tn,
                     const char *body, size_t bn, long timeout_ms)
{
    size_t base_len = pr->p.base != NULL ? pr->p.base_len : 0;
    job *j = calloc(1, sizeof *j + base_len + tn + 1 + (body != NULL ? bn + 1 : 0));
    char *url;
    if (j == NULL)
        return NULL;
    url = (char *)(j + 1);
    if (base_len > 0)
        memcpy(url, pr->p.base, base_len);
    memcpy(url + base_len, t, tn);
    url[base_len + tn] = '\0';
    if (body != NULL) {
        char *b = url + base_len + tn + 1;
        memcpy(b, body, bn);
        b[bn] = '\0';
        j->rq.body = b;
        j->rq.body_len = bn;
    }
    (void)snprintf(j->method, sizeof j->method, "%s", method);
    j->rq.method = j->method;
    j->rq.url = url;
    j->rq.timeout_ms = timeout_ms;
    j->rq.headers = body != NULL ? pr->p.json_headers : pr->p.headers;
    j->prof = pr;
    j->profile_id = pr->id;
    return j;
}

/* Under the mutex: a thread that takes jobs, started when there is none.
 * A thread that ended by itself (idle) is joined first, without the mutex:
 * it may still need it on its way out. */
static const char *running_locked(void)
{
    while (!E.alive) {
        pthread_t old;
        if (!E.joinable)
            return intuned_engine_start_locked();
        old = E.thread;
        E.joinable = 0;
        pthread_mutex_unlock(&intuned_engine_mu);
        pthread_join(old, NULL);
        pthread_mutex_lock(&intuned_engine_mu);
    }
    return NULL;
}

const char *intuned_engine_submit_job(job *j, lua_Integer *id)
{
    const char *why = NULL;
    CURLM *multi = NULL;
    pthread_mutex_lock(&intuned_engine_mu);
    j->slot = slot_of(j->profile_id);
    if (j->slot < 0 || E.profiles[j->slot] != j->prof)
        why = "its profile was dropped (engine_stop)";
    else
        why = running_locked();
    if (why == NULL) {
        *id = j->id = ++E.next_job;
        intuned_list_push(&E.queued, j);
        multi = intuned_engine_to_wake();
    }
    pthread_mutex_unlock(&intuned_engine_mu);
    intuned_engine_wake(multi);
    return why;
}

/* Under the mutex: waits up to wait_ms for an ended job (or engine_stop). */
static void wait_ended(long wait_ms)
{
    struct timespec until;
    unsigned long stops = E.stops;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (E.ended.n == 0 && E.stops == stops)
        if (pthread_cond_timedwait(&E.ended_cv, &intuned_engine_mu, &until) == ETIMEDOUT)
            break;
}

job *intuned_engine_take(long wait_ms, long max)
{
    job *chain = NULL, *last = NULL, *j;
    long n = 0;
    pthread_mutex_lock(&intuned_engine_mu);
    if (wait_ms > 0)
        wait_ended(wait_ms);
    while (n < max && (j = E.ended.head) != NULL) {
        intuned_list_unlink(&E.ended, j);
        j->batch = NULL;
        if (last != NULL)
            last->batch = j;
        else
            chain = j;
        last = j;
        n++;
    }
    pthread_mutex_unlock(&intuned_engine_mu);
    return chain;
}

int intuned_engine_cancel_job(lua_Integer id)
{
    job *j, *gone = NULL;
    CURLM *multi = NULL;
    pthread_mutex_lock(&intuned_engine_mu);
    if ((j = find(&E.queued, id)) != NULL) {
        intuned_list_unlink(&E.queued, j);
        gone = j;
    } else if ((j = find(&E.ended, id)) != NULL) {
        intuned_list_unlink(&E.ended, j);
        gone = j;
    } else if ((j = find(&E.running, id)) != NULL && !j->cancelled) {
        j->cancelled = 1;
        E.cancels++;
        multi = intuned_engine_to_wake();
    }
    pthread_mutex_unlock(&intuned_engine_mu);
    intuned_engine_wake(multi);
    intuned_job_free(gone);
    return j != NULL;
}

void intuned_engine_count(intuned_engine_counts *c)
{
    pthread_mutex_lock(&intuned_engine_mu);
    c->queued = E.queued.n;
    c->running = E.running.n;
    c->ended = E.ended.n;
    c->profiles = E.nprofiles;
    c->thread = E.alive;
    pthread_mutex_unlock(&intuned_engine_mu);
}

