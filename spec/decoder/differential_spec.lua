-- Differential test: core.decode against lua-cjson on generated documents.
--
-- Valid documents (random trees of every JSON type, with every escape,
-- surrogate pairs, raw UTF-8, number forms and whitespace kinds) must decode
-- in both to the same values. Mutated copies of them (bytes inserted,
-- deleted, replaced, truncated) must be accepted or rejected by both alike,
-- except where lua-cjson is knowingly more lenient than RFC 8259; each such
-- class is listed in LENIENT below with the reason. Any other disagreement
-- fails with the seed, so `INTUNED_DIFF_SEED=<seed>` replays it.
--
-- Numbers compare by value (see support/jsoncompare.lua); objects are decoded
-- with keep_nulls, since cjson keeps null members as cjson.null.
local core = require("intuned.core")
local cmp = require("support.jsoncompare")

local has_cjson, cjson_module = pcall(require, "cjson")

local SEED = tonumber(os.getenv("INTUNED_DIFF_SEED") or "") or 20261128
local VALID_DOCS = tonumber(os.getenv("INTUNED_DIFF_DOCS") or "") or 5000
local MUTANTS_PER_DOC = 2
local MAX_DEPTH = 6

-- Park-Miller generator: exact in doubles, so every Lua gives the same
-- documents for a seed.
local function rng(seed)
  local state = seed % 2147483646 + 1
  local r = {}
  function r.int(lo, hi)
    state = state * 16807 % 2147483647
    return lo + state % (hi - lo + 1)
  end
  function r.pick(list)
    return list[r.int(1, #list)]
  end
  function r.chance(p)
    return r.int(1, 1000) <= p * 1000
  end
  return r
end

local utf8_char = require("support.utf8_char")

local WS = { " ", "\t", "\r", "\n", "  ", "\r\n" }
local ESCAPES = { '\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t" }

local function gen_codepoint(r)
  local band = r.int(1, 4)
  if band == 1 then return r.int(0x80, 0x7FF) end
  if band == 2 then
    local cp = r.int(0x800, 0xFFFF)
    if cp >= 0xD800 and cp <= 0xDFFF then cp = cp - 0x800 end
    return cp
  end
  if band == 3 then return r.int(0x10000, 0x10FFFF) end
  return r.int(0x5D, 0x7E)    -- ASCII past '"' and '\\'
end

local function hex4(r, n)
  local s = ("%04x"):format(n)
  return r.chance(0.5) and s:upper() or s
end

local function gen_string(r)
  local parts = { '"' }
  for _ = 1, r.int(0, 12) do
    local kind = r.int(1, 7)
    if kind <= 2 then
      local c = r.int(0x20, 0x7E)
      if c == 0x22 or c == 0x5C then c = 0x41 end
      parts[#parts + 1] = string.char(c):rep(r.int(1, 4))
    elseif kind == 3 then
      parts[#parts + 1] = r.pick(ESCAPES)
    elseif kind == 4 then
      parts[#parts + 1] = "\\u" .. hex4(r, r.int(0, 0xD7FF))
    elseif kind == 5 then
      local cp = r.int(0x10000, 0x10FFFF) - 0x10000
      parts[#parts + 1] = "\\u" .. hex4(r, 0xD800 + math.floor(cp / 0x400))
        .. "\\u" .. hex4(r, 0xDC00 + cp % 0x400)
    else
      parts[#parts + 1] = utf8_char(gen_codepoint(r))
    end
  end
  parts[#parts + 1] = '"'
  return table.concat(parts)
end

local function digits(r, n, first_nonzero)
  local t = {}
  for i = 1, n do
    t[i] = tostring(i == 1 and first_nonzero and r.int(1, 9) or r.int(0, 9))
  end
  return table.concat(t)
end

local function gen_number(r)
  local kind = r.int(1, 8)
  local sign = r.chance(0.3) and "-" or ""
  if kind == 1 then return sign .. "0" end
  if kind == 2 then return sign .. digits(r, r.int(1, 6), true) end
  if kind == 3 then return sign .. digits(r, r.int(15, 19), true) end
  if kind == 4 then return sign .. digits(r, r.int(20, 30), true) end
  local int = r.chance(0.3) and "0" or digits(r, r.int(1, 4), true)
  local frac = r.chance(0.7) and ("." .. digits(r, r.int(1, kind == 8 and 25 or 6))) or ""
  local exp = ""
  if frac == "" or r.chance(0.5) then
    local e = kind == 7 and r.int(-330, 330) or r.int(-30, 30)
    local esign = e < 0 and "-" or r.pick({ "", "+" })
    exp = r.pick({ "e", "E" }) .. esign .. tostring(math.abs(e))
  end
  return sign .. int .. frac .. exp
end

local function ws(r)
  return r.chance(0.2) and r.pick(WS) or ""
end

local function gen_value(r, depth, out)
  local kind = r.int(1, depth < MAX_DEPTH and 9 or 6)
  if kind == 1 then
    out[#out + 1] = gen_string(r)
  elseif kind == 2 or kind == 3 then
    out[#out + 1] = gen_number(r)
  elseif kind == 4 then
    out[#out + 1] = r.pick({ "true", "false" })
  elseif kind == 5 then
    out[#out + 1] = "null"
  elseif kind == 6 then
    out[#out + 1] = r.chance(0.5) and "[]" or "{}"
  elseif kind <= 8 then
    out[#out + 1] = "[" .. ws(r)
    for i = 1, r.int(1, 6) do
      if i > 1 then out[#out + 1] = ws(r) .. "," .. ws(r) end
      gen_value(r, depth + 1, out)
    end
    out[#out + 1] = ws(r) .. "]"
  else
    out[#out + 1] = "{" .. ws(r)
    local keys = {}
    for i = 1, r.int(1, 6) do
      if i > 1 then out[#out + 1] = ws(r) .. "," .. ws(r) end
      -- Now and then a duplicate key: both keep the last value.
      local key = (#keys > 0 and r.chance(0.05)) and r.pick(keys) or gen_string(r)
      keys[#keys + 1] = key
      out[#out + 1] = key .. ws(r) .. ":" .. ws(r)
      gen_value(r, depth + 1, out)
    end
    out[#out + 1] = ws(r) .. "}"
  end
end

local function gen_document(r)
  local out = { ws(r) }
  gen_value(r, 0, out)
  out[#out + 1] = ws(r)
  return table.concat(out)
end

-- Bytes a mutation inserts: structure, number and literal characters,
-- control bytes, NUL, and bytes that break UTF-8.
local NOISE = { "{", "}", "[", "]", ",", ":", '"', "\\", "0", "1", "-", "+", ".", "e", "E",
  "x", "n", "t", "f", "a", " ", "\t", "\n", "\0", "\1", "\31", "\127", "\128", "\192", "\237",
  "\244", "\255", "u", "/", "*", "I", "N" }

local function mutate(r, s)
  for _ = 1, r.int(1, 3) do
    local pos = r.int(1, #s + 1)
    local op = r.int(1, 5)
    if op == 1 then
      s = s:sub(1, pos - 1) .. s:sub(pos + 1)
    elseif op == 2 then
      s = s:sub(1, pos - 1) .. r.pick(NOISE) .. s:sub(pos)
    elseif op == 3 then
      s = s:sub(1, pos - 1) .. r.pick(NOISE) .. s:sub(pos + 1)
    elseif op == 4 then
      s = s:sub(1, pos - 1)
    else
      local len = r.int(1, 8)
      s = s:sub(1, pos - 1) .. s:sub(pos, pos + len - 1) .. s:sub(pos)
    end
  end
  return s
end

-- Is the run of number-ish characters around 1-based position pos an
-- invalid JSON number that strtod still reads?
local function number_run(s, pos)
  local function in_run(i)
    local c = s:sub(i, i)
    return c ~= "" and c:find("^[%w%+%-%.]$") ~= nil
  end
  local at = in_run(pos) and pos or (in_run(pos - 1) and pos - 1)
  if not at then return false end
  local a, b = at, at
  while in_run(a - 1) do a = a - 1 end
  while in_run(b + 1) do b = b + 1 end
  local run = s:sub(a, b)
  return run:find("^[%+%-]?[%d%.]") ~= nil or run:lower():find("^[%+%-]?[in][na]") ~= nil
end

-- Where lua-cjson 2.1.0 accepts what RFC 8259 forbids. Each entry decides
-- from core.decode's error whether the document falls in its class.
local LENIENT = {
  {
    name = "invalid number",
    why = "lua-cjson hands any run of number characters to strtod, which reads leading "
      .. "zeros, hex, inf, nan, a leading '+' and '1.'; RFC 8259 allows none of them",
    match = function(s, msg, pos)
      return (msg:find("^leading zeros") or msg:find("^invalid number")
        or msg:find("^unexpected character") or msg:find("^trailing garbage"))
        and number_run(s, pos)
    end,
  },
  {
    name = "raw control character",
    why = "lua-cjson copies bytes below 0x20 inside strings; RFC 8259 requires them escaped",
    match = function(_, msg) return msg:find("^control character in string") end,
  },
  {
    name = "invalid UTF-8",
    why = "lua-cjson does not validate UTF-8; RFC 8259 text must be UTF-8",
    match = function(_, msg) return msg:find("^invalid UTF%-8") end,
  },
  {
    name = "NUL ends the document",
    why = "lua-cjson stops at the first NUL byte outside a string as if the input ended there, "
      .. "so garbage after it goes unseen",
    match = function(s, _, pos) return s:find("\0", 1, true) ~= nil and s:find("\0", 1, true) <= pos end,
  },
}

local function classify(s, msg, pos)
  for _, class in ipairs(LENIENT) do
    if class.match(s, msg, pos) then return class end
  end
  return nil
end

describe("core.decode against lua-cjson", function()
  if not has_cjson then
    it("needs lua-cjson", function() pending("lua-cjson is not installed") end)
    return
  end
  local cjson = cjson_module.new()

  local function cjson_decode(s)
    local ok, v = pcall(cjson.decode, s)
    return ok, v
  end

  local function where(i, s)
    return ("seed %d, document %d: %s"):format(SEED, i, cmp.show(s))
  end

  it("reads the same values from " .. VALID_DOCS .. " generated documents", function()
    local r = rng(SEED)
    for i = 1, VALID_DOCS do
      local s = gen_document(r)
      local ours, msg = core.decode(s, { keep_nulls = true })
      assert(ours ~= nil, ("rejected (%s), %s"):format(tostring(msg), where(i, s)))
      local ok, theirs = cjson_decode(s)
      assert(ok, ("lua-cjson rejected (%s), %s"):format(tostring(theirs), where(i, s)))
      local path, why = cmp.diff(ours, theirs)
      assert(path == nil, ("differs at %s (%s), %s"):format(tostring(path), tostring(why), where(i, s)))
    end
  end)

  it("agrees on acceptance of mutated documents, except the listed leniencies", function()
    local r = rng(SEED + 1)
    local seen = {}
    for i = 1, VALID_DOCS * MUTANTS_PER_DOC do
      local s = mutate(r, gen_document(r))
      local ours, msg, pos = core.decode(s, { keep_nulls = true })
      local ok, theirs = cjson_decode(s)
      if ours ~= nil and ok then
        local path, why = cmp.diff(ours, theirs)
        assert(path == nil, ("differs at %s (%s), %s"):format(tostring(path), tostring(why), where(i, s)))
      elseif ours ~= nil then
        error(("lua-cjson rejected (%s) what core.decode accepts, %s"):format(tostring(theirs), where(i, s)))
      elseif ok then
        local class = classify(s, msg, pos)
        assert(class, ("only core.decode rejects (%s), %s"):format(msg, where(i, s)))
        seen[class.name] = (seen[class.name] or 0) + 1
      end
    end
    -- The mutations are meant to reach the lenient classes; if none shows
    -- up the generator has stopped testing what it claims to.
    assert.is_truthy(seen["invalid number"])
    assert.is_truthy(seen["raw control character"])
    assert.is_truthy(seen["invalid UTF-8"])
  end)

  it("classifies each known leniency from a fixed example", function()
    local examples = {
      ["invalid number"] = { "[01]", "[0x10]", "[+1]", "[1.]", "[-inf]", "[nan]" },
      ["raw control character"] = { '["a\1b"]', '["\n"]' },
      ["invalid UTF-8"] = { '["\255"]', '["\192\128"]', '["\237\160\128"]' },
      ["NUL ends the document"] = { "[1]\0x" },
    }
    for name, docs in pairs(examples) do
      for _, s in ipairs(docs) do
        local ours, msg, pos = core.decode(s)
        assert.is_nil(ours, s)
        assert.is_true((cjson_decode(s)), "lua-cjson should accept " .. cmp.show(s))
        local class = classify(s, msg, pos)
        assert.equal(name, class and class.name, cmp.show(s))
      end
    end
  end)
end)
