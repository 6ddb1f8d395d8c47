-- intuned: a Lua client for the Intuned Jobs API.
--
--   local intuned = require("intuned")
--   local client = intuned.new{ workspace_id = ..., api_key = ... }
--   local res, err = client:get_job_run("my-project", "my-job", "jr_123")
--
-- The C core (intuned.core) performs the request and decodes JSON; this
-- layer checks arguments, builds URLs, turns responses into results or error
-- objects and applies the retry policy.

local core = require("intuned.core")
local check = require("intuned.check")
local compat = require("intuned.compat")
local errors = require("intuned.errors")
local retry = require("intuned.retry")

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

local CALL_OPTIONS = { timeout = true, deadline = true, retry = true, keep_nulls = true }

local DEFAULT_TIMEOUT = 30
local DEFAULT_CONNECT_TIMEOUT = 10

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
    or intuned.DEFAULT_BASE_URL, 1)
  local max_bytes = opts.max_response_bytes
  if max_bytes ~= nil and (type(max_bytes) ~= "number" or max_bytes < 1 or max_bytes % 1 ~= 0) then
    check.fail("option 'max_response_bytes' must be a positive integer")
  end
  local via = transport(opts)
  local self = setmetatable({
    workspace_id = workspace_id,
    base_url = base_url,
    timeout = check.positive(opts, "timeout", 1) or DEFAULT_TIMEOUT,
    deadline = check.positive(opts, "deadline", 1),
    retry = check.retry(opts.retry, retry.DEFAULTS, 1),
    clock = check.func(opts, "clock", 1) or core.now,
    sleep = check.func(opts, "sleep", 1) or via.sleep,
    random = check.func(opts, "random", 1) or math.random,
  }, Client)
  self.prefix = base_url .. "/" .. workspace_id .. "/projects/"
  self.session = via.session {
    api_key = key,
    timeout = self.timeout,
    connect_timeout = check.positive(opts, "connect_timeout", 1) or DEFAULT_CONNECT_TIMEOUT,
    max_response_bytes = max_bytes,
    ca_file = check.string(opts, "ca_file", 1),
    ca_path = check.string(opts, "ca_path", 1),
    proxy = check.string(opts, "proxy", 1),
    user_agent = check.string(opts, "user_agent", 1),
  }
  -- For the results download: the same transport settings, never the key.
  self.storage_options = {
    timeout = self.timeout,
    connect_timeout = opts.connect_timeout or DEFAULT_CONNECT_TIMEOUT,
    ca_file = opts.ca_file, ca_path = opts.ca_path, proxy = opts.proxy,
    user_agent = opts.user_agent,
  }
  return self
end

function Client:__tostring()
  return ("intuned.client (workspace %s, %s%s)"):format(
    self.workspace_id, self.base_url, self.session and "" or ", closed")
end

local function check_client(self, method)
  if getmetatable(self) ~= Client then
    check.fail(("use client:%s(...), not client.%s(...)"):format(method, method), 2)
  end
  if not self.session then
    check.fail("client is closed", 2)
  end
end

-- What session:get returned, interpreted. Returns (body, meta) for a
-- usable success, (nil, err) otherwise.
local function response(status, body, meta, curl_code, validate)
  if not status then
    return nil, errors.transport(body, meta, curl_code)
  end
  if status >= 200 and status < 300 then
    if meta.decode_error then
      return nil, errors.decode(status, "invalid JSON in response: " .. meta.decode_error, body)
    end
    if type(body) ~= "table" then
      return nil, errors.decode(status, ("expected a JSON response, got content type %s")
        :format(meta.content_type or "(none)"), body)
    end
    local bad = validate and validate(body)
    if bad then
      return nil, errors.decode(status, bad, body)
    end
    meta.status = status
    return body, meta
  end
  return nil, errors.from_response(status, body, meta)
end

-- One attempt: the HTTP exchange and its interpretation.
local function fetch(session, url, timeout, keep_nulls, validate)
  local status, body, meta, curl_code = session:get(url, timeout, keep_nulls)
  return response(status, body, meta, curl_code, validate)
end

local function job_run_shape(body)
  if type(body.jobRun) ~= "table" then
    return "response has no jobRun object"
  end
end

-- Runs one logical request with the client's retry policy.
function Client:request(url, opts, validate)
  local timeout, deadline, policy, keep_nulls = self.timeout, self.deadline, self.retry, nil
  if opts ~= nil then
    check.options(opts, CALL_OPTIONS, "call", 2)
    timeout = check.positive(opts, "timeout", 2) or timeout
    deadline = check.positive(opts, "deadline", 2) or deadline
    if opts.retry ~= nil then
      policy = check.retry(opts.retry, retry.DEFAULTS, 2)
    end
    keep_nulls = opts.keep_nulls and true or nil
  end
  local session = self.session
  if opts == nil and deadline == nil then
    -- The common call: no per-call options and no deadline, so the first
    -- attempt needs neither the clock nor the retry loop. A failure goes
    -- through retry.run, which replays this first result and continues.
    local res, meta = fetch(session, url, timeout, nil, validate)
    if res ~= nil then
      meta.attempts = 1
      return res, nil, meta
    end
    if not meta.retirable or not policy or policy.max_attempts <= 1 then
      meta.attempts = 1
      return nil, meta
    end
    local first = meta
    return retry.run({
      policy = policy, timeout = timeout,
      clock = self.clock, sleep = self.sleep, random = self.random,
    }, function(t)
      if first then
        local err = first
        first = nil
        return nil, err
      end
      return fetch(session, url, t, nil, validate)
    end)
  end
  return retry.run({
    policy = policy, timeout = timeout, deadline = deadline,
    clock = self.clock, sleep = self.sleep, random = self.random,
  }, function(t)
    return fetch(session, url, t, keep_nulls, validate)
  end)
end

-- client:get_job_run(project, job_id, job_run_id [, opts])
--   -> result, nil, meta | nil, err
function Client:get_job_run(project, job_id, job_run_id, opts)
  check_client(self, "get_job_run")
  -- Polling asks for the same run again and again: the ids passed the
  -- checks last time, so the URL built then is still right.
  local last = self.last_run
  local url
  if last and last[1] == project and last[2] == job_id and last[3] == job_run_id then
    url = last[4]
  else
    url = self.prefix .. check.segment(project, "project", 1)
      .. "/jobs/" .. check.segment(job_id, "job_id", 1)
      .. "/runs/" .. check.segment(job_run_id, "job_run_id", 1)
    self.last_run = { project, job_id, job_run_id, url }
  end
  -- Not a tail call: misuse found in request() blames the caller's line,
  -- which error levels can only reach while this frame exists.
  local res, err, meta = self:request(url, opts, job_run_shape)
  return res, err, meta
end

-- Releases the connection; idempotent. Later calls raise.
function Client:close()
  if self.session then
    self.session:close()
    self.session = nil
  end
end

Client.__close = Client.close

-- Methods built on the ones above live in their own modules.
local internal = {
  response = response, job_run_shape = job_run_shape, check_client = check_client,
}
require("intuned.wait").install(Client, intuned, internal)
require("intuned.batch").install(Client, intuned, internal)
require("intuned.download").install(Client, intuned, internal)

return intuned
