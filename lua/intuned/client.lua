-- The client: intuned.new, and one method per operation of the API made
-- from the operations table (intuned.operations), plus the helpers built on
-- them (waits, pages, batches, downloads) from their own modules.
--
-- Method arguments: the project, the operation's path parameters in order,
-- its body when it has one (a positional nil when it is optional), then the
-- per-call options. Misuse raises at the caller's line; run-time failures
-- return nil, err; success returns result, nil, meta.

local core = require("intuned.core")
local batch = require("intuned.batch")
local check = require("intuned.check")
local download = require("intuned.download")
local many = require("intuned.many")
local operations = require("intuned.operations")
local pages = require("intuned.pages")
local request = require("intuned.request")
local retry = require("intuned.retry")
local state = require("intuned.state")
local transport = require("intuned.transport")
local waits = require("intuned.waits")

local M = {}

M.DEFAULT_BASE_URL = "https://app.intuned.io/api/v1/workspace"

local Client = {}
Client.__index = Client
Client.__name = "intuned.client"
M.Client = Client

local CLIENT_OPTIONS = {
  workspace_id = true, api_key = true, base_url = true, timeout = true,
  connect_timeout = true, deadline = true, retry = true, ca_file = true,
  ca_path = true, proxy = true, user_agent = true, max_response_bytes = true,
  clock = true, sleep = true, random = true, blocking = true, thread_pool = true,
  transport = true, vm_pool_size = true,
}

local DEFAULT_TIMEOUT = 30
local DEFAULT_CONNECT_TIMEOUT = 10
local MAX_RESPONSE_BYTES = 1024 * 1024 * 1024 -- what the core accepts

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
function M.new(opts)
  if opts == nil then
    opts = {}
  elseif type(opts) ~= "table" then
    check.fail("new expects an options table")
  end
  check.known(opts, CLIENT_OPTIONS, "client", 1)
  local workspace_id = check.workspace_id(opts.workspace_id or os.getenv("INTUNED_WORKSPACE_ID"), 1)
  local key = check.api_key(opts.api_key or os.getenv("INTUNED_API_KEY"), 1)
  local base_url = check.base_url(opts.base_url or os.getenv("INTUNED_BASE_URL")
    or M.DEFAULT_BASE_URL, 1, core.check_url)
  local max_bytes = max_response_bytes(opts)
  local conn = connection_options(opts)
  local via = transport.choose(opts, 1)
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
  state.set(self, { session = session, storage = conn, transport = via, paths = {} })
  return self
end

function Client:__tostring()
  local st = state.get(self)
  return ("intuned.client (workspace %s, %s%s)"):format(
    self.workspace_id, self.base_url, st and st.session and "" or ", closed")
end

-- Releases the connection; idempotent. Later calls raise.
function Client:close()
  local st = state.get(self)
  if st and st.session then
    st.session:close()
    st.session = nil
  end
end

Client.__close = Client.close

-- The nth of up to five arguments, without a table per call.
local function pick(n, a1, a2, a3, a4, a5)
  if n == 1 then
    return a1
  elseif n == 2 then
    return a2
  elseif n == 3 then
    return a3
  elseif n == 4 then
    return a4
  end
  return a5
end

-- The method of operation `op`: its path parameters (two at most) come
-- first, then the body when the operation has one, then the options.
local function method(name, op)
  local nparams = request.param_count(op)
  local body_at = op.body and nparams + 1
  local opts_at = nparams + (op.body and 2 or 1)
  return function(self, project, a1, a2, a3, a4, a5)
    local st = state.check(self, name)
    local body = body_at and pick(body_at, a1, a2, a3, a4, a5)
    local opts = pick(opts_at, a1, a2, a3, a4, a5)
    local rq = request.prepare(self, st, name, op, project, a1, a2, body, opts)
    local o = opts ~= nil and request.options(self, opts, request.known_options(op), name, 1) or nil
    -- Not a tail call: misuse found below blames the caller's line, which
    -- error levels can only reach while this frame exists.
    local res, err, meta = request.run(self, rq, o)
    return res, err, meta
  end
end

for name, op in pairs(operations) do
  Client[name] = method(name, op)
end

-- The helpers built on the operations.
Client.wait_for_job_run = waits.wait_for_job_run
Client.run_job = waits.run_job
Client.wait_for_run = waits.wait_for_run
Client.run = waits.run
Client.create_auth_session = waits.create_auth_session
Client.validate_auth_session = waits.validate_auth_session
Client.update_auth_session = waits.update_auth_session
Client.wait_for_runs = many.wait_for_runs
Client.each_job_run = pages.each_job_run
Client.get_job_runs = batch.get_job_runs
Client.download_results = download.download_results

return M
