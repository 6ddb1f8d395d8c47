-- scripts/run-specs.sh, what `make test` runs: a line per spec file with
-- its counts and time, one final "N passed, N failed" line, a non-zero exit
-- on any failure, and a run that hangs stopped at SPEC_TIMEOUT, naming the
-- test in progress.
local cli = require("support.cli")
local files = require("support.files")

-- Runs run-specs.sh on the spec files written from `specs` (name -> text)
-- with the extra environment `env`; -> exit ok, output.
local function run_specs(specs, env)
  local dir = cli.tmpdir()
  local paths = {}
  for name, text in pairs(specs) do
    files.write(dir .. "/" .. name, text)
    paths[#paths + 1] = dir .. "/" .. name
  end
  table.sort(paths)
  local ok, out = cli.sh(("%s LUA_WRAPPER= SPECS=%s LUA=%s BUILD=%s sh scripts/run-specs.sh"):format(env or "",
    cli.quote(table.concat(paths, " ")), os.getenv("LUA") or "lua5.4", os.getenv("BUILD") or "build/lua5.4"))
  os.execute("rm -rf " .. cli.quote(dir))
  return ok, out
end

local PASSING = [[
describe("a", function()
  it("one", function() assert.is_true(true) end)
  it("two", function() assert.are.equal(2, 1 + 1) end)
end)
]]

describe("run-specs.sh", function()
  it("prints a line per spec file and the total, and exits 0 when all pass", function()
    local ok, out = run_specs { ["a_spec.lua"] = PASSING, ["b_spec.lua"] = PASSING }
    assert.is_true(ok, out)
    assert.truthy(out:find("\n  /%S+/a_spec%.lua +2 passed, 0 failed  [%d.]+ s\n"), out)
    assert.truthy(out:find("\n  /%S+/b_spec%.lua +2 passed, 0 failed  [%d.]+ s\n"), out)
    assert.truthy(out:find("\n4 passed, 0 failed\n$"), out)
  end)

  it("counts a failure and an error, and exits non-zero", function()
    local ok, out = run_specs {
      ["a_spec.lua"] = PASSING,
      ["c_spec.lua"] = [[
describe("c", function()
  it("fails", function() assert.are.equal(1, 2) end)
  it("errs", function() error("boom") end)
end)
]],
    }
    assert.is_false(ok, out)
    assert.truthy(out:find("c_spec%.lua +0 passed, 2 failed"), out)
    assert.truthy(out:find("\n2 passed, 2 failed\n$"), out)
  end)

  it("stops a run that hangs at SPEC_TIMEOUT and names the test in progress", function()
    local ok, out = run_specs({
      ["d_spec.lua"] = [[
describe("d", function()
  it("is quick", function() end)
  it("hangs", function() while true do end end)
end)
]],
    }, "SPEC_TIMEOUT=2")
    assert.is_false(ok, out)
    assert.truthy(out:find("run%-specs: stopped after 2 s; the test in progress was:\n  /%S+/d_spec%.lua: d hangs\n"),
      out)
    assert.truthy(out:find("\n0 passed, 1 failed\n$"), out)
  end)
end)
