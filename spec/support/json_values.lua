-- Random Lua values of every shape intuned.json writes, for the encoder's
-- property and differential specs, and an exact comparison of two values
-- (number subtypes, the sign of zero and array marks included).
--
-- values.new(rng, opts) -> generate(): rng from support.prng; opts:
--   max_depth      nesting of the generated tables (default 4)
--   empty_arrays   generate json.array() (default true)
--   int_limit      integers stay below this magnitude (default: none, so all
--                  64 bits on 5.3+ and integral doubles to 2^53 and past it
--                  on 5.1, 5.2 and LuaJIT)
--   short_floats   only floats that 14 significant digits write exactly
--                  (default false: any finite double, subnormals included)
local json = require("intuned.json")
local utf8_char = require("support.utf8_char")

local M = {}

local HAS_INTEGERS = math.type ~= nil

-- Doubles that sit on some edge of formatting or reading back.
local SPECIAL_FLOATS = {
  0.1, 0.2, 0.3, 1 / 3, 2 / 3, 1e21, 1e22, 1e23, 1e-7, 1e-5, 5e-324, 1e-323,
  2.2250738585072014e-308, 2.2250738585072009e-308, 1.7976931348623157e308,
  2 ^ 53, 2 ^ 53 + 2, 2 ^ 63, 2 ^ 64, 123.0, 0.0, -0.0, 1.5, -2.5, 100.0, 1e15, 1e16, 1e17,
  123456789012345678, 9007199254740993, 0.1 + 0.2, 4.35, 1.005, 1e300 * 10,
}

-- Integers on every Lua; on 5.3+ the 64-bit edges too.
local SPECIAL_INTS = { 0, 1, -1, 2 ^ 31 - 1, -2 ^ 31, 2 ^ 32, 2 ^ 53 - 1, -(2 ^ 53 - 1), 2 ^ 53 }
if HAS_INTEGERS then
  for i, v in ipairs(SPECIAL_INTS) do
    SPECIAL_INTS[i] = math.tointeger(v)
  end
  local more = { math.maxinteger, math.mininteger, math.maxinteger - 1, math.mininteger + 1,
    math.tointeger(2 ^ 53) + 1, -math.tointeger(2 ^ 53) - 1, math.tointeger(2 ^ 62) }
  for _, v in ipairs(more) do
    SPECIAL_INTS[#SPECIAL_INTS + 1] = v
  end
end

-- Pieces of strings: plain ASCII, every byte JSON makes us escape, DEL and
-- "/" (written as they are), and UTF-8 of every length.
local function piece(rng)
  local kind = rng(8)
  if kind <= 3 then
    local c = rng(0x20, 0x7E)
    return string.char(c):rep(rng(1, 4))
  elseif kind == 4 then
    return string.char(rng(0, 31))
  elseif kind == 5 then
    local specials = { '"', "\\", "/", "\127", "\\u0041", "\0" }
    return specials[rng(#specials)]
  else
    local band = rng(3)
    local cp
    if band == 1 then
      cp = rng(0x80, 0x7FF)
    elseif band == 2 then
      cp = rng(0x800, 0xFFFF - 0x800)
      if cp >= 0xD800 then
        cp = cp + 0x800   -- past the surrogates
      end
    else
      cp = rng(0x10000, 0x10FFFF)
    end
    return utf8_char(cp)
  end
end

local function random_string(rng, max_pieces)
  local parts = {}
  for i = 1, rng(0, max_pieces) do
    parts[i] = piece(rng)
  end
  return table.concat(parts)
end

-- Any finite double: a 53-bit mantissa from two draws (exact in doubles),
-- scaled by a power of two; mostly moderate exponents, now and then the
-- whole range down to the subnormals.
local function random_double(rng)
  if rng(8) == 1 then
    return SPECIAL_FLOATS[rng(#SPECIAL_FLOATS)]
  end
  local m = 2 ^ 52 + rng(0, 2 ^ 26 - 1) * 2 ^ 26 + rng(0, 2 ^ 26 - 1)
  local e = rng(4) == 1 and rng(-1074, 1023) or rng(-40, 60)
  local x = m / 2 ^ 52 * 2 ^ e
  return rng(2) == 1 and -x or x
end

-- A double that %.14g writes exactly: the nearest one to a decimal of at
-- most 12 significant digits.
local function short_double(rng)
  local x = tonumber(("%." .. rng(1, 12) .. "g"):format(random_double(rng)))
  if x ~= x or x == math.huge or x == -math.huge then
    return 1.5
  end
  if x ~= 0 and math.abs(x) < 1e-300 then
    return 0.5              -- subnormals print with fewer digits than they hold
  end
  return x
end

local function random_integer(rng, limit)
  if limit then
    local v = rng(0, 2 ^ 26 - 1) * 2 ^ 27 + rng(0, 2 ^ 27 - 1)
    v = v % limit
    if HAS_INTEGERS then
      v = math.tointeger(v)
    end
    return rng(2) == 1 and -v or v
  end
  if rng(4) == 1 then
    return SPECIAL_INTS[rng(#SPECIAL_INTS)]
  end
  if HAS_INTEGERS then
    -- every bit pattern of 64: 22 + 21 + 21 bits, the product wraps
    return rng(0, 2 ^ 22 - 1) * 4398046511104 + rng(0, 2 ^ 21 - 1) * 2097152 + rng(0, 2 ^ 21 - 1)
  end
  -- integral doubles to 2^53, sometimes a power of two past it
  if rng(6) == 1 then
    return 2 ^ rng(54, 70)
  end
  local v = rng(0, 2 ^ 26 - 1) * 2 ^ 27 + rng(0, 2 ^ 27 - 1)
  return rng(2) == 1 and -v or v
end

function M.new(rng, opts)
  opts = opts or {}
  local max_depth = opts.max_depth or 4
  local empty_arrays = opts.empty_arrays ~= false

  local value

  local function scalar()
    local kind = rng(10)
    if kind <= 2 then
      return random_string(rng, 12)
    elseif kind <= 4 then
      return random_integer(rng, opts.int_limit)
    elseif kind <= 6 then
      return opts.short_floats and short_double(rng) or random_double(rng)
    elseif kind <= 8 then
      return rng(2) == 1
    end
    return json.null
  end

  function value(depth)
    -- mostly a table at the top, as request bodies are
    local kind = depth == 0 and rng(3, 10) or depth < max_depth and rng(10) or 1
    if kind <= 4 then
      return scalar()
    elseif kind <= 7 then
      local n = rng(0, 6)
      if n == 0 then
        return empty_arrays and json.array() or {}
      end
      local t = {}
      for i = 1, n do
        t[i] = value(depth + 1)
      end
      -- marked or not, a table with 1..n is written as an array
      return rng(2) == 1 and json.array(t) or t
    end
    local t = {}
    for _ = 1, rng(0, 6) do
      t[random_string(rng, 4)] = value(depth + 1)
    end
    return t
  end

  return function()
    return value(0)
  end
end

-- Is v written as a JSON array? (marked, or keys 1..n with n >= 1)
local function written_as_array(v)
  return json.is_array(v) or v[1] ~= nil
end

-- nil when `want` (a generated value) and `got` (what core.decode read
-- back) are the same JSON value with the same Lua types, else a path and a
-- reason. A decoded array must carry the array mark, an object must not.
function M.diff(want, got, path)
  path = path or "$"
  local tw, tg = type(want), type(got)
  if tw ~= tg then
    return path, ("type %s, read back %s"):format(tw, tg)
  end
  if tw == "number" then
    if HAS_INTEGERS and math.type(want) ~= math.type(got) then
      return path, ("%s %s, read back %s %s"):format(math.type(want), tostring(want), math.type(got),
        tostring(got))
    end
    if want ~= got or (want == 0 and 1 / want ~= 1 / got) then
      return path, ("%.17g, read back %.17g"):format(want, got)
    end
  elseif tw == "table" then
    local array = written_as_array(want)
    if array ~= json.is_array(got) then
      return path, array and "array read back without the mark" or "object read back with the mark"
    end
    for k, v in pairs(want) do
      local p, why = M.diff(v, got[k], path .. "." .. tostring(k))
      if p then
        return p, why
      end
    end
    for k in pairs(got) do
      if want[k] == nil then
        return path .. "." .. tostring(k), "read back but not written"
      end
    end
  elseif want ~= got then
    return path, ("%q, read back %q"):format(tostring(want), tostring(got))
  end
  return nil
end

return M
