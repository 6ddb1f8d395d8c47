-- The array mark: every array core.decode builds carries core.array_mt, the
-- metatable json.array uses, so a value read from the API can be changed and
-- written back with its empty arrays still [].
local core = require("intuned.core")
local json = require("intuned.json")

local decode, encode = core.decode, json.encode
local mark = core.array_mt

-- Counts the tables in v that carry the mark and those without a
-- metatable; any other metatable fails.
local function count_tables(v, counts)
  counts = counts or { arrays = 0, objects = 0 }
  if type(v) == "table" then
    local mt = getmetatable(v)
    if rawequal(mt, mark) then
      counts.arrays = counts.arrays + 1
    else
      assert(mt == nil, "a table with another metatable")
      counts.objects = counts.objects + 1
    end
    for _, child in pairs(v) do
      count_tables(child, counts)
    end
  end
  return counts
end

-- How often the byte c occurs in s.
local function occurrences(s, c)
  return select(2, s:gsub("%" .. c, ""))
end

describe("the array mark", function()
  it("is one table, exposed as core.array_mt, and json.array uses it", function()
    assert.is_table(mark)
    assert.is_nil(next(mark))
    assert.is_nil(getmetatable(mark))
    assert.equal(mark, getmetatable(json.array()))
    assert.equal(mark, getmetatable(decode("[]")))
  end)

  it("marks every array the decoder builds, and no object", function()
    local t = decode('{"a":[],"b":{},"c":[1,[2,[]],{"d":[{}]}],"e":"x"}')
    assert.equal(mark, getmetatable(t.a))
    assert.is_nil(getmetatable(t))
    assert.is_nil(getmetatable(t.b))
    assert.equal(mark, getmetatable(t.c))
    assert.equal(mark, getmetatable(t.c[2]))
    assert.equal(mark, getmetatable(t.c[2][2]))
    assert.is_nil(getmetatable(t.c[3]))
    assert.equal(mark, getmetatable(t.c[3].d))
    assert.is_nil(getmetatable(t.c[3].d[1]))
  end)

  it("marks top-level arrays, arrays of nulls and arrays decoded with keep_nulls", function()
    assert.equal(mark, getmetatable(decode("[1,2]")))
    assert.equal(mark, getmetatable(decode("[null]")))
    local t = decode('{"a":null,"b":[null,{"c":null}]}', { keep_nulls = true })
    assert.is_nil(getmetatable(t))
    assert.equal(mark, getmetatable(t.b))
    assert.is_nil(getmetatable(t.b[2]))
  end)

  it("marks arrays at every depth, past the decoder's per-level hints", function()
    -- 255 levels alternating arrays and objects: the decoder keeps what
    -- each container is for the first 32 levels, and reads it back from the
    -- Lua stack past them
    local open, close = {}, {}
    for i = 1, 127 do
      open[i] = '[{"k":'
      close[128 - i] = "}]"
    end
    local t = assert(decode(table.concat(open) .. "[]" .. table.concat(close)))
    for depth = 1, 127 do
      assert(rawequal(getmetatable(t), mark), "array at level " .. (2 * depth - 1))
      t = t[1]
      assert(getmetatable(t) == nil, "object at level " .. (2 * depth))
      t = t.k
    end
    assert.equal(mark, getmetatable(t))
    local deep = assert(decode(("["):rep(256) .. ("]"):rep(256)))
    for level = 1, 256 do
      assert(rawequal(getmetatable(deep), mark), "array at level " .. level)
      deep = deep[1]
    end
  end)

  it("marks thousands of arrays in one document, past the size scan's window", function()
    local parts = {}
    for i = 1, 3000 do
      parts[i] = (i % 3 == 0) and "[]" or (i % 3 == 1) and '{"a":[' .. i .. "]}" or "[[1],{}]"
    end
    local doc = "[" .. table.concat(parts, ",") .. "]"
    for _ = 1, 2 do -- the second time the decoder's size hints come from the first
      local counts = count_tables(decode(doc))
      assert.equal(occurrences(doc, "["), counts.arrays)
      assert.equal(occurrences(doc, "{"), counts.objects)
    end
  end)

  it("is the same table in every coroutine and after the module loads again", function()
    local co = coroutine.create(function()
      return getmetatable(decode("[[]]")[1])
    end)
    local ok, mt = coroutine.resume(co)
    assert.is_true(ok)
    assert.equal(mark, mt)
    local saved = package.loaded["intuned.core"]
    package.loaded["intuned.core"] = nil
    local again = require("intuned.core")
    package.loaded["intuned.core"] = saved
    assert.equal(mark, again.array_mt)
    assert.equal(mark, getmetatable(again.decode("[]")))
  end)

  it("lets a decoded value be changed and written back faithfully", function()
    local text = '{"payload":[{"id":"a","tags":[],"parameters":{}}],"sink":null,"meta":{"ids":[]}}'
    local body = decode(text, { keep_nulls = true })
    assert.equal('{"meta":{"ids":[]},"payload":[{"id":"a","parameters":{},"tags":[]}],"sink":null}',
      encode(body))
    body.payload[2] = { id = "b", tags = json.array(), parameters = {} }
    body.meta.ids[1] = 7
    assert.equal('{"meta":{"ids":[7]},"payload":[{"id":"a","parameters":{},"tags":[]},'
      .. '{"id":"b","parameters":{},"tags":[]}],"sink":null}', encode(body))
    -- emptied again, a decoded array is still []
    body.meta.ids[1] = nil
    assert.equal("[]", encode(body.meta.ids))
  end)

  it("round-trips [] as [] and {} as {}", function()
    for _, s in ipairs({ "[]", "{}", "[[]]", "[{}]", '{"a":[]}', '{"a":{}}', "[[],{},[[]],[{}]]" }) do
      assert.equal(s, encode(decode(s)))
    end
  end)

  it("is ignored by assert.same, which the decoder specs rely on", function()
    assert.same({ {}, { 1 } }, decode("[[],[1]]"))
    assert.same({}, decode("[]"))
  end)
end)
