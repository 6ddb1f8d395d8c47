-- luacheck: globals ngx
-- The application of `make bench-nginx` (bench/nginx/nginx.conf.in): one
-- job run fetched and decoded per request, by each contender, answering
-- with the run's status. bench/nginx_bench.lua drives it with wrk.
--
--   /intuned?transport=pool|cosocket   client:get_job_run on that transport
--   /floor                             one empty thread-pool task, then the
--                                      cosocket transport's get_job_run
--   /capture                           ngx.location.capture of /_api/ (proxy_pass)
--                                      + cjson.decode
--   /resty_http                        lua-resty-http + cjson.decode (501 when
--                                      resty.http is not installed)
--   &slow=1                            the same against the API's location that
--                                      answers after 2 s (the stall case)
--   /inflight                          how many of the above are still running
--
-- A failure answers 500 (raised) or 502 (returned error) with the message,
-- which the harness shows in the failed row.
local cjson = require("cjson")

local M = {}

local PROJECT, JOB, RUN = "my-project", "my-sample-job", "jr_2f8c1d4e9a7b"

local config

local function settings()
  if not config then
    config = dofile(ngx.config.prefix() .. "app_config.lua")
  end
  return config
end

-- One worker, so a module-level count is the worker's.
local running = 0

-- Failures are also logged, the first few of each message, so that the
-- harness can say why a row failed (bench/nginx_bench.lua reads error.log).
local logged = {}

local function answer(status, text)
  ngx.status = status
  ngx.say(text)
  local seen = logged[text] or 0
  if seen < 3 then
    logged[text] = seen + 1
    ngx.log(ngx.ERR, "bench failure: ", status, " ", text)
  end
end

-- Runs handler() counted in `running`, a raise answering 500.
local function counted(handler)
  running = running + 1
  local ok, why = pcall(handler)
  running = running - 1
  if not ok then
    answer(500, "raised: " .. tostring(why))
  end
end

function M.inflight()
  ngx.say(running)
end

-- /profile?action=start&mode=F or ?action=stop: LuaJIT's sampling profiler
-- (jit.p) over this worker, written to <prefix>/profile.txt
-- (NGINX_PROFILE=row in bench/nginx_bench.lua).
function M.profile()
  local profiler = require("jit.p")
  if ngx.var.arg_action == "start" then
    profiler.start(ngx.var.arg_mode or "F", ngx.config.prefix() .. "profile.txt")
  else
    profiler.stop()
  end
  ngx.say("ok")
end

-- The reference rows' answer: the run's status from the API's answer,
-- decoded with cjson.
local function say_status(http_status, body)
  if http_status ~= 200 then
    return answer(502, "error: API answered " .. tostring(http_status))
  end
  local doc = cjson.decode(body)
  local status = type(doc) == "table" and type(doc.jobRun) == "table" and doc.jobRun.status
  if not status then
    return answer(502, "error: unexpected body")
  end
  ngx.say(status)
end

---------------------------------------------------------------------------
-- intuned
---------------------------------------------------------------------------

-- Clients are made once per worker, transport and API location, as an
-- application keeps one in a module.
local clients = {}

-- The options are those docs/nginx.md asks for: the transport, and for
-- the pool the VM count nginx.conf gives (lua_worker_thread_vm_pool_size).
-- A revision that does not know an option (today's pool: no `transport`,
-- no `vm_pool_size`) raises "unknown client option 'name'": the client is
-- then made without it, which for the pool is the same transport there.
-- Any other failure is raised, with the client's own message.
local function made_without_unknown(opts, transport)
  local intuned = require("intuned")
  while true do
    local ok, made = pcall(intuned.new, opts)
    if ok then
      return made
    end
    local name = tostring(made):match("unknown client option '([%w_]+)'")
    if transport ~= "pool" or not name or opts[name] == nil then
      error(made, 0)
    end
    opts[name] = nil
  end
end

local function client(transport, slow)
  local key = transport .. (slow and "/slow" or "")
  if not clients[key] then
    local c = settings()
    clients[key] = made_without_unknown({
      workspace_id = c.workspace_id, api_key = c.api_key,
      base_url = slow and c.slow_base_url or c.base_url,
      retry = false, transport = transport,
      vm_pool_size = transport == "pool" and c.vm_pool_size or nil,
    }, transport)
  end
  return clients[key]
end

-- The job run through client c, answered with its status.
local function say_run(c)
  local res, err = c:get_job_run(PROJECT, JOB, RUN)
  if not res then
    return answer(502, "error: " .. tostring(err))
  end
  ngx.say(res.jobRun.status)
end

function M.intuned()
  counted(function()
    local args = ngx.req.get_uri_args()
    say_run(client(args.transport or "pool", args.slow == "1"))
  end)
end

-- The least a transport that hands a request to another thread can cost:
-- one task of the thread pool that does nothing (string.len in a pool VM)
-- and back, then the request on the worker's own cosocket. A transport whose
-- transfer runs on a thread needs at least that hand-over each way, and
-- libcurl's transfer costs more than the cosocket's.
function M.floor()
  counted(function()
    local ok, why = ngx.run_worker_thread("intuned", "string", "len", "")
    if not ok then
      return answer(502, "error: thread pool: " .. tostring(why))
    end
    say_run(client("cosocket", ngx.var.arg_slow == "1"))
  end)
end

---------------------------------------------------------------------------
-- ngx.location.capture + proxy_pass + cjson: the nginx-native limit
---------------------------------------------------------------------------

local PATH
local function run_path()
  if not PATH then
    PATH = settings().workspace_id .. "/projects/" .. PROJECT .. "/jobs/" .. JOB .. "/runs/" .. RUN
  end
  return PATH
end

function M.capture()
  counted(function()
    local res = ngx.location.capture((ngx.var.arg_slow == "1" and "/_slow_api/" or "/_api/") .. run_path())
    say_status(res.status, res.body)
  end)
end

---------------------------------------------------------------------------
-- lua-resty-http + cjson (a reference, when installed)
---------------------------------------------------------------------------

local http_ok, http = pcall(require, "resty.http")

function M.resty_http()
  if not http_ok then
    return answer(501, "not installed: lua-resty-http (resty.http)")
  end
  counted(function()
    local c = settings()
    local base = ngx.var.arg_slow == "1" and c.slow_base_url or c.base_url
    local res, err = http.new():request_uri(base .. "/" .. run_path(), {
      headers = { ["x-api-key"] = c.api_key, ["Accept"] = "application/json" },
      keepalive_timeout = 300000, keepalive_pool = 512,
    })
    if not res then
      return answer(502, "error: " .. tostring(err))
    end
    say_status(res.status, res.body)
  end)
end

return M
