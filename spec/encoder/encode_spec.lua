-- Behaviour of intuned.json: the encoder of request bodies and the array
-- mark. Every rule of the module's header comment, one describe each.
local json = require("intuned.json")
local core = require("intuned.core")
local locale_child = require("support.locale_child")

local encode, array, null = json.encode, json.array, json.null
local HAS_INTEGERS = math.type ~= nil
local LUA = require("support.compat").LUA

-- The message that encode raised for v (root "body"), without the position.
local function misuse(v, root, level)
  local ok, err = pcall(encode, v, root or "body", level)
  assert.is_false(ok, "expected an error")
  assert.is_string(err)
  return err
end

describe("intuned.json", function()
  describe("scalars", function()
    it("writes booleans, null and strings", function()
      assert.equal("true", encode(true))
      assert.equal("false", encode(false))
      assert.equal("null", encode(null))
      assert.equal("null", encode(core.null))
      assert.equal('"x"', encode("x"))
      assert.equal('""', encode(""))
    end)

    it("is the same null as core.null and lua-cjson's", function()
      assert.equal(core.null, json.null)
      local ok, cjson = pcall(require, "cjson")
      if ok then
        assert.equal(cjson.null, json.null)
      end
    end)
  end)

  describe("integers", function()
    it("writes small integers without a fraction", function()
      assert.equal("0", encode(0))
      assert.equal("42", encode(42))
      assert.equal("-7", encode(-7))
      assert.equal("[1,2,3]", encode({ 1, 2, 3 }))
    end)

    it("writes every 64 bits exactly on Lua 5.3+", function()
      if not HAS_INTEGERS then
        pending(LUA .. " has no integers")
        return
      end
      assert.equal("9223372036854775807", encode(math.maxinteger))
      assert.equal("-9223372036854775808", encode(math.mininteger))
      assert.equal("9007199254740993", encode(9007199254740993))
      assert.equal("1234567890123456789", encode(1234567890123456789))
      assert.equal(math.maxinteger, core.decode(encode(math.maxinteger)))
      assert.equal(math.mininteger, core.decode(encode(math.mininteger)))
    end)

    it("writes integral doubles up to 2^53 as integers on 5.1, 5.2 and LuaJIT", function()
      if HAS_INTEGERS then
        pending(LUA .. " has integers: integral floats keep a .0")
        return
      end
      assert.equal("3", encode(3.0))
      assert.equal("9007199254740992", encode(2 ^ 53))
      assert.equal("-9007199254740992", encode(-2 ^ 53))
      assert.equal("1000000000000000", encode(1e15))
      -- past 2^53 a double is no longer every integer: the shortest exact form
      assert.equal("9007199254740994", encode(2 ^ 53 + 2))
      assert.equal(2 ^ 53 + 2, core.decode(encode(2 ^ 53 + 2)))
      assert.equal("1.152921504606847e+18", encode(2 ^ 60))
      assert.equal(2 ^ 60, core.decode(encode(2 ^ 60)))
    end)
  end)

  describe("floats", function()
    it("writes the shortest of %.15g, %.16g and %.17g that reads back exactly", function()
      assert.equal("0.1", encode(0.1))
      assert.equal("0.30000000000000004", encode(0.1 + 0.2))
      assert.equal("0.3333333333333333", encode(1 / 3))
      assert.equal("1.5", encode(1.5))
      assert.equal("-2.25", encode(-2.25))
      assert.equal("1e+21", encode(1e21))
      assert.equal("1e-07", encode(1e-7))
      assert.equal("1.7976931348623157e+308", encode(1.7976931348623157e308))
      assert.equal("2.2250738585072014e-308", encode(2.2250738585072014e-308))
      assert.equal("4.94065645841247e-324", encode(5e-324))
    end)

    it("reads every one of them back as the same double", function()
      local samples = { 0.1, 0.1 + 0.2, 1 / 3, 2 / 3, 1e21, 1e22, 1e23, 1e-7, 5e-324, 1e-323,
        2.2250738585072014e-308, 2.2250738585072009e-308, 1.7976931348623157e308, 4.35, 1.005,
        123456.789, -0.000123, 6.02214076e23, 2 ^ -1074, 2 ^ -1022, 2 ^ 1023, 2 ^ 63, 2 ^ 64 }
      for _, x in ipairs(samples) do
        for _, v in ipairs({ x, -x }) do
          local back = core.decode(encode(v))
          assert.equal(v, back, encode(v))
          if HAS_INTEGERS then
            assert.equal("float", math.type(back), encode(v))
          end
        end
      end
    end)

    it("keeps integral floats floats on Lua 5.3+", function()
      if not HAS_INTEGERS then
        pending(LUA .. " has one number type")
        return
      end
      assert.equal("3.0", encode(3.0))
      assert.equal("0.0", encode(0.0))
      assert.equal("9007199254740992.0", encode(2 ^ 53))
      assert.equal("123456789012345.0", encode(123456789012345.0))
      assert.equal("1e+15", encode(1e15))
      assert.equal("float", math.type(core.decode(encode(3.0))))
      assert.equal("float", math.type(core.decode(encode(2 ^ 53))))
    end)

    it("writes negative zero as -0.0", function()
      assert.equal("-0.0", encode(-0.0))
      local back = core.decode(encode(-0.0))
      assert.equal(-math.huge, 1 / back)
      assert.equal("[-0.0]", encode({ -0.0 }))
    end)
  end)

  describe("strings", function()
    it("escapes '\"', '\\' and every control character", function()
      local short = { [8] = "\\b", [9] = "\\t", [10] = "\\n", [12] = "\\f", [13] = "\\r" }
      for c = 0, 31 do
        local want = short[c] or ("\\u%04x"):format(c)
        assert.equal('"a' .. want .. 'b"', encode("a" .. string.char(c) .. "b"))
      end
      assert.equal([["\"\\"]], encode('"\\'))
      assert.equal([["say \"hi\"\n"]], encode('say "hi"\n'))
    end)

    it("writes DEL, '/' and every other printable byte as it is", function()
      assert.equal('"\127/"', encode("\127/"))
      for c = 0x20, 0x7E do
        local ch = string.char(c)
        if ch ~= '"' and ch ~= "\\" then
          assert.equal('"' .. ch .. '"', encode(ch))
        end
      end
    end)

    it("writes valid UTF-8 as it is", function()
      local s = "h\195\169llo \226\130\172 \240\159\152\128 \239\191\189 \244\143\191\191 \223\191"
      assert.equal('"' .. s .. '"', encode(s))
      assert.equal(s, core.decode(encode(s)))
    end)

    it("raises for invalid UTF-8, naming the byte", function()
      local samples = {
        "\128",                 -- stray continuation byte
        "\192\175",             -- overlong '/'
        "\193\191",             -- overlong
        "\224\128\175",         -- overlong 3-byte
        "\240\128\128\175",     -- overlong 4-byte
        "\237\160\128",         -- UTF-16 surrogate encoded in UTF-8
        "\237\191\191",         -- UTF-16 surrogate encoded in UTF-8
        "\244\144\128\128",     -- above U+10FFFF
        "\245\128\128\128",     -- invalid lead byte
        "\255",                 -- invalid byte
        "\195",                 -- truncated 2-byte
        "\226\130",             -- truncated 3-byte
        "\240\159\152",         -- truncated 4-byte
        "\195A",                -- missing continuation
      }
      for _, bad in ipairs(samples) do
        assert.equal("intuned: cannot encode body.name: a string that is not valid UTF-8 (byte 3)",
          misuse({ name = "ab" .. bad .. "cd" }))
      end
      assert.equal("intuned: cannot encode body[2]: a string that is not valid UTF-8 (byte 3)",
        misuse({ "ok", "\195\169\226\255" }))
    end)
  end)

  describe("arrays and objects", function()
    it("writes a table with keys 1..n as an array", function()
      assert.equal('[1,"two",true,null]', encode({ 1, "two", true, null }))
      assert.equal("[[1],[[2]]]", encode({ { 1 }, { { 2 } } }))
    end)

    it("writes a table with string keys as an object", function()
      assert.equal('{"a":1}', encode({ a = 1 }))
      assert.equal('{"1":"k"}', encode({ ["1"] = "k" }))
      assert.equal('{"":0,"a b":{"c\\n":[1]}}', encode({ [""] = 0, ["a b"] = { ["c\n"] = { 1 } } }))
    end)

    it("writes an unmarked empty table as {} and json.array() as []", function()
      assert.equal("{}", encode({}))
      assert.equal("[]", encode(array()))
      assert.equal('{"a":[],"o":{}}', encode({ a = array(), o = {} }))
      assert.equal("[[],{}]", encode({ array(), {} }))
    end)

    it("json.array marks the table it is given and returns it", function()
      local t = { 1, 2 }
      assert.equal(t, array(t))
      assert.is_true(json.is_array(t))
      assert.equal("[1,2]", encode(t))
      assert.equal(t, array(t))         -- marking twice is fine
      local e = array()
      assert.is_true(json.is_array(e))
      assert.equal(core.array_mt, getmetatable(e))
      assert.is_nil(next(e))
    end)

    it("json.is_array is true of marked tables only", function()
      assert.is_false(json.is_array({}))
      assert.is_false(json.is_array({ 1 }))
      assert.is_false(json.is_array("x"))
      assert.is_false(json.is_array(nil))
      assert.is_true(json.is_array(array({ 1 })))
    end)

    it("json.array refuses what is not a plain table", function()
      assert.has_error(function() array("x") end,
        "bad argument #1 to 'array' (table expected, got string)")
      assert.has_error(function() array(setmetatable({}, {})) end,
        "bad argument #1 to 'array' (the table has a metatable of its own)")
    end)

    it("sorts object keys by byte value", function()
      local t = { b = 1, a = 2, B = 3, ["_"] = 4, ["\195\169"] = 5, aa = 6, [""] = 7, ["a\0"] = 8 }
      assert.equal('{"":7,"B":3,"_":4,"a":2,"a\\u0000":8,"aa":6,"b":1,"\195\169":5}', encode(t))
      -- and the same text every time, nested too
      local doc = { z = { y = 1, x = { w = 2, v = 3 } }, a = { 3, { c = 1, b = 2 } } }
      local text = encode(doc)
      assert.equal('{"a":[3,{"b":2,"c":1}],"z":{"x":{"v":3,"w":2},"y":1}}', text)
      for _ = 1, 20 do
        assert.equal(text, encode(doc))
      end
    end)

    it("writes object members that are null", function()
      assert.equal('{"a":null,"b":[null]}', encode({ a = null, b = { null } }))
    end)

    it("reads raw: __index, __pairs and __len are not consulted", function()
      local t = setmetatable({ a = 1 }, {
        __index = function() return "hidden" end,
        __pairs = function() error("not called") end,
        __len = function() return 5 end,
      })
      assert.equal('{"a":1}', encode(t))
      assert.equal('{"t":{"a":1}}', encode({ t = t }))
    end)

    it("writes the same table twice when it is not a cycle", function()
      local shared = { 1 }
      assert.equal('{"a":[1],"b":[1],"c":[[1],[1]]}', encode({ a = shared, b = shared, c = { shared, shared } }))
    end)

    it("writes 256 levels and no more", function()
      local t = {}
      for _ = 1, 255 do
        t = { t }
      end
      assert.equal(("["):rep(255) .. "{}" .. ("]"):rep(255), encode(t))
      assert.matches("^intuned: cannot encode body" .. ("%[1%]"):rep(256) .. ": nested deeper than 256 levels$",
        misuse({ t }))
    end)
  end)

  describe("misuse", function()
    local function f() end

    it("names the path of the value, from the root", function()
      assert.equal("intuned: cannot encode body.payload[3].parameters.x: a function",
        misuse({ payload = { 1, 2, { parameters = { x = f } } } }))
      assert.equal("intuned: cannot encode job: a function", misuse(f, "job"))
      assert.equal("intuned: cannot encode value.a: a function", (select(2, pcall(encode, { a = f }))))
    end)

    it("writes keys that are not names as quoted strings", function()
      assert.equal('intuned: cannot encode body["a b"]["1"]["end"]["x\\"\\n\\\\"]._ok1: a function',
        misuse({ ["a b"] = { ["1"] = { ["end"] = { ['x"\n\\'] = { _ok1 = f } } } } }))
      assert.equal('intuned: cannot encode body["\195\169"]: a function', misuse({ ["\195\169"] = f }))
      assert.equal('intuned: cannot encode body["k\\255"]: a key that is not valid UTF-8 (byte 2)',
        misuse({ ["k\255"] = 1 }))
      assert.equal('intuned: cannot encode body["\\1"]: a function', misuse({ ["\1"] = f }))
    end)

    it("refuses functions, threads and userdata other than null", function()
      assert.equal("intuned: cannot encode body.f: a function", misuse({ f = print }))
      assert.equal("intuned: cannot encode body[1]: a thread", misuse({ coroutine.create(f) }))
      -- with the __name of its metatable where there is one (5.3+)
      local name = getmetatable(io.stdout).__name
      assert.equal("intuned: cannot encode body.u: a userdata" .. (name and " (" .. name .. ")" or ""),
        misuse({ u = io.stdout }))
      if newproxy then -- 5.1 and LuaJIT: a userdata without a metatable
        assert.equal("intuned: cannot encode body: a userdata", misuse(newproxy(false)))
      end
    end)

    it("refuses nil at the top", function()
      assert.equal("intuned: cannot encode body: nil (intuned.null is JSON null)", misuse(nil))
    end)

    it("refuses NaN and the infinities", function()
      assert.equal("intuned: cannot encode body.x: NaN (JSON has no NaN)", misuse({ x = 0 / 0 }))
      assert.equal("intuned: cannot encode body[1]: inf (JSON has no infinities)", misuse({ math.huge }))
      assert.equal("intuned: cannot encode body: -inf (JSON has no infinities)", misuse(-math.huge))
    end)

    it("refuses cycles, naming where the table already is", function()
      local t = { a = { b = {} } }
      t.a.b.c = t
      assert.equal("intuned: cannot encode body.a.b.c: a cycle (this table is also body)", misuse(t))
      local u = { 1, { 2 } }
      u[2][2] = u[2]
      assert.equal("intuned: cannot encode body[2][2]: a cycle (this table is also body[2])", misuse(u))
    end)

    it("refuses sparse tables", function()
      assert.equal("intuned: cannot encode body.ids: a sparse array ([2] is nil, [3] is not)",
        misuse({ ids = { 1, nil, 3 } }))
      assert.equal("intuned: cannot encode body: a sparse array ([1] is nil, [5] is not)",
        misuse({ [5] = true }))
      local marked = array({ 1 })
      marked[3] = 3
      assert.equal("intuned: cannot encode body: a sparse array ([2] is nil, [3] is not)", misuse(marked))
    end)

    it("refuses mixed tables", function()
      assert.equal('intuned: cannot encode body.p: a table with both array items and string keys ([1] and "n")',
        misuse({ p = { 1, 2, n = 2 } }))
      assert.equal('intuned: cannot encode body: a table with both array items and string keys ([4] and "a")',
        misuse({ [4] = 1, b = 1, a = 1 }))
      assert.equal('intuned: cannot encode body: an array (intuned.array) with string keys ("a")',
        misuse(array({ b = 1, a = 2 })))
    end)

    it("refuses keys that are neither strings nor positive integers", function()
      local tail = " (keys are strings, or 1..n for an array)"
      assert.equal("intuned: cannot encode body.t: a table with the key true" .. tail, misuse({ t = { [true] = 1 } }))
      assert.equal("intuned: cannot encode body: a table with the key 1.5" .. tail, misuse({ [1.5] = 1 }))
      assert.equal("intuned: cannot encode body: a table with the key 0" .. tail, misuse({ [0] = 1 }))
      assert.equal("intuned: cannot encode body: a table with the key -1" .. tail, misuse({ [-1] = 1, 2 }))
      assert.equal("intuned: cannot encode body: a table with the key inf" .. tail, misuse({ [math.huge] = 1 }))
      assert.equal("intuned: cannot encode body: a table with the key a table" .. tail, misuse({ [{}] = 1 }))
      assert.equal("intuned: cannot encode body: a table with the key intuned.null" .. tail,
        misuse({ [null] = 1 }))
    end)

    it("checks its own arguments", function()
      assert.has_error(function() encode(1, 5) end, "bad argument #2 to 'encode' (string expected, got number)")
      assert.has_error(function() encode(1, "x", 0) end, "bad argument #3 to 'encode' (a positive integer expected)")
      assert.has_error(function() encode(1, "x", 1.5) end, "bad argument #3 to 'encode' (a positive integer expected)")
    end)
  end)

  describe("error level", function()
    local source = debug.getinfo(1, "S").short_src

    it("blames the line that called encode", function()
      local line
      local ok, err = pcall(function()
        line = debug.getinfo(1, "l").currentline; local s = encode({ f = print }, "body"); return s
      end)
      assert.is_false(ok)
      assert.equal(("%s:%d: intuned: cannot encode body.f: a function"):format(source, line), err)
    end)

    it("blames the caller's caller with level 2, as a facade passes it", function()
      local function create_job(body)
        local text = encode(body, "body", 2)
        return text
      end
      local line
      local ok, err = pcall(function()
        line = debug.getinfo(1, "l").currentline; local s = create_job({ payload = { print } }); return s
      end)
      assert.is_false(ok)
      assert.equal(("%s:%d: intuned: cannot encode body.payload[1]: a function"):format(source, line), err)
    end)
  end)

  describe("locale", function()
    it("writes a '.' and sorts by bytes under de_DE.UTF-8", function()
      if not locale_child.available() then
        pending("no locale with a decimal comma (localedef missing)")
        return
      end
      local said = locale_child.run([[
        local json = require("intuned.json")
        local decode = require("intuned.core").decode
        assert(os.setlocale("de_DE.UTF-8"), "the locale did not load")
        -- the C library now writes (and strtod reads) a decimal comma and
        -- strcoll puts "a" before "B"; LuaJIT formats numbers and compares
        -- strings itself, without the locale
        if not rawget(_G, "jit") then
          assert(string.format("%.1f", 0.5) == "0,5", string.format("%.1f", 0.5))
          assert("a" < "B", "collation is still byte order")
        end
        local function check(v, want)
          local got = json.encode(v)
          assert(got == want, ("%s: %s"):format(want, got))
          assert(decode(got) == v or v ~= v, got)
        end
        check(0.5, "0.5")
        check(-0.25, "-0.25")
        check(1.2345678901234567, "1.2345678901234567")
        check(0.1 + 0.2, "0.30000000000000004")
        check(2.5e300, "2.5e+300")
        check(1e-7, "1e-07")
        check(5e-324, "4.94065645841247e-324")
        if math.type then check(3.0, "3.0") else check(3.0, "3") end
        local text = json.encode({ b = 1, a = { 1.5 }, B = 2, A = 3, ["\195\169"] = 4 })
        assert(text == '{"A":3,"B":2,"a":[1.5],"b":1,"\195\169":4}', text)
        io.write("encoded")
      ]])
      assert.equal("encoded", said)
    end)
  end)
end)
