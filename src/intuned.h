/*
 * intuned.h: what the files of the C core export to each other.
 */
#ifndef INTUNED_H
#define INTUNED_H

#include <lua.h>
#include <lauxlib.h>

#define INTUNED_VERSION "0.1.0"

/* core.c */
/*
 * Registers the metatable `name` of a handle type: `methods` as __index,
 * `close` as close, __gc and __close (so it must be idempotent), and
 * `tostring` as __tostring.
 */
void intuned_register_type(lua_State *L, const char *name, const luaL_Reg *methods,
                           lua_CFunction close, lua_CFunction tostring);

/* http.c */
void intuned_http_init(lua_State *L);        /* curl_global_init, metatable */
int intuned_http_session_new(lua_State *L);  /* core.session(opts) */
int intuned_http_now(lua_State *L);          /* core.now(): monotonic seconds */
int intuned_http_sleep(lua_State *L);        /* core.sleep(seconds) */
void intuned_http_info(lua_State *L);        /* pushes the libcurl version string */

/* multi.c */
void intuned_multi_init(lua_State *L);       /* batch metatable */
int intuned_multi_new(lua_State *L);         /* core.batch(session, slots) */

/* download.c */
void intuned_download_init(lua_State *L);    /* download metatable */
int intuned_download(lua_State *L);          /* core.download(session, url, path [, timeout]) */

LUALIB_API int luaopen_intuned_core(lua_State *L);

#endif /* INTUNED_H */
