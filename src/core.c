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

void intuned_register_type(lua_State *L, const char *name, const luaL_Reg *methods,
                           lua_CFunction close, lua_CFunction tostring)
{
    if (luaL_newmetatable(L, name)) {          /* -> .., mt */
        lua_newtable(L);
        compat_setfuncs(L, methods);
        lua_pushcfunction(L, close);
        lua_setfield(L, -2, "close");
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushstring(L, name);
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
}

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
