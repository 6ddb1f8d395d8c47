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
-- Works on Lua 5.1 to 5.4 and LuaJIT. nginx is started by support.launcher
-- (prefix, ports, certificates, watchdog, readiness), so it is stopped and
-- its prefix removed once this Lua process is gone, however it ended.

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

local launcher = require("support.launcher")
local files = require("support.files")
local http = require("support.http")

local read_file, write_file = files.read, files.write

local PID = launcher.PID

local function server_dir()
  return launcher.root() .. "/spec/server"
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
  if not self.stopped then
    self.stopped = true
    self.nginx:stop()
  end
end

Server.__close = Server.stop -- `local srv <close> = emulator.start()` on 5.4

local function new_server(nginx, settings)
  local prefix, ports = nginx.prefix, nginx.ports
  local server = setmetatable({
    nginx = nginx,
    prefix = prefix,
    port = ports[1],
    redirect_port = ports[2],
    api_key = settings.api_key,
    workspace_id = M.WORKSPACE_ID,
    base_url = "http://127.0.0.1:" .. ports[1] .. "/api/v1/workspace",
    redirect_url = "http://127.0.0.1:" .. ports[2],
    pid = tonumber(nginx:pid()),
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
  write_file(prefix .. "/requests.log", "")
  if settings.tls then
    launcher.certificates(prefix .. "/tls")
  end
  write_file(prefix .. "/emulator_config.lua", lua_config({
    api_key = settings.api_key,
    port = ports[1],
    redirect_port = ports[2],
    tls_port = ports[3],
    wrong_tls_port = ports[4],
  }))
  local template = assert(read_file(dir .. "/nginx.conf.in"))
  if not settings.tls then
    template = template:gsub("\n[ \t]*# TLS_BEGIN.-# TLS_END[^\n]*", "")
  end
  write_file(prefix .. "/nginx.conf", launcher.render(template, {
    PREFIX = prefix,
    SERVER_DIR = dir,
    MODULES_DIR = settings.modules_dir,
    USER_LINE = launcher.user_line(),
    PORT = ports[1],
    REDIRECT_PORT = ports[2],
    TLS_PORT = ports[3] or 0,
    WRONG_TLS_PORT = ports[4] or 0,
    MUX_PORT = ports[5] or 0,
  }, "spec/server/nginx.conf.in"))
end

--- Starts a private emulator. opts:
--   tls          also serve HTTPS (tls_port, wrong_tls_port, ca_file, and
--                h2_port / h2_base_url: HTTPS that offers HTTP/2)
--   api_key      expected x-api-key (default "test-key")
--   nginx        nginx binary (default $EMULATOR_NGINX, /usr/sbin/nginx)
--   modules_dir  folder of ndk_http_module.so and ngx_http_lua_module.so
function M.start(opts)
  opts = opts or {}
  local settings = {
    tls = opts.tls and true or false,
    api_key = opts.api_key or M.DEFAULT_API_KEY,
    modules_dir = opts.modules_dir or "/usr/share/nginx/modules",
    server_dir = server_dir(),
  }
  local nginx = launcher.start {
    name = "emulator", nginx = opts.nginx, probe = "/__emulator/ping",
    ports = settings.tls and 5 or 2, dirs = { "tmp", "tls" },
    prepare = function(prefix, ports) prepare(prefix, ports, settings) end,
  }
  return new_server(nginx, settings)
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
    launcher.random_below(1000000))
end

return M
