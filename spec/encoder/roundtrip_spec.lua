-- Property: every value intuned.json writes, core.decode reads back as the
-- same value: same keys, same strings, numbers of the same subtype and the
-- same double (the sign of zero too), arrays with the array mark and
-- objects without. Random values from support/json_values.lua, seeded by
-- support/prng.lua: a failure prints its seed, and INTUNED_SEED=<seed>
-- replays it. INTUNED_ROUNDTRIP_DOCS sets how many documents.
local core = require("intuned.core")
local json = require("intuned.json")
local prng = require("support.prng")
local values = require("support.json_values")
local cmp = require("support.jsoncompare")

local DOCS = tonumber(os.getenv("INTUNED_ROUNDTRIP_DOCS") or "") or 3000

describe("json.encode then core.decode", function()
  it("gives back each of " .. DOCS .. " random documents", function()
    local seed = prng.seed()
    local generate = values.new(prng.new(seed))
    local where = function(i, text)
      return ("seed %d (INTUNED_SEED=%d replays it), document %d: %s"):format(seed, seed, i, cmp.show(text))
    end
    local arrays, empty_arrays, objects = 0, 0, 0
    for i = 1, DOCS do
      local v = generate()
      local ok, text = pcall(json.encode, v)
      assert(ok, ("encode raised (%s), seed %d, document %d"):format(tostring(text), seed, i))
      -- object members that are null come back only with keep_nulls
      local back, msg = core.decode(text, { keep_nulls = true })
      assert(back ~= nil, ("core.decode rejected it (%s), %s"):format(tostring(msg), where(i, text)))
      local path, why = values.diff(v, back)
      assert(path == nil, ("differs at %s (%s), %s"):format(tostring(path), tostring(why), where(i, text)))
      -- and what was read back is written as the same text
      assert(json.encode(back) == text, "written again differently, " .. where(i, text))
      local _, a = text:gsub("%[", "")
      local _, e = text:gsub("%[%]", "")
      local _, o = text:gsub("{", "")
      arrays, empty_arrays, objects = arrays + a, empty_arrays + e, objects + o
    end
    -- the generator still makes what it claims to (brackets inside strings
    -- count too, which only adds)
    assert.is_true(arrays > DOCS / 2, "few arrays")
    assert.is_true(empty_arrays > DOCS / 20, "few empty arrays")
    assert.is_true(objects > DOCS / 2, "few objects")
  end)

  it("gives back the edge numbers of every kind", function()
    local samples = { 0, -0.0, 0.0, 1, -1, 0.1, 1 / 3, 5e-324, 2.2250738585072014e-308,
      1.7976931348623157e308, 2 ^ 53, 2 ^ 53 + 2, 2 ^ 63, 1e21, 1e-7, 123.0 }
    if math.type then
      local more = { math.maxinteger, math.mininteger, math.tointeger(2 ^ 53) + 1, 123 }
      for _, v in ipairs(more) do
        samples[#samples + 1] = v
      end
    end
    for _, v in ipairs(samples) do
      local text = json.encode({ v })
      local path, why = values.diff({ v }, core.decode(text))
      assert(path == nil, ("%s: %s %s"):format(text, tostring(path), tostring(why)))
    end
  end)
end)
