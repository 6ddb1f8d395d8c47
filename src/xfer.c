/*
 * xfer.c: one transfer on a reused easy handle (xfer.h).
 *
 * Sections: buffers; the libcurl callbacks (bytes and flags only, never
 * Lua); preparing a request; running it again when the guard refused a
 * connection; what the outcome becomes in Lua.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "conn.h"
#include "headers.h"
#include "interrupt.h"
#include "json.h"
#include "xfer.h"

/* Header blocks larger than this are a broken or hostile server. */
#define MAX_HEADER_BYTES ((size_t)64 * 1024)
/* A receive buffer larger than this is released after the request. */
#define KEEP_BUFFER_BYTES ((size_t)1024 * 1024)
/* Each refusal closes one cached connection, so this bounds nothing a
 * sane cache can reach; it only ends a loop that should not exist. */
#define MAX_RESTARTS 8

/* ---- buffers ----------------------------------------------------------- */

int intuned_buffer_append(intuned_buffer *b, const char *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 16384;
        char *grown;
        while (cap - b->len < n)
            cap *= 2;
        grown = realloc(b->data, cap);
        if (grown == NULL)
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 1;
}

void intuned_buffer_release(intuned_buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- libcurl callbacks: copy bytes, set flags, never touch Lua --------- */

/* Only a success body goes to the file: an error page stays in memory. */
static int goes_to_file(intuned_xfer *x)
{
    long status = 0;
    if (x->file == NULL)
        return 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    return status >= 200 && status < 300;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    intuned_xfer *x = ud;
    size_t n = size * nmemb;
    if (n > x->max_bytes - x->received) {
        x->too_large = 1;
        return 0; /* makes the transfer fail with CURLE_WRITE_ERROR */
    }
    if (goes_to_file(x)) {
        x->streamed = 1;
        if (fwrite(p, 1, n, x->file) != n) {
            x->write_failed = 1;
            x->write_errno = errno;
            return 0;
        }
    } else if (!intuned_buffer_append(&x->body, p, n)) {
        x->out_of_memory = 1;
        return 0;
    }
    x->received += n;
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    intuned_xfer *x = ud;
    size_t n = size * nmemb;
    /* A status line starts a new header block (after a 1xx response). */
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
        x->head.len = 0;
    if (n > MAX_HEADER_BYTES - x->head.len) {
        x->headers_too_large = 1;
        return 0;
    }
    if (!intuned_buffer_append(&x->head, p, n)) {
        x->out_of_memory = 1;
        return 0;
    }
    return n;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/*
 * Runs once the transfer has its connection, just before the request goes
 * out: the last moment to refuse a connection with bytes waiting. A second
 * call for one transfer is libcurl sending the request again on its own (a
 * reused connection that closed with no answer): refused, since the first
 * one may have reached the server. Only the caller's retry policy, which
 * knows whether the request may run twice, sends anything again.
 */
static int on_prereq(void *ud, char *primary_ip, /* NOLINT(readability-non-const-parameter) */
                     char *local_ip, int primary_port, int local_port) /* libcurl's callback type */
{
    intuned_xfer *x = ud;
    (void)primary_ip;
    (void)primary_port;
    if (x->sent) {
        x->resent = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    if (intuned_conns_acquire(x->conns, x->curl, local_ip, local_port, &x->conn)) {
        x->stray = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    x->sent = 1;
    return CURL_PREREQFUNC_OK;
}
#endif

CURLcode intuned_xfer_attach(intuned_xfer *x, CURL *curl, intuned_conns *conns)
{
    CURLcode rc;
    x->curl = curl;
    x->conns = conns;
    x->conn.fd = -1;
    rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, (void *)x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_HEADERDATA, (void *)x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, x->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075000
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, on_prereq);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_PREREQDATA, (void *)x);
#endif
    if (rc == CURLE_OK && conns != NULL)
        rc = intuned_conns_attach(conns, curl);
    if (rc == CURLE_OK && intuned_catching())
        rc = intuned_interrupt_attach(curl);
    return rc;
}

CURL *intuned_xfer_dup(CURL *proto, size_t max_bytes, intuned_xfer *x, intuned_conns *conns)
{
    CURL *c = curl_easy_duphandle(proto);
    if (c == NULL)
        return NULL;
    if (intuned_xfer_attach(x, c, conns) != CURLE_OK) {
        curl_easy_cleanup(c);
        return NULL;
    }
    x->max_bytes = max_bytes;
    return c;
}

/* ---- preparing and running a request ----------------------------------- */

static void clear(intuned_xfer *x)
{
    x->body.len = x->head.len = 0;
    x->received = 0;
    x->streamed = x->too_large = x->headers_too_large = x->out_of_memory = 0;
    x->write_failed = x->write_errno = 0;
    x->stray = x->sent = x->resent = 0;
    x->errbuf[0] = '\0';
}

CURLcode intuned_xfer_prepare(intuned_xfer *x, const intuned_request *rq)
{
    CURL *c = x->curl;
    int is_get = strcmp(rq->method, "GET") == 0;
    int is_post = strcmp(rq->method, "POST") == 0;
    CURLcode rc;
    clear(x);
    x->restarts = 0;
    x->tls = strncasecmp(rq->url, "https:", 6) == 0;
    rc = curl_easy_setopt(c, CURLOPT_URL, rq->url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, rq->headers);
    if (rq->body == NULL && !is_post && strcmp(rq->method, "PUT") != 0) {
        /* Back to a bodiless request, whatever the handle did last. */
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, is_get ? NULL : rq->method);
        return rc;
    }
    /* POST and PUT always say how long their body is (0 without one): some
     * front ends refuse a POST that does not (411). */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                              (curl_off_t)(rq->body ? rq->body_len : 0));
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, is_post ? NULL : rq->method);
    return rc;
}

CURLcode intuned_xfer_multi(intuned_xfer *x, void *priv)
{
    CURLcode rc = curl_easy_setopt(x->curl, CURLOPT_PRIVATE, priv);
    /* Plain http is HTTP/1.1 here: nothing to wait for. */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(x->curl, CURLOPT_PIPEWAIT, x->tls ? 1L : 0L);
    return rc;
}

int intuned_xfer_again(intuned_xfer *x, CURLcode rc)
{
    intuned_conns_release(x->conns, x->curl, &x->conn);
    if (rc != CURLE_ABORTED_BY_CALLBACK || !x->stray || x->restarts >= MAX_RESTARTS)
        return 0;
    /* Nothing was sent, and the refused connection is closed now. */
    clear(x);
    x->restarts++;
    return 1;
}

CURLcode intuned_xfer_perform(intuned_xfer *x)
{
    CURLcode rc;
    do
        rc = curl_easy_perform(x->curl);
    while (intuned_xfer_again(x, rc));
    return rc;
}

void intuned_xfer_trim(intuned_xfer *x)
{
    if (x->body.cap > KEEP_BUFFER_BYTES)
        intuned_buffer_release(&x->body);
    x->body.len = 0;
    x->head.len = 0;
}

void intuned_xfer_free(intuned_xfer *x)
{
    intuned_buffer_release(&x->body);
    intuned_buffer_release(&x->head);
    intuned_json_sizing_free(x->sizing);
    x->sizing = NULL;
}

/* ---- error kinds: the one place libcurl's codes are read ---------------- */

/* libcurl 7.x refuses a header line over its own limit (CURL_MAX_HTTP_HEADER)
 * with CURLE_OUT_OF_MEMORY and nothing in the error buffer; a real lack of
 * memory inside libcurl looks the same, and is not worth retrying either. */
static int libcurl_header_limit(CURLcode rc, const intuned_xfer *x)
{
    (void)x;
    return rc == CURLE_OUT_OF_MEMORY;
}

static const char *error_kind(CURLcode rc, const intuned_xfer *x)
{
    if (rc == CURLE_ABORTED_BY_CALLBACK && intuned_interrupted())
        return "interrupted";
    if (x->write_failed)
        return "io";
    if (x->too_large || x->headers_too_large || libcurl_header_limit(rc, x))
        return "too_large";
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_FILESIZE_EXCEEDED:
        return "too_large";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "url";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return "tls";
    default:
        return "network";
    }
}

/* The failure's message, formatted into out (size bytes, NUL-terminated). */
static void failure_message(const intuned_xfer *x, CURLcode rc, char *out, size_t size)
{
    const char *what = curl_easy_strerror(rc);
    if (rc == CURLE_ABORTED_BY_CALLBACK && intuned_interrupted())
        (void)snprintf(out, size, "interrupted");
    else if (x->write_failed)
        (void)snprintf(out, size, "cannot write the file: %s", strerror(x->write_errno));
    else if (x->headers_too_large)
        (void)snprintf(out, size, "response headers larger than %d bytes", (int)MAX_HEADER_BYTES);
    else if (libcurl_header_limit(rc, x))
        (void)snprintf(out, size, "a response header line is longer than libcurl accepts (%d bytes),"
                       " or libcurl ran out of memory", (int)CURL_MAX_HTTP_HEADER);
    else if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        (void)snprintf(out, size, "response larger than %d bytes", (int)x->max_bytes);
    else if (x->stray)
        (void)snprintf(out, size, "every kept-alive connection had unread bytes waiting");
    else if (x->resent)
        (void)snprintf(out, size, "the server closed the connection without an answer"
                       " (the request may have reached it)");
    else if (x->errbuf[0] != '\0' && strcmp(x->errbuf, what) != 0)
        (void)snprintf(out, size, "%s: %s", what, x->errbuf);
    else
        (void)snprintf(out, size, "%s", what);
}

void intuned_xfer_outcome(intuned_xfer *x, CURLcode rc, intuned_outcome *o)
{
    long connects = 0;
    o->code = rc;
    o->sent = x->sent;
    o->out_of_memory = x->out_of_memory;
    o->status = 0;
    o->ctype = NULL;
    o->reused = 0;
    o->bytes = x->received;
    if (rc != CURLE_OK) {
        o->kind = error_kind(rc, x);
        failure_message(x, rc, o->message, sizeof o->message);
        return;
    }
    o->kind = NULL;
    o->message[0] = '\0';
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &o->status);
    curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &o->ctype);
    curl_easy_getinfo(x->curl, CURLINFO_NUM_CONNECTS, &connects);
    o->reused = connects == 0;
}

/* ---- the outcome in Lua ------------------------------------------------- */

static int is_json_type(const char *ct)
{
    size_t n;
    if (ct == NULL)
        return 0;
    n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    /* structured syntax suffix, e.g. application/problem+json */
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* Pushes the body value in place of the nil at meta - 1. */
static void push_body(lua_State *L, intuned_xfer *x, const char *ctype, int meta, int flags)
{
    if (x->streamed) {
        lua_pushnil(L); /* the body is in the file */
    } else if (is_json_type(ctype) && !(flags & INTUNED_RAW) && x->body.len > 0) {
        intuned_json_opts jopts = {0, 0, NULL};
        intuned_json_err jerr;
        jopts.keep_object_nulls = (flags & INTUNED_KEEP_NULLS) != 0;
        if (x->sizing == NULL)
            x->sizing = intuned_json_sizing_new();
        jopts.sizing = x->sizing;
        if (!intuned_json_decode(L, x->body.data, x->body.len, &jopts, &jerr)) {
            lua_pushlstring(L, x->body.data, x->body.len);
            lua_pushfstring(L, "%s at byte %d", jerr.msg, (int)jerr.offset + 1);
            lua_setfield(L, meta, "decode_error");
            lua_pushinteger(L, (lua_Integer)jerr.offset + 1);
            lua_setfield(L, meta, "decode_offset");
        }
    } else {
        /* Not JSON, raw asked for, or empty (which is no body at all). */
        lua_pushlstring(L, x->body.data ? x->body.data : "", x->body.len);
    }
    lua_replace(L, meta - 1);
}

int intuned_xfer_push(lua_State *L, intuned_xfer *x, CURLcode rc, int flags)
{
    intuned_outcome o;
    int meta;

    if (x->out_of_memory)
        return luaL_error(L, "intuned.core: out of memory");
    intuned_xfer_outcome(x, rc, &o);
    if (o.kind != NULL) {                      /* -> nil, kind, message, curl_code, sent */
        lua_pushnil(L);
        lua_pushstring(L, o.kind);
        lua_pushstring(L, o.message);
        lua_pushinteger(L, (lua_Integer)o.code);
        lua_pushboolean(L, o.sent);
        return 5;
    }
    lua_pushinteger(L, (lua_Integer)o.status); /* -> .., status */
    lua_pushnil(L);                            /* body slot, filled below */
    lua_createtable(L, 0, 8);                  /* -> .., status, nil, meta */
    meta = lua_gettop(L);
    intuned_headers_meta(L, x->head.data, x->head.len, meta);
    if (o.ctype != NULL) {
        lua_pushstring(L, o.ctype);
        lua_setfield(L, meta, "content_type");
    }
    lua_pushboolean(L, o.reused);
    lua_setfield(L, meta, "reused");
    lua_pushinteger(L, (lua_Integer)o.bytes);
    lua_setfield(L, meta, "bytes");
    push_body(L, x, o.ctype, meta, flags);     /* -> .., status, body, meta */
    return 3;
}
