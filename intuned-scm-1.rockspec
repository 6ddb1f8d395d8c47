rockspec_format = "3.0"
package = "intuned"
version = "scm-1"
source = {
  url = "git+https://github.com/intuned/intuned-lua.git",
}
description = {
  summary = "Lua client for the Intuned Jobs API (C core on libcurl)",
  detailed = [[
    Fetches Intuned Job Runs with an authenticated, keep-alive libcurl
    session and decodes the JSON response straight into Lua tables.
    Retries with backoff on errors the API marks retirable.
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
        "src/core.c", "src/util.c", "src/clock.c", "src/url.c", "src/conn.c", "src/headers.c",
        "src/xfer.c", "src/session.c", "src/download.c", "src/batch.c", "src/json.c",
      },
      libraries = { "curl" },
      libdirs = { "$(CURL_LIBDIR)" },
      defines = { "_POSIX_C_SOURCE=200809L" },
    },
    intuned = "lua/intuned.lua",
    ["intuned.check"] = "lua/intuned/check.lua",
    ["intuned.compat"] = "lua/intuned/compat.lua",
    ["intuned.errors"] = "lua/intuned/errors.lua",
    ["intuned.json"] = "lua/intuned/json.lua",
    ["intuned.ngx"] = "lua/intuned/ngx.lua",
    ["intuned.retry"] = "lua/intuned/retry.lua",
    ["intuned.request"] = "lua/intuned/request.lua",
    ["intuned.response"] = "lua/intuned/response.lua",
    ["intuned.state"] = "lua/intuned/state.lua",
    ["intuned.wait"] = "lua/intuned/wait.lua",
    ["intuned.batch"] = "lua/intuned/batch.lua",
    ["intuned.download"] = "lua/intuned/download.lua",
    ["intuned.cli"] = "lua/intuned/cli.lua",
  },
  install = {
    bin = { intuned = "bin/intuned" },
  },
}
