-- Differential test: json.encode against lua-cjson's encode, on random
-- values where lua-cjson 2.1.0 writes the right thing: integers of at most
-- 14 digits and floats that 14 significant digits hold (it writes every
-- number with %.14g, so even 2^53 - 1 comes out as 9.007199254741e+15), and
-- no empty arrays (it cannot write []). Both texts must decode to the same
-- value, read by core.decode and by lua-cjson's decode alike. Seeded by
-- support/prng.lua: a failure prints its seed, INTUNED_SEED=<seed> replays
-- it.
local core = require("intuned.core")
local json = require("intuned.json")
local prng = require("support.prng")
local values = require("support.json_values")
local cmp = require("support.jsoncompare")

local has_cjson, cjson_module = pcall(require, "cjson")

local DOCS = tonumber(os.getenv("INTUNED_DIFF_DOCS") or "") or 2000

describe("json.encode against lua-cjson", function()
  if not has_cjson then
    it("needs lua-cjson", function() pending("lua-cjson is not installed") end)
    return
  end
  -- an instance of its own: the module's settings are global
  local cjson = cjson_module.new()

  it("writes what decodes to the same values on " .. DOCS .. " random documents", function()
    local seed = prng.seed()
    local generate = values.new(prng.new(seed), { empty_arrays = false, int_limit = 1e14, short_floats = true })
    for i = 1, DOCS do
      local v = generate()
      local ours, theirs = json.encode(v), cjson.encode(v)
      local where = ("seed %d (INTUNED_SEED=%d replays it), document %d:\n  ours   %s\n  cjson  %s")
        :format(seed, seed, i, cmp.show(ours), cmp.show(theirs))
      local a, b = core.decode(ours, { keep_nulls = true }), core.decode(theirs, { keep_nulls = true })
      assert(a ~= nil and b ~= nil, "core.decode rejected one, " .. where)
      local path, why = cmp.diff(a, b)
      assert(path == nil, ("core.decode reads them apart at %s (%s), %s"):format(tostring(path), tostring(why), where))
      path, why = cmp.diff(cjson.decode(ours), cjson.decode(theirs))
      assert(path == nil, ("cjson.decode reads them apart at %s (%s), %s"):format(tostring(path), tostring(why), where))
    end
  end)

  it("is right where lua-cjson is not", function()
    local big = 2 ^ 53 - 1
    if math.type then
      big = math.tointeger(big)
    end
    assert.equal("9.007199254741e+15", cjson.encode(big))
    assert.equal(big, core.decode(json.encode(big)))
    assert.equal("{}", cjson.encode(json.array()))
    assert.equal("[]", json.encode(json.array()))
    assert.equal("0.1", json.encode(0.1))
    assert.equal(0.1 + 0.2, core.decode(json.encode(0.1 + 0.2)))
    assert.are_not.equal(0.1 + 0.2, core.decode(cjson.encode(0.1 + 0.2)))
  end)
end)
