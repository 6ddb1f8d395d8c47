/*
 * url.c: core.check_url, libcurl's own reading of a URL, so that a base URL
 * libcurl would refuse is refused where it is given (intuned.new), not on
 * every request afterwards.
 */
#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "intuned.h"

/* core.check_url(url) -> true | nil, message */
int intuned_url_check(lua_State *L)
{
    const char *url = luaL_checkstring(L, 1);
#if LIBCURL_VERSION_NUM >= 0x073e00
    CURLU *u = curl_url();
    CURLUcode uc;
    if (u == NULL)
        return luaL_error(L, "intuned.core: out of memory");
    uc = curl_url_set(u, CURLUPART_URL, url, 0);
    curl_url_cleanup(u);
    if (uc != CURLUE_OK) {
        lua_pushnil(L);
#if LIBCURL_VERSION_NUM >= 0x075000
        lua_pushstring(L, curl_url_strerror(uc));
#else
        lua_pushfstring(L, "libcurl cannot read it (CURLUcode %d)", (int)uc);
#endif
        return 2;
    }
#endif
#if LIBCURL_VERSION_NUM < 0x073e00
    (void)url; /* no URL API before 7.62: libcurl judges it at the request */
#endif
    lua_pushboolean(L, 1);
    return 1;
}
