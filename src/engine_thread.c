/*
 * engine_thread.c: the engine's thread (engine.h, engine_impl.h). It owns
 * what only it touches: the multi handle, the connection registry of its
 * connections (conn.h, the stale-bytes guard exactly as in batch.c) and
 * the easy handles ("workers", copies of a profile's handle, reused per
 * profile), all in its `run`, freed when it ends. It takes queued jobs,
 * runs them, and moves ended ones to the ended list for the collectors;
 * it drops the ones whose callers gave up. It starts with the first
 * submission and ends by itself after IDLE_SECONDS with nothing to do
 * (INTUNED_ENGINE_IDLE_SECONDS in the environment says otherwise: specs
 * use it to see the thread end and start again).
 *
 * No Lua here; libcurl's callbacks only fill a job's transfer state
 * (xfer.h); the mutex is never held across a libcurl call that waits.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "conn.h"
#include "engine.h"
#include "engine_impl.h"
#include "session.h"
#include "xfer.h"

#define IDLE_SECONDS 30
/* Kept-alive connections the multi handle keeps at most. */
#define MAX_IDLE_CONNECTIONS 256
/* The thread looks at its idle time at least this often. */
#define POLL_MS 1000

#define E intuned_engine

typedef struct intuned_worker {
    CURL *curl;
    intuned_xfer x;
    struct intuned_worker *next;
} worker;

typedef intuned_job job;

/* What the thread owns while it runs. */
typedef struct {
    CURLM *multi;
    intuned_conns *conns;
    worker *free[INTUNED_MAX_PROFILES];
} run;

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
    pthread_mutex_lock(&intuned_engine_mu);
    if (was_running)
        intuned_list_unlink(&E.running, j);
    drop = j->cancelled;
    if (!drop)
        intuned_list_push(&E.ended, j);
    pthread_mutex_unlock(&intuned_engine_mu);
    /* After unlocking: a collector woken with the mutex held would only
     * wait for it. */
    if (drop)
        intuned_job_free(j);
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
        intuned_job_free(j);
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
            intuned_list_unlink(&E.running, j);
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
static int take_work(job **start, job **drop, long *idle_since, long idle_ms)
{
    job *j;
    int go = 1;
    *start = NULL;
    pthread_mutex_lock(&intuned_engine_mu);
    *drop = E.cancels > 0 ? take_cancelled() : NULL;
    while ((j = E.queued.head) != NULL) {
        intuned_list_unlink(&E.queued, j);
        intuned_list_push(&E.running, j);
        j->batch = *start;
        *start = j;
    }
    if (E.running.n > 0)
        *idle_since = now_ms();
    if (E.stopping || now_ms() - *idle_since >= idle_ms) {
        E.alive = 0;
        E.multi = NULL;
        go = 0;
    }
    pthread_mutex_unlock(&intuned_engine_mu);
    return go;
}

static void run_free(run *r)
{
    int i;
    for (i = 0; i < INTUNED_MAX_PROFILES; i++) {
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
    pthread_mutex_lock(&intuned_engine_mu);
    idle = E.queued.n == 0 && E.cancels == 0 && !E.stopping;
    E.sleeping = idle;
    pthread_mutex_unlock(&intuned_engine_mu);
    return idle;
}

/* Waking after unlocking: the thread does not wake only to wait for the
 * mutex. */
CURLM *intuned_engine_to_wake(void)
{
    if (!E.sleeping || E.multi == NULL)
        return NULL;
    E.sleeping = 0;
    E.wakers++; /* the thread keeps the handle until none is left */
    return E.multi;
}

void intuned_engine_wake(CURLM *multi)
{
    if (multi == NULL)
        return;
    curl_multi_wakeup(multi);
    pthread_mutex_lock(&intuned_engine_mu);
    E.wakers--;
    pthread_mutex_unlock(&intuned_engine_mu);
}

/* Before the thread frees its multi handle: no caller may still be
 * waking it (they hold it for a moment only). */
static void wait_wakers(void)
{
    pthread_mutex_lock(&intuned_engine_mu);
    while (E.wakers > 0) {
        pthread_mutex_unlock(&intuned_engine_mu);
        sched_yield();
        pthread_mutex_lock(&intuned_engine_mu);
    }
    pthread_mutex_unlock(&intuned_engine_mu);
}

/* How long the thread stays with nothing to do, in milliseconds. */
static long idle_limit(void)
{
    const char *v = getenv("INTUNED_ENGINE_IDLE_SECONDS");
    char *end;
    double seconds = v != NULL ? strtod(v, &end) : 0;
    if (v == NULL || end == v || !(seconds > 0 && seconds <= IDLE_SECONDS))
        return IDLE_SECONDS * 1000L;
    return (long)(seconds * 1000.0);
}

static void *engine_main(void *arg)
{
    run *r = arg;
    long idle_since = now_ms(), idle_ms = idle_limit();
    job *start, *drop, *j;
    for (;;) {
        int go = take_work(&start, &drop, &idle_since, idle_ms), running = 0;
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
            (void)curl_multi_poll(r->multi, NULL, 0, idle_ms < POLL_MS ? (int)idle_ms : POLL_MS, NULL);
    }
    /* Stopped: what still runs goes (its callers are gone too). */
    pthread_mutex_lock(&intuned_engine_mu);
    drop = intuned_list_take_all(&E.running);
    pthread_mutex_unlock(&intuned_engine_mu);
    drop_jobs(r, drop);
    wait_wakers();
    run_free(r);
    return NULL;
}

/* ---- starting ------------------------------------------------------------- */

const char *intuned_engine_start_locked(void)
{
    sigset_t all, old;
    int err;
    run *r = calloc(1, sizeof *r);
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

