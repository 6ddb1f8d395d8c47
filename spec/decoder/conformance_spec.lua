-- The conformance corpus in spec/json/: every file is decoded by core.decode.
--   y_*.json  must decode;
--   n_*.json  must be rejected with nil, message, position (never raise);
--   i_*.json  are left to the implementation (RFC 8259 allows limits on
--             depth and number range, and leaves lone surrogates and a byte
--             order mark open), but must follow the same contract.
-- Files found by the fuzzer are kept here too, so every run replays them.
local core = require("intuned.core")
local cmp = require("support.jsoncompare")

local DIR = "spec/json"
local MIN_FILES = 150

local function list_files()
  local names = {}
  local pipe = assert(io.popen("ls -1 " .. DIR))
  for name in pipe:lines() do
    names[#names + 1] = name
  end
  pipe:close()
  table.sort(names)
  return names
end

local function read(name)
  local f = assert(io.open(DIR .. "/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- Calls decode in protected mode and checks the shape of what it returns.
local function pack(...)
  return { n = select("#", ...), ... }
end

local function run(s, opts)
  local results = pack(pcall(core.decode, s, opts))
  assert(results[1], "core.decode raised: " .. tostring(results[2]))
  if results[2] ~= nil then
    assert.equal(2, results.n, "a decoded value comes alone")
    return true, results[2]
  end
  local msg, pos = results[3], results[4]
  assert.equal(4, results.n)
  assert.is_string(msg)
  assert.is_true(type(pos) == "number" and pos % 1 == 0 and pos >= 1 and pos <= #s + 1,
    "position out of range: " .. tostring(pos))
  assert.matches(" at byte " .. pos .. "$", msg)
  return false, msg
end

local has_cjson, cjson = pcall(require, "cjson")

local names = list_files()
local counts = { y = 0, n = 0, i = 0 }

describe("conformance corpus " .. DIR, function()
  for _, name in ipairs(names) do
    local kind = name:match("^([yni])_[%w_]+%.json$")
    if kind then counts[kind] = counts[kind] + 1 end

    it("names " .. name .. " by category", function()
      assert.is_not_nil(kind, "files are y_, n_ or i_ followed by a name and .json")
    end)

    if kind == "y" then
      it("accepts " .. name, function()
        local s = read(name)
        local ok, value = run(s)
        assert.is_true(ok, value)
        local kept_ok, kept = run(s, { keep_nulls = true })
        assert.is_true(kept_ok, kept)
        -- Where lua-cjson also accepts, both read the same values (cjson
        -- keeps object nulls as cjson.null, which is keep_nulls here).
        if has_cjson then
          local c_ok, theirs = pcall(cjson.decode, s)
          if c_ok then
            local path, why = cmp.diff(kept, theirs)
            if path then
              error(("differs from lua-cjson at %s: %s"):format(path, why))
            end
          end
        end
      end)
    elseif kind == "n" then
      it("rejects " .. name, function()
        local s = read(name)
        local ok = run(s)
        assert.is_false(ok, "accepted " .. cmp.show(s))
        assert.is_false((run(s, { keep_nulls = true })))
      end)
    elseif kind == "i" then
      it("decodes or rejects " .. name .. " cleanly", function()
        local s = read(name)
        run(s)
        run(s, { keep_nulls = true })
      end)
    end
  end

  it("holds at least " .. MIN_FILES .. " files of every category", function()
    assert.is_true(#names >= MIN_FILES, #names .. " files")
    assert.is_true(counts.y > 0 and counts.n > 0 and counts.i > 0)
  end)

  it("rejects every n_ file also inside an array and an object", function()
    -- A value that fails alone must fail as a member too, so the error
    -- path of every container state is exercised by the same corpus. Empty
    -- and blank files are the exception: wrapped, they are empty containers.
    for _, name in ipairs(names) do
      local s = name:match("^n_") and read(name)
      if s and s:find("[^ \t\r\n]") then
        assert.is_false((run("[" .. s .. "]")), name)
        assert.is_false((run('{"k":' .. s .. "}")), name)
      end
    end
  end)
end)
