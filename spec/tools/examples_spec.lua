local fx = require("support.fixtures")
local compat = require("intuned.compat")

local function run_example(script, args, env)
  local srv = fx.server()
  local cmd = ("%s INTUNED_WORKSPACE_ID=%s INTUNED_API_KEY=%s INTUNED_BASE_URL=%s %s %s %s")
    :format(env or "", srv.workspace_id, srv.api_key, srv.base_url, fx.lua(), script, args)
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

  it("trigger_and_wait.lua triggers a job, shows progress, downloads the results", function()
    fx.server():reset { job_run_ms = 400 }
    local path = os.tmpname()
    local out, ok = run_example("examples/trigger_and_wait.lua", "my-project my-sample-job " .. path,
      "POLL_INTERVAL=0.1")
    local saved = assert(io.open(path)):read("*a")
    os.remove(path)
    assert.is_true(ok, out)
    assert.truthy(out:find("triggered run jr_", 1, true), out)
    assert.truthy(out:find("PENDING", 1, true), out)
    assert.truthy(out:find("finished: SUCCESS", 1, true), out)
    assert.truthy(out:find("results: %d+ bytes in"), out)
    assert.truthy(saved:find("Product 1", 1, true), saved)
  end)

  it("manage_jobs.lua creates, lists, updates, pauses, resumes and deletes a job", function()
    fx.server():reset()
    local out, ok = run_example("examples/manage_jobs.lua", "my-project job-from-example")
    assert.is_true(ok, out)
    for _, line in ipairs { "created job-from-example", "job-from-example", "updated: maxConcurrentRequests = 10",
      "Paused", "Resumed", "deleted job-from-example" } do
      assert.truthy(out:find(line, 1, true), line .. " not in:\n" .. out)
    end
    local _, gone = fx.client():get_job("my-project", "job-from-example")
    assert.are.equal(404, gone.status)
  end)

  it("poll_job_run.lua polls until the run is terminal", function()
    local out, ok = run_example("examples/poll_job_run.lua", "my-project my-job " .. fx.id("progress-1") .. " 0.2")
    assert.is_true(ok, out)
    assert.truthy(out:find("PENDING", 1, true), out)
    assert.truthy(out:find("SUCCESS", 1, true), out)
  end)
end)
