-- Checks of request bodies against small declarative shapes, for the 400
-- answers: the first problem found, as the `details` of the documented
-- error body ({ field = "payload[0].apiName", reason = "is required" }).
--
-- A shape: type ("string", "integer", "number", "boolean", "object",
-- "array", "any"), nullable, required (list of member names), fields
-- (member name -> shape), items (shape of array elements), enum, min, max,
-- min_length, pattern (Lua), closed (members other than `fields` refused),
-- check (function(value) -> nil or reason).
local json = require("emulator.json")

local M = {}

local function type_of(v)
  if v == json.null then
    return "null"
  elseif type(v) == "table" then
    return json.is_array(v) and "array" or "object"
  elseif type(v) == "number" then
    return v == math.floor(v) and "integer" or "number"
  end
  return type(v)
end

local function type_ok(want, got)
  return want == "any" or want == got or (want == "number" and got == "integer")
end

local function join(path, name)
  return path == "" and name or path .. "." .. name
end

local function problem(value, shape, path)
  local got = type_of(value)
  if got == "null" and shape.nullable then
    return nil
  end
  if not type_ok(shape.type, got) then
    local article = shape.type:find("^[aeiou]") and "an " or "a "
    return path, "must be " .. (shape.nullable and "null or " or "") .. article .. shape.type
  end
  if shape.enum then
    local found = false
    for _, allowed in ipairs(shape.enum) do
      found = found or allowed == value
    end
    if not found then
      return path, "must be one of " .. table.concat(shape.enum, ", ")
    end
  end
  if shape.min and value < shape.min then
    return path, "must be at least " .. shape.min
  end
  if shape.max and value > shape.max then
    return path, "must be at most " .. shape.max
  end
  if shape.min_length and #value < shape.min_length then
    return path, "must be at least " .. shape.min_length .. " characters long"
  end
  if shape.pattern and not value:find(shape.pattern) then
    return path, "has characters that are not allowed"
  end
  for _, name in ipairs(shape.required or {}) do
    if value[name] == nil then
      return join(path, name), "is required"
    end
  end
  if shape.closed then
    for name in pairs(value) do
      if not shape.fields[name] then
        return join(path, tostring(name)), "is not a known field"
      end
    end
  end
  for name, field in pairs(shape.fields or {}) do
    if value[name] ~= nil then
      local where, why = problem(value[name], field, join(path, name))
      if where then
        return where, why
      end
    end
  end
  if shape.items then
    for i, item in ipairs(value) do
      local where, why = problem(item, shape.items, ("%s[%d]"):format(path, i - 1))
      if where then
        return where, why
      end
    end
  end
  local why = shape.check and shape.check(value)
  if why then
    return path, why
  end
  return nil
end

--- nil when `value` fits `shape`, else the details of a 400 answer.
function M.details(value, shape, path)
  local field, reason = problem(value, shape, path or "")
  if field then
    return { field = field == "" and "body" or field, reason = reason }
  end
  return nil
end

---------------------------------------------------------------------------
-- Shapes the contract's request bodies share
---------------------------------------------------------------------------

M.RETRY = { type = "object", fields = { maximumAttempts = { type = "integer", min = 1 } } }

M.PROXY = { type = "string", nullable = true }

M.SINK = {
  type = "object", nullable = true, required = { "type" },
  fields = {
    type = { type = "string", enum = { "webhook", "s3" } },
    url = { type = "string" },
    bucket = { type = "string" }, accessKeyId = { type = "string" },
    secretAccessKey = { type = "string" }, region = { type = "string" },
    apisToSend = { type = "array", items = { type = "string" } },
    skipOnFail = { type = "boolean" },
    headers = { type = "object" },
  },
  check = function(sink)
    local needs = sink.type == "webhook" and { "url" } or { "bucket", "accessKeyId", "secretAccessKey", "region" }
    for _, name in ipairs(needs) do
      if sink[name] == nil then
        return "a " .. sink.type .. " sink needs " .. name
      end
    end
    return nil
  end,
}

-- Emulator controls read from a parameters object (see spec/server/emulator.lua).
function M.controls(outcomes)
  return {
    outcome = { type = "string", enum = outcomes },
    duration_ms = { type = "number", min = 0 },
    polls = { type = "integer", min = 1 },
  }
end

return M
