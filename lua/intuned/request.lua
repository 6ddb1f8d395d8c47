-- One logical request of a client: its per-call options, the retry loop,
-- and each attempt's answer read by intuned.response. Every method of the
-- client that talks to the API goes through M.run. Internal: nothing here
-- takes a URL, and nothing is reachable from a client.

local check = require("intuned.check")
local response = require("intuned.response")
local retry = require("intuned.retry")
local state = require("intuned.state")

local M = {}

-- The options every API call takes.
M.CALL_OPTIONS = { timeout = true, deadline = true, retry = true, keep_nulls = true }

-- Per-call options over the client's: a table with timeout, deadline,
-- policy and keep_nulls. `level` blames the caller of the method.
function M.options(client, opts, known, what, level)
  local o = { timeout = client.timeout, deadline = client.deadline, policy = client.retry }
  if opts == nil then
    return o
  end
  check.options(opts, known or M.CALL_OPTIONS, what or "call", level + 1)
  o.timeout = check.seconds(opts, "timeout", level + 1) or o.timeout
  o.deadline = check.seconds(opts, "deadline", level + 1) or o.deadline
  if opts.retry ~= nil then
    o.policy = check.retry(opts.retry, retry.DEFAULTS, level + 1)
  end
  o.keep_nulls = opts.keep_nulls and true or nil
  return o
end

-- The retry loop's context for the options o of a call.
function M.context(client, o)
  return {
    policy = o.policy, timeout = o.timeout, deadline = o.deadline,
    clock = client.clock, sleep = client.sleep, random = client.random,
  }
end

local function attempt(session, rq, timeout, keep_nulls)
  return response.interpret(rq, session:request(rq.method, rq.path, rq.body, timeout, keep_nulls))
end

-- Runs rq ({ method, path, body, validate, empty }) with the call options
-- o (nil: the client's own) -> result, nil, meta | nil, err.
function M.run(client, rq, o)
  local session = state[client].session
  if o == nil and client.deadline == nil then
    -- The common call: no per-call options and no deadline, so the first
    -- attempt needs neither the clock nor the retry loop. A failure goes
    -- through retry.run, which replays this first result and continues.
    local res, meta = attempt(session, rq, client.timeout)
    if res ~= nil then
      meta.attempts = 1
      return res, nil, meta
    end
    local policy = client.retry
    if not meta.retirable or not policy or policy.max_attempts <= 1 then
      meta.attempts = 1
      return nil, meta
    end
    local first = meta
    return retry.run(M.context(client, { policy = policy, timeout = client.timeout }), function(t)
      if first then
        local err = first
        first = nil
        return nil, err
      end
      return attempt(session, rq, t)
    end)
  end
  o = o or M.options(client, nil)
  return retry.run(M.context(client, o), function(t)
    return attempt(session, rq, t, o.keep_nulls)
  end)
end

return M
