-- Starts the nginx of spec/nginx/ (an application that uses intuned from
-- its handlers) on its own prefix and port, and talks HTTP to it.
--
--   local app = nginx_app.start{ emulator = srv, pool = true }
--   local status, body, seconds = app:get("/fetch?id=ok")
--   local replies = app:get_many({ "/fetch?id=a", "/fetch?id=b" })
--   app:stop()
--
-- nginx is started by support.launcher (prefix, port, watchdog, readiness),
-- so it is stopped and its prefix removed once this Lua process is gone,
-- however it ended. Needs LuaSocket (Debian's lua-socket, every Lua).
local socket = require("socket")
local compat = require("support.compat")
local files = require("support.files")
local launcher = require("support.launcher")

local M = {}

local START_TIMEOUT = 10    -- seconds (the first start builds nothing, but loads LuaJIT)
local THREADS = 4

local shell_quote, read_file, write_file = files.quote, files.read, files.write

--- Builds the module for LuaJIT (nginx's Lua) into build/luajit, once.
function M.build(tree)
  local ok, out = compat.run(("unset LD_PRELOAD; cd %s && make --no-print-directory all LUA=luajit"
    .. " LUA_INCDIR=/usr/include/luajit-2.1 BUILD=build/luajit"):format(shell_quote(tree)), true)
  assert(ok, "building the LuaJIT module failed:\n" .. out)
  return "build/luajit"
end

local App = {}
App.__index = App

-- One HTTP/1.0 exchange on a fresh connection (closed by nginx after the
-- answer). Returns status, body, seconds taken.
function App:get(path, timeout)
  local started = socket.gettime()
  local conn = socket.tcp()
  conn:settimeout(timeout or 30)
  assert(conn:connect("127.0.0.1", self.port))
  conn:send("GET " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
  local data, err, partial = conn:receive("*a")
  conn:close()
  data = data or partial
  assert(data and data ~= "", "no answer from nginx for " .. path .. ": " .. tostring(err))
  local status = tonumber(data:match("^HTTP/%d%.%d (%d+)"))
  local body = data:match("\r\n\r\n(.*)$")
  return status, body, socket.gettime() - started
end

-- Sends every request at once, each on its own connection, and collects
-- the answers as they arrive. Returns a list of { status, body, seconds,
-- finished } in the order of `paths` (finished: time the answer ended).
-- opts.after_first: called once the first request is sent (the first
-- opts.first_count ones, default 1), before the others (e.g. to wait until
-- they reached the emulator); opts.timeout.
function App:get_many(paths, opts)
  opts = opts or {}
  local pending, replies, by_conn = {}, {}, {}
  for i, path in ipairs(paths) do
    local conn = socket.tcp()
    conn:settimeout(5)
    assert(conn:connect("127.0.0.1", self.port))
    conn:send("GET " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    conn:settimeout(0)
    by_conn[conn] = { index = i, started = socket.gettime(), chunks = {} }
    pending[#pending + 1] = conn
    if i == (opts.first_count or 1) and opts.after_first then
      opts.after_first()
    end
  end
  local deadline = socket.gettime() + (opts.timeout or 30)
  while #pending > 0 and socket.gettime() < deadline do
    local readable = socket.select(pending, nil, 1)
    for _, conn in ipairs(readable) do
      local state = by_conn[conn]
      local data, err, partial = conn:receive(8192)
      state.chunks[#state.chunks + 1] = data or partial
      if err == "closed" then
        local now = socket.gettime()
        local text = table.concat(state.chunks)
        replies[state.index] = {
          status = tonumber(text:match("^HTTP/%d%.%d (%d+)")),
          body = text:match("\r\n\r\n(.*)$"),
          seconds = now - state.started,
          finished = now,
        }
        conn:close()
        for j = #pending, 1, -1 do
          if pending[j] == conn then
            table.remove(pending, j)
          end
        end
      end
    end
  end
  for _, conn in ipairs(pending) do
    conn:close()
  end
  return replies
end

function App:error_log()
  return self.nginx:error_log()
end

function App:stop()
  self.nginx:stop()
end

-- Writes app_config.lua and nginx.conf into prefix.
local function prepare(opts, tree, build, prefix, port)
  local srv, tls = opts.emulator, opts.tls_emulator
  write_file(prefix .. "/app_config.lua", ("return { base_url = %q, api_key = %q, workspace_id = %q,"
    .. " tls_base_url = %q, wrong_tls_base_url = %q, ca_file = %q, prefix = %q }\n")
    :format(srv.base_url, srv.api_key, srv.workspace_id, tls and tls.tls_base_url or "",
      tls and tls.wrong_tls_base_url or "", tls and tls.ca_file or "", prefix .. "/"))
  local values = {
    PREFIX = prefix, ROOT = tree, BUILD = build, PORT = tostring(port),
    MODULES_DIR = opts.modules_dir or "/usr/share/nginx/modules",
    USER_LINE = launcher.user_line(),
    THREAD_POOL = opts.pool and ("thread_pool intuned threads=" .. THREADS .. ";") or "# no thread pool",
    -- Cosockets verify servers with nginx's own trust: the TLS emulator's CA.
    TRUST = (tls and opts.trust ~= false) and ("lua_ssl_trusted_certificate " .. tls.ca_file
      .. "; lua_ssl_verify_depth 2;") or "# no lua_ssl_trusted_certificate",
  }
  write_file(prefix .. "/nginx.conf", opts.conf and opts.conf(values)
    or launcher.render(assert(read_file(tree .. "/spec/nginx/nginx.conf.in")), values, "spec/nginx/nginx.conf.in"))
end

--- Starts the application's nginx. opts: emulator (a started emulator),
-- tls_emulator (one started with tls = true: its CA is nginx's trust unless
-- trust = false), pool (configure `thread_pool intuned`), nginx, modules_dir, conf (a
-- function(values) -> configuration text, instead of spec/nginx's template;
-- values: PREFIX, ROOT, BUILD, PORT, USER_LINE, MODULES_DIR, THREAD_POOL).
function M.start(opts)
  local tree = launcher.root()
  local build = M.build(tree)
  local srv = opts.emulator
  local nginx = launcher.start {
    name = "application nginx", nginx = opts.nginx or "/usr/sbin/nginx", probe = "/ping",
    dirs = { "tmp", "logs" }, start_timeout = START_TIMEOUT,
    -- The settings also go into nginx's environment, for configurations
    -- that keep them with `env` (examples/openresty/nginx.conf).
    env = { INTUNED_WORKSPACE_ID = srv.workspace_id, INTUNED_API_KEY = srv.api_key,
      INTUNED_BASE_URL = srv.base_url },
    prepare = function(prefix, ports) prepare(opts, tree, build, prefix, ports[1]) end,
  }
  return setmetatable({ nginx = nginx, prefix = nginx.prefix, port = nginx.ports[1],
    threads = opts.pool and THREADS }, App)
end

return M
