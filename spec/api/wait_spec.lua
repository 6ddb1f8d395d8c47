local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

describe("wait_for_job_run", function()
  local client, time
  before_each(function() client, time = fx.client() end)
  after_each(function() client:close() end)

  it("polls until the run is terminal and returns the final result", function()
    local id = fx.id("steps-4")
    local res, err, info = client:wait_for_job_run(P, J, id, { interval = 2 })
    assert.is_nil(err)
    assert.are.equal("SUCCESS", res.jobRun.status)
    assert.are.equal("string", type(res.results.signed_url))
    assert.are.equal(4, info.attempts)
    assert.are.equal(4, #fx.server():requests(id))
  end)

  it("waits `interval` first, growing by `backoff` up to `max_interval`", function()
    local _, err = client:wait_for_job_run(P, J, fx.id("steps-6"),
      { interval = 2, backoff = 2, max_interval = 5 })
    assert.is_nil(err)
    assert.are.same({ 2, 4, 5, 5, 5 }, time.sleeps)
  end)

  it("defaults to 5 s growing to 60 s", function()
    local _, err = client:wait_for_job_run(P, J, fx.id("steps-9"))
    assert.is_nil(err)
    assert.are.equal(5, time.sleeps[1])
    assert.are.equal(7.5, time.sleeps[2])
    for i = 2, #time.sleeps do
      assert.is_true(time.sleeps[i] >= time.sleeps[i - 1])
      assert.is_true(time.sleeps[i] <= 60)
    end
    assert.are.equal(60, time.sleeps[#time.sleeps])
  end)

  it("calls on_progress when status or counts change, with elapsed time and attempt count", function()
    local calls = {}
    local res = assert(client:wait_for_job_run(P, J, fx.id("steps-3"), {
      interval = 1, backoff = 1,
      on_progress = function(run, info)
        calls[#calls + 1] = { status = run.status, ok = run.successful_runs,
          elapsed = info.elapsed, attempts = info.attempts }
      end,
    }))
    assert.are.equal("SUCCESS", res.jobRun.status)
    assert.are.same({
      { status = "PENDING", ok = 0, elapsed = 0, attempts = 1 },
      { status = "PENDING", ok = 9, elapsed = 1, attempts = 2 },
      { status = "SUCCESS", ok = 18, elapsed = 2, attempts = 3 },
    }, calls)
  end)

  it("does not call on_progress again while nothing changes", function()
    local calls = 0
    local _, err = client:wait_for_job_run(P, J, fx.id("running"), {
      interval = 1, backoff = 1, timeout = 5,
      on_progress = function() calls = calls + 1 end,
    })
    assert.are.equal("timeout", err.kind)
    assert.are.equal(1, calls)
  end)

  it("times out with kind 'timeout' and the last seen run, never sleeping past the timeout", function()
    local id = fx.id("running")
    local res, err = client:wait_for_job_run(P, J, id, { interval = 5, backoff = 1.5, timeout = 30 })
    assert.is_nil(res)
    assert.are.equal("timeout", err.kind)
    assert.are.equal("PENDING", err.run.status)
    assert.are.equal(id, err.run.id)
    assert.truthy(tostring(err):find("did not finish within 30s", 1, true), tostring(err))
    assert.are.equal(30, time.total())
    -- polled at 0, 5, 12.5 and 23.75; at 30 no time is left for a poll
    assert.are.equal(4, #fx.server():requests(id))
  end)

  it("keeps waiting through transient errors", function()
    local c, t = fx.client { retry = false }
    local id = fx.id("flaky503-3")
    local res, err, info = c:wait_for_job_run(P, J, id, { interval = 1, backoff = 1 })
    c:close()
    assert.is_nil(err)
    assert.are.equal("SUCCESS", res.jobRun.status)
    assert.are.equal(4, info.attempts)
    assert.are.same({ 1, 1, 1 }, t.sleeps)
  end)

  it("retries transient errors within a poll by the normal policy", function()
    local id = fx.id("flaky503-2")
    local res, err, info = client:wait_for_job_run(P, J, id)
    assert.is_nil(err)
    assert.are.equal("SUCCESS", res.jobRun.status)
    assert.are.equal(1, info.attempts)
    assert.are.equal(3, #fx.server():requests(id))
    assert.are.same({ 0.25, 0.5 }, time.sleeps)
  end)

  it("ends at once on a permanent error (404)", function()
    local id = fx.id("notfound")
    local res, err = client:wait_for_job_run(P, J, id)
    assert.is_nil(res)
    assert.are.equal("api", err.kind)
    assert.are.equal(404, err.status)
    assert.are.same({}, time.sleeps)
    assert.are.equal(1, #fx.server():requests(id))
  end)

  it("ends at once on a 401", function()
    local c, t = fx.client { api_key = "wrong-key" }
    local res, err = c:wait_for_job_run(P, J, fx.id("running"))
    c:close()
    assert.is_nil(res)
    assert.are.equal(401, err.status)
    assert.are.same({}, t.sleeps)
  end)

  it("returns a failed run as a result: the wait itself succeeded", function()
    local res, err = client:wait_for_job_run(P, J, fx.id("steps-fail-2"), { interval = 1 })
    assert.is_nil(err)
    assert.are.equal("FAILURE", res.jobRun.status)
    assert.are.equal(8, res.jobRun.failed_runs)
  end)

  it("waits in real time with the real clock", function()
    local c = fx.client { clock = require("intuned.core").now, sleep = require("intuned.core").sleep }
    local res, err = c:wait_for_job_run(P, J, fx.id("progress-ms-200"), { interval = 0.05 })
    c:close()
    assert.is_nil(err)
    assert.are.equal("SUCCESS", res.jobRun.status)
  end)

  it("raises on misuse, naming the argument", function()
    assert.has_error(function() client:wait_for_job_run(P, J, "") end,
      "intuned: job_run_id must not be empty, '.' or '..'")
    assert.has_error(function() client:wait_for_job_run(P, J, "x", { intervall = 1 }) end,
      "intuned: unknown wait_for_job_run option 'intervall'")
    assert.has_error(function() client:wait_for_job_run(P, J, "x", { timeout = -1 }) end,
      "intuned: option 'timeout' must be a positive number of seconds, at most 31536000 (a year)")
    assert.has_error(function() client:wait_for_job_run(P, J, "x", { on_progress = 1 }) end,
      "intuned: option 'on_progress' must be a function")
    assert.has_error(function() client:wait_for_job_run(P, J, "x", { backoff = 0.5 }) end,
      "intuned: option 'backoff' must be a number >= 1")
    assert.has_error(function() client.wait_for_job_run(P, J, "x") end)
    local ok, msg = pcall(function() local _ = client:wait_for_job_run(P, J, "x", { interval = 0 }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("^spec/api/wait_spec.lua:%d+: intuned: option 'interval'"), msg)
    ok, msg = pcall(function() local _ = client:wait_for_job_run(P, 1, "x") end)
    assert.is_false(ok)
    assert.truthy(msg:find("^spec/api/wait_spec.lua:%d+: intuned: job_id"), msg)
  end)
end)
