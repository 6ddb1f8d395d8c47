/*
 * canary.c: a Lua module with the two defects the sanitizer runs exist to
 * catch. scripts/test-asan.sh and scripts/test-valgrind.sh load it first and
 * require that the tool reports it, so a run that is silently not checking
 * anything (runtime not preloaded, leak detection off) fails instead.
 */
#include <stdlib.h>
#include <string.h>

#include <lua.h>

int luaopen_canary_leak(lua_State *L);
int luaopen_canary_overflow(lua_State *L);

/* A block whose only pointer is dropped: a definite leak. */
int luaopen_canary_leak(lua_State *L)
{
    char *volatile lost = (char *)malloc(64);

    if (lost != NULL)
        memset(lost, 0x5A, 64);
    lost = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

/* One byte written past a heap block. */
int luaopen_canary_overflow(lua_State *L)
{
    volatile size_t n = 16;
    char *b = (char *)malloc(n);

    if (b != NULL) {
        b[n] = 1;
        free(b);
    }
    lua_pushboolean(L, 1);
    return 1;
}
