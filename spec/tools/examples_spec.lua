local fx = require("support.fixtures")
local compat = require("intuned.compat")

local function run_example(script, args)
  local srv = fx.server()
  local cmd = ("INTUNED_WORKSPACE_ID=%s INTUNED_API_KEY=%s INTUNED_BASE_URL=%s %s %s %s")
    :format(srv.workspace_id, srv.api_key, srv.base_url, fx.lua(), script, args)
  -- compat.run: on 5.1 and LuaJIT pipe:close() does not give the exit status
  local ok, out = compat.run(cmd, true)
  return out, ok
end

describe("examples", function()
  it("get_job_run.lua prints a run's status and counts", function()
    local out, ok = run_example("examples/get_job_run.lua", "my-project my-job " .. fx.id("ok"))
    assert.is_true(ok, out)
    assert.truthy(out:find("SUCCESS (finished)", 1, true), out)
    assert.truthy(out:find("payloads 100, successful 95, failed 5", 1, true), out)
  end)

  it("get_job_run.lua reports an API error and exits non-zero", function()
    local out, ok = run_example("examples/get_job_run.lua", "my-project my-job " .. fx.id("notfound"))
    assert.is_false(ok)
    assert.truthy(out:find("not-found", 1, true), out)
  end)

  it("poll_job_run.lua polls until the run is terminal", function()
    local out, ok = run_example("examples/poll_job_run.lua", "my-project my-job " .. fx.id("progress-1") .. " 0.2")
    assert.is_true(ok, out)
    assert.truthy(out:find("PENDING", 1, true), out)
    assert.truthy(out:find("SUCCESS", 1, true), out)
  end)
end)
