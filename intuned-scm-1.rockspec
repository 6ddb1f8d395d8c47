rockspec_format = "3.0"
package = "intuned"
version = "scm-1"
source = {
  url = "git+https://github.com/intuned/intuned-lua.git",
}
description = {
  summary = "Lua client for the Intuned Client API (C core on libcurl)",
  detailed = [[
    The whole Intuned Client API (Jobs, JobRuns, the Run API, AuthSessions)
    over an authenticated, keep-alive libcurl session, JSON decoded straight
    into Lua tables. Retries only what cannot run twice, waits with
    progress, many requests at once, and the `intuned` command line.
  ]],
  license = "MIT",
  homepage = "https://github.com/intuned/intuned-lua",
}
dependencies = {
  "lua >= 5.1, < 5.5",
}
-- Debian keeps curl/curl.h under /usr/include/<triplet>/, where LuaRocks
-- does not look: only the library is named, the header is found by the
-- compiler's default search path (or pass CURL_INCDIR).
external_dependencies = {
  CURL = { library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    ["intuned.core"] = {
      sources = {
        "src/batch.c", "src/clock.c", "src/conn.c", "src/core.c", "src/download.c", "src/engine.c",
        "src/engine_lua.c", "src/engine_thread.c", "src/headers.c", "src/interrupt.c", "src/json.c",
        "src/json_number.c", "src/json_size.c", "src/json_string.c",
        "src/session.c", "src/url.c", "src/util.c", "src/xfer.c",
      },
      libraries = { "curl", "pthread" },
      libdirs = { "$(CURL_LIBDIR)" },
      defines = { "_POSIX_C_SOURCE=200809L" },
    },
    intuned = "lua/intuned.lua",
    ["intuned.batch"] = "lua/intuned/batch.lua",
    ["intuned.body"] = "lua/intuned/body.lua",
    ["intuned.check"] = "lua/intuned/check.lua",
    ["intuned.cli"] = "lua/intuned/cli.lua",
    ["intuned.cli.args"] = "lua/intuned/cli/args.lua",
    ["intuned.cli.auth_sessions"] = "lua/intuned/cli/auth_sessions.lua",
    ["intuned.cli.command"] = "lua/intuned/cli/command.lua",
    ["intuned.cli.errors"] = "lua/intuned/cli/errors.lua",
    ["intuned.cli.help"] = "lua/intuned/cli/help.lua",
    ["intuned.cli.input"] = "lua/intuned/cli/input.lua",
    ["intuned.cli.job_runs"] = "lua/intuned/cli/job_runs.lua",
    ["intuned.cli.jobs"] = "lua/intuned/cli/jobs.lua",
    ["intuned.cli.kinds"] = "lua/intuned/cli/kinds.lua",
    ["intuned.cli.output"] = "lua/intuned/cli/output.lua",
    ["intuned.cli.progress"] = "lua/intuned/cli/progress.lua",
    ["intuned.cli.runs"] = "lua/intuned/cli/runs.lua",
    ["intuned.cli.wait"] = "lua/intuned/cli/wait.lua",
    ["intuned.client"] = "lua/intuned/client.lua",
    ["intuned.compat"] = "lua/intuned/compat.lua",
    ["intuned.cosocket"] = "lua/intuned/cosocket.lua",
    ["intuned.http1"] = "lua/intuned/http1.lua",
    ["intuned.download"] = "lua/intuned/download.lua",
    ["intuned.errors"] = "lua/intuned/errors.lua",
    ["intuned.fanout"] = "lua/intuned/fanout.lua",
    ["intuned.json"] = "lua/intuned/json.lua",
    ["intuned.ngx"] = "lua/intuned/ngx.lua",
    ["intuned.operations"] = "lua/intuned/operations.lua",
    ["intuned.pages"] = "lua/intuned/pages.lua",
    ["intuned.request"] = "lua/intuned/request.lua",
    ["intuned.response"] = "lua/intuned/response.lua",
    ["intuned.retry"] = "lua/intuned/retry.lua",
    ["intuned.schemas"] = "lua/intuned/schemas.lua",
    ["intuned.state"] = "lua/intuned/state.lua",
    ["intuned.status"] = "lua/intuned/status.lua",
    ["intuned.term"] = "lua/intuned/term.lua",
    ["intuned.transport"] = "lua/intuned/transport.lua",
    ["intuned.types"] = "lua/intuned/types.lua",
    ["intuned.wait"] = "lua/intuned/wait.lua",
    ["intuned.waits"] = "lua/intuned/waits.lua",
    ["intuned.many"] = "lua/intuned/many.lua",
  },
  install = {
    bin = { intuned = "bin/intuned" },
  },
}
