/*
 * interrupt.c: SIGINT as a flag (interrupt.h): core.catch_interrupts,
 * core.interrupted, and the libcurl progress callback that reads the flag.
 */
#include <signal.h>
#include <string.h>

#include <curl/curl.h>
#include <lua.h>
#include <lauxlib.h>

#include "interrupt.h"
#include "intuned.h"

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t catching;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

int intuned_interrupted(void)
{
    return interrupted != 0;
}

int intuned_catching(void)
{
    return catching != 0;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return interrupted ? 1 : 0; /* non-zero: CURLE_ABORTED_BY_CALLBACK */
}

CURLcode intuned_interrupt_attach(CURL *curl)
{
    CURLcode rc = curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    return rc;
}

/*
 * core.catch_interrupts() -> true
 * From now on SIGINT sets the flag instead of ending the process. No
 * SA_RESTART: a signal cuts a wait short (libcurl's poll, a sleep).
 */
int intuned_interrupt_catch(lua_State *L)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0)
        return luaL_error(L, "intuned.core: cannot catch SIGINT");
    catching = 1;
    lua_pushboolean(L, 1);
    return 1;
}

/* core.interrupted([clear]) -> whether SIGINT arrived; clear resets it */
int intuned_interrupt_check(lua_State *L)
{
    int clear = lua_toboolean(L, 1); /* before anything is pushed */
    int was = interrupted != 0;
    if (clear)
        interrupted = 0;
    lua_pushboolean(L, was);
    return 1;
}
