-- intuned: a Lua client for the Intuned Client API.
--
--   local intuned = require("intuned")
--   local client = intuned.new{ workspace_id = ..., api_key = ... }
--   local res, err = client:get_job_run("my-project", "my-job", "jr_123")
--
-- The C core (intuned.core) performs the request and decodes JSON; this
-- layer checks arguments, builds paths, turns responses into results or
-- error objects and applies the retry policy.

local core = require("intuned.core")
local check = require("intuned.check")
local compat = require("intuned.compat")
local errors = require("intuned.errors")
local request = require("intuned.request")
local response = require("intuned.response")
local retry = require("intuned.retry")
local state = require("intuned.state")

local intuned = {
  VERSION = core.VERSION,
  null = core.null,
  DEFAULT_BASE_URL = "https://app.intuned.io/api/v1/workspace",
  is_error = errors.is_error,
}

local TERMINAL = {
  CANCELED = true, SUCCESS = true, FAILURE = true, TERMINATED = true, COMPLETED = true,
}

-- True when a run (or its status string, or a get_job_run result) has
-- reached a final state. Unknown statuses are not terminal: keep polling.
function intuned.is_terminal(run)
  local t = type(run)
  if t == "table" then
    if type(run.jobRun) == "table" then
      run = run.jobRun
    end
    return TERMINAL[run.status] == true
  elseif t == "string" then
    return TERMINAL[run] == true
  end
  check.fail("is_terminal expects a run table or a status string, got " .. t)
end

local Client = {}
Client.__index = Client
Client.__name = "intuned.client"

local CLIENT_OPTIONS = {
  workspace_id = true, api_key = true, base_url = true, timeout = true,
  connect_timeout = true, deadline = true, retry = true, ca_file = true,
  ca_path = true, proxy = true, user_agent = true, max_response_bytes = true,
  clock = true, sleep = true, random = true, blocking = true, thread_pool = true,
}

local DEFAULT_TIMEOUT = 30
local DEFAULT_CONNECT_TIMEOUT = 10
local MAX_RESPONSE_BYTES = 1024 * 1024 * 1024 -- what the core accepts

-- Where requests run: on the caller's thread (intuned.core), or inside nginx
-- in its thread pool (intuned.ngx), unless blocking = true asks otherwise.
local function transport(opts)
  if opts.blocking ~= nil and type(opts.blocking) ~= "boolean" then
    check.fail("option 'blocking' must be a boolean", 2)
  end
  local pool = check.string(opts, "thread_pool", 2)
  if not opts.blocking and compat.in_nginx() then
    return require("intuned.ngx").transport(pool)
  end
  return core
end

local function max_response_bytes(opts)
  local v = opts.max_response_bytes
  if v ~= nil and (type(v) ~= "number" or v < 1 or v % 1 ~= 0 or v > MAX_RESPONSE_BYTES) then
    check.fail("option 'max_response_bytes' must be an integer from 1 to 1 GiB", 2)
  end
  return v
end

-- The transport settings shared by the API session and results downloads.
local function connection_options(opts)
  local proxy = check.header_string(opts, "proxy", 2)
  if proxy ~= nil and proxy:find("%s") then
    check.fail("option 'proxy' must not contain whitespace", 2)
  end
  return {
    connect_timeout = check.seconds(opts, "connect_timeout", 2) or DEFAULT_CONNECT_TIMEOUT,
    ca_file = check.string(opts, "ca_file", 2),
    ca_path = check.string(opts, "ca_path", 2),
    proxy = proxy,
    user_agent = check.header_string(opts, "user_agent", 2),
  }
end

-- intuned.new(opts) -> client. Raises on misuse (bad or missing options).
function intuned.new(opts)
  if opts == nil then
    opts = {}
  elseif type(opts) ~= "table" then
    check.fail("new expects an options table")
  end
  check.known(opts, CLIENT_OPTIONS, "client", 1)
  local workspace_id = check.workspace_id(opts.workspace_id or os.getenv("INTUNED_WORKSPACE_ID"), 1)
  local key = check.api_key(opts.api_key or os.getenv("INTUNED_API_KEY"), 1)
  local base_url = check.base_url(opts.base_url or os.getenv("INTUNED_BASE_URL")
    or intuned.DEFAULT_BASE_URL, 1, core.check_url)
  local max_bytes = max_response_bytes(opts)
  local conn = connection_options(opts)
  local via = transport(opts)
  local self = setmetatable({
    workspace_id = workspace_id,
    base_url = base_url,
    timeout = check.seconds(opts, "timeout", 1) or DEFAULT_TIMEOUT,
    deadline = check.seconds(opts, "deadline", 1),
    retry = check.retry(opts.retry, retry.DEFAULTS, 1),
    clock = check.func(opts, "clock", 1) or core.now,
    sleep = check.func(opts, "sleep", 1) or via.sleep,
    random = check.func(opts, "random", 1) or math.random,
  }, Client)
  -- Every request path starts with this; the session prepends base_url.
  self.prefix = "/" .. workspace_id .. "/projects/"
  local session = via.session {
    api_key = key, base_url = base_url, timeout = self.timeout,
    connect_timeout = conn.connect_timeout, max_response_bytes = max_bytes,
    ca_file = conn.ca_file, ca_path = conn.ca_path, proxy = conn.proxy,
    user_agent = conn.user_agent,
  }
  -- Results downloads: the same transport settings, never the key.
  conn.timeout = self.timeout
  state[self] = { session = session, storage = conn }
  return self
end

function Client:__tostring()
  return ("intuned.client (workspace %s, %s%s)"):format(
    self.workspace_id, self.base_url, state[self].session and "" or ", closed")
end

local function check_client(self, method)
  if getmetatable(self) ~= Client then
    check.fail(("use client:%s(...), not client.%s(...)"):format(method, method), 2)
  end
  if not state[self].session then
    check.fail("client is closed", 2)
  end
end

-- client:get_job_run(project, job_id, job_run_id [, opts])
--   -> result, nil, meta | nil, err
function Client:get_job_run(project, job_id, job_run_id, opts)
  check_client(self, "get_job_run")
  -- Polling asks for the same run again and again: the ids passed the
  -- checks last time, so the path built then is still right.
  local last = self.last_run
  local rq
  if last and last[1] == project and last[2] == job_id and last[3] == job_run_id then
    rq = last[4]
  else
    rq = {
      method = "GET",
      path = self.prefix .. check.segment(project, "project", 1)
        .. "/jobs/" .. check.segment(job_id, "job_id", 1)
        .. "/runs/" .. check.segment(job_run_id, "job_run_id", 1),
      validate = response.job_run_shape,
    }
    self.last_run = { project, job_id, job_run_id, rq }
  end
  local o = opts ~= nil and request.options(self, opts, nil, nil, 1) or nil
  -- Not a tail call: misuse found below blames the caller's line, which
  -- error levels can only reach while this frame exists.
  local res, err, meta = request.run(self, rq, o)
  return res, err, meta
end

-- Releases the connection; idempotent. Later calls raise.
function Client:close()
  local st = state[self]
  if st.session then
    st.session:close()
    st.session = nil
  end
end

Client.__close = Client.close

-- Methods built on the ones above live in their own modules.
local internal = { check_client = check_client }
require("intuned.wait").install(Client, intuned, internal)
require("intuned.batch").install(Client, intuned, internal)
require("intuned.download").install(Client, intuned, internal)

return intuned
