-- Every time limit holds, for every call, within a stated slack of 0.25 s:
-- the client's deadline bounds waits and downloads too, a wait's timeout
-- bounds its last poll, and time a batch entry spends waiting for a free
-- slot counts against the deadline. Injected time where the behaviour is
-- about time; a real stalling server for the end-to-end bounds.
local core = require("intuned.core")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB
local SLACK = 0.25

local function timed(fn)
  local started = core.now()
  local a, b, c = fn()
  return core.now() - started, a, b, c
end

describe("the client's deadline", function()
  it("ends a wait at the deadline, not at the wait's own timeout", function()
    local client, time = fx.client { deadline = 1 }
    local res, err = client:wait_for_job_run(P, J, fx.id("running"), { interval = 0.3, backoff = 1 })
    client:close()
    assert.is_nil(res)
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.deadline_reached)
    assert.truthy(err.message:find("deadline", 1, true), err.message)
    assert.is_true(time.total() <= 1 + 1e-9, "slept " .. time.total())
  end)

  it("ends a wait at its own timeout when that comes first", function()
    local client, time = fx.client { deadline = 100 }
    local _, err = client:wait_for_job_run(P, J, fx.id("running"), { interval = 1, timeout = 3 })
    client:close()
    assert.are.equal("timeout", err.kind)
    assert.is_nil(err.deadline_reached)
    assert.is_true(time.total() <= 3)
  end)

  it("keeps a download from sleeping on a Retry-After past the deadline", function()
    local client, time = fx.client { deadline = 2 }
    local res = assert(client:get_job_run(P, J, fx.id("wait-3-rows")))
    local body, err = client:download_results(res)
    client:close()
    assert.is_nil(body)
    assert.is_true(err.deadline_reached)
    assert.are.equal(429, err.status)
    assert.are.equal(0, time.total())
  end)

  it("lets a download wait out a Retry-After that fits", function()
    local client, time = fx.client { deadline = 10 }
    local res = assert(client:get_job_run(P, J, fx.id("wait-3-rows")))
    local body, err = client:download_results(res)
    client:close()
    assert.is_nil(err)
    assert.are.equal("table", type(body))
    assert.are.same({ 3 }, time.sleeps)
  end)

  it("bounds a download's own deadline option the same way", function()
    local client, time = fx.client()
    local res = assert(client:get_job_run(P, J, fx.id("wait-3-rows")))
    local _, err = client:download_results(res, { deadline = 1 })
    client:close()
    assert.is_true(err.deadline_reached)
    assert.are.equal(0, time.total())
  end)
end)

describe("a wait's timeout", function()
  it("clips the last poll to the time left (a stalling server, real time)", function()
    local client = fx.client { clock = core.now, sleep = core.sleep, timeout = 5 }
    local elapsed, res, err = timed(function()
      return client:wait_for_job_run(P, J, fx.id("first-running-then-stall-10"),
        { interval = 1.5, timeout = 2 })
    end)
    client:close()
    assert.is_nil(res)
    assert.are.equal("timeout", err.kind)
    assert.is_true(elapsed <= 2 + SLACK, "returned after " .. elapsed .. " s")
  end)
end)

describe("a batch entry waiting for a free slot", function()
  it("counts that wait against the deadline (concurrency 1, stalling entries, real time)", function()
    local client = fx.client {
      clock = core.now, sleep = core.sleep, random = math.random, timeout = 5,
      retry = { base_delay = 0.1, min_delay = 0.1, max_delay = 0.1 },
    }
    local elapsed, results = timed(function()
      return client:get_job_runs({
        { P, J, fx.id("first-503-then-stall-10") }, { P, J, fx.id("stall-headers-10") },
      }, { concurrency = 1, deadline = 3 })
    end)
    client:close()
    assert.is_true(elapsed <= 3 + SLACK, "returned after " .. elapsed .. " s")
    for i = 1, 2 do
      assert.are.equal("timeout", results[i].err.kind, i)
      assert.is_true(results[i].err.deadline_reached, i)
    end
  end)
end)
