/*
 * core.c: the entry point of intuned.core. It only wires the other files
 * together: the session type (http.c), batches (multi.c), downloads to a
 * file (download.c) and the decoder (json.c).
 */
#include <lua.h>
#include <lauxlib.h>

#include "compat.h"
#include "intuned.h"
#include "json.h"

static const luaL_Reg core_functions[] = {
    {"decode", intuned_json_lua_decode},
    {"session", intuned_http_session_new},
    {"now", intuned_http_now},
    {"sleep", intuned_http_sleep},
    {"batch", intuned_multi_new},
    {"download", intuned_download},
    {NULL, NULL}
};

int luaopen_intuned_core(lua_State *L)
{
    intuned_http_init(L);
    intuned_multi_init(L);
    intuned_download_init(L);
    compat_newlib(L, core_functions);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_pushliteral(L, INTUNED_VERSION);
    lua_setfield(L, -2, "VERSION");
    intuned_http_info(L);
    lua_setfield(L, -2, "curl_version");
    return 1;
}
