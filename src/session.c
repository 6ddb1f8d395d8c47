/*
 * session.c: the session type of intuned.core. A session owns one libcurl
 * easy handle, reused for every request so connections and TLS sessions
 * stay alive, and its receive state. A keyed session is bound to one base
 * URL at creation and only takes paths below it; a keyless one (results
 * files) takes absolute URLs. It knows nothing of the API or of retries.
 *
 * Rule of this file: no Lua API call that can raise runs while libcurl is
 * inside curl_easy_perform (xfer.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "compat.h"
#include "conn.h"
#include "intuned.h"
#include "session.h"
#include "util.h"
#include "xfer.h"

#define DEFAULT_MAX_RESPONSE_BYTES (8u * 1024u * 1024u)
#define MAX_RESPONSE_BYTES_LIMIT 1073741824.0
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define USER_AGENT_LEN 256
#define MAX_METHOD_LEN 16
#define ACCEPT_ENCODING "gzip, deflate"

struct intuned_session {
    CURL *curl;
    struct curl_slist *headers;      /* x-api-key, Accept, User-Agent, ...: built once */
    struct curl_slist *json_headers; /* the same, for a request with a JSON body */
    intuned_conns *conns;            /* the handle's connections (conn.h) */
    intuned_xfer x;                  /* receive state of the current request */
    char *base;                      /* keyed: the base URL; NULL: keyless */
    size_t base_len;
    intuned_buffer url;              /* the URL of the request being prepared */
    long timeout_ms;
    int closed;
};

typedef intuned_session session;

/* ---- lifetime ------------------------------------------------------------ */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_OK;

static void global_init(void)
{
    global_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

intuned_session *intuned_session_check(lua_State *L, int idx)
{
    session *s = luaL_checkudata(L, idx, INTUNED_SESSION_MT);
    if (s->closed)
        luaL_error(L, "intuned: session is closed");
    return s;
}

int intuned_session_is_closed(const intuned_session *s)
{
    return s->closed;
}

intuned_xfer *intuned_session_xfer(intuned_session *s)
{
    return &s->x;
}

CURL *intuned_session_dup(intuned_session *s, intuned_xfer *x, intuned_conns *conns)
{
    return s->closed ? NULL : intuned_xfer_dup(s->curl, s->x.max_bytes, x, conns);
}

/* Wipes the key from a header list before the memory goes back. */
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
        curl_easy_cleanup(s->curl); /* closes its sockets through conns */
    s->curl = NULL;
    intuned_conns_free(s->conns);
    s->conns = NULL;
    headers_free(s->headers);
    headers_free(s->json_headers);
    s->headers = s->json_headers = NULL;
    free(s->base);
    s->base = NULL;
    intuned_buffer_release(&s->url);
    intuned_xfer_free(&s->x);
    s->closed = 1;
}

/* ---- profiles: a copy of the session that owes it nothing ----------------- */

/* A copy of list; 0 when memory ran out (*out is then NULL). */
static int headers_copy(const struct curl_slist *list, struct curl_slist **out)
{
    *out = NULL;
    for (; list != NULL; list = list->next) {
        struct curl_slist *grown = curl_slist_append(*out, list->data);
        if (grown == NULL) {
            headers_free(*out);
            *out = NULL;
            return 0;
        }
        *out = grown;
    }
    return 1;
}

void intuned_profile_free(intuned_profile *p)
{
    if (p->proto != NULL)
        curl_easy_cleanup(p->proto);
    headers_free(p->headers);
    headers_free(p->json_headers);
    free(p->base);
    memset(p, 0, sizeof *p);
}

int intuned_session_profile(intuned_session *s, intuned_profile *p)
{
    CURLcode rc;
    memset(p, 0, sizeof *p);
    if (s->closed)
        return 0;
    p->max_bytes = s->x.max_bytes;
    p->timeout_ms = s->timeout_ms;
    p->base_len = s->base_len;
    if (s->base != NULL) {
        if ((p->base = malloc(s->base_len + 1)) == NULL)
            return 0;
        memcpy(p->base, s->base, s->base_len + 1);
    }
    if (!headers_copy(s->headers, &p->headers) || !headers_copy(s->json_headers, &p->json_headers)
        || (p->proto = curl_easy_duphandle(s->curl)) == NULL) {
        intuned_profile_free(p);
        return 0;
    }
    /* Nothing of the copy may point into the session: its header list and
     * error buffer are the session's, its callbacks are set per use. */
    rc = curl_easy_setopt(p->proto, CURLOPT_HTTPHEADER, p->headers);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(p->proto, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(p->proto, CURLOPT_HTTPGET, 1L);
    if (rc != CURLE_OK) {
        intuned_profile_free(p);
        return 0;
    }
    return 1;
}

/* Shared by close, __gc and __close: safe to call any number of times. */
static int session_close(lua_State *L)
{
    session_free(luaL_checkudata(L, 1, INTUNED_SESSION_MT));
    return 0;
}

static int session_tostring(lua_State *L)
{
    session *s = luaL_checkudata(L, 1, INTUNED_SESSION_MT);
    lua_pushfstring(L, "intuned.session (%s%s): %p", s->closed ? "closed" : "open",
                    s->base ? "" : ", keyless", (void *)s);
    return 1;
}

/* ---- creation ------------------------------------------------------------ */

static void build_user_agent(char *out, size_t size, const char *prefix)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    (void)snprintf(out, size, "%s%sintuned-lua/%s (%s; libcurl/%s)",
                   prefix ? prefix : "", prefix ? " " : "",
                   INTUNED_VERSION, COMPAT_LUA_NAME, v->version);
}

/* Appends "name: value" (or "name:", which removes a header libcurl would
 * add, when value is NULL) to *list; returns 0 when memory ran out. */
static int header_add(struct curl_slist **list, const char *name, const char *value)
{
    struct curl_slist *grown;
    size_t n = strlen(name) + (value ? strlen(value) : 0) + 3;
    char *line = malloc(n);
    if (line == NULL)
        return 0;
    (void)snprintf(line, n, value ? "%s: %s" : "%s:", name, value);
    grown = curl_slist_append(*list, line);
    memset(line, 0, n);
    free(line);
    if (grown == NULL)
        return 0;
    *list = grown;
    return 1;
}

/*
 * The two header lists. User-Agent and Accept-Encoding go in them rather
 * than in options: libcurl formats option-made header lines anew for every
 * request. A bodiless request says "Content-Type:" so that libcurl adds
 * none to a POST without a body; a JSON body never waits for 100-continue.
 */
static int build_headers(session *s, const char *key, const char *user_agent)
{
    struct curl_slist **lists[2];
    int i;
    lists[0] = &s->headers;
    lists[1] = &s->json_headers;
    for (i = 0; i < 2; i++) {
        struct curl_slist **l = lists[i];
        if ((key != NULL && !header_add(l, "x-api-key", key)) ||
            !header_add(l, "Accept", "application/json") ||
            !header_add(l, "User-Agent", user_agent) ||
            !header_add(l, "Accept-Encoding", ACCEPT_ENCODING))
            return 0;
    }
    return header_add(&s->headers, "Content-Type", NULL) &&
           header_add(&s->json_headers, "Content-Type", "application/json") &&
           header_add(&s->json_headers, "Expect", NULL);
}

typedef struct {
    const char *user_agent, *ca_file, *ca_path, *proxy;
    long connect_ms;
} setup_opts;

/* Sets every option that stays the same for the life of the session. */
static CURLcode session_setup(session *s, const setup_opts *o)
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
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->x.max_bytes);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->ca_file != NULL)
        SET(CURLOPT_CAINFO, o->ca_file);
    if (o->ca_path != NULL)
        SET(CURLOPT_CAPATH, o->ca_path);
    if (o->proxy != NULL) {
        SET(CURLOPT_PROXY, o->proxy);
        /* The header list only goes to the server; CONNECT names us too. */
        SET(CURLOPT_USERAGENT, o->user_agent);
    }
#undef SET
    return rc;
}

/* Reads the options at index 1 that are checked before anything exists. */
static void read_options(lua_State *L, setup_opts *o, const char **key, const char **base,
                         const char **ua_prefix, lua_Number *max_bytes)
{
    *key = intuned_opt_string(L, 1, "api_key");
    *base = intuned_opt_string(L, 1, "base_url");
    *ua_prefix = intuned_opt_string(L, 1, "user_agent");
    o->ca_file = intuned_opt_string(L, 1, "ca_file");
    o->ca_path = intuned_opt_string(L, 1, "ca_path");
    o->proxy = intuned_opt_string(L, 1, "proxy");
    o->connect_ms = intuned_opt_millis(L, 1, "connect_timeout", DEFAULT_CONNECT_TIMEOUT_MS);
    lua_getfield(L, 1, "max_response_bytes");
    if (!lua_isnil(L, -1)) {
        *max_bytes = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(*max_bytes >= 1 && *max_bytes <= MAX_RESPONSE_BYTES_LIMIT))
            luaL_error(L, "intuned.core: option 'max_response_bytes' must be a number from 1 to 1 GiB");
    }
    lua_pop(L, 1);
    if ((*key != NULL) != (*base != NULL))
        luaL_error(L, "intuned.core: a session with an api_key needs a base_url, and only then");
    if (*key != NULL && intuned_has_control_bytes(*key))
        luaL_error(L, "intuned.core: option 'api_key' contains control bytes");
    if (*base != NULL && (intuned_has_control_bytes(*base) || strchr(*base, ' ') != NULL))
        luaL_error(L, "intuned.core: option 'base_url' contains control bytes or spaces");
    if (*ua_prefix != NULL && intuned_has_control_bytes(*ua_prefix))
        luaL_error(L, "intuned.core: option 'user_agent' contains control bytes");
    if (global_status != CURLE_OK)
        luaL_error(L, "intuned.core: curl_global_init failed: %s", curl_easy_strerror(global_status));
}

/* Everything of the new session s that can fail; 0 with *why set on failure. */
static int session_build(session *s, const setup_opts *o, const char *key, const char *base,
                         const char **why)
{
    CURLcode rc;
    *why = "out of memory";
    if (base != NULL) {
        s->base_len = strlen(base);
        while (s->base_len > 0 && base[s->base_len - 1] == '/')
            s->base_len--; /* every target starts with its own "/" */
        if ((s->base = malloc(s->base_len + 1)) == NULL)
            return 0;
        memcpy(s->base, base, s->base_len);
        s->base[s->base_len] = '\0';
    }
    if ((s->conns = intuned_conns_new()) == NULL || !build_headers(s, key, o->user_agent))
        return 0;
    rc = intuned_xfer_attach(&s->x, s->curl, s->conns);
    if (rc == CURLE_OK)
        rc = session_setup(s, o);
    if (rc != CURLE_OK) {
        *why = curl_easy_strerror(rc);
        return 0;
    }
    return 1;
}

/*
 * core.session(opts) -> session
 * opts: api_key and base_url (both or neither), user_agent (a prefix),
 * timeout, connect_timeout (seconds), max_response_bytes, ca_file, ca_path,
 * proxy.
 */
int intuned_session_new(lua_State *L)
{
    const char *key, *base, *ua_prefix, *why;
    lua_Number max_bytes = DEFAULT_MAX_RESPONSE_BYTES;
    char user_agent[USER_AGENT_LEN];
    setup_opts o;
    session *s;

    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    read_options(L, &o, &key, &base, &ua_prefix, &max_bytes);
    build_user_agent(user_agent, sizeof user_agent, ua_prefix);
    o.user_agent = user_agent;

    s = lua_newuserdata(L, sizeof *s); /* -> opts, session */
    memset(s, 0, sizeof *s);
    s->closed = 1; /* until the handle exists */
    luaL_getmetatable(L, INTUNED_SESSION_MT);
    lua_setmetatable(L, -2);
    s->x.max_bytes = (size_t)max_bytes;
    s->timeout_ms = intuned_opt_millis(L, 1, "timeout", DEFAULT_TIMEOUT_MS);

    s->curl = curl_easy_init();
    if (s->curl == NULL)
        return luaL_error(L, "intuned.core: curl_easy_init failed");
    s->closed = 0;
    if (!session_build(s, &o, key, base, &why)) {
        session_free(s);
        return luaL_error(L, "intuned.core: cannot make a session: %s", why);
    }
    return 1;
}

/* ---- requests ------------------------------------------------------------ */

/* A method is an upper-case token, as HTTP has them. */
const char *intuned_check_method(lua_State *L, int idx)
{
    size_t n, i;
    const char *m = luaL_checklstring(L, idx, &n);
    luaL_argcheck(L, n > 0 && n <= MAX_METHOD_LEN, idx, "not an HTTP method");
    for (i = 0; i < n; i++)
        luaL_argcheck(L, m[i] >= 'A' && m[i] <= 'Z', idx, "not an HTTP method");
    return m;
}

/* The target at idx as it came last time: its URL is built and checked
 * already (polling asks for the same path again and again). */
static int same_target(const session *s, const char *t, size_t n)
{
    return s->url.len == s->base_len + n + 1 && memcmp(s->url.data + s->base_len, t, n) == 0;
}

const char *intuned_target_problem(int keyed, const char *t, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] == 0x7f)
            return "target has spaces or control bytes";
    if (keyed)
        return n > 0 && t[0] == '/' ? NULL : "a keyed session takes a path starting with '/'";
    if ((n > 7 && strncasecmp(t, "http://", 7) == 0) || (n > 8 && strncasecmp(t, "https://", 8) == 0))
        return NULL;
    return "a keyless session takes an http(s) URL";
}

/* Builds s->url from the target at idx; raises on a target the session
 * does not take (see intuned_session_prepare). */
static const char *target_url(lua_State *L, session *s, int idx)
{
    size_t n;
    const char *t = luaL_checklstring(L, idx, &n);
    const char *problem;
    if (same_target(s, t, n))
        return s->url.data;
    if ((problem = intuned_target_problem(s->base != NULL, t, n)) != NULL)
        luaL_argerror(L, idx, problem);
    s->url.len = 0;
    if (s->base != NULL && !intuned_buffer_append(&s->url, s->base, s->base_len))
        luaL_error(L, "intuned.core: out of memory");
    if (!intuned_buffer_append(&s->url, t, n + 1)) { /* with its NUL */
        s->url.len = 0;
        luaL_error(L, "intuned.core: out of memory");
    }
    return s->url.data;
}

CURLcode intuned_session_prepare(lua_State *L, intuned_session *s, intuned_xfer *x,
                                 int method_idx, int target_idx, int body_idx,
                                 int timeout_idx)
{
    intuned_request rq;
    rq.method = intuned_check_method(L, method_idx);
    rq.url = target_url(L, s, target_idx);
    rq.body = NULL;
    rq.body_len = 0;
    if (body_idx > 0 && !lua_isnoneornil(L, body_idx))
        rq.body = luaL_checklstring(L, body_idx, &rq.body_len);
    rq.timeout_ms = intuned_arg_millis(L, timeout_idx, s->timeout_ms);
    rq.headers = rq.body ? s->json_headers : s->headers;
    return intuned_xfer_prepare(x, &rq);
}

/*
 * session:request(method, target [, body [, timeout [, keep_nulls [, raw]]]])
 *   -> status, body, meta | nil, kind, message, curl_code, sent
 * body: a JSON text sent as application/json. timeout (seconds) applies to
 * this request only. The answer's body is the decoded JSON value when its
 * content type is JSON (unless raw), else the raw string ("" for none);
 * meta = { headers, content_type, retry_after, location, reused, bytes,
 * decode_error, decode_offset }. sent: whether the request may have reached
 * the server.
 */
static int session_request(lua_State *L)
{
    session *s = intuned_session_check(L, 1);
    int flags = (lua_toboolean(L, 6) ? INTUNED_KEEP_NULLS : 0)
              | (lua_toboolean(L, 7) ? INTUNED_RAW : 0), n;
    CURLcode rc = intuned_session_prepare(L, s, &s->x, 2, 3, 4, 5);
    if (rc == CURLE_OK)
        rc = intuned_xfer_perform(&s->x);
    /* libcurl has returned: from here on Lua errors are safe. */
    if (s->x.out_of_memory)
        intuned_xfer_trim(&s->x); /* before push raises */
    n = intuned_xfer_push(L, &s->x, rc, flags);
    intuned_xfer_trim(&s->x);
    return n;
}

/* ---- registration ------------------------------------------------------- */

/* download.c adds session:download to these. */
static const luaL_Reg session_methods[] = {
    {"request", session_request},
    {NULL, NULL}
};

void intuned_session_init(lua_State *L)
{
    pthread_once(&global_once, global_init);
    intuned_register_type(L, INTUNED_SESSION_MT, session_methods, session_close, session_tostring);
}
