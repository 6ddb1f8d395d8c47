/*
 * core.c: the entry point of intuned.core. It only wires the other files
 * together: sessions (session.c, download.c), batches (batch.c), the
 * engine thread (engine.c, engine_thread.c, engine_lua.c), the clock
 * (clock.c), URL checks (url.c), Ctrl-C (interrupt.c) and the decoder
 * (json.c).
 */
#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "compat.h"
#include "engine.h"
#include "intuned.h"
#include "json.h"

static const luaL_Reg core_functions[] = {
    {"decode", intuned_json_lua_decode},
    {"session", intuned_session_new},
    {"batch", intuned_batch_new},
    {"now", intuned_clock_now},
    {"sleep", intuned_clock_sleep},
    {"check_url", intuned_url_check},
    {"head_meta", intuned_headers_lua_meta},
    {"parse_head", intuned_headers_lua_parse},
    {"replace_file", intuned_replace_file},
    {"engine_profile", intuned_engine_lua_profile},
    {"engine_submit", intuned_engine_lua_submit},
    {"engine_collect", intuned_engine_lua_collect},
    {"engine_cancel", intuned_engine_lua_cancel},
    {"engine_stats", intuned_engine_lua_stats},
    {"engine_stop", intuned_engine_lua_stop},
    {"catch_interrupts", intuned_interrupt_catch},
    {"interrupted", intuned_interrupt_check},
    {NULL, NULL}
};

int luaopen_intuned_core(lua_State *L)
{
    intuned_session_init(L);
    intuned_download_init(L);
    intuned_batch_init(L);
    intuned_engine_init(L);
    compat_newlib(L, core_functions);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    intuned_json_push_array_mt(L);
    lua_setfield(L, -2, "array_mt");
    lua_pushliteral(L, INTUNED_VERSION);
    lua_setfield(L, -2, "VERSION");
    lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
    lua_setfield(L, -2, "curl_version");
    return 1;
}
