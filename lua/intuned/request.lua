-- One logical request of a client: the path, query and body of an
-- operation (intuned.operations), its per-call options, the retry loop, and
-- each attempt's answer read by intuned.response. Every method of the
-- client that talks to the API goes through here. Internal: nothing here
-- takes a URL, and nothing is reachable from a client.

local body_check = require("intuned.body")
local check = require("intuned.check")
local json = require("intuned.json")
local response = require("intuned.response")
local retry = require("intuned.retry")
local state = require("intuned.state")

local M = {}

-- The options every API call takes.
M.CALL_OPTIONS = { timeout = true, deadline = true, retry = true, keep_nulls = true }

---------------------------------------------------------------------------
-- Operations: paths, queries, bodies
---------------------------------------------------------------------------

-- The operation's path template split into literals and parameter names:
-- { "/jobs/", "job_id", "/runs/", "job_run_id" } (odd: literal).
local function parts_of(op)
  local parts = op.parts
  if not parts then
    parts = {}
    local at = 1
    for literal, name, next_at in op.path:gmatch("([^{]*){([%w_]+)}()") do
      parts[#parts + 1] = literal
      parts[#parts + 1] = name
      at = next_at
    end
    parts[#parts + 1] = op.path:sub(at)
    op.parts = parts
  end
  return parts
end

function M.param_count(op)
  return (#parts_of(op) - 1) / 2
end

-- The options a call of op takes: the common ones and its query.
function M.known_options(op)
  local known = op.options
  if not known then
    known = {}
    for k in pairs(M.CALL_OPTIONS) do
      known[k] = true
    end
    for k in pairs(op.query or {}) do
      known[k] = true
    end
    op.options = known
  end
  return known
end

-- A query value: an integer, or a string (both percent-encoded).
local function query_value(v, name, kind, level)
  if kind == "integer" and type(v) == "number" then
    if v % 1 ~= 0 or v ~= v or v < 0 or v > 2 ^ 53 then
      check.fail(("option '%s' must be a whole number >= 0"):format(name), level + 1)
    end
    return ("%d"):format(v)
  end
  if type(v) ~= "string" or v == "" or v:find("%c") then
    check.fail(("option '%s' must be %s or a string without control bytes"):format(
      name, kind == "integer" and "an integer" or "text"), level + 1)
  end
  return check.percent_encode(v)
end

-- "?a=1&b=x" from the options that are query parameters of op, by name.
local function query_of(op, opts, level)
  if not op.query or opts == nil then
    return ""
  end
  local names = {}
  for name in pairs(op.query) do
    if opts[name] ~= nil then
      names[#names + 1] = name
    end
  end
  if #names == 0 then
    return ""
  end
  table.sort(names)
  for i, name in ipairs(names) do
    local wire, kind = op.query[name][1], op.query[name][2]
    names[i] = wire .. "=" .. query_value(opts[name], name, kind, level + 1)
  end
  return "?" .. table.concat(names, "&")
end

local function path_of(client, op, project, a1, a2, level)
  local parts = parts_of(op)
  local out = { client.prefix, check.segment(project, "project", level + 1), parts[1] }
  local ids = { a1, a2 }
  for i = 2, #parts, 2 do
    out[#out + 1] = check.segment(ids[i / 2], parts[i], level + 1)
    out[#out + 1] = parts[i + 1]
  end
  return table.concat(out)
end

-- The JSON text of a body argument, checked against the contract.
local function body_of(op, body, level)
  if body == nil then
    if op.optional then
      return op.optional
    end
    check.fail(("%s is required (a table with the API's fields)"):format(op.root or "body"), level + 1)
  end
  local value, arrays = body_check.check(body, op.body, op.root or "body", level + 1)
  local text = json.encode(value, op.root or "body", level + 2, arrays)
  return text -- not a tail call: encode's error level counts this frame
end

-- The request of one call of op: { method, path, body, validate, empty,
-- idempotent, gone_ok }. Misuse raises, blaming the function `level`
-- frames above the caller of build.
function M.build(client, op, project, a1, a2, body, opts, level)
  level = (level or 1) + 1
  local rq = {
    method = op.method,
    path = path_of(client, op, project, a1, a2, level) .. query_of(op, opts, level),
    validate = response.validator(op),
    empty = op.result == "none" and true or nil,
    idempotent = op.method ~= "POST",
    gone_ok = op.gone_ok,
  }
  if op.body then
    rq.body = body_of(op, body, level)
  end
  return rq
end

-- The request of one call of the method `name` (see build). A call
-- repeating the previous one's ids (a poll) reuses its request: the ids
-- passed their checks then. Misuse raises at the caller of the method.
function M.prepare(client, st, name, op, project, a1, a2, body, opts)
  local plain = not op.body and (not op.query or opts == nil or query_of(op, opts, 2) == "")
  if plain then
    local last = st.paths[name]
    if last and last[1] == project and last[2] == a1 and last[3] == a2 then
      return last[4]
    end
  end
  local rq = M.build(client, op, project, a1, a2, body, opts, 2)
  if plain then
    st.paths[name] = { project, a1, a2, rq }
  end
  return rq
end

---------------------------------------------------------------------------
-- Options and the retry loop
---------------------------------------------------------------------------

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

-- The attempts of rq: each one's answer, with a DELETE's 404 after an
-- attempt that got no answer turned into the success it is.
local function attempts(session, rq, keep_nulls)
  if not rq.gone_ok then
    return function(t)
      return attempt(session, rq, t, keep_nulls)
    end
  end
  local unanswered = false
  return function(t)
    local res, meta = attempt(session, rq, t, keep_nulls)
    if res == nil then
      if unanswered and meta.status == 404 then
        return true, { status = 404, gone = true }
      end
      unanswered = meta.kind == "network" or meta.kind == "timeout"
    end
    return res, meta
  end
end

-- Runs rq with the call options o (nil: the client's own)
-- -> result, nil, meta | nil, err.
function M.run(client, rq, o)
  local session = state.get(client).session
  if o == nil and client.deadline == nil and not rq.gone_ok then
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
  return retry.run(M.context(client, o), attempts(session, rq, o.keep_nulls))
end

return M
