-- Starts the nginx of spec/nginx/ (an application that uses intuned from
-- its handlers) on its own prefix and port, and talks HTTP to it.
--
--   local app = nginx_app.start{ emulator = srv, pool = true }
--   local status, body, seconds = app:get("/fetch?id=ok")
--   local replies = app:get_many({ "/fetch?id=a", "/fetch?id=b" })
--   app:stop()
--
-- Like the emulator, nginx runs under spec/server/watchdog.sh, which stops
-- it and removes the prefix once this Lua process is gone, however it ended.
-- Needs LuaSocket (Debian's lua-socket, for every Lua version).
local socket = require("socket")
local compat = require("support.compat")
local files = require("support.files")
local watchdog = require("support.watchdog")

local M = {}

local START_TIMEOUT = 10    -- seconds (the first start builds nothing, but loads LuaJIT)
local STOP_TIMEOUT = 5
local START_ATTEMPTS = 6
local POLL = 0.02
local THREADS = 4

local shell_quote, read_file, write_file, exists = files.quote, files.read, files.write, files.exists

local function root()
  local source = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = source:match("^(.*)/[^/]*$") or "."
  local _, cwd = compat.run("cd " .. shell_quote(dir .. "/../..") .. " && pwd")
  return (cwd:gsub("%s+$", ""))
end

local own_pid = files.own_pid

--- Builds the module for LuaJIT (nginx's Lua) into build/luajit, once.
function M.build(tree)
  local ok, out = compat.run(("unset LD_PRELOAD; cd %s && make --no-print-directory all LUA=luajit"
    .. " LUA_INCDIR=/usr/include/luajit-2.1 BUILD=build/luajit"):format(shell_quote(tree)), true)
  assert(ok, "building the LuaJIT module failed:\n" .. out)
  return "build/luajit"
end

local function free_port()
  while true do
    local port = 20000 + math.floor(socket.gettime() * 1000003) % 40000
    local probe = socket.tcp()
    local bound = probe:bind("127.0.0.1", port)
    probe:close()
    if bound then
      return port
    end
  end
end

local function render(template, values)
  local body = template:gsub("^(#[^\n]*\n)+", "# Rendered from spec/nginx/nginx.conf.in\n")
  return (body:gsub("@([%u_]+)@", function(name)
    return assert(values[name], "no value for @" .. name .. "@")
  end))
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
  return read_file(self.prefix .. "/error.log") or ""
end

-- Through the watchdog; if it is gone, nginx is killed and the prefix
-- removed here, so no nginx outlives a failed spec.
function App:stop()
  if self.stopped then
    return
  end
  self.stopped = true
  watchdog.stop(self.prefix, STOP_TIMEOUT, POLL, { sleep = socket.sleep, clock = socket.gettime })
end

local function answers(port, prefix)
  local conn = socket.tcp()
  conn:settimeout(1)
  if not conn:connect("127.0.0.1", port) then
    conn:close()
    return false
  end
  conn:send("GET /ping HTTP/1.0\r\n\r\n")
  local data, _, partial = conn:receive("*a")
  conn:close()
  return ((data or partial or ""):find(prefix, 1, true)) ~= nil
end

local function attempt(opts, tree, build)
  local _, prefix = compat.run("mktemp -d")
  prefix = prefix:gsub("%s+$", "")
  assert(compat.execute("chmod 755 " .. shell_quote(prefix) .. " && mkdir " .. shell_quote(prefix .. "/tmp")
    .. " " .. shell_quote(prefix .. "/logs")))
  local port = free_port()
  local srv, tls = opts.emulator, opts.tls_emulator
  write_file(prefix .. "/app_config.lua", ("return { base_url = %q, api_key = %q, workspace_id = %q,"
    .. " tls_base_url = %q, wrong_tls_base_url = %q, ca_file = %q, prefix = %q }\n")
    :format(srv.base_url, srv.api_key, srv.workspace_id, tls and tls.tls_base_url or "",
      tls and tls.wrong_tls_base_url or "", tls and tls.ca_file or "", prefix .. "/"))
  local _, uid = compat.run("id -u")
  local values = {
    PREFIX = prefix, ROOT = tree, BUILD = build, PORT = tostring(port),
    MODULES_DIR = opts.modules_dir or "/usr/share/nginx/modules",
    USER_LINE = uid:match("^0%s*$") and "user root;" or "",
    THREAD_POOL = opts.pool and ("thread_pool intuned threads=" .. THREADS .. ";") or "# no thread pool",
    -- Cosockets verify servers with nginx's own trust: the TLS emulator's CA.
    TRUST = (tls and opts.trust ~= false) and ("lua_ssl_trusted_certificate " .. tls.ca_file
      .. "; lua_ssl_verify_depth 2;") or "# no lua_ssl_trusted_certificate",
  }
  write_file(prefix .. "/nginx.conf", opts.conf and opts.conf(values)
    or render(assert(read_file(tree .. "/spec/nginx/nginx.conf.in")), values))
  -- The settings also go into nginx's environment, for configurations that
  -- keep them with `env` (examples/openresty/nginx.conf).
  -- nginx is not under test: it never gets the sanitizer runtime of
  -- `make test-asan` (LD_PRELOAD).
  compat.execute(("unset LD_PRELOAD; INTUNED_WORKSPACE_ID=%s INTUNED_API_KEY=%s INTUNED_BASE_URL=%s ")
    :format(shell_quote(srv.workspace_id), shell_quote(srv.api_key), shell_quote(srv.base_url))
    .. "sh " .. shell_quote(tree .. "/spec/server/watchdog.sh") .. " " .. own_pid() .. " "
    .. shell_quote(prefix) .. " " .. shell_quote(opts.nginx or "/usr/sbin/nginx") .. " </dev/null >/dev/null 2>&1 &")
  local deadline = socket.gettime() + START_TIMEOUT
  local app = setmetatable({ prefix = prefix, port = port, threads = opts.pool and THREADS }, App)
  while true do
    if answers(port, prefix) then
      return app
    end
    local log = read_file(prefix .. "/error.log") or ""
    local failed = exists(prefix .. "/nginx.exit") or socket.gettime() > deadline
    if log:find("Address already in use", 1, true) or failed then
      local message = ("nginx did not answer /ping with its prefix within %d s; error.log:\n%s%s")
        :format(START_TIMEOUT, log, read_file(prefix .. "/nginx.out") or "")
      app:stop()
      return nil, log:find("Address already in use", 1, true) and "busy" or message
    end
    socket.sleep(POLL)
  end
end

--- Starts the application's nginx. opts: emulator (a started emulator),
-- tls_emulator (one started with tls = true: its CA is nginx's trust unless
-- trust = false), pool (configure `thread_pool intuned`), nginx, modules_dir, conf (a
-- function(values) -> configuration text, instead of spec/nginx's template;
-- values: PREFIX, ROOT, BUILD, PORT, USER_LINE, MODULES_DIR, THREAD_POOL).
function M.start(opts)
  local tree = root()
  local build = M.build(tree)
  local last
  for _ = 1, START_ATTEMPTS do
    local app, err = attempt(opts, tree, build)
    if app then
      return app
    end
    last = err
    if err ~= "busy" then
      break
    end
  end
  error(last, 2)
end

return M
