/*
 * http.h: what http.c shares with the other transports of the C core
 * (multi.c, download.c): the receive state of one transfer, the callbacks
 * that fill it, the code that turns it into Lua values, and copies of a
 * session's configured easy handle.
 */
#ifndef INTUNED_HTTP_H
#define INTUNED_HTTP_H

#include <stdio.h>

#include <curl/curl.h>
#include <lua.h>

#include "json.h"

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} intuned_buffer;

/*
 * Everything one transfer receives. The libcurl callbacks only write here
 * (bytes and flags); Lua sees it after the transfer has ended.
 */
typedef struct {
    CURL *curl;            /* the handle the callbacks are attached to */
    intuned_buffer body;
    intuned_buffer head;   /* header block of the last response */
    size_t max_bytes;      /* cap on the body, in memory or in the file */
    size_t received;       /* body bytes so far */
    FILE *file;            /* when set, a 2xx body goes here, not to body */
    int streamed;          /* some of the body went to file */
    int too_large;
    int out_of_memory;
    int write_failed;      /* fwrite to file failed */
    int write_errno;
    char errbuf[CURL_ERROR_SIZE];
    intuned_json_shape shape; /* of the last JSON body, to size tables */
} intuned_xfer;

typedef struct intuned_session intuned_session;

/* Points the handle's write, header and error callbacks at x. */
CURLcode intuned_xfer_attach(intuned_xfer *x, CURL *curl);
/* Clears what the previous transfer left, keeping the buffers' memory. */
void intuned_xfer_start(intuned_xfer *x);
/* Gives back large buffers; used between transfers. */
void intuned_xfer_trim(intuned_xfer *x);
/* Frees the buffers (not the handle, not the file). */
void intuned_xfer_free(intuned_xfer *x);
/*
 * After the transfer ended with rc: pushes status, body, meta or
 * nil, kind, message, curl_code (the values of session:get) and returns
 * their count. flags: INTUNED_KEEP_NULLS, INTUNED_RAW (never decode). Lua errors it may raise are memory errors only; the caller
 * must own x in a way the garbage collector frees.
 */
#define INTUNED_KEEP_NULLS 1
#define INTUNED_RAW 2
int intuned_xfer_push(lua_State *L, intuned_xfer *x, CURLcode rc, int flags);

/* The session at idx; raises when it is not one or is closed. */
intuned_session *intuned_session_check(lua_State *L, int idx);
int intuned_session_is_closed(const intuned_session *s);
long intuned_session_timeout_ms(const intuned_session *s);
/*
 * A new easy handle with every option of the session (headers, TLS,
 * protocols, caps, no redirects), its callbacks attached to x, and
 * x->max_bytes set. NULL when libcurl fails; nothing to free then.
 */
CURL *intuned_session_dup(intuned_session *s, intuned_xfer *x);

/* Seconds (a Lua number at idx, or absent: def) to libcurl milliseconds. */
long intuned_opt_timeout_ms(lua_State *L, int idx, long def);

#endif /* INTUNED_HTTP_H */
