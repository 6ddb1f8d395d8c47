/*
 * util.h: small helpers every C file of the core may use: handle types,
 * reading an options table, and seconds as libcurl milliseconds.
 */
#ifndef INTUNED_UTIL_H
#define INTUNED_UTIL_H

#include <lua.h>
#include <lauxlib.h>

/* The longest time any option may ask for, in seconds (a year). */
#define INTUNED_MAX_SECONDS (86400.0 * 365)

/*
 * Registers the metatable `name` of a handle type: `methods` as __index,
 * `close` as close, __gc and __close (so it must be idempotent), and
 * `tostring` as __tostring.
 */
void intuned_register_type(lua_State *L, const char *name, const luaL_Reg *methods,
                           lua_CFunction close, lua_CFunction tostring);

/* Field `name` of the options table at t: a string or absent (NULL).
 * The string stays alive in the table. Raises on another type. */
const char *intuned_opt_string(lua_State *L, int t, const char *name);
/* Field `name` of the options table at t, in seconds, as milliseconds;
 * absent means def. Raises on another type or out of range. */
long intuned_opt_millis(lua_State *L, int t, const char *name, long def);
/* Argument idx in seconds (or none: def) as libcurl milliseconds. */
long intuned_arg_millis(lua_State *L, int idx, long def);
/* 1 when p has a byte below 0x20 or DEL: such bytes never reach a header. */
int intuned_has_control_bytes(const char *p);

#endif /* INTUNED_UTIL_H */
