-- The JobRuns operations and the helpers on them: list page by page,
-- iterate every run, terminate, and trigger-then-wait.
local fx = require("support.fixtures")

local P, J = fx.PROJECT, "my-sample-job"

describe("job runs", function()
  local srv, client, time
  before_each(function()
    srv = fx.server()
    srv:reset { job_run_ms = 300 }
    srv:clear_log()
    client, time = fx.client()
  end)
  after_each(function() client:close() end)

  it("lists a page of runs with totalCount, pages numbered from 0", function()
    local page, err = client:list_job_runs(P, J, { page_size = 2, page_number = 0 })
    assert.is_nil(err)
    assert.are.equal(5, page.totalCount)
    assert.are.equal(2, #page.jobRuns)
    local last = assert(client:list_job_runs(P, J, { page_size = 2, page_number = 2 }))
    assert.are.equal(1, #last.jobRuns)
    local sent = srv:requests { operation = "getJobRuns" }
    assert.truthy(sent[#sent].uri:find("?pageNumber=2&pageSize=2", 1, true), sent[#sent].uri)
  end)

  it("takes query values as integers or strings", function()
    local a = assert(client:list_job_runs(P, J, { page_size = "3", page_number = "1" }))
    local b = assert(client:list_job_runs(P, J, { page_size = 3, page_number = 1 }))
    assert.are.equal(#a.jobRuns, #b.jobRuns)
    assert.are.equal(a.jobRuns[1].id, b.jobRuns[1].id)
  end)

  it("sorts as sort_by asks", function()
    local asc = assert(client:list_job_runs(P, J, { sort_by = "created_at,asc", page_size = 5 }))
    local desc = assert(client:list_job_runs(P, J, { sort_by = "created_at,desc", page_size = 5 }))
    assert.are.equal(asc.jobRuns[1].id, desc.jobRuns[5].id)
  end)

  it("iterates every run across pages and stops at totalCount", function()
    local ids = {}
    for run, err in client:each_job_run(P, J, { page_size = 2 }) do
      assert.is_nil(err)
      ids[#ids + 1] = run.id
    end
    assert.are.equal(5, #ids)
    -- pages 0, 1, 2: no request for a page after the last run
    assert.are.equal(3, #srv:requests { operation = "getJobRuns" })
  end)

  it("reads no page before the loop asks for its first run", function()
    local function pages() return #srv:requests { operation = "getJobRuns" } end
    local before = pages()
    local iter = client:each_job_run(P, J, { page_size = 2 })
    assert.are.equal(before, pages())
    local first = assert(iter())
    assert.are.equal("string", type(first.id))
    assert.are.equal(before + 1, pages())
    assert(iter()) -- the second run of page 0: no request
    assert.are.equal(before + 1, pages())
  end)

  it("ends after an empty page", function()
    local n = 0
    for _ in client:each_job_run(P, "paused-job", { page_size = 10 }) do n = n + 1 end
    assert.are.equal(2, n)
    srv:reset { job_run_ms = 300 }
    assert(client:create_job(P, { id = "job-no-runs", payload = {}, configuration = {} }))
    for _ in client:each_job_run(P, "job-no-runs") do n = n + 1 end
    assert.are.equal(2, n)
  end)

  it("gives a failed page as false, err once, then ends", function()
    local iter = client:each_job_run(P, J, { page_size = 2 })
    local got, failures, steps = { assert(iter()).id }, {}, 0 -- page 0 is read here
    srv:fault { method = "GET", path = "/runs$", fault = "status-400", times = 5 }
    for run, err in iter do
      steps = steps + 1
      assert.is_true(steps < 10, "the loop did not end")
      if run then
        got[#got + 1] = run.id
      else
        assert.is_false(run)
        failures[#failures + 1] = err
      end
    end
    srv:clear_faults()
    assert.are.equal(2, #got)
    assert.are.equal(1, #failures)
    assert.are.equal(400, failures[1].status)
  end)

  it("terminates a run", function()
    local started = assert(client:trigger_job(P, J))
    local res, err = client:terminate_job_run(P, J, started.jobRunId)
    assert.is_nil(err)
    assert.are.equal("string", type(res.message))
    local run = assert(client:get_job_run(P, J, started.jobRunId))
    assert.are.equal("TERMINATED", run.jobRun.status)
  end)

  it("runs a job: trigger, then wait for its run to finish", function()
    local c = fx.client { clock = require("intuned.core").now, sleep = require("intuned.core").sleep }
    local seen = {}
    local res, err, info = c:run_job(P, J, {
      interval = 0.05, on_progress = function(run) seen[#seen + 1] = run.status end,
    })
    c:close()
    assert.is_nil(err)
    assert.is_true(require("intuned").is_terminal(res))
    assert.are.equal("SUCCESS", res.jobRun.status)
    assert.are.equal(seen[#seen], "SUCCESS")
    assert.is_true(info.attempts >= 2)
    assert.are.equal(1, #srv:requests { operation = "triggerJob" })
    assert.are.equal(0, time.total())
  end)

  it("returns the trigger's error from run_job without waiting", function()
    local res, err = client:run_job(P, "paused-job", { interval = 1 })
    assert.is_nil(res)
    assert.are.equal(400, err.status)
    assert.are.equal(0, time.total())
  end)

  it("raises on bad page options at the caller's line, before any request", function()
    local ok, msg = pcall(function() client:each_job_run(P, J, { page_size = 0 }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("job_runs_spec.lua:%d+: intuned: option 'page_size'"), msg)
    ok, msg = pcall(function() client:list_job_runs(P, J, { page_number = -1 }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("job_runs_spec.lua:%d+: intuned: option 'page_number'"), msg)
  end)
end)
