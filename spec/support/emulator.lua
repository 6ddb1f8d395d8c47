-- Starts and stops the local Intuned API emulator (nginx + spec/server) for
-- the specs and the demo.
--
--   local emulator = require("support.emulator")
--   local srv = emulator.shared()            -- one per process, or
--   local srv = emulator.start{ tls = true } -- a private one
--   srv.base_url, srv:url("ok." .. emulator.nonce()), srv:requests(), srv:stop()
--
-- The stateful part (see spec/server/emulator.lua for what steers it):
--   srv:reset{ job_run_ms = 200 }            -- known state and timing
--   srv:project_url("/jobs/my-sample-job/trigger")
--   srv:fault{ method = "POST", path = "/trigger$", fault = "reset-after" }
--   srv:faults(), srv:clear_faults()
--   srv:requests{ operation = "triggerJob" } -- entries carry body and json
--
-- Works on Lua 5.1 to 5.4 and LuaJIT; uses LuaSocket when present (sleeps,
-- readiness probe) and falls back to the shell and curl otherwise.
--
-- nginx always runs under spec/server/watchdog.sh, which stops it and removes
-- the prefix folder once this Lua process is gone, however it ended; stop()
-- and a finalizer at interpreter exit just make that happen sooner.

local has_socket, socket = pcall(require, "socket")
if not has_socket then
  socket = nil
end

local has_cjson, cjson = pcall(require, "cjson")
local json_decode, json_encode
if has_cjson then
  json_decode, json_encode = cjson.decode, cjson.encode
else
  local dkjson = require("dkjson")
  json_decode, json_encode = dkjson.decode, dkjson.encode
end

local M = {}

M.WORKSPACE_ID = "123e4567-e89b-12d3-a456-426614174000"
M.DEFAULT_API_KEY = "test-key"
M.DEFAULT_PROJECT = "my-project"
M.DEFAULT_JOB = "my-sample-job"

local START_TIMEOUT = 5     -- seconds until a start is declared failed
local STOP_TIMEOUT = 5      -- seconds to wait for the watchdog to clean up
local START_ATTEMPTS = 6    -- fresh ports tried when a port is taken
local POLL = 0.02           -- seconds between readiness / stop checks

---------------------------------------------------------------------------
-- Portable process and file helpers
---------------------------------------------------------------------------

local files = require("support.files")

local shell_quote = files.quote

-- None of the programs started here is under test (files.execute).
local execute, capture = files.execute, files.capture

local read_file, write_file, exists = files.read, files.write, files.exists

-- Set while the interpreter is closing: C libraries may be unloaded then,
-- so only the base library is used.
local closing = false

local function sleep(seconds)
  if socket and not closing then
    socket.sleep(seconds)
  else
    execute("sleep " .. seconds)
  end
end

local function clock()
  if socket and not closing then
    return socket.gettime()
  end
  return os.time()
end

-- The pid of this Lua process: /proc/self is the reader itself; $PPID of a
-- shell that io.popen starts is this process too (the fallback).
local function own_pid()
  return files.own_pid() or capture("echo $PPID"):match("%d+")
end

local PID = own_pid()

local function tail(text, lines)
  local all = {}
  for line in (text or ""):gmatch("[^\n]+") do
    all[#all + 1] = line
  end
  local first = math.max(1, #all - lines + 1)
  return table.concat(all, "\n", first)
end

---------------------------------------------------------------------------
-- Locations
---------------------------------------------------------------------------

local function absolute(path)
  if path:sub(1, 1) == "/" then
    return path
  end
  local cwd = capture("pwd"):gsub("%s+$", "")
  return cwd .. "/" .. path
end

-- spec/server, found from where this file was loaded.
local function server_dir()
  local source = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = source:match("^(.*)/[^/]*$") or "."
  return absolute(dir .. "/../server")
end

local function find_nginx(wanted)
  if wanted then
    return wanted
  end
  local env = os.getenv("EMULATOR_NGINX")
  if env and env ~= "" then
    return env
  end
  if exists("/usr/sbin/nginx") then
    return "/usr/sbin/nginx"
  end
  return "nginx"
end

---------------------------------------------------------------------------
-- Ports
---------------------------------------------------------------------------

-- Own Park-Miller generator: seeding math.random here would change the
-- random sequence of the specs (busted --shuffle and the like).
local seed = (os.time() * 7919 + tonumber(PID or 1) * 104729) % 2147483647
if seed == 0 then
  seed = 1
end

local function random_below(n)
  seed = seed * 16807 % 2147483647
  return seed % n
end

local function port_free(port)
  if not socket then
    return true
  end
  local probe = socket.tcp()
  local ok = probe:bind("127.0.0.1", port)
  probe:close()
  return ok ~= nil
end

local function pick_ports(count)
  local ports, taken = {}, {}
  while #ports < count do
    local port = 20000 + random_below(40001)
    if not taken[port] and port_free(port) then
      taken[port] = true
      ports[#ports + 1] = port
    end
  end
  return ports
end

---------------------------------------------------------------------------
-- Prefix contents
---------------------------------------------------------------------------

local function make_prefix()
  local prefix = capture("mktemp -d 2>/dev/null || mktemp -d -t intuned-emulator"):gsub("%s+$", "")
  assert(prefix ~= "" and exists(prefix), "emulator: mktemp -d failed")
  -- nginx workers (nobody when not told otherwise) must reach the files.
  assert(execute("chmod 755 " .. shell_quote(prefix)
    .. " && mkdir -p " .. shell_quote(prefix .. "/tmp") .. " " .. shell_quote(prefix .. "/tls")),
    "emulator: cannot prepare " .. prefix)
  write_file(prefix .. "/requests.log", "")
  return prefix
end

-- A throwaway CA, a certificate for localhost / 127.0.0.1 and one for
-- wrong.example, all signed by that CA. EC keys: much faster than RSA.
local CERT_SCRIPT = [[
set -e
cd "$1"
key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
openssl req -x509 $key -keyout ca.key -out ca.crt -days 2 \
  -subj '/CN=intuned-lua emulator CA' \
  -addext 'basicConstraints=critical,CA:TRUE' \
  -addext 'keyUsage=critical,keyCertSign,cRLSign'
leaf() {
  openssl req $key -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  printf '%s\n' 'basicConstraints=CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth' "subjectAltName=$3" \
    'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$1.crt" -days 2 -extfile "$1.ext"
}
leaf server localhost 'DNS:localhost,IP:127.0.0.1'
leaf wrong wrong.example 'DNS:wrong.example'
]]

local function make_certs(prefix)
  local dir = prefix .. "/tls"
  write_file(dir .. "/make-certs.sh", CERT_SCRIPT)
  local ok = execute("sh " .. shell_quote(dir .. "/make-certs.sh") .. " " .. shell_quote(dir)
    .. " >" .. shell_quote(dir .. "/openssl.log") .. " 2>&1")
  if not ok then
    error("emulator: certificate generation failed:\n"
      .. tail(read_file(dir .. "/openssl.log"), 20))
  end
end

local function lua_config(settings)
  local lines = { "return {" }
  for _, name in ipairs({ "api_key", "port", "redirect_port", "tls_port", "wrong_tls_port" }) do
    local value = settings[name]
    if type(value) == "number" then
      lines[#lines + 1] = string.format("  %s = %d,", name, value)
    elseif value ~= nil then
      lines[#lines + 1] = string.format("  %s = %q,", name, tostring(value))
    end
  end
  lines[#lines + 1] = "}"
  return table.concat(lines, "\n") .. "\n"
end

local function render(template, values, tls)
  -- The template's header documents the placeholders; substituted it would
  -- only confuse a reader of the rendered file.
  local body_start = 1
  while template:sub(body_start, body_start) == "#" do
    body_start = (template:find("\n", body_start, true) or #template) + 1
  end
  template = "# Rendered from spec/server/nginx.conf.in\n" .. template:sub(body_start)
  if not tls then
    template = template:gsub("\n[ \t]*# TLS_BEGIN.-# TLS_END[^\n]*", "")
  end
  return (template:gsub("@([%u_]+)@", function(name)
    local value = values[name]
    assert(value ~= nil, "emulator: no value for @" .. name .. "@")
    return tostring(value)
  end))
end

---------------------------------------------------------------------------
-- Readiness
---------------------------------------------------------------------------

local http = require("support.http")

-- The ping answers with the prefix: proof that this very nginx is up, not
-- some other process that happens to hold the port.
local function answers(port, prefix)
  local reply = http.request("GET", "http://127.0.0.1:" .. port .. "/__emulator/ping", { timeout = 1 })
  return reply ~= nil and reply.body:find(prefix, 1, true) ~= nil
end

-- "ready", "busy" (a port was taken: retry elsewhere) or "failed".
local function wait_ready(prefix, port)
  local deadline = clock() + START_TIMEOUT
  while true do
    if answers(port, prefix) then
      return "ready"
    end
    local log = read_file(prefix .. "/error.log") or ""
    if log:find("Address already in use", 1, true) then
      return "busy"
    end
    if exists(prefix .. "/nginx.exit") or clock() > deadline then
      return "failed"
    end
    sleep(POLL)
  end
end

local function start_failure(prefix)
  return "emulator: nginx exited or did not answer within " .. START_TIMEOUT .. " s; prefix " .. prefix
    .. "\n--- error.log (tail) ---\n" .. tail(read_file(prefix .. "/error.log"), 20)
    .. "\n--- nginx output (tail) ---\n" .. tail(read_file(prefix .. "/nginx.out"), 20)
end

---------------------------------------------------------------------------
-- Stopping
---------------------------------------------------------------------------

local watchdog = require("support.watchdog")
local SYS = { sleep = sleep, clock = clock }

local function stop_prefix(prefix)
  watchdog.stop(prefix, STOP_TIMEOUT, POLL, SYS)
end

-- Servers started by this process and not stopped yet.
local live = {}

local function stop_all()
  for server in pairs(live) do
    server:stop()
  end
end

-- Finalizer run when the interpreter closes its state (normal end, or
-- os.exit(code, true) as busted does). The watchdog covers every other end.
local function make_sentinel(fn)
  if newproxy then -- Lua 5.1 / LuaJIT: tables have no __gc
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = fn
    return proxy
  end
  return setmetatable({}, { __gc = fn })
end

M._sentinel = make_sentinel(function()
  closing = true
  stop_all()
end)

---------------------------------------------------------------------------
-- Server objects
---------------------------------------------------------------------------

local Server = {}
Server.__index = Server

-- Percent-encodes everything but RFC 3986 unreserved characters.
local function encode_segment(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end
M.encode_segment = encode_segment

--- Full getJobRun URL for a run id; opts: project, job, workspace, base_url.
-- Segments are percent-encoded, pass opts.raw = true to use them as given.
function Server:url(run_id, opts)
  opts = opts or {}
  local encode = opts.raw and tostring or encode_segment
  return (opts.base_url or self.base_url)
    .. "/" .. encode(opts.workspace or self.workspace_id)
    .. "/projects/" .. encode(opts.project or M.DEFAULT_PROJECT)
    .. "/jobs/" .. encode(opts.job or M.DEFAULT_JOB)
    .. "/runs/" .. encode(run_id)
end

-- A table filter: every field given must match (uri: a plain substring).
local function matches(filter, entry)
  for name, want in pairs(filter) do
    local got = entry[name]
    if name == "uri" then
      if not (got and got:find(want, 1, true)) then
        return false
      end
    elseif got ~= want then
      return false
    end
  end
  return true
end

--- Request log entries (tables: method, uri, port, scheme, headers with
-- lower-case names, raw_header, connection, time; and when they apply:
-- body, the raw request body of a POST/PUT/...; json, that body decoded;
-- operation, the contract's operationId; fault, the fault it got).
-- `filter`: a plain substring of the raw uri, a function(entry) -> boolean,
-- or a table of fields that must all match ({ operation = "triggerJob",
-- method = "POST", uri = "/my-sample-job/" }).
function Server:requests(filter)
  local entries = {}
  for line in (read_file(self.prefix .. "/requests.log") or ""):gmatch("[^\n]+") do
    local entry = json_decode(line)
    if entry.body then
      local ok, value = pcall(json_decode, entry.body)
      entry.json = ok and value or nil
    end
    local keep = filter == nil
      or (type(filter) == "function" and filter(entry))
      or (type(filter) == "string" and entry.uri:find(filter, 1, true) ~= nil)
      or (type(filter) == "table" and matches(filter, entry))
    if keep then
      entries[#entries + 1] = entry
    end
  end
  return entries
end

--- URL of a path below a project: srv:project_url("/jobs") is
-- <base_url>/<workspace>/projects/my-project/jobs. opts: project,
-- workspace (percent-encoded here, unless opts.raw).
function Server:project_url(path, opts)
  opts = opts or {}
  local encode = opts.raw and tostring or encode_segment
  return self.base_url .. "/" .. encode(opts.workspace or self.workspace_id)
    .. "/projects/" .. encode(opts.project or M.DEFAULT_PROJECT) .. (path or "")
end

-- A control route: the decoded answer; raises unless it is a 2xx.
function Server:control(method, path, body)
  local res, err = http.request(method, "http://127.0.0.1:" .. self.port .. path,
    { body = body ~= nil and next(body) ~= nil and json_encode(body) or nil, timeout = 10 })
  if not res or not res.status or res.status >= 300 then
    error(("emulator: %s %s failed: %s"):format(method, path,
      res and res.status and (res.status .. " " .. res.body) or tostring(err)), 3)
  end
  return json_decode(res.body)
end

--- Drops all state and faults, seeds project my-project and sets the
-- timing options (see spec/server/emulator/seed.lua): job_run_ms, run_ms,
-- operation_ms, paused_factor, page_size, seed (false: no project at all),
-- projects (names of more, empty projects). Returns { projects, options }.
function Server:reset(opts)
  return self:control("POST", "/__emulator/reset", opts or {})
end

--- Arms a fault (see spec/server/emulator/faults.lua): { fault, method,
-- path (Lua pattern) or prefix, times, after, retirable, retry_after }.
-- Returns it, with its id.
function Server:fault(spec)
  return self:control("POST", "/__emulator/faults", spec)
end

--- The armed faults, each with `left`: how many requests it still gets.
function Server:faults()
  return self:control("GET", "/__emulator/faults")
end

function Server:clear_faults()
  return self:control("DELETE", "/__emulator/faults").cleared
end

function Server:clear_log()
  write_file(self.prefix .. "/requests.log", "")
end

--- Stops nginx and removes the prefix; safe to call more than once.
function Server:stop()
  if self.stopped then
    return
  end
  self.stopped = true
  live[self] = nil
  stop_prefix(self.prefix)
end

Server.__close = Server.stop -- `local srv <close> = emulator.start()` on 5.4

local function new_server(prefix, ports, settings)
  local server = setmetatable({
    prefix = prefix,
    port = ports[1],
    redirect_port = ports[2],
    api_key = settings.api_key,
    workspace_id = M.WORKSPACE_ID,
    base_url = "http://127.0.0.1:" .. ports[1] .. "/api/v1/workspace",
    redirect_url = "http://127.0.0.1:" .. ports[2],
    pid = tonumber((read_file(prefix .. "/nginx.child.pid") or ""):match("%d+")),
    stopped = false,
  }, Server)
  if settings.tls then
    server.tls_port = ports[3]
    server.wrong_tls_port = ports[4]
    server.tls_base_url = "https://127.0.0.1:" .. ports[3] .. "/api/v1/workspace"
    server.wrong_tls_base_url = "https://127.0.0.1:" .. ports[4] .. "/api/v1/workspace"
    server.ca_file = prefix .. "/tls/ca.crt"
    -- The same API over HTTP/2 (ALPN), for multiplexing.
    server.h2_port = ports[5]
    server.h2_base_url = "https://127.0.0.1:" .. ports[5] .. "/api/v1/workspace"
  end
  return server
end

---------------------------------------------------------------------------
-- Starting
---------------------------------------------------------------------------

-- Writes certificates (if asked), emulator_config.lua and nginx.conf.
local function prepare(prefix, ports, settings)
  local dir = settings.server_dir
  if settings.tls then
    make_certs(prefix)
  end
  write_file(prefix .. "/emulator_config.lua", lua_config({
    api_key = settings.api_key,
    port = ports[1],
    redirect_port = ports[2],
    tls_port = ports[3],
    wrong_tls_port = ports[4],
  }))
  write_file(prefix .. "/nginx.conf", render(assert(read_file(dir .. "/nginx.conf.in")), {
    PREFIX = prefix,
    SERVER_DIR = dir,
    MODULES_DIR = settings.modules_dir,
    USER_LINE = settings.user_line,
    PORT = ports[1],
    REDIRECT_PORT = ports[2],
    TLS_PORT = ports[3] or 0,
    WRONG_TLS_PORT = ports[4] or 0,
    MUX_PORT = ports[5] or 0,
  }, settings.tls))
end

-- Prepares a prefix, launches nginx under the watchdog and waits for it.
-- Returns the server, or nil and "busy" / an error message.
local function attempt(settings)
  local prefix = make_prefix()
  local ports = pick_ports(settings.tls and 5 or 2)
  local ok, err = pcall(prepare, prefix, ports, settings)
  if not ok then
    -- No watchdog yet: nobody else would remove the prefix.
    execute("rm -rf " .. shell_quote(prefix))
    error(err, 0)
  end
  execute("env -u LD_PRELOAD sh " .. shell_quote(settings.server_dir .. "/watchdog.sh") .. " " .. settings.owner_pid
    .. " " .. shell_quote(prefix) .. " " .. shell_quote(settings.nginx)
    .. " </dev/null >/dev/null 2>&1 &")
  local state = wait_ready(prefix, ports[1])
  if state == "ready" then
    return new_server(prefix, ports, settings)
  end
  local message = start_failure(prefix)
  stop_prefix(prefix)
  return nil, state == "busy" and "busy" or message
end

--- Starts a private emulator. opts:
--   tls          also serve HTTPS (tls_port, wrong_tls_port, ca_file, and
--                h2_port / h2_base_url: HTTPS that offers HTTP/2)
--   api_key      expected x-api-key (default "test-key")
--   nginx        nginx binary (default $EMULATOR_NGINX, /usr/sbin/nginx)
--   modules_dir  folder of ndk_http_module.so and ngx_http_lua_module.so
function M.start(opts)
  opts = opts or {}
  local owner = PID
  assert(owner, "emulator: cannot find the pid of this process")
  local settings = {
    tls = opts.tls and true or false,
    api_key = opts.api_key or M.DEFAULT_API_KEY,
    nginx = find_nginx(opts.nginx),
    modules_dir = opts.modules_dir or "/usr/share/nginx/modules",
    server_dir = server_dir(),
    owner_pid = owner,
    -- As root nginx would run its workers as nobody; keep them root so they
    -- can write the request log in the prefix.
    user_line = capture("id -u"):match("^0%s*$") and "user root;" or "",
  }
  local last
  for _ = 1, START_ATTEMPTS do
    local server, err = attempt(settings)
    if server then
      live[server] = true
      return server
    end
    last = err
    if err ~= "busy" then
      break
    end
  end
  if last == "busy" then
    last = "emulator: no free port found after " .. START_ATTEMPTS .. " attempts"
  end
  error(last, 2)
end

local shared

--- The process-wide emulator (plain HTTP, default key), started on first use.
function M.shared()
  if not shared or shared.stopped then
    shared = M.start()
  end
  return shared
end

local nonce_counter = 0

--- A string unique to this call in this process and across processes, to
-- append to a scenario ("flaky503." .. nonce()) for fresh per-id state.
function M.nonce()
  nonce_counter = nonce_counter + 1
  return string.format("%s-%d-%d-%d", PID or "0", os.time(), nonce_counter,
    random_below(1000000))
end

return M
