/*
 * engine_impl.h: what the two halves of the engine share (engine.c, the
 * callers' side, and engine_thread.c, the thread): its state behind one
 * mutex, the job lists, and the few calls each makes of the other. Not
 * for any other file: the rest of the core sees engine.h.
 */
#ifndef INTUNED_ENGINE_IMPL_H
#define INTUNED_ENGINE_IMPL_H

#include <pthread.h>

#include <curl/curl.h>
#include <lua.h>

#include "engine.h"
#include "session.h"

/* Distinct client settings of one process: more is a caller making a new
 * client per request with changing options. */
#define INTUNED_MAX_PROFILES 64

struct intuned_engine_profile {
    intuned_profile p;
    lua_Integer id;
};

typedef struct {
    intuned_job *head, *tail;
    int n;
} intuned_job_list;

/* Everything behind intuned_engine_mu. */
struct intuned_engine_state {
    pthread_cond_t ended_cv;   /* collectors wait here */
    int alive;                 /* the thread takes jobs */
    int joinable;              /* a thread was started and not joined yet */
    int stopping;
    pthread_t thread;
    CURLM *multi;              /* the thread's, while it takes jobs: for wakeups */
    int sleeping;              /* the thread is (about to be) in curl_multi_poll */
    int wakers;                /* callers waking multi right now */
    intuned_job_list queued, running, ended;
    int cancels;               /* running jobs marked cancelled */
    intuned_engine_profile *profiles[INTUNED_MAX_PROFILES];
    int nprofiles;
    lua_Integer next_job, next_profile;
    unsigned long stops;       /* engine_stop calls, to wake collectors */
    int states;                /* Lua states that have the module loaded */
};

extern pthread_mutex_t intuned_engine_mu;
extern struct intuned_engine_state intuned_engine;

/* engine.c: the lists (under the mutex) and jobs */
void intuned_list_push(intuned_job_list *l, intuned_job *j);
void intuned_list_unlink(intuned_job_list *l, intuned_job *j);
/* Takes every job of l out into a chain linked through `batch`. */
intuned_job *intuned_list_take_all(intuned_job_list *l);
void intuned_job_free(intuned_job *j);

/* engine_thread.c */
/* Under the mutex: starts the thread with fresh resources; NULL or why not. */
const char *intuned_engine_start_locked(void);
/* Under the mutex: the multi handle to wake, or NULL when the thread looks
 * at its work anyway; then intuned_engine_wake after unlocking. */
CURLM *intuned_engine_to_wake(void);
void intuned_engine_wake(CURLM *multi);

#endif /* INTUNED_ENGINE_IMPL_H */
