/*
 * compat.h: every difference between Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT that
 * the C core cares about lives here, and nowhere else.
 */
#ifndef INTUNED_COMPAT_H
#define INTUNED_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM == 501
/* Lua 5.1 and LuaJIT */
#define compat_rawlen(L, i) lua_objlen((L), (i))

static inline void compat_setfuncs(lua_State *L, const luaL_Reg *l)
{
    for (; l->name != NULL; l++) {
        lua_pushcfunction(L, l->func);
        lua_setfield(L, -2, l->name);
    }
}

#define compat_newlib(L, l) \
    (lua_createtable((L), 0, (int)(sizeof(l) / sizeof((l)[0]) - 1)), \
     compat_setfuncs((L), (l)))

static inline void *compat_testudata(lua_State *L, int ud, const char *tname)
{
    void *p = lua_touserdata(L, ud);
    if (p != NULL && lua_getmetatable(L, ud)) {
        luaL_getmetatable(L, tname);
        if (!lua_rawequal(L, -1, -2))
            p = NULL;
        lua_pop(L, 2);
        return p;
    }
    return NULL;
}

/* The pushed string's own bytes (5.2 and later return them). */
static inline const char *compat_pushlstring(lua_State *L, const char *s,
                                             size_t n)
{
    lua_pushlstring(L, s, n);
    return lua_tostring(L, -1);
}

#else
#define compat_pushlstring(L, s, n) lua_pushlstring((L), (s), (n))
#define compat_rawlen(L, i) lua_rawlen((L), (i))
#define compat_setfuncs(L, l) luaL_setfuncs((L), (l), 0)
#define compat_newlib(L, l) luaL_newlib((L), (l))
#define compat_testudata(L, ud, tname) luaL_testudata((L), (ud), (tname))
#endif

/*
 * Integers: 5.3 and 5.4 have a separate integer subtype; 5.1, 5.2 and LuaJIT
 * only have doubles, so a JSON integer becomes a double there.
 */
#if LUA_VERSION_NUM >= 503
#define COMPAT_HAS_INTEGERS 1
#else
#define COMPAT_HAS_INTEGERS 0
#endif

/*
 * A short name for the Lua the module was built for, used in the User-Agent.
 * LuaJIT's lua.h does not say "LuaJIT" (LUA_VERSION is "Lua 5.1"); its
 * luaconf.h defines LUA_LJDIR, and luajit.h has the version string.
 */
#if defined(LUA_LJDIR) && !defined(LUAJIT_VERSION)
#include <luajit.h>
#endif
#if defined(LUAJIT_VERSION)
#define COMPAT_LUA_NAME LUAJIT_VERSION
#else
#define COMPAT_LUA_NAME LUA_VERSION
#endif

#endif /* INTUNED_COMPAT_H */
