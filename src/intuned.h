/*
 * intuned.h: the functions each C file of the core exports to core.c, by
 * the file that owns them. Types shared between files have headers of
 * their own: xfer.h (one transfer), conn.h (the connection guard),
 * session.h (the session, for the batch, the download and the engine),
 * engine.h (the engine thread and its Lua API), json.h (the decoder),
 * util.h (helpers), compat.h (Lua versions).
 */
#ifndef INTUNED_H
#define INTUNED_H

#include <lua.h>

#define INTUNED_VERSION "0.1.0"

/* session.c */
void intuned_session_init(lua_State *L);     /* curl_global_init, metatable */
int intuned_session_new(lua_State *L);       /* core.session(opts) */

/* download.c */
void intuned_download_init(lua_State *L);    /* session:download, after intuned_session_init */
int intuned_replace_file(lua_State *L);      /* core.replace_file(path, data) */

/* batch.c */
void intuned_batch_init(lua_State *L);       /* batch metatable */
int intuned_batch_new(lua_State *L);         /* core.batch(session, slots) */

/* clock.c */
int intuned_clock_now(lua_State *L);         /* core.now(): monotonic seconds */
int intuned_clock_sleep(lua_State *L);       /* core.sleep(seconds) */

/* interrupt.c */
int intuned_interrupt_catch(lua_State *L);   /* core.catch_interrupts() */
int intuned_interrupt_check(lua_State *L);   /* core.interrupted([clear]) */

/* headers.c */
int intuned_headers_lua_meta(lua_State *L);  /* core.head_meta(meta, head) */
int intuned_headers_lua_parse(lua_State *L); /* core.parse_head(head) */

/* url.c */
int intuned_url_check(lua_State *L);         /* core.check_url(url) */

LUALIB_API int luaopen_intuned_core(lua_State *L);

#endif /* INTUNED_H */
