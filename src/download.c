/*
 * download.c: session:download, a GET whose success body is streamed to a
 * file instead of memory (results files can be large), on the session's
 * own handle so its settings, caps and connection guard hold.
 *
 * The body goes to a temporary file made next to the target with mkstemp
 * (a fresh name, O_EXCL, mode 0600: a planted file or symlink cannot catch
 * it), and is renamed over the target only when the whole body arrived. A
 * userdata owns the temporary file until then, so a Lua error at any point
 * still closes and removes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "intuned.h"
#include "session.h"
#include "xfer.h"

#define TEMP_MT "intuned.download"
#define TEMP_SUFFIX ".part-XXXXXX"

typedef struct {
    FILE *file;
    char *path;  /* the temporary file's name while it exists */
} temp_file;

static void temp_discard(temp_file *t)
{
    if (t->file != NULL)
        (void)fclose(t->file);
    t->file = NULL;
    if (t->path != NULL) {
        (void)unlink(t->path);
        free(t->path);
    }
    t->path = NULL;
}

static int temp_gc(lua_State *L)
{
    temp_discard(luaL_checkudata(L, 1, TEMP_MT));
    return 0;
}

/*
 * The mode a file made with fopen would have had (0666 less the umask).
 * umask() cannot be read without being set, which races with other
 * threads; Linux says it in /proc. Elsewhere the file keeps 0600.
 */
static mode_t usual_mode(void)
{
    unsigned long mask = 077;
    FILE *f = fopen("/proc/self/status", "r");
    if (f != NULL) {
        char line[128];
        while (fgets(line, sizeof line, f) != NULL) {
            if (strncmp(line, "Umask:", 6) == 0) {
                char *end;
                unsigned long v = strtoul(line + 6, &end, 8);
                if (end != line + 6)
                    mask = v;
                break;
            }
        }
        (void)fclose(f);
    }
    return (mode_t)(0666 & ~mask & 0777);
}

/* -> nil, "io", message, 0, false (nothing was sent) */
static int push_io_failure(lua_State *L, const char *what, const char *path, int err)
{
    lua_pushnil(L);
    lua_pushliteral(L, "io");
    lua_pushfstring(L, "cannot %s %s: %s", what, path, strerror(err));
    lua_pushinteger(L, 0);
    lua_pushboolean(L, 0);
    return 5;
}

/* Makes the temporary file for path; 0 with errno set on failure. */
static int temp_open(temp_file *t, const char *path)
{
    size_t n = strlen(path);
    int fd;
    if ((t->path = malloc(n + sizeof TEMP_SUFFIX)) == NULL) {
        errno = ENOMEM;
        return 0;
    }
    memcpy(t->path, path, n);
    memcpy(t->path + n, TEMP_SUFFIX, sizeof TEMP_SUFFIX);
    if ((fd = mkstemp(t->path)) < 0) {
        free(t->path);
        t->path = NULL;
        return 0;
    }
    if ((t->file = fdopen(fd, "wb")) == NULL) {
        int err = errno;
        (void)close(fd);
        errno = err;
        temp_discard(t);
        return 0;
    }
    return 1;
}

/* After a complete 2xx body: the file goes into place. 0 with errno set. */
static int temp_commit(temp_file *t, const char *path)
{
    int ok = fflush(t->file) == 0 && fchmod(fileno(t->file), usual_mode()) == 0;
    int err = errno;
    ok = fclose(t->file) == 0 && ok;
    t->file = NULL;
    if (!ok) {
        errno = err;
        return 0;
    }
    if (rename(t->path, path) != 0)
        return 0;
    free(t->path);
    t->path = NULL;
    return 1;
}

/*
 * session:download(target, path [, timeout]) -> status, nil, meta
 *                                    | status, body, meta
 *                                    | nil, kind, message, curl_code, sent
 * A 2xx body replaces the file at path, whole or not at all, and body is
 * nil; any other status leaves path alone and returns its body as
 * session:request does. meta.bytes counts the body bytes.
 */
static int session_download(lua_State *L)
{
    intuned_session *s = intuned_session_check(L, 1);
    const char *path = luaL_checkstring(L, 3);
    intuned_xfer *x = intuned_session_xfer(s);
    temp_file *t;
    CURLcode rc;
    long status = 0;
    int n;

    lua_settop(L, 4);
    lua_pushliteral(L, "GET");          /* -> session, target, path, timeout, "GET" */
    t = lua_newuserdata(L, sizeof *t);  /* -> .., "GET", temp */
    memset(t, 0, sizeof *t);
    luaL_getmetatable(L, TEMP_MT);
    lua_setmetatable(L, -2);

    rc = intuned_session_prepare(L, s, x, 5, 2, 0, 4);
    if (!temp_open(t, path))
        return push_io_failure(L, "create a file next to", path, errno);
    x->file = t->file;
    if (rc == CURLE_OK)
        rc = intuned_xfer_perform(x);
    x->file = NULL;
    /* libcurl has returned: from here on Lua errors are safe. */
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && status >= 200 && status < 300 && !temp_commit(t, path)) {
        n = push_io_failure(L, "write", path, errno);
    } else {
        n = intuned_xfer_push(L, x, rc, 0);
    }
    temp_discard(t);
    intuned_xfer_trim(x);
    return n;
}

/*
 * core.replace_file(path, data) -> true | nil, message
 * data replaces the file at path the way a download does: written to a
 * fresh temporary file next to it, renamed into place when whole (for
 * bodies read outside libcurl: nginx's cosockets).
 */
int intuned_replace_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *data = luaL_checklstring(L, 2, &n);
    temp_file *t;
    int ok;
    lua_settop(L, 2);
    t = lua_newuserdata(L, sizeof *t); /* -> path, data, temp */
    memset(t, 0, sizeof *t);
    luaL_getmetatable(L, TEMP_MT);
    lua_setmetatable(L, -2);
    if (!temp_open(t, path)) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot create a file next to %s: %s", path, strerror(errno));
        return 2;
    }
    ok = fwrite(data, 1, n, t->file) == n && temp_commit(t, path);
    if (!ok) {
        int err = errno;
        temp_discard(t);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot write %s: %s", path, strerror(err));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* After intuned_session_init: adds session:download to the session's
 * methods, so session.c does not depend on this file. */
void intuned_download_init(lua_State *L)
{
    if (luaL_newmetatable(L, TEMP_MT)) {
        lua_pushcfunction(L, temp_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushliteral(L, TEMP_MT);
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
    luaL_getmetatable(L, INTUNED_SESSION_MT);   /* -> .., session mt */
    lua_getfield(L, -1, "__index");              /* -> .., mt, methods */
    lua_pushcfunction(L, session_download);
    lua_setfield(L, -2, "download");
    lua_pop(L, 2);
}
