/*
 * engine.c: one libcurl engine thread per process, for nginx's pool
 * transport (lua/intuned/ngx.lua).
 *
 * A blocking transfer per thread-pool thread lets slow calls hold every
 * thread. Here every transfer of the process runs on one multi handle,
 * driven by one background thread: callers submit jobs (never waiting
 * beyond the mutex), the thread runs them as streams and connections of
 * that handle, and ended jobs wait in a list until a collector takes them
 * (nginx runs one collector per worker in its thread pool, which blocks in
 * engine_collect until some have ended).
 *
 * Ownership: everything is process-global and behind one mutex, except
 * what only the engine thread touches: the multi handle, the connection
 * registry (conn.h) and the easy handles ("workers", reused per profile),
 * which belong to the thread's `run` and are freed when it ends. A job's
 * strings are copied at submission, so the engine points into no Lua
 * state; profiles are copies of sessions (session.h), kept for the life of
 * the process. No Lua API call runs while the mutex is held, and libcurl's
 * callbacks only fill the job's transfer state (xfer.h).
 *
 * This file has no Lua in it; engine_lua.c is the Lua API (engine.h).
 *
 * The thread starts on the first submission, stops by itself after
 * IDLE_SECONDS with nothing to do, and starts again when needed; a forked
 * child forgets the parent's thread, jobs and connections.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <lua.h>

#include "conn.h"
#include "engine.h"
#include "session.h"
#include "xfer.h"

/* Distinct client settings of one process: more is a caller making a new
 * client per request with changing options. */
#define MAX_PROFILES 64
#define IDLE_SECONDS 30
/* Kept-alive connections the multi handle keeps at most. */
#define MAX_IDLE_CONNECTIONS 256
/* The thread looks at its idle time at least this often. */
#define POLL_MS 1000

typedef struct intuned_worker {
    CURL *curl;
    intuned_xfer x;
    struct intuned_worker *next;
} worker;

struct intuned_engine_profile {
    intuned_profile p;
    lua_Integer id;
};

typedef intuned_engine_profile profile;
typedef intuned_job job;

typedef struct {
    job *head, *tail;
    int n;
} list;

/* What the engine thread owns while it runs. */
typedef struct {
    CURLM *multi;
    intuned_conns *conns;
    worker *free[MAX_PROFILES];
} run;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Behind mu. */
static struct {
    pthread_cond_t ended_cv;   /* collectors wait here */
    int alive;                 /* the thread takes jobs */
    int joinable;              /* a thread was started and not joined yet */
    int stopping;
    pthread_t thread;
    CURLM *multi;              /* the thread's, while it takes jobs: for wakeups */
    int sleeping;              /* the thread is (about to be) in curl_multi_poll */
    int wakers;                /* callers waking multi right now */
    list queued, running, ended;
    int cancels;               /* running jobs marked cancelled */
    profile *profiles[MAX_PROFILES];
    int nprofiles;
    lua_Integer next_job, next_profile;
    unsigned long stops;       /* engine_stop calls, to wake collectors */
    int states;                /* Lua states that have the module loaded */
} E;

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- lists and jobs -------------------------------------------------------- */

static void push_back(list *l, job *j)
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

static void unlink_job(list *l, job *j)
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

static job *find(const list *l, lua_Integer id)
{
    job *j;
    for (j = l->head; j != NULL; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

static void job_free(job *j)
{
    if (j == NULL)
        return;
    free(j->result);
    free(j);
}

void intuned_job_free_chain(job *j)
{
    while (j != NULL) {
        job *next = j->batch;
        job_free(j);
        j = next;
    }
}

/* Takes every job of l out into a chain linked through `batch`. */
static job *take_all(list *l)
{
    job *chain = NULL, *j;
    while ((j = l->tail) != NULL) {
        unlink_job(l, j);
        j->batch = chain;
        chain = j;
    }
    return chain;
}

/* ---- the engine thread ----------------------------------------------------- */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A failure the engine itself met (no transfer ran): like a refused
 * connection to the caller, since nothing was sent. */
static void fail_job(job *j, const char *what, const char *why)
{
    memset(&j->o, 0, sizeof j->o);
    j->o.kind = "network";
    j->o.code = CURLE_FAILED_INIT;
    (void)snprintf(j->o.message, sizeof j->o.message, "intuned engine: %s: %s", what, why);
}

/* Moves a job the thread holds to the ended list (or frees it when its
 * caller gave up meanwhile). */
static void end_job(job *j, int was_running)
{
    int drop;
    pthread_mutex_lock(&mu);
    if (was_running)
        unlink_job(&E.running, j);
    drop = j->cancelled;
    if (!drop)
        push_back(&E.ended, j);
    pthread_mutex_unlock(&mu);
    /* After unlocking: a collector woken with the mutex held would only
     * wait for it. */
    if (drop)
        job_free(j);
    else
        pthread_cond_broadcast(&E.ended_cv);
}

static void worker_back(run *r, job *j)
{
    worker *w = j->w;
    intuned_xfer_trim(&w->x);
    w->next = r->free[j->slot];
    r->free[j->slot] = w;
    j->w = NULL;
}

static worker *worker_for(run *r, job *j)
{
    worker *w = r->free[j->slot];
    if (w != NULL) {
        r->free[j->slot] = w->next;
        return w;
    }
    if ((w = calloc(1, sizeof *w)) == NULL)
        return NULL;
    w->curl = intuned_xfer_dup(j->prof->p.proto, j->prof->p.max_bytes, &w->x, r->conns);
    if (w->curl == NULL) {
        free(w);
        return NULL;
    }
    return w;
}

/* Puts job j on the multi handle; 0 when it ended at once (failed). */
static int start_job(run *r, job *j)
{
    CURLcode rc;
    CURLMcode mc;
    if ((j->w = worker_for(r, j)) == NULL) {
        fail_job(j, "cannot copy the session's handle", "out of memory");
        return 0;
    }
    rc = intuned_xfer_prepare(&j->w->x, &j->rq);
    if (rc == CURLE_OK)
        rc = intuned_xfer_multi(&j->w->x, j);
    if (rc != CURLE_OK) {
        fail_job(j, "cannot configure libcurl", curl_easy_strerror(rc));
        worker_back(r, j);
        return 0;
    }
    if ((mc = curl_multi_add_handle(r->multi, j->w->curl)) != CURLM_OK) {
        fail_job(j, "cannot start a transfer", curl_multi_strerror(mc));
        worker_back(r, j);
        return 0;
    }
    return 1;
}

/* Copies the answer into one allocation of the job (the handle keeps its
 * buffers for the next one); 0 when memory ran out. */
static int keep_result(job *j, const intuned_xfer *x)
{
    size_t ct = j->o.ctype != NULL ? strlen(j->o.ctype) + 1 : 0;
    size_t n = x->body.len + x->head.len + ct;
    char *p;
    if (n == 0)
        return 1;
    if ((p = malloc(n)) == NULL)
        return 0;
    j->result = p;
    j->body = p;
    j->body_len = x->body.len;
    if (x->body.len > 0)
        memcpy(p, x->body.data, x->body.len);
    j->head = p + x->body.len;
    j->head_len = x->head.len;
    if (x->head.len > 0)
        memcpy(j->head, x->head.data, x->head.len);
    if (ct > 0) {
        j->ctype = j->head + x->head.len;
        memcpy(j->ctype, j->o.ctype, ct);
    }
    return 1;
}

/* The transfer of j ended with rc: runs it again when the stale-bytes
 * guard refused its connection, else keeps its outcome and ends it. */
static void finish_job(run *r, job *j, CURLcode rc)
{
    intuned_xfer *x = &j->w->x;
    curl_multi_remove_handle(r->multi, j->w->curl);
    if (intuned_xfer_again(x, rc) && curl_multi_add_handle(r->multi, j->w->curl) == CURLM_OK)
        return;
    intuned_xfer_outcome(x, rc, &j->o);
    if (!keep_result(j, x))
        j->o.out_of_memory = 1;
    j->o.ctype = NULL;
    worker_back(r, j);
    end_job(j, 1);
}

static void drain_messages(run *r)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(r->multi, &left)) != NULL) {
        char *priv = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        finish_job(r, (job *)(void *)priv, msg->data.result);
    }
}

/* Drops jobs whose callers gave up (a chain through `batch`). */
static void drop_jobs(run *r, job *j)
{
    while (j != NULL) {
        job *next = j->batch;
        if (j->w != NULL) {
            curl_multi_remove_handle(r->multi, j->w->curl);
            intuned_conns_release(r->conns, j->w->curl, &j->w->x.conn);
            worker_back(r, j);
        }
        job_free(j);
        j = next;
    }
}

/* Under the mutex: the running jobs marked cancelled, as a chain. */
static job *take_cancelled(void)
{
    job *chain = NULL, *j, *next;
    for (j = E.running.head; j != NULL; j = next) {
        next = j->next;
        if (j->cancelled) {
            unlink_job(&E.running, j);
            j->batch = chain;
            chain = j;
        }
    }
    E.cancels = 0;
    return chain;
}

/*
 * One turn under the mutex: the queued jobs move to running (returned as a
 * chain to start), cancelled ones out (*drop). Returns 0 when the thread
 * must end: asked to stop, or idle for long enough (it then takes no more
 * jobs: the next submission starts a new thread).
 */
static int take_work(job **start, job **drop, long *idle_since)
{
    job *j;
    int go = 1;
    *start = NULL;
    pthread_mutex_lock(&mu);
    *drop = E.cancels > 0 ? take_cancelled() : NULL;
    while ((j = E.queued.head) != NULL) {
        unlink_job(&E.queued, j);
        push_back(&E.running, j);
        j->batch = *start;
        *start = j;
    }
    if (E.running.n > 0)
        *idle_since = now_ms();
    if (E.stopping || now_ms() - *idle_since >= IDLE_SECONDS * 1000L) {
        E.alive = 0;
        E.multi = NULL;
        go = 0;
    }
    pthread_mutex_unlock(&mu);
    return go;
}

static void run_free(run *r)
{
    int i;
    for (i = 0; i < MAX_PROFILES; i++) {
        while (r->free[i] != NULL) {
            worker *w = r->free[i];
            r->free[i] = w->next;
            curl_easy_cleanup(w->curl);
            intuned_xfer_free(&w->x);
            free(w);
        }
    }
    if (r->multi != NULL)
        curl_multi_cleanup(r->multi); /* closes the sockets through conns */
    intuned_conns_free(r->conns);
    free(r);
}

/* Whether the thread may wait in curl_multi_poll: not with work queued.
 * From here until the next take_work, submissions wake it (a wakeup that
 * comes before the poll makes the poll return at once); otherwise they
 * need not, which saves a system call and a wakeup per submission when
 * the thread is busy. */
static int may_sleep(void)
{
    int idle;
    pthread_mutex_lock(&mu);
    idle = E.queued.n == 0 && E.cancels == 0 && !E.stopping;
    E.sleeping = idle;
    pthread_mutex_unlock(&mu);
    return idle;
}

/* Under the mutex: the multi handle to wake (then wake() after unlocking,
 * so that the thread does not wake only to wait for the mutex), or NULL
 * when the thread will look at its work anyway. */
static CURLM *to_wake(void)
{
    if (!E.sleeping || E.multi == NULL)
        return NULL;
    E.sleeping = 0;
    E.wakers++; /* the thread keeps the handle until none is left */
    return E.multi;
}

static void wake(CURLM *multi)
{
    if (multi == NULL)
        return;
    curl_multi_wakeup(multi);
    pthread_mutex_lock(&mu);
    E.wakers--;
    pthread_mutex_unlock(&mu);
}

/* Before the thread frees its multi handle: no caller may still be
 * waking it (they hold it for a moment only). */
static void wait_wakers(void)
{
    pthread_mutex_lock(&mu);
    while (E.wakers > 0) {
        pthread_mutex_unlock(&mu);
        sched_yield();
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
}

static void *engine_main(void *arg)
{
    run *r = arg;
    long idle_since = now_ms();
    job *start, *drop, *j;
    for (;;) {
        int go = take_work(&start, &drop, &idle_since), running = 0;
        drop_jobs(r, drop);
        if (!go)
            break;
        for (j = start; j != NULL; j = start) {
            start = j->batch;
            if (!start_job(r, j))
                end_job(j, 1);
        }
        (void)curl_multi_perform(r->multi, &running);
        drain_messages(r);
        if (may_sleep())
            (void)curl_multi_poll(r->multi, NULL, 0, POLL_MS, NULL);
    }
    /* Stopped: what still runs goes (its callers are gone too). */
    pthread_mutex_lock(&mu);
    drop = take_all(&E.running);
    pthread_mutex_unlock(&mu);
    drop_jobs(r, drop);
    wait_wakers();
    run_free(r);
    return NULL;
}

/* ---- starting and stopping ------------------------------------------------- */

/* Under the mutex: the thread's resources and the thread. NULL or why not. */
static const char *start_locked(void)
{
    sigset_t all, old;
    int err;
    run *r = calloc(1, sizeof *r);
    if (E.joinable) {
        /* It stopped taking jobs (idle) and needs nothing more of us. */
        pthread_join(E.thread, NULL);
        E.joinable = 0;
    }
    if (r == NULL || (r->multi = curl_multi_init()) == NULL || (r->conns = intuned_conns_new()) == NULL) {
        if (r != NULL && r->multi != NULL)
            curl_multi_cleanup(r->multi);
        free(r);
        return "out of memory";
    }
    curl_multi_setopt(r->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    /* libcurl's default follows the transfers running at the moment, so
     * connections would be closed whenever fewer run, and opened again. */
    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)MAX_IDLE_CONNECTIONS);
    /* nginx's signals go to its own threads, never to this one. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&E.thread, NULL, engine_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        run_free(r);
        return strerror(err);
    }
    E.multi = r->multi;
    E.alive = E.joinable = 1;
    return NULL;
}

void intuned_engine_stop(void)
{
    job *chain;
    int i, join;
    pthread_mutex_lock(&mu);
    E.stopping = 1;
    if (E.multi != NULL)
        curl_multi_wakeup(E.multi);
    E.sleeping = 0;
    join = E.joinable;
    E.joinable = 0;
    pthread_mutex_unlock(&mu);
    if (join)
        pthread_join(E.thread, NULL);
    pthread_mutex_lock(&mu);
    E.stopping = 0;
    chain = take_all(&E.queued);
    intuned_job_free_chain(chain);
    chain = take_all(&E.ended);
    intuned_job_free_chain(chain);
    E.cancels = 0;
    for (i = 0; i < MAX_PROFILES; i++) {
        if (E.profiles[i] != NULL) {
            intuned_profile_free(&E.profiles[i]->p);
            free(E.profiles[i]);
            E.profiles[i] = NULL;
        }
    }
    E.nprofiles = 0;
    E.stops++;
    pthread_cond_broadcast(&E.ended_cv);
    pthread_mutex_unlock(&mu);
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
    pthread_mutex_lock(&mu);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&mu);
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
    pthread_mutex_unlock(&mu);
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
    pthread_mutex_lock(&mu);
    E.states++;
    pthread_mutex_unlock(&mu);
}

void intuned_engine_detach(void)
{
    int last;
    pthread_mutex_lock(&mu);
    last = --E.states == 0;
    pthread_mutex_unlock(&mu);
    if (last)
        intuned_engine_stop();
}

int intuned_engine_max_profiles(void)
{
    return MAX_PROFILES;
}

lua_Integer intuned_engine_add_profile(const intuned_profile *p)
{
    profile *pr = malloc(sizeof *pr);
    lua_Integer id = 0;
    int i;
    if (pr == NULL)
        return 0;
    pr->p = *p;
    pthread_mutex_lock(&mu);
    for (i = 0; i < MAX_PROFILES && E.profiles[i] != NULL; i++)
        ;
    if (i < MAX_PROFILES) {
        E.profiles[i] = pr;
        E.nprofiles++;
        pr->id = id = ++E.next_profile; /* never reused: a stale id finds nothing */
    }
    pthread_mutex_unlock(&mu);
    if (id == 0)
        free(pr);
    return id;
}

/* Under the mutex: the slot of the profile with this id, or -1. */
static int slot_of(lua_Integer id)
{
    int i;
    for (i = 0; i < MAX_PROFILES; i++)
        if (E.profiles[i] != NULL && E.profiles[i]->id == id)
            return i;
    return -1;
}

profile *intuned_engine_find(lua_Integer id, int *keyed, long *timeout_ms)
{
    profile *pr = NULL;
    int slot;
    pthread_mutex_lock(&mu);
    if ((slot = slot_of(id)) >= 0) {
        pr = E.profiles[slot];
        *keyed = pr->p.base != NULL;
        *timeout_ms = pr->p.timeout_ms;
    }
    pthread_mutex_unlock(&mu);
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
    return j;
}

const char *intuned_engine_submit_job(job *j, lua_Integer *id)
{
    const char *why = NULL;
    CURLM *multi = NULL;
    pthread_mutex_lock(&mu);
    j->slot = slot_of(j->prof->id);
    if (j->slot < 0 || E.profiles[j->slot] != j->prof)
        why = "its profile was dropped (engine_stop)";
    else if (!E.alive)
        why = start_locked();
    if (why == NULL) {
        *id = j->id = ++E.next_job;
        push_back(&E.queued, j);
        multi = to_wake();
    }
    pthread_mutex_unlock(&mu);
    wake(multi);
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
        if (pthread_cond_timedwait(&E.ended_cv, &mu, &until) == ETIMEDOUT)
            break;
}

job *intuned_engine_take(long wait_ms, long max)
{
    job *chain = NULL, *last = NULL, *j;
    long n = 0;
    pthread_mutex_lock(&mu);
    if (wait_ms > 0)
        wait_ended(wait_ms);
    while (n < max && (j = E.ended.head) != NULL) {
        unlink_job(&E.ended, j);
        j->batch = NULL;
        if (last != NULL)
            last->batch = j;
        else
            chain = j;
        last = j;
        n++;
    }
    pthread_mutex_unlock(&mu);
    return chain;
}

int intuned_engine_cancel_job(lua_Integer id)
{
    job *j, *gone = NULL;
    CURLM *multi = NULL;
    pthread_mutex_lock(&mu);
    if ((j = find(&E.queued, id)) != NULL) {
        unlink_job(&E.queued, j);
        gone = j;
    } else if ((j = find(&E.ended, id)) != NULL) {
        unlink_job(&E.ended, j);
        gone = j;
    } else if ((j = find(&E.running, id)) != NULL && !j->cancelled) {
        j->cancelled = 1;
        E.cancels++;
        multi = to_wake();
    }
    pthread_mutex_unlock(&mu);
    wake(multi);
    job_free(gone);
    return j != NULL;
}

void intuned_engine_count(intuned_engine_counts *c)
{
    pthread_mutex_lock(&mu);
    c->queued = E.queued.n;
    c->running = E.running.n;
    c->ended = E.ended.n;
    c->profiles = E.nprofiles;
    c->thread = E.alive;
    pthread_mutex_unlock(&mu);
}
