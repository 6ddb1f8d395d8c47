/*
 * intuned.h: what the files of the C core export to each other.
 */
#ifndef INTUNED_H
#define INTUNED_H

#include <lua.h>

#define INTUNED_VERSION "0.1.0"

/* http.c */
void intuned_http_init(lua_State *L);        /* curl_global_init, metatable */
int intuned_http_session_new(lua_State *L);  /* core.session(opts) */
int intuned_http_now(lua_State *L);          /* core.now(): monotonic seconds */
int intuned_http_sleep(lua_State *L);        /* core.sleep(seconds) */
void intuned_http_info(lua_State *L);        /* pushes the libcurl version string */

LUALIB_API int luaopen_intuned_core(lua_State *L);

#endif /* INTUNED_H */
