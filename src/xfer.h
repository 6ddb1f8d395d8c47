/*
 * xfer.h: one HTTP transfer on a reused libcurl easy handle, shared by the
 * session (session.c) and the batch (batch.c): the receive state, the
 * callbacks that fill it, the one way a request is prepared on a handle
 * that may have sent something else before, the one place libcurl's codes
 * become error kinds, and the code that turns the outcome into Lua values.
 *
 * Rule for every user: no Lua API call that can raise runs while libcurl is
 * working. The callbacks only copy bytes and set flags; Lua sees the state
 * after the transfer has ended.
 */
#ifndef INTUNED_XFER_H
#define INTUNED_XFER_H

#include <stdio.h>

#include <curl/curl.h>
#include <lua.h>

#include "conn.h"
#include "json.h"

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} intuned_buffer;

/* Returns 0 when memory ran out; the buffer is then unchanged. */
int intuned_buffer_append(intuned_buffer *b, const char *p, size_t n);
void intuned_buffer_release(intuned_buffer *b);

/* Everything one transfer receives, and what it learnt while sending. */
typedef struct {
    CURL *curl;              /* the handle the callbacks are attached to */
    intuned_conns *conns;    /* registry of the handle's connection cache */
    intuned_conn_use conn;   /* the connection the transfer is on */
    intuned_buffer body;
    intuned_buffer head;     /* header block of the last response */
    size_t max_bytes;        /* cap on the body, in memory or in the file */
    size_t received;         /* body bytes so far */
    FILE *file;              /* when set, a 2xx body goes here, not to body */
    int streamed;            /* some of the body went to file */
    int too_large;           /* the body passed max_bytes */
    int headers_too_large;   /* the header block passed its cap */
    int out_of_memory;
    int write_failed;        /* fwrite to file failed */
    int write_errno;
    int stray;               /* refused a reused connection with bytes waiting */
    int restarts;            /* times the transfer was started again for that */
    int sent;                /* the request was handed to the connection */
    int resent;              /* libcurl wanted to send it again: refused */
    int tls;                 /* the request's URL is https */
    char errbuf[CURL_ERROR_SIZE];
    intuned_json_sizing *sizing; /* the tables of its last JSON body (json.h):
                                    made on first use, NULL without memory */
} intuned_xfer;

/* What to send. url is absolute; body NULL means none (and no Content-Type). */
typedef struct {
    const char *method;      /* an upper-case token: GET, POST, PUT, DELETE... */
    const char *url;
    const char *body;
    size_t body_len;
    long timeout_ms;
    struct curl_slist *headers; /* the list for this request (with or without a body) */
} intuned_request;

/* Points the handle's callbacks at x and its sockets at conns. */
CURLcode intuned_xfer_attach(intuned_xfer *x, CURL *curl, intuned_conns *conns);
/* Sets the request on the handle, undoing whatever the previous request
 * set (method, body), and clears the receive state. */
CURLcode intuned_xfer_prepare(intuned_xfer *x, const intuned_request *rq);
/* After a transfer ended with rc: releases its connection and says whether
 * it must run again (a connection with stray bytes was refused before
 * anything was sent). The receive state is cleared for the new run then. */
int intuned_xfer_again(intuned_xfer *x, CURLcode rc);
/* curl_easy_perform, run again as intuned_xfer_again says. */
CURLcode intuned_xfer_perform(intuned_xfer *x);
/* Gives back large buffers; used between transfers. */
void intuned_xfer_trim(intuned_xfer *x);
/* Frees the buffers (not the handle, not the file). */
void intuned_xfer_free(intuned_xfer *x);

/* A copy of the configured handle proto (curl_easy_duphandle) with its
 * callbacks attached to x and its sockets to conns, and x->max_bytes set.
 * NULL when libcurl fails. */
CURL *intuned_xfer_dup(CURL *proto, size_t max_bytes, intuned_xfer *x, intuned_conns *conns);
/* For a handle run on a multi handle: priv as CURLOPT_PRIVATE, and over
 * TLS a wait for the first connection to say whether it speaks HTTP/2, so
 * that transfers become streams of one connection instead of opening their
 * own. Call after intuned_xfer_prepare. */
CURLcode intuned_xfer_multi(intuned_xfer *x, void *priv);

/* What a transfer ended with, without Lua: an answer (kind NULL: status,
 * content type, reused, bytes) or a failure (kind, message, code, sent).
 * out_of_memory: the receive state is incomplete (session:request raises). */
#define INTUNED_MESSAGE_SIZE 512
typedef struct {
    const char *kind;        /* NULL for an answer; else static text */
    char message[INTUNED_MESSAGE_SIZE];
    int code;                /* libcurl's CURLcode */
    int sent;                /* the request may have reached the server */
    int out_of_memory;
    long status;
    const char *ctype;       /* libcurl's copy, valid until the handle runs again */
    int reused;              /* no new connection was made */
    size_t bytes;            /* body bytes received */
} intuned_outcome;

/* The one place libcurl's codes become kinds and messages. */
void intuned_xfer_outcome(intuned_xfer *x, CURLcode rc, intuned_outcome *o);

/*
 * After the transfer ended with rc: pushes status, body, meta, or
 * nil, kind, message, curl_code, sent, and returns their count. flags:
 * INTUNED_KEEP_NULLS, INTUNED_RAW (never decode). The only Lua errors it
 * raises are memory errors; the caller must own x in a way the garbage
 * collector frees.
 */
#define INTUNED_KEEP_NULLS 1
#define INTUNED_RAW 2
int intuned_xfer_push(lua_State *L, intuned_xfer *x, CURLcode rc, int flags);

#endif /* INTUNED_XFER_H */
