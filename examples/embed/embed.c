/*
 * embed.c: a C host program (a game tool, an editor, a build step) that
 * embeds Lua and uses intuned through the Lua C API: it makes a client,
 * fetches one job run and prints it.
 *
 *   make embed                      # -> build/lua5.4/embed (LUA=luajit etc. too)
 *   export INTUNED_WORKSPACE_ID=... INTUNED_API_KEY=...
 *   LUA_PATH='lua/?.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
 *       build/lua5.4/embed PROJECT JOB_ID JOB_RUN_ID
 *
 * Exit status: 0 with the run, 1 when the API or the network failed, 2 on
 * usage or Lua errors. Only calls that Lua 5.1 to 5.4 and LuaJIT all have.
 */
#include <stdio.h>
#include <stdlib.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

enum { EXIT_RUN = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* Copies an environment variable into the options table at -1, if set. */
static void set_from_env(lua_State *L, const char *field, const char *env)
{
    const char *v = getenv(env);
    if (v != NULL && v[0] != '\0') {
        lua_pushstring(L, v);
        lua_setfield(L, -2, field);
    }
}

/* Prints a field of the table at -1 as text ("-" when absent). */
static void print_field(lua_State *L, const char *label, const char *field)
{
    lua_getfield(L, -1, field);
    if (lua_type(L, -1) == LUA_TNUMBER)
        printf("%s %.0f\n", label, (double)lua_tonumber(L, -1));
    else if (lua_type(L, -1) == LUA_TSTRING)
        printf("%s %s\n", label, lua_tostring(L, -1));
    else
        printf("%s -\n", label);
    lua_pop(L, 1);
}

/* Lua error at -1 as a message on stderr. */
static int lua_failure(lua_State *L, const char *what)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "embed: %s: %s\n", what, msg != NULL ? msg : "(error object)");
    return EXIT_USAGE;
}

static int fetch(lua_State *L, const char *project, const char *job, const char *run)
{
    int client;

    /* intuned = require("intuned") */
    lua_getglobal(L, "require");
    lua_pushstring(L, "intuned");
    if (lua_pcall(L, 1, 1, 0) != 0)
        return lua_failure(L, "require(\"intuned\")");

    /* client = intuned.new{ ... }; the host hands over its own settings */
    lua_getfield(L, -1, "new");
    lua_newtable(L);
    set_from_env(L, "workspace_id", "INTUNED_WORKSPACE_ID");
    set_from_env(L, "api_key", "INTUNED_API_KEY");
    set_from_env(L, "base_url", "INTUNED_BASE_URL");
    lua_pushnumber(L, 10);
    lua_setfield(L, -2, "timeout");
    if (lua_pcall(L, 1, 1, 0) != 0)
        return lua_failure(L, "intuned.new");
    client = lua_gettop(L);

    /* res, err = client:get_job_run(project, job, run) */
    lua_getfield(L, client, "get_job_run");
    lua_pushvalue(L, client);
    lua_pushstring(L, project);
    lua_pushstring(L, job);
    lua_pushstring(L, run);
    if (lua_pcall(L, 4, 2, 0) != 0)
        return lua_failure(L, "get_job_run");

    if (lua_isnil(L, -2)) {
        /* tostring(err): one line, never the API key */
        lua_getglobal(L, "tostring");
        lua_pushvalue(L, -2);
        lua_call(L, 1, 1);
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return EXIT_FAILED;
    }

    lua_pop(L, 1);                      /* .., client, res */
    lua_getfield(L, -1, "jobRun");      /* .., client, res, run */
    if (!lua_istable(L, -1)) {
        fprintf(stderr, "embed: the result has no jobRun\n");
        return EXIT_FAILED;
    }
    print_field(L, "job run", "id");
    print_field(L, "status", "status");
    print_field(L, "payloads", "payloads");
    lua_pop(L, 2);

    /* client:close() */
    lua_getfield(L, client, "close");
    lua_pushvalue(L, client);
    if (lua_pcall(L, 1, 0, 0) != 0)
        return lua_failure(L, "close");
    return EXIT_RUN;
}

int main(int argc, char **argv)
{
    lua_State *L;
    int status;

    if (argc != 4) {
        fprintf(stderr, "usage: %s PROJECT JOB_ID JOB_RUN_ID\n", argv[0]);
        return EXIT_USAGE;
    }
    L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "embed: cannot create a Lua state\n");
        return EXIT_USAGE;
    }
    luaL_openlibs(L);
    status = fetch(L, argv[1], argv[2], argv[3]);
    /* Closing the state runs the client's finalizer and frees everything. */
    lua_close(L);
    return status;
}
