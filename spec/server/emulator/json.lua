-- JSON for the emulator's state and answers. Debian's lua-cjson decodes []
-- and {} to the same empty table, so an empty array a client sent would come
-- back as an object; this decoder marks every array (json.array metatable)
-- and the encoder writes marked tables as arrays, whatever their length.
-- null is cjson.null, so values mix freely with the legacy scenarios'.
local cjson = require("cjson")

local M = {}

M.null = cjson.null

local ARRAY = { __name = "json.array" }

--- Marks `t` (default a new table) as a JSON array.
function M.array(t)
  return setmetatable(t or {}, ARRAY)
end

function M.is_array(t)
  return type(t) == "table" and getmetatable(t) == ARRAY
end

---------------------------------------------------------------------------
-- Decoding
---------------------------------------------------------------------------

local MAX_DEPTH = 200

local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function utf8_char(cp)
  if cp < 0x80 then
    return string.char(cp)
  elseif cp < 0x800 then
    return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40)
  elseif cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return string.char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
    0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local function fail(i, what)
  error({ json = ("invalid JSON at byte %d: %s"):format(i, what) })
end

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local function parse_string(s, i)
  local parts, j = {}, i + 1
  while true do
    local a = s:find('["\\%z\1-\31]', j)
    if not a then
      fail(i, "unterminated string")
    end
    parts[#parts + 1] = s:sub(j, a - 1)
    local c = s:sub(a, a)
    if c == '"' then
      return table.concat(parts), a + 1
    elseif c ~= "\\" then
      fail(a, "control character in a string")
    end
    local e = s:sub(a + 1, a + 1)
    if e == "u" then
      local hex = s:match("^%x%x%x%x", a + 2)
      if not hex then
        fail(a, "bad \\u escape")
      end
      local cp = tonumber(hex, 16)
      j = a + 6
      local low = cp >= 0xD800 and cp < 0xDC00 and s:match("^\\u([dD][c-fC-F]%x%x)", j)
      if low then
        cp = 0x10000 + (cp - 0xD800) * 0x400 + (tonumber(low, 16) - 0xDC00)
        j = j + 6
      end
      parts[#parts + 1] = utf8_char(cp)
    elseif ESCAPES[e] then
      parts[#parts + 1] = ESCAPES[e]
      j = a + 2
    else
      fail(a, "bad escape")
    end
  end
end

local parse_value

local function parse_array(s, i, depth)
  local out, n = M.array(), 0
  i = skip(s, i + 1)
  if s:sub(i, i) == "]" then
    return out, i + 1
  end
  while true do
    local value
    value, i = parse_value(s, i, depth)
    n = n + 1
    out[n] = value
    i = skip(s, i)
    local c = s:sub(i, i)
    if c == "]" then
      return out, i + 1
    elseif c ~= "," then
      fail(i, "expected ',' or ']'")
    end
    i = skip(s, i + 1)
  end
end

local function parse_object(s, i, depth)
  local out = {}
  i = skip(s, i + 1)
  if s:sub(i, i) == "}" then
    return out, i + 1
  end
  while true do
    if s:sub(i, i) ~= '"' then
      fail(i, "expected a member name")
    end
    local key
    key, i = parse_string(s, i)
    i = skip(s, i)
    if s:sub(i, i) ~= ":" then
      fail(i, "expected ':'")
    end
    out[key], i = parse_value(s, skip(s, i + 1), depth)
    i = skip(s, i)
    local c = s:sub(i, i)
    if c == "}" then
      return out, i + 1
    elseif c ~= "," then
      fail(i, "expected ',' or '}'")
    end
    i = skip(s, i + 1)
  end
end

local LITERALS = { ["true"] = true, ["false"] = false, null = M.null }

function parse_value(s, i, depth)
  if depth > MAX_DEPTH then
    fail(i, "nested too deeply")
  end
  local c = s:sub(i, i)
  if c == "{" then
    return parse_object(s, i, depth + 1)
  elseif c == "[" then
    return parse_array(s, i, depth + 1)
  elseif c == '"' then
    return parse_string(s, i)
  end
  local word = s:match("^%a+", i)
  if word and LITERALS[word] ~= nil then
    return LITERALS[word], i + #word
  end
  local number = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  local value = number and tonumber(number)
  if not value then
    fail(i, "unexpected character")
  end
  return value, i + #number
end

--- Decodes a JSON text: value, or nil and a message.
function M.decode(s)
  local ok, value, i = pcall(function()
    local v, j = parse_value(s, skip(s, 1), 0)
    return v, skip(s, j)
  end)
  if not ok then
    if type(value) == "table" and value.json then
      return nil, value.json
    end
    error(value, 0)
  end
  if i <= #s then
    return nil, ("invalid JSON at byte %d: trailing characters"):format(i)
  end
  return value
end

---------------------------------------------------------------------------
-- Encoding
---------------------------------------------------------------------------

local SHORT = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function encode_string(s)
  return '"' .. s:gsub('[%z\1-\31"\\]', function(c)
    return SHORT[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function encode_number(v)
  if v ~= v or v == math.huge or v == -math.huge then
    error("json: cannot encode " .. tostring(v))
  end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then
    return ("%d"):format(v)
  end
  local short = ("%.14g"):format(v)
  return tonumber(short) == v and short or ("%.17g"):format(v)
end

local function is_sequence(t)
  local n = #t
  if n == 0 then
    return false
  end
  local count = 0
  for _ in pairs(t) do
    count = count + 1
  end
  return count == n
end

local encode_value

local function encode_table(t, out, depth)
  if depth > MAX_DEPTH then
    error("json: nested too deeply (a cycle?)")
  end
  if getmetatable(t) == ARRAY or is_sequence(t) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then
        out[#out + 1] = ","
      end
      encode_value(t[i], out, depth + 1)
    end
    out[#out + 1] = "]"
    return
  end
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = tostring(k)
  end
  table.sort(keys)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then
      out[#out + 1] = ","
    end
    out[#out + 1] = encode_string(k)
    out[#out + 1] = ":"
    local v = t[k]
    if v == nil then
      v = t[tonumber(k)]
    end
    encode_value(v, out, depth + 1)
  end
  out[#out + 1] = "}"
end

function encode_value(v, out, depth)
  local kind = type(v)
  if kind == "string" then
    out[#out + 1] = encode_string(v)
  elseif kind == "number" then
    out[#out + 1] = encode_number(v)
  elseif kind == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif kind == "table" then
    encode_table(v, out, depth)
  elseif v == M.null or v == nil then
    out[#out + 1] = "null"
  else
    error("json: cannot encode a " .. kind)
  end
end

function M.encode(v)
  local out = {}
  encode_value(v, out, 0)
  return table.concat(out)
end

--- A deep copy (arrays stay marked).
function M.copy(v)
  if type(v) ~= "table" then
    return v
  end
  local out = {}
  for k, x in pairs(v) do
    out[k] = M.copy(x)
  end
  return setmetatable(out, getmetatable(v))
end

return M
