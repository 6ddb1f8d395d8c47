/*
 * clock.c: core.now and core.sleep, the default clock and sleep of the
 * Lua layer (which lets callers inject their own).
 */
#include <errno.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

#include "interrupt.h"
#include "intuned.h"

/* core.now() -> seconds on a monotonic clock */
int intuned_clock_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* core.sleep(seconds): at most a day, restarted when a signal cuts it
 * short, unless that signal was an interrupt being caught (interrupt.h). */
int intuned_clock_sleep(lua_State *L)
{
    lua_Number secs = luaL_checknumber(L, 1);
    struct timespec ts, rest;
    if (!(secs > 0))
        return 0;
    if (secs > 86400.0)
        secs = 86400.0;
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (lua_Number)ts.tv_sec) * 1e9);
    while (!intuned_interrupted() && nanosleep(&ts, &rest) != 0 && errno == EINTR)
        ts = rest;
    return 0;
}
