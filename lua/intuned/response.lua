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

-- nil when v is absent, JSON null or a number; else the type it has.
local function not_number(v)
  if v == nil or v == null or type(v) == "number" then
    return nil
  end
  return type(v)
end

-- The content types the core decodes as JSON (application/json, +json).
function M.is_json_type(ct)
  if type(ct) ~= "string" then
    return false
  end
  local essence = ct:match("^[^;%s]*"):lower()
  return essence == "application/json" or essence:sub(-5) == "+json"
end

local COUNTS = { "payloads", "successful_runs", "failed_runs" }

-- getJobRun's body: a jobRun object whose status is a string and whose
-- payload counts are numbers. `results` is checked where it is used.
function M.job_run_shape(body)
  local run = body.jobRun
  if not M.is_object(run) then
    return "response has no jobRun object"
  end
  if type(run.status) ~= "string" then
    return "jobRun.status is not a string"
  end
  for _, name in ipairs(COUNTS) do
    local t = not_number(run[name])
    if t then
      return ("jobRun.%s is a %s, not a number"):format(name, t)
    end
  end
  return nil
end

-- The values of session:request for one attempt -> body, meta | nil, err.
-- rq.validate(body) returns a message when a decoded 2xx body is not the
-- promised shape; rq.empty is the result of a 2xx without a body (nil: a
-- body is required).
function M.interpret(rq, status, body, meta, curl_code, sent)
  if not status then
    return nil, errors.transport(body, meta, curl_code, sent)
  end
  if status < 200 or status >= 300 then
    return nil, errors.from_response(status, body, meta)
  end
  meta.status = status
  if meta.decode_error then
    return nil, errors.decode(status, "invalid JSON in response: " .. meta.decode_error, body)
  end
  if body == "" then
    if rq.empty ~= nil then
      return rq.empty, meta
    end
    return nil, errors.decode(status, "empty response body", body)
  end
  if type(body) ~= "table" then
    local what
    if type(body) == "string" and not M.is_json_type(meta.content_type) then
      what = ("content type %s"):format(meta.content_type or "(none)")
    else
      what = body == null and "JSON null" or "a JSON " .. type(body)
    end
    return nil, errors.decode(status, "expected a JSON object or array, got " .. what, body)
  end
  local bad = rq.validate and rq.validate(body)
  if bad then
    return nil, errors.decode(status, bad, body)
  end
  return body, meta
end

return M
