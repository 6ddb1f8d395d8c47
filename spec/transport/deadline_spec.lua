-- Deadline semantics: `timeout` bounds each attempt, `deadline` (client or
-- call option) bounds the whole call, retries and waits included. Mostly on
-- the injected clock; the last specs use real time with small values.
local intuned = require("intuned")
local core = require("intuned.core")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

describe("deadline", function()
  it("stops before a wait that would end past it and returns the last real failure", function()
    local client, time = fx.client { deadline = 1, retry = { max_attempts = 10 } }
    local id = fx.id("always-503")
    local _, err = client:get_job_run(P, J, id)
    client:close()
    -- Waits 0.25, 0.5 (total 0.75), then 1.0 would end at 1.75 > 1.
    assert.are.same({ 0.25, 0.5 }, time.sleeps)
    assert.are.equal(3, err.attempts)
    assert.are.equal("api", err.kind)
    assert.are.equal(503, err.status)
    assert.is_true(err.deadline_reached)
    assert.is_true(err.retirable)
    assert.truthy(tostring(err):find("Service Unavailable (deadline reached) [attempts=3]", 1, true),
      tostring(err))
    assert.are.equal(3, #fx.server():requests("/runs/" .. id))
  end)

  it("takes a per-call deadline over the client's", function()
    local client, time = fx.client { deadline = 100, retry = { max_attempts = 10 } }
    local _, err = client:get_job_run(P, J, fx.id("always-503"), { deadline = 0.3 })
    assert.are.same({ 0.25 }, time.sleeps)
    assert.are.equal(2, err.attempts)
    assert.is_true(err.deadline_reached)
    local res, _, meta = client:get_job_run(P, J, fx.id("flaky503-2"), { deadline = 5 })
    client:close()
    assert.truthy(res)
    assert.are.equal(3, meta.attempts)
  end)

  it("does not wait for a Retry-After that ends past it", function()
    local client, time = fx.client { deadline = 1.5 }
    local _, err = client:get_job_run(P, J, fx.id("retry-after-2"))
    client:close()
    assert.are.same({}, time.sleeps)
    assert.are.equal(429, err.status)
    assert.are.equal(2, err.retry_after)
    assert.are.equal(1, err.attempts)
    assert.is_true(err.deadline_reached)
  end)

  it("waits for a Retry-After that ends before it", function()
    local client, time = fx.client { deadline = 2.5 }
    local res, _, meta = client:get_job_run(P, J, fx.id("retry-after-2"))
    client:close()
    assert.truthy(res)
    assert.are.same({ 2 }, time.sleeps)
    assert.are.equal(2, meta.attempts)
  end)

  it("is not reached by a call that fails for good first", function()
    local client = fx.client { deadline = 1 }
    local _, err = client:get_job_run(P, J, fx.id("notfound"))
    client:close()
    assert.is_nil(err.deadline_reached)
    assert.is_nil(err.message:find("deadline", 1, true))
  end)

  it("clips the attempt's timeout to the time left", function()
    -- The fake clock says 0.3 s are left; the attempt's timeout is 30 s.
    -- A stalled response must end after about 0.3 s of real time.
    local client, time = fx.client { timeout = 30 }
    time.now = 50
    local started = core.now()
    local _, err = client:get_job_run(P, J, fx.id("stall-30"), { deadline = 0.3 })
    local took = core.now() - started
    client:close()
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.deadline_reached)
    assert.are.equal(1, err.attempts)
    assert.truthy(err.message:find("(deadline reached)", 1, true))
    assert.truthy(took >= 0.25 and took < 5, ("took %.3f s"):format(took))
  end)

  it("keeps the per-attempt timeout when it is shorter than the time left", function()
    local client, time = fx.client { timeout = 0.2, deadline = 60, retry = { max_attempts = 2 } }
    local _, err = client:get_job_run(P, J, fx.id("stall-30"))
    client:close()
    assert.are.equal("timeout", err.kind)
    assert.are.equal(2, err.attempts)
    assert.is_nil(err.deadline_reached)
    assert.are.same({ 0.25 }, time.sleeps)
  end)
end)

describe("deadline in real time", function()
  local srv = fx.server()
  local function real_client(opts)
    local o = { base_url = srv.base_url, api_key = srv.api_key, workspace_id = srv.workspace_id }
    for k, v in pairs(opts) do o[k] = v end
    return intuned.new(o)
  end

  it("ends a stalled call at the deadline although the timeout is longer", function()
    local client = real_client { timeout = 10, deadline = 0.6 }
    local started = core.now()
    local _, err = client:get_job_run(P, J, fx.id("stall-30"))
    local took = core.now() - started
    client:close()
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.deadline_reached)
    assert.are.equal(1, err.attempts)
    assert.truthy(took >= 0.55 and took < 2, ("took %.3f s"):format(took))
  end)

  it("retries with real waits and sends nothing after the deadline", function()
    local client = real_client { deadline = 0.6,
      retry = { max_attempts = 50, base_delay = 0.05, max_delay = 0.2, min_delay = 0.02 } }
    local id = fx.id("always-503")
    local started = core.now()
    local _, err = client:get_job_run(P, J, id)
    local took = core.now() - started
    client:close()
    -- The last real error: a 503, or, when the deadline cut the last
    -- attempt short (a slow machine), that attempt's timeout.
    assert.is_true(err.status == 503 or err.kind == "timeout", tostring(err))
    assert.is_true(err.deadline_reached)
    assert.truthy(err.attempts >= 3 and err.attempts < 50, tostring(err))
    assert.truthy(took < 0.6 + 0.5, ("took %.3f s"):format(took))
    local seen = srv:requests("/runs/" .. id)
    assert.are.equal(err.attempts, #seen)
    assert.truthy(seen[#seen].time - seen[1].time < 0.6,
      ("requests spread over %.3f s"):format(seen[#seen].time - seen[1].time))
  end)
end)
