/*
 * session.h: what session.c shares with the batch (batch.c) and the
 * download (download.c): checking a session argument, turning a request's
 * target into the URL it goes to, and copies of the configured handle.
 */
#ifndef INTUNED_SESSION_H
#define INTUNED_SESSION_H

#include <curl/curl.h>
#include <lua.h>

#include "conn.h"
#include "xfer.h"

#define INTUNED_SESSION_MT "intuned.session"

typedef struct intuned_session intuned_session;

/* The session at idx; raises when it is not one or is closed. */
intuned_session *intuned_session_check(lua_State *L, int idx);
int intuned_session_is_closed(const intuned_session *s);
/* The session's own transfer state (its handle's callbacks point there). */
intuned_xfer *intuned_session_xfer(intuned_session *s);

/*
 * Prepares x for `method` on the target at stack index target_idx, with the
 * body at body_idx (a string, or nil, or index 0, for none) and the timeout at
 * timeout_idx (seconds, or nil for the session's). A keyed session takes a
 * path ("/...", appended to its base URL, so the key never goes elsewhere);
 * a keyless one an absolute http(s) URL. Misuse raises before libcurl is
 * touched. Returns what libcurl said of the options.
 */
CURLcode intuned_session_prepare(lua_State *L, intuned_session *s, intuned_xfer *x,
                                 int method_idx, int target_idx, int body_idx,
                                 int timeout_idx);

/*
 * A new easy handle with every option of the session (headers, TLS,
 * protocols, caps, no redirects), its callbacks attached to x and its
 * sockets to conns, and x->max_bytes set. NULL when libcurl fails.
 */
CURL *intuned_session_dup(intuned_session *s, intuned_xfer *x, intuned_conns *conns);

/* A method at idx: an upper-case token of at most 16 bytes; raises otherwise. */
const char *intuned_check_method(lua_State *L, int idx);

/*
 * Why a target of n bytes is refused, or NULL: a keyed session takes a path
 * ("/...", appended to its base URL, so the key never goes elsewhere), a
 * keyless one an absolute http(s) URL; neither has spaces or control bytes.
 */
const char *intuned_target_problem(int keyed, const char *t, size_t n);

/*
 * What a request of a session needs, copied so that it owes the session
 * (and the Lua state that owns it) nothing: used by the engine (engine.c).
 * proto is the session's configured handle (headers, TLS, protocols, caps,
 * no redirects) pointing at the copied header lists; it never runs itself,
 * each transfer runs on a copy of it (intuned_xfer_dup).
 */
typedef struct {
    CURL *proto;
    struct curl_slist *headers;      /* for a request without a body */
    struct curl_slist *json_headers; /* for one with a JSON body */
    char *base;                      /* keyed: the base URL, no trailing '/'; NULL: keyless */
    size_t base_len;
    size_t max_bytes;
    long timeout_ms;                 /* the session's default */
} intuned_profile;

/* Fills p from s; 0 when memory ran out or libcurl failed (p is then empty). */
int intuned_session_profile(intuned_session *s, intuned_profile *p);
/* Frees what p holds, the key wiped from the header lists; p is then empty. */
void intuned_profile_free(intuned_profile *p);

#endif /* INTUNED_SESSION_H */
