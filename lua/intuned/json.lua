-- intuned.json: the JSON encoder for request bodies, and the array mark.
--
-- Why in Lua, and why not lua-cjson. Request bodies are small (a job's
-- definition, a few payloads), so what matters is that the encoder is easy
-- to read, exact, and that every misuse raises an error naming the value's
-- path and blaming the caller's line. In Lua each of those is a few plain
-- lines, on every Lua version, and an error is an ordinary error(msg, level);
-- a C encoder would need its own buffer that a memory error cannot leak, its
-- own path strings, and a second way to raise. Debian's lua-cjson 2.1.0 is
-- not an option: it writes integers above 2^53 with 14 significant digits,
-- cannot write [] and keeps its settings global to every user of the module.
--
-- What it writes:
--   integers   exact, all 64 bits on Lua 5.3+ ("%d"); on 5.1, 5.2 and LuaJIT,
--              where every number is a double, integral doubles up to 2^53
--              are written as integers.
--   floats     the shortest of %.15g, %.16g and %.17g that reads back as the
--              same double, with a "." whatever the process locale; on 5.3+
--              an integral float keeps a ".0" so it reads back as a float,
--              and -0.0 is "-0.0" everywhere.
--   strings    checked as UTF-8 (RFC 3629: no overlongs, no surrogates,
--              nothing above U+10FFFF); '"', '\' and the control characters
--              U+0000..U+001F escaped, everything else as it is.
--   null       M.null (core.null, the light userdata NULL) is null.
--   tables     marked with M.array, or with keys 1..n only (n >= 1): an
--              array; string keys only: an object, its keys sorted by byte
--              value (deterministic output whatever the locale); unmarked
--              and empty: {}. Marked and empty: [].
-- Everything else raises (see M.encode).
--
-- The array mark is core.array_mt, the metatable that core.decode gives
-- every array it builds, so a decoded value written back keeps [] as [].

local compat = require("intuned.compat")
local core = require("intuned.core")

local M = {}

local array_mt = core.array_mt
local null = core.null

local byte, find, format, gsub = string.byte, string.find, string.format, string.gsub
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge
local getmetatable, setmetatable, next, rawequal, rawget = getmetatable, setmetatable, next, rawequal, rawget
local type, tonumber, tostring = type, tonumber, tostring
local number_type = compat.number_type
local HAS_INTEGERS = compat.HAS_INTEGERS

-- As deep as core.decode reads by default (INTUNED_JSON_MAX_DEPTH).
M.MAX_DEPTH = 256

-- JSON null: write it where a value must be present but empty.
M.null = null

--- array([t]) -> t: marks t (or a new table) as a JSON array, so that it is
-- written [...] even when empty. t must have no metatable of its own.
function M.array(t)
  if t == nil then
    return setmetatable({}, array_mt)
  end
  if type(t) ~= "table" then
    error(format("bad argument #1 to 'array' (table expected, got %s)", type(t)), 2)
  end
  local mt = getmetatable(t)
  if mt ~= nil and not rawequal(mt, array_mt) then
    error("bad argument #1 to 'array' (the table has a metatable of its own)", 2)
  end
  return setmetatable(t, array_mt)
end

--- is_array(v) -> boolean: whether v carries the array mark.
function M.is_array(v)
  return type(v) == "table" and rawequal(getmetatable(v), array_mt)
end

---------------------------------------------------------------------------
-- Strings
---------------------------------------------------------------------------

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
  ["\r"] = "\\r", ["\t"] = "\\t",
}
for c = 0, 31 do
  local ch = string.char(c)
  ESCAPES[ch] = ESCAPES[ch] or format("\\u%04x", c)
end
-- %c is the C library's iscntrl: always U+0000..U+001F, and DEL or more in
-- some locales; a byte without an entry above is kept as it is.
local NEEDS_ESCAPE = '[%c"\\]'

-- Position of the first byte that does not start a well-formed UTF-8
-- sequence (the same rules as the decoder's utf8_len), or nil.
local function utf8_error(s)
  local i = find(s, "[\128-\255]")
  while i do
    local c, c2, c3, c4 = byte(s, i, i + 3)
    local len
    if c < 0xC2 then
      return i              -- continuation byte, or overlong C0/C1
    elseif c < 0xE0 then
      if not (c2 and c2 >= 0x80 and c2 <= 0xBF) then return i end
      len = 2
    elseif c < 0xF0 then
      local lo = c == 0xE0 and 0xA0 or 0x80   -- overlong
      local hi = c == 0xED and 0x9F or 0xBF   -- UTF-16 surrogates
      if not (c2 and c2 >= lo and c2 <= hi and c3 and c3 >= 0x80 and c3 <= 0xBF) then
        return i
      end
      len = 3
    elseif c < 0xF5 then
      local lo = c == 0xF0 and 0x90 or 0x80   -- overlong
      local hi = c == 0xF4 and 0x8F or 0xBF   -- above U+10FFFF
      if not (c2 and c2 >= lo and c2 <= hi and c3 and c3 >= 0x80 and c3 <= 0xBF
              and c4 and c4 >= 0x80 and c4 <= 0xBF) then
        return i
      end
      len = 4
    else
      return i
    end
    i = find(s, "[\128-\255]", i + len)
  end
  return nil
end

local function quote(s)
  if find(s, NEEDS_ESCAPE) then
    s = gsub(s, NEEDS_ESCAPE, ESCAPES)
  end
  return '"' .. s .. '"'
end

-- Byte order, for when "<" on strings follows the locale's collation
-- (strcoll; LC_COLLATE other than C).
local function bytes_less(a, b)
  local na, nb = #a, #b
  for i = 1, na < nb and na or nb do
    local x, y = byte(a, i), byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return na < nb
end

-- Does "<" on strings compare bytes? LuaJIT's always does; PUC Lua's calls
-- strcoll, which does in the C locale only.
local function plain_string_order()
  if rawget(_G, "jit") then
    return true
  end
  local setlocale = os and os.setlocale
  local collate = setlocale and setlocale(nil, "collate")
  return collate == "C" or collate == "POSIX"
end

---------------------------------------------------------------------------
-- Numbers
---------------------------------------------------------------------------

local TWO_53 = 2 ^ 53

-- Patterns that replace the locale's decimal separator with ".".
local decimal_cache = {}
local function decimal_separator()
  -- PUC Lua formats through the C library, which follows LC_NUMERIC;
  -- LuaJIT formats numbers itself, always with ".".
  local sep = format("%.1f", 0.5):sub(2, -2)
  if sep == "." then
    return nil
  end
  local pattern = decimal_cache[sep]
  if not pattern then
    pattern = gsub(sep, "[%p%s]", "%%%0")
    decimal_cache[sep] = pattern
  end
  return pattern
end

-- Text of a finite float. `sep` is the pattern of the locale's decimal
-- separator, nil when it is ".".
local function float_text(x, sep)
  if x == 0 then
    if 1 / x < 0 then
      return "-0.0"
    end
    return HAS_INTEGERS and "0.0" or "0"
  end
  if not HAS_INTEGERS and x == floor(x) and x >= -TWO_53 and x <= TWO_53 then
    return format("%.0f", x)
  end
  -- tonumber reads the locale's separator, as format writes it.
  local s = format("%.15g", x)
  if tonumber(s) ~= x then
    s = format("%.16g", x)
    if tonumber(s) ~= x then
      s = format("%.17g", x)
    end
  end
  if sep then
    s = gsub(s, sep, ".")
  end
  if HAS_INTEGERS and not find(s, "[.eE]") then
    s = s .. ".0"           -- "3" would read back as the integer 3
  end
  return s
end

---------------------------------------------------------------------------
-- Paths, for the error messages
---------------------------------------------------------------------------

local KEYWORDS = {}
for word in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[word] = true
end

-- A key as Lua source: "name" as .name, anything else as ["..."] with
-- decimal escapes (valid in every Lua version) for control characters and
-- for every byte >= 0x80 of a string that is not UTF-8.
local function string_literal(s)
  local bad = utf8_error(s) ~= nil
  return '"' .. gsub(s, bad and '[%c"\\\128-\255]' or '[%c"\\]', function(c)
    if c == '"' or c == "\\" then
      return "\\" .. c
    end
    if c == "\n" then
      return "\\n"
    end
    if c == "\t" then
      return "\\t"
    end
    local b = byte(c)
    if b >= 0x80 and not bad then
      return c
    end
    return "\\" .. b
  end) .. '"'
end

local function segment(key)
  if type(key) == "number" then
    return format("[%d]", key)
  end
  if find(key, "^[A-Za-z_][A-Za-z0-9_]*$") and not KEYWORDS[key] then
    return "." .. key
  end
  return "[" .. string_literal(key) .. "]"
end

local function path_text(st, depth)
  local parts = { st.root }
  for i = 1, depth do
    parts[i + 1] = segment(st.path[i])
  end
  return concat(parts)
end

-- Records the misuse of the value at path[1..depth]; returns true, which
-- every writer passes up unchanged.
local function fail(st, depth, what)
  st.err = format("intuned: cannot encode %s: %s", path_text(st, depth), what)
  return true
end

-- A key that is neither a string nor an array index, for a message.
local function describe_key(k)
  if type(k) == "number" then
    if k ~= k then
      return "NaN"
    end
    if number_type(k) == "integer" or (k == floor(k) and k > -TWO_53 and k < TWO_53) then
      return format("%d", k)  -- 0, not 5.1's -0
    end
    return tostring(k)
  end
  if type(k) == "boolean" then
    return tostring(k)
  end
  if k == null then
    return "intuned.null"
  end
  return "a " .. type(k)
end

-- The smallest string key of t in byte order, so the message of a mixed
-- table names the same key on every run.
local function first_string_key(t)
  local first
  for k in next, t do
    if type(k) == "string" and (first == nil or bytes_less(k, first)) then
      first = k
    end
  end
  return first
end

-- " (FILE*)" for a value whose metatable has a __name, else "".
local function type_name(v)
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  return type(name) == "string" and " (" .. name .. ")" or ""
end

---------------------------------------------------------------------------
-- The writer
---------------------------------------------------------------------------

-- Every writer appends to st.out and returns nil, or calls fail and
-- returns true. st.path[i] is the key that led to the value at depth i.

local write_value

local function is_index(k)
  if HAS_INTEGERS then
    return number_type(k) == "integer" and k >= 1
  end
  return k >= 1 and k < huge and k == floor(k)
end

local function write_array(st, t, n, depth)
  local out, path = st.out, st.path
  out[#out + 1] = "["
  for i = 1, n do
    if i > 1 then
      out[#out + 1] = ","
    end
    path[depth + 1] = i
    if write_value(st, rawget(t, i), depth + 1) then
      return true
    end
  end
  out[#out + 1] = "]"
  return nil
end

local function write_object(st, t, n, depth)
  local keys, i = {}, 0
  for k in next, t do
    i = i + 1
    keys[i] = k
  end
  if st.plain_order then
    sort(keys)
  else
    sort(keys, bytes_less)
  end
  local out, path = st.out, st.path
  out[#out + 1] = "{"
  for j = 1, n do
    local k = keys[j]
    path[depth + 1] = k
    local bad = utf8_error(k)
    if bad then
      return fail(st, depth + 1, format("a key that is not valid UTF-8 (byte %d)", bad))
    end
    out[#out + 1] = (j > 1 and "," or "") .. quote(k) .. ":"
    if write_value(st, rawget(t, k), depth + 1) then
      return true
    end
  end
  out[#out + 1] = "}"
  return nil
end

local function write_table(st, t, depth)
  if depth >= M.MAX_DEPTH then
    return fail(st, depth, format("nested deeper than %d levels", M.MAX_DEPTH))
  end
  local open = st.open[t]
  if open then
    return fail(st, depth, "a cycle (this table is also " .. path_text(st, open - 1) .. ")")
  end
  -- What the keys make of t: `ints` positive integer keys from `low` to
  -- `max`, `strs` string keys.
  local ints, low, max, strs = 0, huge, 0, 0
  for k in next, t do
    local kt = type(k)
    if kt == "string" then
      strs = strs + 1
    elseif kt == "number" and is_index(k) then
      ints = ints + 1
      if k > max then
        max = k
      end
      if k < low then
        low = k
      end
    else
      return fail(st, depth, "a table with the key " .. describe_key(k)
        .. " (keys are strings, or 1..n for an array)")
    end
  end
  local marked = rawequal(getmetatable(t), array_mt)
  if ints > 0 and strs > 0 then
    return fail(st, depth, format("a table with both array items and string keys ([%d] and %s)",
      low, string_literal(first_string_key(t))))
  end
  if strs > 0 and marked then
    return fail(st, depth, format("an array (intuned.array) with string keys (%s)",
      string_literal(first_string_key(t))))
  end
  if max > ints then
    local hole = 1
    while rawget(t, hole) ~= nil do
      hole = hole + 1
    end
    return fail(st, depth, format("a sparse array ([%d] is nil, [%d] is not)", hole, max))
  end
  local out = st.out
  if ints == 0 and strs == 0 then
    out[#out + 1] = (marked or st.arrays[t]) and "[]" or "{}"
    return nil
  end
  st.open[t] = depth + 1
  local failed
  if ints > 0 then
    failed = write_array(st, t, ints, depth)
  else
    failed = write_object(st, t, strs, depth)
  end
  st.open[t] = nil
  return failed
end

function write_value(st, v, depth)
  local t = type(v)
  local out = st.out
  if t == "string" then
    local bad = utf8_error(v)
    if bad then
      return fail(st, depth, format("a string that is not valid UTF-8 (byte %d)", bad))
    end
    out[#out + 1] = quote(v)
  elseif t == "number" then
    if number_type(v) == "integer" then
      out[#out + 1] = format("%d", v)
    elseif v ~= v then
      return fail(st, depth, "NaN (JSON has no NaN)")
    elseif v == huge or v == -huge then
      return fail(st, depth, (v > 0 and "inf" or "-inf") .. " (JSON has no infinities)")
    else
      out[#out + 1] = float_text(v, st.sep)
    end
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "table" then
    return write_table(st, v, depth)
  elseif v == null then
    out[#out + 1] = "null"
  elseif t == "nil" then
    return fail(st, depth, "nil (intuned.null is JSON null)")
  else
    return fail(st, depth, "a " .. t .. type_name(v))
  end
  return nil
end

--- encode(value [, root [, level [, arrays]]]) -> string: value as compact JSON.
-- Misuse raises error(message, level): the message names the path of the
-- offending value from `root` (default "value"), e.g.
--   intuned: cannot encode body.payload[3].parameters.x: a function
-- `level` is error()'s level counted from the caller of encode: 1 (the
-- default) blames the line that called encode, 2 the line that called
-- that function, and so on. Misuse is: a function, a thread, a userdata
-- other than null, nil at the top, NaN, an infinity, a string or key that
-- is not UTF-8, a key that is neither a string nor a positive integer, a
-- table with holes (sparse), a table with both [1].. and string keys
-- (mixed), a marked array with string keys, a cycle, and more than
-- MAX_DEPTH levels of nesting. `arrays`, a set of tables, names empty
-- unmarked tables to write as [] (intuned.body finds them where the
-- contract wants an array).
function M.encode(value, root, level, arrays)
  if root ~= nil and type(root) ~= "string" then
    error(format("bad argument #2 to 'encode' (string expected, got %s)", type(root)), 2)
  end
  if level ~= nil and (type(level) ~= "number" or level < 1 or level ~= floor(level)) then
    error("bad argument #3 to 'encode' (a positive integer expected)", 2)
  end
  local st = {
    out = {}, path = {}, open = {}, root = root or "value", arrays = arrays or {},
    sep = decimal_separator(), plain_order = plain_string_order(),
  }
  if write_value(st, value, 0) then
    error(st.err, (level or 1) + 1)
  end
  return concat(st.out)
end

return M
