-- core.decode sizes each table from a quick pre-scan of the document before
-- building it. The scan trusts nothing: these documents are made to give it
-- wrong or missing counts, and the result must not change.
local core = require("intuned.core")
local cjson = require("cjson")

local decode = core.decode

-- cjson agrees with core.decode on documents without integers beyond 2^53
-- and without nulls, so it serves as the reference here.
local function same_as_reference(s)
  local got, err = decode(s)
  assert.is_not_nil(got, err)
  assert.same(cjson.decode(s), got)
  return got
end

local function array_of(n, item)
  local parts = {}
  for i = 1, n do
    parts[i] = item(i)
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

describe("core.decode table sizing", function()
  it("builds documents with more containers than one scan covers", function()
    -- 2,000 objects with 3 members and an inner array each: several scans.
    local doc = same_as_reference(array_of(2000, function(i)
      return ('{"id":%d,"name":"n%d","tags":[%d,%d]}'):format(i, i, i, -i)
    end))
    assert.equal(2000, #doc)
    assert.equal(2000, doc[2000].id)
    assert.same({ 1999, -1999 }, doc[1999].tags)
  end)

  it("is not misled by brackets, commas and quotes inside strings", function()
    local tricky = {
      '{"a":"[,{,]}","b":"\\"],[","c":"\\\\","d":[",", "\\\\\\""]}',
      '[",",",",","]',
      '{"x":"\\\\\\\\","y":{"z":"}}}]]]"}}',
      '["\\u005d\\u007d,",{"k":"\\"{"}]',
    }
    for _, s in ipairs(tricky) do
      same_as_reference(s)
    end
    local v = decode('{"a":"[,{,]}","b":"\\"],[","c":"\\\\","d":[",", "\\\\\\""]}')
    assert.same({ ",", '\\"' }, v.d)
  end)

  it("builds arrays longer than the largest presize", function()
    local doc = same_as_reference(array_of(70000, function(i) return tostring(i) end))
    assert.equal(70000, #doc)
    assert.equal(70000, doc[70000])
  end)

  it("builds containers nested deeper than the scan tracks", function()
    local depth = 100 -- 200 levels: past the 64 the scan tracks, within max_depth
    local s = string.rep('{"k":[1,2,', depth) .. "3" .. string.rep("]}", depth)
    local v = same_as_reference(s)
    for _ = 1, depth - 1 do
      assert.equal(3, #v.k)
      v = v.k[3]
    end
    assert.same({ 1, 2, 3 }, v.k)
  end)

  it("fills containers that close after a long stretch of the document", function()
    -- The outer object closes more than 64 KiB after it opens, so the scan
    -- gives up on its size; the members still all arrive.
    local long = string.rep("x", 100000)
    local v = same_as_reference('{"a":"' .. long .. '","b":[1,2,3],"c":{"d":"' .. long .. '"},"e":4}')
    assert.equal(4, v.e)
    assert.same({ 1, 2, 3 }, v.b)
    assert.equal(100000, #v.c.d)
  end)

  it("keeps null members absent and duplicate keys last-wins", function()
    local v = decode('{"a":null,"b":1,"b":2,"c":[null,{"d":null}]}')
    assert.is_nil(v.a)
    assert.equal(2, v.b)
    assert.equal(core.null, v.c[1])
    assert.same({}, v.c[2])
    assert.is_nil(next(v.c[2]))
  end)

  it("still rejects invalid documents whose structure confuses the scan", function()
    local bad = {
      '{"a":[1,2}', '[{"a":1]', '{"a":"unterminated', '[1,2,]', ']', '{"a":1}}',
      '["\\"]', '[[[[[', '{"a":"\\u12"}',
    }
    for _, s in ipairs(bad) do
      local v, msg = decode(s)
      assert.is_nil(v, s)
      assert.is_string(msg)
    end
  end)
end)
