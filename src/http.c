/*
 * http.c: the session type of intuned.core. A session owns one libcurl easy
 * handle, reused for every request so connections and TLS sessions stay
 * alive, plus the receive buffers. It knows nothing of retries.
 *
 * Rule of this file: no Lua API call that can raise an error runs while
 * libcurl is inside curl_easy_perform. The callbacks only copy bytes and set
 * flags; everything Lua happens after perform has returned.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "compat.h"
#include "http.h"
#include "intuned.h"
#include "json.h"

#define SESSION_MT "intuned.session"
#define DEFAULT_MAX_RESPONSE_BYTES (8u * 1024u * 1024u)
/* Header blocks larger than this are a broken or hostile server. */
#define MAX_HEADER_BYTES ((size_t)64 * 1024)
/* A receive buffer larger than this is released after the request. */
#define KEEP_BUFFER_BYTES ((size_t)1024 * 1024)
#define USER_AGENT_LEN 256
#define ACCEPT_ENCODING "gzip, deflate"

typedef intuned_buffer buffer;

typedef struct intuned_session {
    CURL *curl;
    struct curl_slist *headers; /* x-api-key, Accept: built once */
    intuned_xfer x;             /* receive state of the current request */
    long timeout_ms;
    int closed;
} session;

/* ---- buffers ----------------------------------------------------------- */

/* Returns 0 when memory ran out; the buffer is then unchanged. */
static int buffer_append(buffer *b, const char *p, size_t n)
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

static void buffer_release(buffer *b)
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
    } else if (!buffer_append(&x->body, p, n)) {
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
        x->too_large = 1;
        return 0;
    }
    if (!buffer_append(&x->head, p, n)) {
        x->out_of_memory = 1;
        return 0;
    }
    return n;
}

CURLcode intuned_xfer_attach(intuned_xfer *x, CURL *curl)
{
    CURLcode rc;
    x->curl = curl;
    rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, (void *)x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_HEADERDATA, (void *)x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, x->errbuf);
    return rc;
}

void intuned_xfer_start(intuned_xfer *x)
{
    x->body.len = x->head.len = 0;
    x->received = 0;
    x->streamed = x->too_large = x->out_of_memory = 0;
    x->write_failed = x->write_errno = 0;
    x->errbuf[0] = '\0';
}

void intuned_xfer_free(intuned_xfer *x)
{
    buffer_release(&x->body);
    buffer_release(&x->head);
}

/* ---- session lifetime -------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_OK;

static void global_init(void)
{
    global_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static session *session_check(lua_State *L, int idx)
{
    session *s = luaL_checkudata(L, idx, SESSION_MT);
    if (s->closed)
        luaL_error(L, "intuned: session is closed");
    return s;
}

intuned_session *intuned_session_check(lua_State *L, int idx)
{
    return session_check(L, idx);
}

int intuned_session_is_closed(const intuned_session *s)
{
    return s->closed;
}

long intuned_session_timeout_ms(const intuned_session *s)
{
    return s->timeout_ms;
}

CURL *intuned_session_dup(intuned_session *s, intuned_xfer *x)
{
    CURL *c;
    if (s->closed || (c = curl_easy_duphandle(s->curl)) == NULL)
        return NULL;
    if (intuned_xfer_attach(x, c) != CURLE_OK) {
        curl_easy_cleanup(c);
        return NULL;
    }
    x->max_bytes = s->x.max_bytes;
    return c;
}

/* Wipes the key from the header list before the memory goes back. */
static void headers_free(struct curl_slist *list)
{
    struct curl_slist *it;
    for (it = list; it != NULL; it = it->next) {
        volatile char *c = (volatile char *)it->data;
        while (*c)
            *c++ = 0;
    }
    curl_slist_free_all(list);
}

static void session_free(session *s)
{
    if (s->curl != NULL)
        curl_easy_cleanup(s->curl);
    s->curl = NULL;
    headers_free(s->headers);
    s->headers = NULL;
    intuned_xfer_free(&s->x);
    s->closed = 1;
}

/* Shared by close, __gc and __close: safe to call any number of times. */
static int session_close(lua_State *L)
{
    session_free(luaL_checkudata(L, 1, SESSION_MT));
    return 0;
}

static int session_tostring(lua_State *L)
{
    session *s = luaL_checkudata(L, 1, SESSION_MT);
    lua_pushfstring(L, "intuned.session (%s): %p",
                    s->closed ? "closed" : "open", (void *)s);
    return 1;
}

/* ---- options ------------------------------------------------------------ */

static const char *opt_string(lua_State *L, int t, const char *name)
{
    const char *v = NULL;
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "intuned.core: option '%s' must be a string", name);
        v = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* the string stays alive in the options table */
    return v;
}

/* Seconds (possibly fractional) to milliseconds; absent means `def`. */
static long opt_millis(lua_State *L, int t, const char *name, long def)
{
    long ms = def;
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        lua_Number v;
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "intuned.core: option '%s' must be a number", name);
        v = lua_tonumber(L, -1);
        if (!(v >= 0 && v <= 86400.0 * 365))
            luaL_error(L, "intuned.core: option '%s' is out of range", name);
        ms = (long)(v * 1000.0 + 0.5);
        if (ms == 0 && v > 0)
            ms = 1; /* 0 would mean "no limit" to libcurl */
    }
    lua_pop(L, 1);
    return ms;
}

/* No control bytes may reach a header line. */
static int has_control_bytes(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            return 1;
    return 0;
}

static void build_user_agent(char *out, size_t size, const char *prefix)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    (void)snprintf(out, size, "%s%sintuned-lua/%s (%s; libcurl/%s)",
                   prefix ? prefix : "", prefix ? " " : "",
                   INTUNED_VERSION, COMPAT_LUA_NAME, v->version);
}

/* Appends "name: value" to *list; returns 0 when memory ran out. */
static int header_add(struct curl_slist **list, const char *name,
                      const char *value)
{
    struct curl_slist *grown;
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (line == NULL)
        return 0;
    (void)snprintf(line, n, "%s: %s", name, value);
    grown = curl_slist_append(*list, line);
    memset(line, 0, n);
    free(line);
    if (grown == NULL)
        return 0;
    *list = grown;
    return 1;
}

/* Sets every option that stays the same for the life of the session. */
static CURLcode session_setup(session *s, const char *user_agent,
                              const char *ca_file, const char *ca_path,
                              const char *proxy, long connect_ms)
{
    CURL *c = s->curl;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_ACCEPT_ENCODING, ACCEPT_ENCODING);
    SET(CURLOPT_HTTPHEADER, s->headers);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->x.max_bytes);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    if (ca_file != NULL)
        SET(CURLOPT_CAINFO, ca_file);
    if (ca_path != NULL)
        SET(CURLOPT_CAPATH, ca_path);
    if (proxy != NULL) {
        SET(CURLOPT_PROXY, proxy);
        /* The header list only goes to the server; CONNECT names us too. */
        SET(CURLOPT_USERAGENT, user_agent);
    }
#undef SET
    return rc;
}

/*
 * core.session(opts) -> session
 * opts: api_key, user_agent (a prefix), timeout, connect_timeout (seconds),
 * max_response_bytes, ca_file, ca_path, proxy.
 */
int intuned_http_session_new(lua_State *L)
{
    const char *key, *ua_prefix, *ca_file, *ca_path, *proxy;
    long connect_ms;
    lua_Number max_bytes = DEFAULT_MAX_RESPONSE_BYTES;
    char user_agent[USER_AGENT_LEN];
    session *s;
    CURLcode rc;

    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    key = opt_string(L, 1, "api_key");
    ua_prefix = opt_string(L, 1, "user_agent");
    ca_file = opt_string(L, 1, "ca_file");
    ca_path = opt_string(L, 1, "ca_path");
    proxy = opt_string(L, 1, "proxy");
    connect_ms = opt_millis(L, 1, "connect_timeout", 10000);
    lua_getfield(L, 1, "max_response_bytes");
    if (!lua_isnil(L, -1)) {
        max_bytes = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(max_bytes >= 1 && max_bytes <= 1073741824.0))
            luaL_error(L, "intuned.core: option 'max_response_bytes' must be a number from 1 to 1 GiB");
    }
    lua_pop(L, 1);
    if (key != NULL && has_control_bytes(key))
        luaL_error(L, "intuned.core: option 'api_key' contains control bytes");
    if (ua_prefix != NULL && has_control_bytes(ua_prefix))
        luaL_error(L, "intuned.core: option 'user_agent' contains control bytes");
    if (global_status != CURLE_OK)
        luaL_error(L, "intuned.core: curl_global_init failed: %s",
                   curl_easy_strerror(global_status));
    build_user_agent(user_agent, sizeof user_agent, ua_prefix);

    s = lua_newuserdata(L, sizeof *s); /* -> opts, session */
    memset(s, 0, sizeof *s);
    s->closed = 1; /* until the handle exists */
    luaL_getmetatable(L, SESSION_MT);
    lua_setmetatable(L, -2);
    s->x.max_bytes = (size_t)max_bytes;
    s->timeout_ms = opt_millis(L, 1, "timeout", 30000);

    s->curl = curl_easy_init();
    if (s->curl == NULL)
        return luaL_error(L, "intuned.core: curl_easy_init failed");
    s->closed = 0;
    /* User-Agent and Accept-Encoding go in the prebuilt list: libcurl
     * formats option-made header lines anew for every request (measured
     * with callgrind: about 10% of its instructions per kept-alive request).
     * CURLOPT_ACCEPT_ENCODING stays set, as it turns on gzip decoding. */
    if ((key != NULL && !header_add(&s->headers, "x-api-key", key)) ||
        !header_add(&s->headers, "Accept", "application/json") ||
        !header_add(&s->headers, "User-Agent", user_agent) ||
        !header_add(&s->headers, "Accept-Encoding", ACCEPT_ENCODING)) {
        session_free(s);
        return luaL_error(L, "intuned.core: out of memory");
    }
    rc = intuned_xfer_attach(&s->x, s->curl);
    if (rc == CURLE_OK)
        rc = session_setup(s, user_agent, ca_file, ca_path, proxy, connect_ms);
    if (rc != CURLE_OK) {
        session_free(s);
        return luaL_error(L, "intuned.core: cannot configure libcurl: %s",
                          curl_easy_strerror(rc));
    }
    return 1;
}

/* ---- responses ---------------------------------------------------------- */

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

/*
 * Retry-After is delay-seconds or an HTTP date. Negative or unreadable
 * values are ignored (nil), so the caller falls back to its own backoff.
 */
static void push_retry_after(lua_State *L, const char *v, size_t n)
{
    char tmp[64];
    size_t i;
    if (n == 0 || n >= sizeof tmp) {
        lua_pushnil(L);
        return;
    }
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    for (i = 0; i < n && tmp[i] >= '0' && tmp[i] <= '9'; i++)
        ;
    if (i == n) {
        lua_pushnumber(L, strtod(tmp, NULL));
    } else {
        time_t when = curl_getdate(tmp, NULL);
        if (when == -1 || tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')) {
            lua_pushnil(L);
        } else {
            double d = difftime(when, time(NULL));
            lua_pushnumber(L, d > 0 ? d : 0);
        }
    }
}

/* Calls fn(name, name_len, value, value_len) for each "name: value" line of
 * a header block; names as sent, values trimmed. */
typedef void (*header_fn)(void *ud, const char *name, size_t n,
                          const char *v, size_t vn);

static void each_header(const char *p, size_t len, header_fn fn, void *ud)
{
    const char *end;
    if (p == NULL || len == 0)
        return; /* no header block: nothing to add to NULL */
    end = p + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon != NULL && colon > p) {
            const char *v = colon + 1, *ve = line_end;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            fn(ud, p, (size_t)(colon - p), v, (size_t)(ve - v));
        }
        p = line_end + 1;
    }
}

typedef struct {
    lua_State *L;
    int meta;
} header_ctx;

/* Sets meta.retry_after and meta.location; the only headers the client
 * itself needs, so the only ones read on every response. */
static void header_special(void *ud, const char *name, size_t n,
                           const char *v, size_t vn)
{
    header_ctx *c = ud;
    if (n == 11 && strncasecmp(name, "retry-after", 11) == 0) {
        push_retry_after(c->L, v, vn);
        lua_setfield(c->L, c->meta, "retry_after");
    } else if (n == 8 && strncasecmp(name, "location", 8) == 0) {
        lua_pushlstring(c->L, v, vn);
        lua_setfield(c->L, c->meta, "location");
    }
}

/* Stores one header in the table on top: name lower-cased, the last of
 * repeated headers wins. Names too long for the buffer are skipped. */
static void header_store(void *ud, const char *name, size_t n,
                         const char *v, size_t vn)
{
    header_ctx *c = ud;
    char lower[128];
    size_t i;
    if (n >= sizeof lower)
        return;
    for (i = 0; i < n; i++) {
        char ch = name[i];
        lower[i] = (char)((ch >= 'A' && ch <= 'Z') ? ch + ('a' - 'A') : ch);
    }
    lua_pushlstring(c->L, lower, n);
    lua_pushlstring(c->L, v, vn);
    lua_rawset(c->L, -3);
}

/*
 * __index of a response's meta table. meta.headers is built on first
 * access from the raw header block kept in the metatable: most callers
 * never read it, and the table of lower-cased names cost more than
 * everything else the response adds. Once built it is an ordinary field.
 */
static int meta_index(lua_State *L)
{
    size_t len;
    const char *raw;
    header_ctx c;
    if (lua_type(L, 1) != LUA_TTABLE || lua_type(L, 2) != LUA_TSTRING
        || strcmp(lua_tostring(L, 2), "headers") != 0
        || !lua_getmetatable(L, 1))
        return 0;
    lua_rawgeti(L, -1, 1);                     /* -> .., mt, raw */
    if (lua_type(L, -1) != LUA_TSTRING)
        return 0;
    raw = lua_tolstring(L, -1, &len);
    lua_createtable(L, 0, 8);                  /* -> .., mt, raw, headers */
    c.L = L;
    c.meta = 1;
    each_header(raw, len, header_store, &c);
    lua_pushliteral(L, "headers");
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

/* Sets retry_after and location in the meta table at index `meta` and
 * arranges for meta.headers to be built when read. */
static void set_headers(lua_State *L, const buffer *head, int meta)
{
    header_ctx c;
    c.L = L;
    c.meta = meta;
    each_header(head->data, head->len, header_special, &c);
    lua_createtable(L, 1, 1);                  /* the metatable */
    lua_pushlstring(L, head->data ? head->data : "", head->len);
    lua_rawseti(L, -2, 1);
    lua_pushcfunction(L, meta_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, meta);
}

static const char *error_kind(CURLcode rc, const intuned_xfer *x)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_FILESIZE_EXCEEDED:
        return "too_large";
    case CURLE_WRITE_ERROR:
        if (x->write_failed)
            return "io";
        return x->too_large ? "too_large" : "network";
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

/* -> nil, kind, message, curl_code */
static int push_failure(lua_State *L, intuned_xfer *x, CURLcode rc)
{
    const char *kind = error_kind(rc, x);
    lua_pushnil(L);
    lua_pushstring(L, kind);
    if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        lua_pushfstring(L, "response larger than %d bytes", (int)x->max_bytes);
    else if (x->write_failed)
        lua_pushfstring(L, "cannot write the file: %s", strerror(x->write_errno));
    else if (x->errbuf[0] != '\0' && strcmp(x->errbuf, curl_easy_strerror(rc)) != 0)
        lua_pushfstring(L, "%s: %s", curl_easy_strerror(rc), x->errbuf);
    else
        lua_pushstring(L, curl_easy_strerror(rc));
    lua_pushinteger(L, (lua_Integer)rc);
    return 4;
}

/* Gives back a large receive buffer so an idle session stays small. */
void intuned_xfer_trim(intuned_xfer *x)
{
    if (x->body.cap > KEEP_BUFFER_BYTES)
        buffer_release(&x->body);
    x->body.len = 0;
    x->head.len = 0;
}

int intuned_xfer_push(lua_State *L, intuned_xfer *x, CURLcode rc, int flags)
{
    long status = 0, connects = 0;
    intuned_json_opts jopts = {0, 0, NULL};
    char *ctype = NULL;
    int meta;

    if (x->out_of_memory)
        return luaL_error(L, "intuned.core: out of memory");
    if (rc != CURLE_OK)
        return push_failure(L, x, rc);
    jopts.keep_object_nulls = (flags & INTUNED_KEEP_NULLS) != 0;
    jopts.shape = &x->shape;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &ctype);
    curl_easy_getinfo(x->curl, CURLINFO_NUM_CONNECTS, &connects);

    lua_pushinteger(L, (lua_Integer)status);  /* -> .., status */
    lua_pushnil(L);                            /* body slot, filled below */
    lua_createtable(L, 0, 8);                  /* -> .., status, nil, meta */
    meta = lua_gettop(L);
    set_headers(L, &x->head, meta);
    if (ctype != NULL) {
        lua_pushstring(L, ctype);
        lua_setfield(L, meta, "content_type");
    }
    lua_pushboolean(L, connects == 0);
    lua_setfield(L, meta, "reused");
    lua_pushinteger(L, (lua_Integer)x->received);
    lua_setfield(L, meta, "bytes");

    if (x->streamed) {
        lua_pushnil(L); /* the body is in the file */
    } else if (is_json_type(ctype) && !(flags & INTUNED_RAW)) {
        intuned_json_err jerr;
        if (x->body.len == 0) {
            lua_pushliteral(L, "");
            lua_pushliteral(L, "empty body");
            lua_setfield(L, meta, "decode_error");
        } else if (intuned_json_decode(L, x->body.data, x->body.len, &jopts, &jerr)) {
            /* -> .., status, nil, meta, value */
        } else {
            lua_pushlstring(L, x->body.data, x->body.len);
            lua_pushfstring(L, "%s at byte %d", jerr.msg, (int)jerr.offset + 1);
            lua_setfield(L, meta, "decode_error");
            lua_pushinteger(L, (lua_Integer)jerr.offset + 1);
            lua_setfield(L, meta, "decode_offset");
        }
    } else {
        lua_pushlstring(L, x->body.data ? x->body.data : "", x->body.len);
    }
    lua_replace(L, meta - 1);                  /* -> .., status, body, meta */
    return 3;
}

long intuned_opt_timeout_ms(lua_State *L, int idx, long def)
{
    lua_Number t;
    long ms;
    if (lua_isnoneornil(L, idx))
        return def;
    t = luaL_checknumber(L, idx);
    luaL_argcheck(L, t >= 0 && t <= 86400.0 * 365, idx, "timeout out of range");
    ms = (long)(t * 1000.0 + 0.5);
    return (ms == 0 && t > 0) ? 1 : ms; /* 0 would mean "no limit" */
}

/*
 * session:get(url [, timeout [, keep_nulls [, raw]]]) -> status, body, meta
 *                                            | nil, kind, message, curl_code
 * timeout (seconds) applies to this request only. body is the decoded JSON
 * value when the content type is JSON and the body decodes (unless raw),
 * else the raw string; meta = { headers, content_type, retry_after, location, reused,
 * bytes, decode_error, decode_offset }.
 */
static int session_get(lua_State *L)
{
    session *s = session_check(L, 1);
    const char *url = luaL_checkstring(L, 2);
    long timeout_ms = intuned_opt_timeout_ms(L, 3, s->timeout_ms);
    int flags = (lua_toboolean(L, 4) ? INTUNED_KEEP_NULLS : 0)
              | (lua_toboolean(L, 5) ? INTUNED_RAW : 0), n;
    CURLcode rc;

    lua_settop(L, 2);
    intuned_xfer_start(&s->x);
    rc = curl_easy_setopt(s->curl, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(s->curl);
    /* libcurl has returned: from here on Lua errors are safe. */
    if (s->x.out_of_memory)
        intuned_xfer_trim(&s->x); /* before push raises */
    n = intuned_xfer_push(L, &s->x, rc, flags);
    intuned_xfer_trim(&s->x);
    return n;
}

/* ---- clock -------------------------------------------------------------- */

int intuned_http_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

int intuned_http_sleep(lua_State *L)
{
    lua_Number secs = luaL_checknumber(L, 1);
    struct timespec ts, rest;
    if (!(secs > 0))
        return 0;
    if (secs > 86400.0)
        secs = 86400.0;
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (lua_Number)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &rest) != 0 && errno == EINTR)
        ts = rest;
    return 0;
}

/* ---- registration ------------------------------------------------------- */

static const luaL_Reg session_methods[] = {
    {"get", session_get},
    {NULL, NULL}
};

void intuned_http_init(lua_State *L)
{
    pthread_once(&global_once, global_init);
    intuned_register_type(L, SESSION_MT, session_methods, session_close, session_tostring);
}

void intuned_http_info(lua_State *L)
{
    lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
}
