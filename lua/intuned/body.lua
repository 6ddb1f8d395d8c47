-- Request bodies checked against the contract before anything is sent:
-- required members and JSON types at every level the contract gives (from
-- intuned.schemas, generated from it). Enum values, patterns, lengths and
-- bounds are the server's to judge, and members the contract does not name
-- pass through: the API grows. A mistake raises at the caller's line with
-- the path of the value (`job.payload[1].apiName must be a string`).

local core = require("intuned.core")
local check = require("intuned.check")
local generated = require("intuned.schemas")

local M = {}

local SCHEMAS = generated.schemas
local null = core.null
local array_mt = core.array_mt

-- The failure of one check, caught where alternatives are tried.
local Mismatch = {}

local function mismatch(path, message)
  error(setmetatable({ message = path .. " " .. message }, Mismatch), 0)
end

local function is_integer(v)
  if math.type then
    return math.type(v) == "integer" or (math.type(v) == "float" and v % 1 == 0 and v == v
      and v > -math.huge and v < math.huge)
  end
  return type(v) == "number" and v % 1 == 0 and v > -math.huge and v < math.huge
end

-- Does v have JSON type t? An empty unmarked table is both an object and
-- an array (the encoder writes it as an array where the contract wants
-- one, see `arrays`).
local function has_type(v, t)
  if t == "string" then
    return type(v) == "string"
  elseif t == "integer" then
    return is_integer(v)
  elseif t == "number" then
    return type(v) == "number"
  elseif t == "boolean" then
    return type(v) == "boolean"
  elseif t == "null" then
    return v == null
  elseif t == "object" then
    return type(v) == "table" and getmetatable(v) ~= array_mt and v[1] == nil
  elseif t == "array" then
    return type(v) == "table" and (getmetatable(v) == array_mt or v[1] ~= nil or next(v) == nil)
  end
  return true
end

local function json_type(v)
  if v == null then
    return "null"
  elseif type(v) == "table" then
    if getmetatable(v) == array_mt or v[1] ~= nil then
      return "array"
    end
    return next(v) == nil and "empty table" or "object"
  end
  return type(v)
end

local function types_of(node)
  local t = node.type
  if type(t) == "string" then
    return { t }
  end
  return t
end

local check_node

local function check_type(v, node, path)
  local types = types_of(node)
  if not types then
    return
  end
  for _, t in ipairs(types) do
    if has_type(v, t) then
      return
    end
  end
  mismatch(path, ("must be %s, got %s"):format(table.concat(types, " or "), json_type(v)))
end

-- anyOf / oneOf: the discriminator's choice when there is one, else the
-- first alternative v satisfies.
local function check_alternatives(v, node, path, arrays)
  local alternatives = node.anyOf or node.oneOf
  local disc = node.discriminator
  if disc and type(v) == "table" and type(v[disc.propertyName]) == "string" then
    local target = disc.mapping[v[disc.propertyName]]
    if target then
      return check_node(v, { ref = target }, path, arrays)
    end
    return -- a kind the contract does not know yet: the server judges it
  end
  local first
  for _, alt in ipairs(alternatives) do
    local found = {}
    local ok, err = pcall(check_node, v, alt, path, found)
    if ok then
      for t in pairs(found) do
        arrays[t] = true
      end
      return
    end
    if getmetatable(err) ~= Mismatch then
      error(err, 0)
    end
    first = first or err
  end
  error(first, 0)
end

local function key_path(path, k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then
    return path .. "." .. k
  end
  return ("%s[%q]"):format(path, tostring(k))
end

local function check_members(v, node, path, arrays)
  for _, name in ipairs(node.required or {}) do
    if v[name] == nil then
      mismatch(key_path(path, name), "is required")
    end
  end
  local props = node.properties or {}
  local extra = node.additionalProperties
  for k, x in pairs(v) do
    local sub = props[k]
    if sub then
      check_node(x, sub, key_path(path, k), arrays)
    elseif type(extra) == "table" then
      check_node(x, extra, key_path(path, k), arrays)
    end
  end
end

function check_node(v, node, path, arrays)
  while node.ref do
    node = SCHEMAS[node.ref]
  end
  if node.anyOf or node.oneOf then
    check_alternatives(v, node, path, arrays)
  end
  check_type(v, node, path)
  if type(v) ~= "table" then
    return
  end
  local types = types_of(node)
  local wants_array = types and types[1] == "array"
  if wants_array or node.items then
    if next(v) == nil and getmetatable(v) ~= array_mt then
      arrays[v] = true
    end
    if node.items then
      for i, x in ipairs(v) do
        check_node(x, node.items, ("%s[%d]"):format(path, i), arrays)
      end
    end
  elseif node.properties or node.required or node.additionalProperties then
    check_members(v, node, path, arrays)
  end
end

-- Checks value against the contract's schema `name`; `root` names the
-- argument in messages. Returns the value to send (without the members of
-- `strip` for that schema: read-only fields of what get_job returns) and
-- the set of empty tables to write as JSON arrays. Raises on a mismatch,
-- blaming the caller `level` frames above the function calling this.
function M.check(value, name, root, level)
  level = (level or 1) + 1
  if type(value) ~= "table" or json_type(value) == "array" then
    check.fail(("%s must be a table (a JSON object), got %s"):format(root, json_type(value)), level)
  end
  local strip = generated.strip[name]
  if strip then
    local copy = {}
    for k, x in pairs(value) do
      copy[k] = x
    end
    for _, field in ipairs(strip) do
      copy[field] = nil
    end
    value = copy
  end
  local arrays = {}
  local ok, err = pcall(check_node, value, { ref = name }, root, arrays)
  if not ok then
    if getmetatable(err) ~= Mismatch then
      error(err, 0)
    end
    check.fail(err.message, level)
  end
  return value, arrays
end

return M
