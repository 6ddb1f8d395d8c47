-- What each Lua version gets, stated per version. The suite runs on Lua 5.1,
-- 5.2, 5.3, 5.4 and LuaJIT (make test-all); this file says how they differ.
--
-- Number rules:
--   Lua 5.3, 5.4     a JSON integer that fits 64 bits is a Lua integer
--                    (math.type "integer", prints "100"); anything with a
--                    fraction or exponent, or beyond 64 bits, is a float.
--   Lua 5.1, 5.2,    one number type, a double: every JSON number is a float.
--   LuaJIT           Integers up to 2^53 are exact and print without ".0";
--                    beyond that they are rounded to the nearest double.
local compat = require("support.compat")
local core = require("intuned.core")
local fx = require("support.fixtures")

local decode = core.decode

local VERSION = jit and "LuaJIT" or _VERSION:match("%d%.%d")

describe("Lua versions", function()
  it("runs on a known interpreter and names it in the User-Agent", function()
    assert.truthy(({ ["5.1"] = true, ["5.2"] = true, ["5.3"] = true, ["5.4"] = true, LuaJIT = true })[VERSION])
    local client = fx.client()
    local id = fx.id("ok")
    assert.truthy(client:get_job_run(fx.PROJECT, fx.JOB, id))
    local ua = fx.server():requests(id)[1].headers["user-agent"]
    assert.truthy(ua:find(compat.LUA, 1, true), ua)
    client:close()
  end)

  if VERSION == "5.3" or VERSION == "5.4" then
    it("5.3+: JSON integers are Lua integers, other numbers floats", function()
      assert.is_true(compat.HAS_INTEGERS)
      assert.are.equal("integer", compat.number_type(decode("100")))
      assert.are.equal("100", tostring(decode("100")))
      assert.are.equal("float", compat.number_type(decode("100.0")))
      assert.are.equal("100.0", tostring(decode("100.0")))
      assert.are.equal("float", compat.number_type(decode("1e2")))
      assert.are.equal(math.maxinteger, decode("9223372036854775807"))
      assert.are.equal("float", compat.number_type(decode("9223372036854775808")))
      -- 2^53 + 1 is kept exactly as an integer
      assert.are.equal("9007199254740993", tostring(decode("9007199254740993")))
    end)
  else
    it("5.1, 5.2 and LuaJIT: every JSON number is a double", function()
      assert.is_false(compat.HAS_INTEGERS)
      assert.are.equal("float", compat.number_type(decode("100")))
      assert.are.equal("float", compat.number_type(decode("100.5")))
      -- whole numbers still print without a fraction
      assert.are.equal("100", tostring(decode("100")))
      assert.are.equal("100", tostring(decode("100.0")))
      assert.are.equal(2 ^ 53, decode("9007199254740992"))
      -- 2^53 + 1 has no double: it rounds to 2^53
      assert.are.equal(2 ^ 53, decode("9007199254740993"))
      assert.are.equal(-2 ^ 63, decode("-9223372036854775808"))
    end)
  end

  it("returns HTTP statuses and counts that compare equal to plain numbers on every version", function()
    local client = fx.client()
    local res, _, meta = client:get_job_run(fx.PROJECT, fx.JOB, fx.id("ok"))
    assert.are.equal(200, meta.status)
    assert.are.equal(100, res.jobRun.payloads)
    assert.are.equal(string.format("%d", 100), string.format("%d", res.jobRun.payloads))
    client:close()
  end)

  describe("intuned.compat", function()
    it("unpacks and packs with nils on every version", function()
      local t = compat.pack(1, nil, 3)
      assert.are.equal(3, t.n)
      assert.are.same({ 1, nil, 3 }, { compat.unpack(t, 1, t.n) })
    end)

    it("gives the exit status of a command on every version", function()
      assert.are.same({ true, 0 }, { compat.execute("exit 0") })
      assert.are.same({ false, 3 }, { compat.execute("exit 3") })
      local ok, out, code = compat.run("echo out; echo err >&2; exit 5", true)
      assert.are.same({ false, "out\nerr\n", 5 }, { ok, out, code })
      assert.are.same({ true, "x", 0 }, { compat.run("printf x") })
    end)

    it("finds modules on a path like package.searchpath, also on 5.1", function()
      local found = compat.searchpath("intuned.compat", "nowhere/?.lua;lua/?.lua")
      assert.are.equal("lua/intuned/compat.lua", found)
      local missing, tried = compat.searchpath("no.such", "a/?.lua;b/?.so")
      assert.is_nil(missing)
      assert.truthy(tried:find("a/no/such.lua", 1, true), tried)
      assert.truthy(tried:find("b/no/such.so", 1, true), tried)
    end)

    it("does not take plain Lua for nginx", function()
      assert.is_false(compat.in_nginx())
    end)
  end)
end)
