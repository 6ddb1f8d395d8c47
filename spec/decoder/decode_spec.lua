-- Behaviour of core.decode: strict RFC 8259 JSON straight into Lua values.
local core = require("intuned.core")

local decode, null = core.decode, core.null
local utf8_char = require("support.utf8_char")
local fx = require("support.fixtures")

-- Asserts that s is rejected and returns the message and 1-based position.
local function rejects(s, opts)
  local v, msg, pos = decode(s, opts)
  assert.is_nil(v, "expected failure for " .. string.format("%q", s))
  assert.is_string(msg)
  assert.is_number(pos)
  assert.matches("at byte " .. pos .. "$", msg)
  return msg, pos
end

local function nested(n)
  return string.rep("[", n) .. string.rep("]", n)
end

describe("core.decode", function()
  describe("value types", function()
    it("decodes every kind of scalar as a top-level document", function()
      assert.equal(3, decode("3"))
      assert.equal("x", decode('"x"'))
      assert.is_true(decode("true"))
      assert.is_false(decode("false"))
      assert.equal(null, decode("null"))
      assert.equal(-2.5, decode("-2.5"))
    end)

    it("exposes null as a light userdata equal to NULL", function()
      assert.equal("userdata", type(null))
      assert.equal(null, decode("[null]")[1])
    end)

    it("decodes objects into tables with string keys", function()
      assert.same({ a = 1, b = "two", c = true }, decode('{"a":1,"b":"two","c":true}'))
      assert.same({}, decode("{}"))
      assert.same({ ["1"] = "k" }, decode('{"1":"k"}'))
    end)

    it("decodes arrays into sequences starting at 1", function()
      local t = decode('[10,"b",false,[],{}]')
      assert.equal(5, #t)
      assert.equal(10, t[1])
      assert.equal("b", t[2])
      assert.is_false(t[3])
      assert.same({}, t[4])
      assert.same({}, t[5])
      assert.same({}, decode("[]"))
    end)

    it("decodes nested structures", function()
      local t = decode('{"a":[1,{"b":[[2],[3,{"c":{}}]]}],"d":{"e":{"f":"g"}}}')
      assert.same({ a = { 1, { b = { { 2 }, { 3, { c = {} } } } } }, d = { e = { f = "g" } } }, t)
    end)

    it("accepts whitespace around every token", function()
      assert.same({ a = { 1, 2 } }, decode(' \t\r\n{ "a" : [ 1 , 2 ] }\n '))
    end)

    it("keeps the last value of a duplicate key", function()
      assert.same({ a = 2 }, decode('{"a":1,"a":2}'))
    end)

    it("lets a later null erase a duplicate key", function()
      assert.same({}, decode('{"a":1,"a":null}'))
    end)
  end)

  describe("nulls", function()
    it("leaves null object members absent", function()
      local t = decode('{"a":null,"b":1}')
      assert.is_nil(t.a)
      assert.equal(1, t.b)
      assert.is_nil(next(decode('{"a":null}')))
    end)

    it("keeps null array elements as core.null so positions survive", function()
      local t = decode("[null,1,null]")
      assert.equal(3, #t)
      assert.equal(null, t[1])
      assert.equal(1, t[2])
      assert.equal(null, t[3])
    end)

    it("keeps null object members as core.null with keep_nulls", function()
      local t = decode('{"a":null,"b":{"c":null}}', { keep_nulls = true })
      assert.equal(null, t.a)
      assert.equal(null, t.b.c)
    end)

    it("treats keep_nulls = false like the default", function()
      assert.same({}, decode('{"a":null}', { keep_nulls = false }))
    end)
  end)

  describe("numbers", function()
    it("makes integer literals Lua integers", function()
      if math.type then
        assert.equal("integer", math.type(decode("42")))
        assert.equal("integer", math.type(decode("-7")))
        assert.equal("integer", math.type(decode("0")))
        assert.equal("float", math.type(decode("1.0")))
        assert.equal("float", math.type(decode("1e2")))
      else -- 5.1, 5.2, LuaJIT: one number type (spec/tools/versions_spec.lua)
        assert.equal("42", tostring(decode("42")))
      end
      assert.equal(42, decode("42"))
    end)

    it("handles the int64 limits", function()
      if math.type then
        assert.equal(math.maxinteger, decode("9223372036854775807"))
        assert.equal(math.mininteger, decode("-9223372036854775808"))
        assert.equal("integer", math.type(decode("-9223372036854775808")))
      end
    end)

    it("turns integers beyond 64 bits into floats", function()
      local v = decode("18446744073709551616")
      assert.equal(1.8446744073709552e19, v)
      if math.type then
        assert.equal("float", math.type(v))
        assert.equal("float", math.type(decode("9223372036854775808")))
        assert.equal("float", math.type(decode("-9223372036854775809")))
      end
      assert.equal(1e30, decode("1000000000000000000000000000000"))
    end)

    it("reads exponents and fractions", function()
      assert.equal(100, decode("1e2"))
      assert.equal(100, decode("1E+2"))
      assert.equal(0.01, decode("1e-2"))
      assert.equal(-1500, decode("-1.5e3"))
      assert.equal(0.5, decode("0.5"))
      assert.equal(123.456, decode("123.456"))
      assert.equal(1.7976931348623157e308, decode("1.7976931348623157e308"))
      assert.equal(5e-324, decode("5e-324"))
      assert.equal(0.1, decode("0.1000000000000000000000000001"))
    end)

    it("gives negative zero for -0.0", function()
      local v = decode("-0.0")
      assert.equal(0, v)
      assert.equal(-math.huge, 1 / v)
      assert.equal(-math.huge, 1 / decode("-0e3"))
    end)

    it("reads -0 as zero", function()
      assert.equal(0, decode("-0"))
    end)

    it("overflows huge exponents to infinity and underflows tiny ones to zero", function()
      assert.equal(math.huge, decode("1e400"))
      assert.equal(-math.huge, decode("-1e400"))
      assert.equal(0, decode("1e-400"))
    end)

    it("ignores the C locale decimal separator", function()
      -- scripts/run-specs.sh compiles a decimal-comma locale into build/locale;
      -- a child process finds it through LOCPATH, so nothing else sees it
      local f = io.open("build/locale/de_DE.UTF-8/LC_NUMERIC", "rb")
      if not f then
        pending("no locale with a decimal comma (localedef missing)")
        return
      end
      f:close()
      local child = os.tmpname()
      local out = assert(io.open(child, "w"))
      out:write([[
        local decode = require("intuned.core").decode
        assert(os.setlocale("de_DE.UTF-8", "numeric"), "the locale did not load")
        -- the C library now writes (and strtod reads) a decimal comma;
        -- LuaJIT formats numbers itself, without the locale
        if not rawget(_G, "jit") then
          assert(string.format("%.1f", 0.5) == "0,5", string.format("%.1f", 0.5))
        end
        assert(decode("0.5") == 0.5)
        assert(decode("1.2345678901234567") == 1.2345678901234567, decode("1.2345678901234567"))
        assert(decode("2.5e300") == 2.5e300)
        assert(decode("[1.5,-0.25]")[2] == -0.25)
        io.write("decoded")
      ]])
      out:close()
      -- With LOCPATH set, glibc's newlocale (called by p11-kit as libcurl
      -- loads) leaks the path list it builds; under `make test-asan` this
      -- one child keeps ASan's checks but not its leak report.
      local p = io.popen(("LOCPATH=\"$PWD/build/locale\" ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:detect_leaks=0\" %s %s 2>&1")
        :format(fx.lua(), child))
      local said = p:read("*a")
      p:close()
      os.remove(child)
      assert.equal("decoded", said)
    end)
  end)

  describe("strings", function()
    it("decodes every escape", function()
      assert.equal('"\\/\b\f\n\r\t', decode([["\"\\\/\b\f\n\r\t"]]))
    end)

    it("turns \\u escapes into UTF-8", function()
      assert.equal("\195\169", decode([["\u00e9"]]))
      assert.equal("\226\130\172", decode([["\u20AC"]]))
      assert.equal("A\0B", decode([["A\u0000B"]]))
      assert.equal("\127", decode([["\u007f"]]))
      assert.equal("\223\191", decode([["\u07ff"]]))
      assert.equal("\239\191\191", decode([["\uffff"]]))
    end)

    it("reads every hex digit and refuses every other byte in each place of \\u", function()
      local hex = "0123456789abcdefABCDEF"
      for place = 1, 4 do
        for c = 0, 255 do
          local digits = { "0", "0", "6", "1" }     -- U+0061, "a"
          digits[place] = string.char(c)
          local text = '"\\u' .. table.concat(digits) .. '"'
          local v, msg = decode(text)
          if hex:find(string.char(c), 1, true) then
            local want = tonumber(table.concat(digits), 16)
            if want >= 0xD800 and want <= 0xDFFF then
              assert.matches("lone surrogate", msg)
            else
              assert.equal(utf8_char(want), v, text)
            end
          else
            assert.is_nil(v, text)
            assert.matches("invalid \\u escape", msg)
          end
        end
      end
      -- cut short inside the four digits: the end of input, not a bad digit
      for n = 0, 3 do
        local v, msg = decode('"\\u' .. ("0"):rep(n))
        assert.is_nil(v)
        assert.matches("unterminated string", msg)
      end
      assert.matches("invalid \\u escape", (select(2, decode('"\\u0g'))))
    end)

    it("combines a surrogate pair into one 4-byte sequence", function()
      assert.equal("\240\159\152\128", decode([["\ud83d\ude00"]]))
      assert.equal("\244\143\191\191", decode([["\uDBFF\uDFFF"]]))
      assert.equal("a\240\144\128\128b", decode([["a\uD800\uDC00b"]]))
    end)

    it("rejects lone surrogates", function()
      local msg, pos = rejects([["\ud800"]])
      assert.matches("lone surrogate", msg)
      assert.equal(2, pos)
      assert.matches("lone surrogate", (rejects([["\udc00"]])))
      assert.matches("lone surrogate", (rejects([["\ud800\u0041"]])))
      assert.matches("lone surrogate", (rejects([["\ud800x"]])))
      assert.matches("lone surrogate", (rejects([["\ude00\ud83d"]])))
    end)

    it("rejects invalid escapes", function()
      local msg, pos = rejects([["ab\x"]])
      assert.matches("invalid escape", msg)
      assert.equal(4, pos)
      rejects([["\'"]])
      rejects([["\u12G4"]])
      rejects([["\U00e9"]])
      rejects([["\u12"]])
    end)

    it("rejects raw control characters", function()
      local msg, pos = rejects('"a\nb"')
      assert.matches("control character", msg)
      assert.equal(3, pos)
      rejects('"\0"')
      rejects('"\t"')
      rejects('"\31"')
    end)

    it("passes valid multibyte UTF-8 through unchanged", function()
      local s = "h\195\169llo \226\130\172 \240\159\152\128 \239\191\189 \244\143\191\191"
      assert.equal(s, decode('"' .. s .. '"'))
      assert.equal(1, decode('{"' .. s .. '":1}')[s])
      assert.equal("\127", decode('"\127"'))
    end)

    it("rejects invalid UTF-8", function()
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
        local msg, pos = rejects('"ab' .. bad .. '"')
        assert.matches("invalid UTF%-8", msg)
        assert.equal(4, pos)
      end
      assert.matches("invalid UTF%-8", (rejects('{"k\255":1}')))
    end)

    it("decodes a 1 MB string without escapes", function()
      local s = string.rep("abcdefghij", 100000) .. "\195\169"
      assert.equal(s, decode('"' .. s .. '"'))
    end)

    it("decodes a 1 MB string with escapes", function()
      local body = string.rep([[ab\"c\\d\n\u00e9\ud83d\ude00]], 40000)
      local want = string.rep('ab"c\\d\n\195\169\240\159\152\128', 40000)
      assert.is_true(#body > 1000000)
      assert.equal(want, decode('"' .. body .. '"'))
    end)

    it("decodes many escaped strings in one document", function()
      local parts, want = {}, {}
      for i = 1, 2000 do
        parts[i] = '"' .. string.rep("x", i) .. [[\n"]]
        want[i] = string.rep("x", i) .. "\n"
      end
      assert.same(want, decode("[" .. table.concat(parts, ",") .. "]"))
    end)
  end)

  describe("invalid documents", function()
    local samples = {
      ["trailing comma in array"] = "[1,2,]",
      ["trailing comma in object"] = '{"a":1,}',
      ["missing colon"] = '{"a" 1}',
      ["missing comma in array"] = "[1 2]",
      ["missing comma in object"] = '{"a":1 "b":2}',
      ["leading zero"] = "01",
      ["negative leading zero"] = "-01",
      ["fraction without digits"] = "1.",
      ["fraction without integer part"] = ".5",
      ["exponent without digits"] = "1e",
      ["exponent sign without digits"] = "1e+",
      ["explicit plus sign"] = "+1",
      ["lone minus"] = "-",
      ["NaN"] = "NaN",
      ["Infinity"] = "Infinity",
      ["negative Infinity"] = "-Infinity",
      ["hex number"] = "0x10",
      ["line comment"] = "[1] // c",
      ["block comment"] = "/* c */ [1]",
      ["single quotes"] = "['a']",
      ["unquoted key"] = "{a:1}",
      ["non-string key"] = "{1:1}",
      ["byte order mark"] = "\239\187\191{}",
      ["garbage after value"] = "[1] x",
      ["two values"] = "1 2",
      ["empty string"] = "",
      ["whitespace only"] = " \t\r\n",
      ["unterminated string"] = '"abc',
      ["unterminated array"] = "[1,2",
      ["unterminated object"] = '{"a":1',
      ["unterminated key"] = '{"a',
      ["missing value"] = '{"a":}',
      ["truncated literal"] = "tru",
      ["misspelled literal"] = "nul1",
      ["capitalised literal"] = "True",
      ["form feed as whitespace"] = "\f1",
      ["vertical tab as whitespace"] = "[1,\v2]",
      ["non-breaking space as whitespace"] = "\194\1601",
      ["closing bracket mismatch"] = "[1}",
      ["lone closing bracket"] = "]",
      ["lone comma"] = ",",
      ["NUL after value"] = "1\0",
    }
    for name, s in pairs(samples) do
      it("rejects " .. name, function()
        rejects(s)
      end)
    end

    it("reports the 1-based position of the offending byte", function()
      local cases = {
        { "[1,]", 4, "unexpected character ']'" },
        { '{"a":1,}', 8, "unexpected character '}'" },
        { '{"a" 1}', 6, "expected ':'" },
        { "[1 2]", 4, "expected ',' or ']'" },
        { "01", 2, "leading zero" },
        { "-01", 3, "leading zero" },
        { "1.", 3, "invalid number" },
        { "[1] x", 5, "trailing garbage" },
        { "NaN", 1, "unexpected character 'N'" },
        { "nul1", 4, "unexpected character '1'" },
        { "\239\187\191{}", 1, "byte order mark" },
        { "", 1, "empty input" },
        { "   ", 4, "empty input" },
        { '"abc', 5, "unterminated string" },
        { "[1,2", 5, "unexpected end of input" },
        { "\1", 1, "unexpected byte 0x01" },
      }
      for _, c in ipairs(cases) do
        local v, msg, pos = decode(c[1])
        assert.is_nil(v)
        assert.equal(c[2], pos, c[1])
        assert.truthy(msg:find(c[3], 1, true), msg)
        assert.equal("at byte " .. c[2], msg:sub(-#("at byte " .. c[2])))
      end
    end)
  end)

  describe("nesting", function()
    it("accepts 256 levels by default", function()
      local t = decode(nested(256))
      for _ = 1, 255 do
        t = t[1]
      end
      assert.same({}, t)
    end)

    it("rejects 257 levels by default", function()
      local msg, pos = rejects(nested(257))
      assert.matches("nesting too deep", msg)
      assert.equal(257, pos)
      assert.matches("nesting too deep", (rejects(string.rep('{"a":', 257) .. "1" .. string.rep("}", 257))))
    end)

    it("fails cleanly on 100000 levels", function()
      assert.matches("nesting too deep", (rejects(nested(100000))))
      assert.matches("nesting too deep", (rejects(string.rep("[", 100000))))
    end)

    it("honours max_depth", function()
      assert.is_table(decode(nested(3), { max_depth = 3 }))
      assert.equal(4, select(2, rejects(nested(4), { max_depth = 3 })))
      assert.equal(1, decode("1", { max_depth = 1 }))
      assert.is_table(decode(nested(1000), { max_depth = 1000 }))
    end)

    it("fails cleanly when max_depth exceeds what the Lua stack allows", function()
      local v, msg = decode(nested(2000000), { max_depth = 2000000 })
      assert.is_nil(v)
      assert.matches("nesting too deep", msg)
    end)

    it("decodes mixed nesting of objects and arrays", function()
      local t = decode('[{"a":[{"b":[1,2]},3]},[4,{"c":5}],6]')
      assert.same({ { a = { { b = { 1, 2 } }, 3 } }, { 4, { c = 5 } }, 6 }, t)
    end)

    it("keeps siblings of different sizes apart", function()
      local t = decode('[[1,2,3,4,5],[],[1],[1,2,3],{"a":1,"b":2,"c":3},{},{"d":4}]')
      assert.same({ { 1, 2, 3, 4, 5 }, {}, { 1 }, { 1, 2, 3 }, { a = 1, b = 2, c = 3 }, {}, { d = 4 } }, t)
      assert.equal(0, #t[2])
      assert.equal(1, #t[3])
    end)

    it("keeps element positions after deeply nested children", function()
      -- [1, {"k": [1, {"k": ... [1, {}, 2] ... }, 2], "n": 3}, 2]
      local function build(depth)
        if depth == 0 then
          return "{}", {}
        end
        local doc, val = build(depth - 1)
        return '[1,{"k":' .. doc .. ',"n":3},2]', { 1, { k = val, n = 3 }, 2 }
      end
      local doc, want = build(100)
      assert.same(want, decode(doc))
    end)
  end)

  describe("arguments", function()
    it("raises for non-string input", function()
      assert.has_error(function() decode() end)
      assert.has_error(function() decode(nil) end)
      assert.has_error(function() decode({}) end)
      assert.has_error(function() decode(true) end)
    end)

    it("raises for bad options", function()
      assert.has_error(function() decode("1", 5) end)
      assert.has_error(function() decode("1", { keep_nulls = "yes" }) end)
      assert.has_error(function() decode("1", { max_depth = 0 }) end)
      assert.has_error(function() decode("1", { max_depth = -1 }) end)
      assert.has_error(function() decode("1", { max_depth = 1.5 }) end)
      assert.has_error(function() decode("1", { max_depth = "3" }) end)
    end)

    it("accepts nil options", function()
      assert.equal(1, decode("1", nil))
    end)

    it("leaves earlier stack values alone on failure", function()
      local a, b, c, d = "keep", decode("[1,", nil)
      assert.equal("keep", a)
      assert.is_nil(b)
      assert.is_string(c)
      assert.equal(4, d)
    end)
  end)

  describe("API responses", function()
    it("decodes a job run with the right types", function()
      local body = [[
        {"jobRun": {
          "id": "jr_1",
          "status": "completed",
          "payloads": 100,
          "progress": 0.75,
          "retries": 0,
          "start_time": "2024-05-01T10:00:00Z",
          "end_time": null,
          "finished": true,
          "tags": ["a", "b"],
          "errors": [],
          "results": [{"payloadId": "p_1", "ok": true, "data": null}, null]
        }}
      ]]
      local run = decode(body).jobRun
      assert.equal("jr_1", run.id)
      assert.equal("completed", run.status)
      assert.equal(100, run.payloads)
      if math.type then
        assert.equal("integer", math.type(run.payloads))
        assert.equal("integer", math.type(run.retries))
        assert.equal("float", math.type(run.progress))
      end
      assert.equal(0.75, run.progress)
      assert.is_nil(run.end_time)
      assert.is_true(run.finished)
      assert.same({ "a", "b" }, run.tags)
      assert.same({}, run.errors)
      assert.equal(2, #run.results)
      assert.same({ payloadId = "p_1", ok = true }, run.results[1])
      assert.equal(null, run.results[2])
    end)
  end)

  describe("compatibility with lua-cjson", function()
    local has_cjson, cjson = pcall(require, "cjson")

    local documents = {
      '{"a":[1,2.5,"x",true,false,{}],"b":{"c":"d\\n\\u00e9"}}',
      '[[[[[]]]],{"k":[{"k":[0.001,-2e-5,1e21]}]}]',
      '"\\ud83d\\ude00 snow \\u2603"',
      '[1,"2",[3,[4,[5]]],{"six":6,"seven":[7.5]}]',
      '{"unicode":"h\195\169llo","escapes":"\\"\\\\\\/\\b\\f\\r\\t"}',
    }

    for i, doc in ipairs(documents) do
      it("matches cjson on document " .. i, function()
        if not has_cjson then
          pending("lua-cjson is not installed")
          return
        end
        assert.same(cjson.decode(doc), decode(doc))
      end)
    end

    it("uses the same null sentinel as cjson", function()
      if not has_cjson then
        pending("lua-cjson is not installed")
        return
      end
      assert.equal(cjson.null, null)
      assert.equal(cjson.decode("[null]")[1], decode("[null]")[1])
    end)
  end)
end)
