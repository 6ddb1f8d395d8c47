-- The decoder keeps recently decoded short strings (up to 40 bytes) in a
-- per-state cache so that answers which repeat the same keys and values skip
-- Lua's hashing. A cache may only ever save work: every string must come back
-- exactly as written, whatever collides with it, after any collection, from
-- any coroutine, and the cache must stay small.
local core = require("intuned.core")
local prng = require("support.prng")

local decode = core.decode

-- JSON text for a Lua string made of printable ASCII other than '"' and '\'.
local function quoted(s)
  return '"' .. s .. '"'
end

local ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/ "

local function random_string(rng, len)
  local t = {}
  for i = 1, len do
    local k = rng(#ALPHABET)
    t[i] = ALPHABET:sub(k, k)
  end
  return table.concat(t)
end

-- Decodes an array of the strings and checks every element.
local function round_trip(strings)
  local parts = {}
  for i, s in ipairs(strings) do
    parts[i] = quoted(s)
  end
  local got = assert(decode("[" .. table.concat(parts, ",") .. "]"))
  assert.equal(#strings, #got)
  for i, s in ipairs(strings) do
    if got[i] ~= s then
      error(("element %d: expected %q, got %q"):format(i, s, tostring(got[i])))
    end
  end
end

describe("string cache", function()
  it("returns every string exactly over many colliding random strings", function()
    local rng = prng.new(prng.seed())
    -- 4,000 strings of every cached length and a little beyond, in a cache
    -- of 1,024 slots: most slots are taken and retaken several times over.
    local strings = {}
    for i = 1, 4000 do
      strings[i] = random_string(rng, rng(0, 48))
    end
    round_trip(strings)
    -- The same strings in another order, now mostly found in the cache.
    local shuffled = {}
    for i = #strings, 1, -1 do
      shuffled[#shuffled + 1] = strings[i]
    end
    round_trip(shuffled)
    round_trip(strings)
  end)

  it("tells apart strings that share their length, first and last eight bytes", function()
    -- Same length, head and tail: only the middle differs, so these fall in
    -- one slot and only the full comparison can tell them apart.
    local strings = {}
    for len = 17, 40 do
      local middle = len - 16
      for k = 0, 3 do
        local mid = string.rep(string.char(65 + k), middle)
        strings[#strings + 1] = "headHEAD" .. mid .. "tailTAIL"
      end
      -- differs from the others in its last middle byte only
      strings[#strings + 1] = "headHEAD" .. string.rep("A", middle - 1) .. "Z" .. "tailTAIL"
    end
    for _ = 1, 3 do
      round_trip(strings)
    end
    -- Lengths 9 to 16: head and tail overlap and cover the whole string.
    local short = {}
    for len = 9, 16 do
      short[#short + 1] = string.rep("x", len)
      short[#short + 1] = string.rep("x", len - 1) .. "y"
      short[#short + 1] = "y" .. string.rep("x", len - 1)
    end
    round_trip(short)
    round_trip(short)
  end)

  it("keeps short strings apart from their prefixes and from the empty string", function()
    local strings = { "", "a", "ab", "abc", "abcdefg", "abcdefgh", "abcdefghi", "", "a", "\0" }
    -- "\0" is written as an escape, which the cache does not keep.
    local parts = {}
    for i, s in ipairs(strings) do
      parts[i] = s == "\0" and '"\\u0000"' or quoted(s)
    end
    local doc = "[" .. table.concat(parts, ",") .. "]"
    for _ = 1, 2 do
      assert.same(strings, decode(doc))
    end
    assert.same({ [""] = "", a = "" }, decode('{"":"","a":""}'))
  end)

  it("finds a short string the same way at the end of the input and inside it", function()
    -- A short string at the very end of the input and the same string
    -- with bytes after it must find the same cache slot, and "ba" must
    -- never match "ab".
    local words = { "ab", "ba", "a", "abc", "cba", "bac", "abcdefg", "gfedcba", "x\0" }
    for _ = 1, 2 do
      for _, w in ipairs(words) do
        local text = w == "x\0" and '"x\\u0000"' or ('"' .. w .. '"')
        assert.equal(w, decode(text))                     -- the input ends right after
        assert.same({ w, "tail" }, decode("[" .. text .. ',"tail"]')) -- bytes follow
        assert.equal(w, decode(text))
      end
    end
  end)

  it("caches UTF-8 strings byte for byte", function()
    local strings = { "é", "ééé", "日本語のキー", "😀", "€uro", "naïve café" }
    round_trip(strings)
    round_trip(strings)
  end)

  it("survives full collections between decodes", function()
    local doc = '{"status":"SUCCESS","id":"jr_123","nested":{"status":"FAILED","k":"v"}}'
    assert.is_table(decode(doc))
    collectgarbage("collect")
    collectgarbage("collect")
    local again = decode(doc)
    assert.same({ status = "SUCCESS", id = "jr_123", nested = { status = "FAILED", k = "v" } }, again)
    -- Fill the cache with other strings, collect, and read the first ones back.
    local rng = prng.new(7)
    local others = {}
    for i = 1, 2000 do
      others[i] = random_string(rng, rng(1, 40))
    end
    round_trip(others)
    others = nil -- luacheck: ignore 311
    collectgarbage("collect")
    assert.same(again, decode(doc))
  end)

  it("gives the same strings to coroutines of the same state", function()
    local doc = '["alpha","beta","gamma","alpha"]'
    local main = decode(doc)
    local co = coroutine.create(function()
      local inner = decode(doc)
      coroutine.yield(inner)
      return decode(doc)
    end)
    local ok1, a = coroutine.resume(co)
    local ok2, b = coroutine.resume(co)
    assert.is_true(ok1)
    assert.is_true(ok2)
    assert.same(main, a)
    assert.same(main, b)
  end)

  it("stays small however many distinct strings pass through it", function()
    local rng = prng.new(11)
    local function batch()
      local strings = {}
      for i = 1, 2000 do
        strings[i] = random_string(rng, rng(20, 40))
      end
      round_trip(strings)
    end
    -- Ten batches first: Lua's own string table may grow once (a one-time
    -- step of up to 128 KiB, depending on every other string alive), so the
    -- growth is measured over the ten batches after those.
    for _ = 1, 10 do
      batch()
    end
    collectgarbage("collect")
    collectgarbage("collect")
    local before = collectgarbage("count")
    for _ = 1, 10 do
      batch()
    end
    collectgarbage("collect")
    collectgarbage("collect")
    local growth = collectgarbage("count") - before
    -- 20,000 more distinct strings; the cache holds at most 1,024 of them.
    assert.is_true(growth < 64, ("Lua heap grew by %.1f KiB"):format(growth))
  end)
end)
