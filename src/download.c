/*
 * download.c: core.download, a GET whose success body is streamed to a
 * file instead of memory (results files can be large). It runs on a copy of
 * the session's handle, so the same settings and caps hold; the session
 * for results files is made without an API key.
 *
 * Same rule as http.c: the callbacks only write bytes and set flags, and a
 * userdata owns the handle, the file and the buffers, so every one of them
 * is released whether the Lua code after the transfer returns or raises.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "compat.h"
#include "http.h"
#include "intuned.h"

#define DOWNLOAD_MT "intuned.download"

typedef struct {
    CURL *curl;
    FILE *file;
    intuned_xfer x;
} download;

static void download_free(download *d)
{
    if (d->curl != NULL)
        curl_easy_cleanup(d->curl);
    d->curl = NULL;
    if (d->file != NULL)
        (void)fclose(d->file); /* the partial file is removed by the caller */
    d->file = d->x.file = NULL;
    intuned_xfer_free(&d->x);
}

static int download_gc(lua_State *L)
{
    download_free(luaL_checkudata(L, 1, DOWNLOAD_MT));
    return 0;
}

/* -> nil, "io", message, 0 */
static int push_io_failure(lua_State *L, const char *what, const char *path, int err)
{
    lua_pushnil(L);
    lua_pushliteral(L, "io");
    lua_pushfstring(L, "cannot %s %s: %s", what, path, strerror(err));
    lua_pushinteger(L, 0);
    return 4;
}

/*
 * core.download(session, url, path [, timeout]) -> status, body, meta
 *                                                | nil, kind, message, curl_code
 * A 2xx body is written to `path` (created or truncated) and body is nil;
 * any other status leaves the file empty and returns its body as
 * session:get does. meta.bytes counts the body bytes. The caller renames
 * or removes the file.
 */
int intuned_download(lua_State *L)
{
    intuned_session *s = intuned_session_check(L, 1);
    const char *url = luaL_checkstring(L, 2);
    const char *path = luaL_checkstring(L, 3);
    long timeout_ms = intuned_opt_timeout_ms(L, 4, intuned_session_timeout_ms(s));
    download *d;
    CURLcode rc;
    int n, closed;

    lua_settop(L, 3);
    d = lua_newuserdata(L, sizeof *d); /* -> session, url, path, download */
    memset(d, 0, sizeof *d);
    luaL_getmetatable(L, DOWNLOAD_MT);
    lua_setmetatable(L, -2);

    d->curl = intuned_session_dup(s, &d->x);
    if (d->curl == NULL)
        return luaL_error(L, "intuned.core: cannot copy the session's handle");
    d->file = fopen(path, "wb");
    if (d->file == NULL)
        return push_io_failure(L, "create", path, errno);
    d->x.file = d->file;
    intuned_xfer_start(&d->x);
    rc = curl_easy_setopt(d->curl, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(d->curl);
    /* libcurl has returned: from here on Lua errors are safe. */
    closed = fclose(d->file);
    d->file = d->x.file = NULL;
    if (closed != 0 && rc == CURLE_OK && d->x.streamed)
        n = push_io_failure(L, "write", path, errno);
    else
        n = intuned_xfer_push(L, &d->x, rc, 0);
    download_free(d);
    return n;
}

void intuned_download_init(lua_State *L)
{
    if (luaL_newmetatable(L, DOWNLOAD_MT)) {
        lua_pushcfunction(L, download_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushliteral(L, DOWNLOAD_MT);
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
}
