/*
 * util.c: helpers shared by the files of the C core (util.h).
 */
#include <lua.h>
#include <lauxlib.h>

#include "compat.h"
#include "util.h"

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

const char *intuned_opt_string(lua_State *L, int t, const char *name)
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

/* 0 would mean "no limit" to libcurl: a positive time is at least 1 ms. */
static long to_millis(lua_Number v)
{
    long ms = (long)(v * 1000.0 + 0.5);
    return (ms == 0 && v > 0) ? 1 : ms;
}

long intuned_opt_millis(lua_State *L, int t, const char *name, long def)
{
    long ms = def;
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        lua_Number v;
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "intuned.core: option '%s' must be a number", name);
        v = lua_tonumber(L, -1);
        if (!(v >= 0 && v <= INTUNED_MAX_SECONDS))
            luaL_error(L, "intuned.core: option '%s' is out of range", name);
        ms = to_millis(v);
    }
    lua_pop(L, 1);
    return ms;
}

long intuned_arg_millis(lua_State *L, int idx, long def)
{
    lua_Number t;
    if (lua_isnoneornil(L, idx))
        return def;
    t = luaL_checknumber(L, idx);
    luaL_argcheck(L, t >= 0 && t <= INTUNED_MAX_SECONDS, idx, "timeout out of range");
    return to_millis(t);
}

int intuned_has_control_bytes(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            return 1;
    return 0;
}
