local fx = require("support.fixtures")
local compat = require("support.compat")

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

  it("run_api.lua starts a run, shows its progress and prints its result", function()
    fx.server():reset { run_ms = 300 }
    local out, ok = run_example("examples/run_api.lua", "my-project details url=https://example.com/x n=3",
      "POLL_INTERVAL=0.05")
    assert.is_true(ok, out)
    assert.truthy(out:find("pending", 1, true), out)
    assert.truthy(out:find("completed", 1, true), out)
    assert.truthy(out:find('result: {', 1, true), out)
    assert.truthy(out:find('"url":"https:', 1, true), out)
  end)

  it("run_api.lua exits 1 for a run that failed", function()
    fx.server():reset { run_ms = 200 }
    local out, ok = run_example("examples/run_api.lua", "my-project details outcome=failed", "POLL_INTERVAL=0.05")
    assert.is_false(ok)
    assert.truthy(out:find(" failed: Script timed out", 1, true), out)
  end)

  it("many_runs.lua starts 100 runs, waits for all, reports the failures", function()
    fx.server():reset { run_ms = 300 }
    local out, ok = run_example("examples/many_runs.lua", "my-project page 100", "POLL_INTERVAL=0.05")
    assert.is_true(ok, out)
    assert.truthy(out:find("started 100 runs", 1, true), out)
    assert.truthy(out:find("100 of 100 finished", 1, true), out)
    assert.truthy(out:find("100 completed, 0 did not", 1, true), out)
  end)

  it("many_runs.lua names the runs that did not complete and exits 1", function()
    local srv = fx.server()
    srv:reset { run_ms = 300 }
    srv:fault { method = "GET", path = "/result$", fault = "status-404", times = 2 }
    local out, ok = run_example("examples/many_runs.lua", "my-project page 20", "POLL_INTERVAL=0.05")
    srv:clear_faults()
    assert.is_false(ok)
    assert.are.equal(2, select(2, out:gsub("%(run [^)]+%): intuned: api error %(HTTP 404%)", "")), out)
    assert.truthy(out:find("18 completed, 2 did not", 1, true), out)
  end)

  it("poll_job_run.lua polls until the run is terminal", function()
    local out, ok = run_example("examples/poll_job_run.lua", "my-project my-job " .. fx.id("progress-1") .. " 0.2")
    assert.is_true(ok, out)
    assert.truthy(out:find("PENDING", 1, true), out)
    assert.truthy(out:find("SUCCESS", 1, true), out)
  end)
end)
