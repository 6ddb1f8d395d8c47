-- What one attempt's answer means: the values session:request returned
-- become a result (body, meta) or an error object. Nothing here raises on
-- what a server sent: every field the library reads is checked for its
-- type first, and a wrong one is a `decode` error that says which.

local core = require("intuned.core")
local errors = require("intuned.errors")

local M = {}

local null = core.null

-- A decoded JSON object: a table that is not an array. Arrays decoded by
-- the core carry the array mark; a table with [1] is an array too.
function M.is_object(v)
  return type(v) == "table" and v[1] == nil and not M.is_array_marked(v)
end

local array_mt = core.array_mt
function M.is_array_marked(v)
  return array_mt ~= nil and getmetatable(v) == array_mt
end

-- The content types the core decodes as JSON (application/json, +json).
function M.is_json_type(ct)
  if type(ct) ~= "string" then
    return false
  end
  local essence = ct:match("^[^;%s]*"):lower()
  return essence == "application/json" or essence:sub(-5) == "+json"
end

-- The name and type of the first payload count that is neither a number
-- nor JSON null, or nil.
local function bad_count(run)
  for _, name in ipairs({ "payloads", "successful_runs", "failed_runs" }) do
    local v = run[name]
    if v ~= nil and v ~= null and type(v) ~= "number" then
      return name, type(v)
    end
  end
  return nil
end

-- getJobRun's body: a jobRun object whose status is a string and whose
-- payload counts are numbers. `results` is checked where it is used. Every
-- poll runs this: the common case takes no function call.
function M.job_run_shape(body)
  local run = body.jobRun
  if type(run) ~= "table" or run[1] ~= nil or (array_mt and getmetatable(run) == array_mt) then
    return "response has no jobRun object"
  end
  if type(run.status) ~= "string" then
    return "jobRun.status is not a string"
  end
  local p, s, f = run.payloads, run.successful_runs, run.failed_runs
  if (p ~= nil and type(p) ~= "number") or (s ~= nil and type(s) ~= "number")
    or (f ~= nil and type(f) ~= "number") then
    local name, t = bad_count(run)
    if name then
      return ("jobRun.%s is a %s, not a number"):format(name, t)
    end
  end
  return nil
end

local function describe(v)
  if v == null then
    return "null"
  elseif type(v) == "table" then
    return M.is_object(v) and "an object" or "an array"
  end
  return "a " .. type(v)
end

-- Is v of the JSON type the library reads a member as?
local function has_type(v, t)
  if t == "array" then
    return type(v) == "table" and not M.is_object(v) or (type(v) == "table" and next(v) == nil)
  elseif t == "object" then
    return M.is_object(v)
  end
  return type(v) == t
end

-- The check of a 2xx body of operation op (intuned.operations): its kind
-- (object or array), the types of the members the library reads, and the
-- operation's own check. Made once per operation.
function M.validator(op)
  if op.check ~= nil then
    return op.check or nil
  end
  local kind, fields, own = op.result or "object", op.fields, op.validate
  local function validate(body)
    if kind == "array" then
      if not has_type(body, "array") then
        return "expected a JSON array, got " .. describe(body)
      end
      return nil
    end
    if not M.is_object(body) then
      return "expected a JSON object, got " .. describe(body)
    end
    for name, t in pairs(fields or {}) do
      if not has_type(body[name], t) then
        return ("response member %s is %s, not %s"):format(name, describe(body[name]),
          t == "array" and "an array" or "a " .. t)
      end
    end
    return own and own(body)
  end
  if kind == "none" then
    validate = nil -- any 2xx is the success; a body is not read
  elseif kind == "object" and not fields then
    validate = own or function(body)
      if not M.is_object(body) then
        return "expected a JSON object, got " .. describe(body)
      end
    end
  end
  op.check = validate or false
  return validate
end

-- The values of session:request for one attempt -> body, meta | nil, err.
-- rq.validate(body) returns a message when a decoded 2xx body is not the
-- promised shape; rq.empty, when set, is the result of any 2xx (an
-- operation that returns nothing); rq.idempotent = false marks a request
-- that may not be sent twice (a POST), for the retry decision.
function M.interpret(rq, status, body, meta, curl_code, sent)
  if not status then
    return nil, errors.transport(body, meta, curl_code, sent, rq.idempotent ~= false)
  end
  if status < 200 or status >= 300 then
    return nil, errors.from_response(status, body, meta, rq.idempotent ~= false)
  end
  meta.status = status
  if rq.empty ~= nil then
    return rq.empty, meta -- an operation without a result (204): any 2xx will do
  end
  if type(body) == "table" then
    -- Decoded: the common case, checked before meta's other fields (reading
    -- a field meta lacks goes through its __index).
    local validate = rq.validate
    local bad = validate and validate(body)
    if bad then
      return nil, errors.decode(status, bad, body)
    end
    return body, meta
  end
  if meta.decode_error then
    return nil, errors.decode(status, "invalid JSON in response: " .. meta.decode_error, body)
  end
  if body == "" then
    return nil, errors.decode(status, "empty response body", body)
  end
  local what
  if type(body) == "string" and not M.is_json_type(meta.content_type) then
    what = ("content type %s"):format(meta.content_type or "(none)")
  else
    what = body == null and "JSON null" or "a JSON " .. type(body)
  end
  return nil, errors.decode(status, "expected a JSON object or array, got " .. what, body)
end

return M
