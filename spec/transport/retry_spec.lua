local intuned = require("intuned")
local retry = require("intuned.retry")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

describe("retries", function()
  it("retries a 503 twice then returns the run", function()
    local client, time = fx.client()
    local id = fx.id("flaky503-2")
    local res, err, meta = client:get_job_run(P, J, id)
    client:close()
    assert.is_nil(err)
    assert.are.equal(id, res.jobRun.id)
    assert.are.equal(3, meta.attempts)
    assert.are.equal(2, #time.sleeps)
  end)

  it("waits what Retry-After says on a 429", function()
    local client, time = fx.client()
    local res, _, meta = client:get_job_run(P, J, fx.id("retry-after-1"))
    client:close()
    assert.truthy(res)
    assert.are.equal(2, meta.attempts)
    assert.are.same({ 1 }, time.sleeps)
  end)

  it("caps Retry-After at max_delay", function()
    local client, time = fx.client { retry = { max_delay = 4 } }
    local res = client:get_job_run(P, J, fx.id("retry-after-huge"))
    client:close()
    assert.truthy(res)
    assert.are.same({ 4 }, time.sleeps)
  end)

  for _, case in ipairs { { "notfound", 404 }, { "badrequest", 400 } } do
    it("does not retry a " .. case[2], function()
      local client, time = fx.client()
      local _, err = client:get_job_run(P, J, fx.id(case[1]))
      client:close()
      assert.are.equal(case[2], err.status)
      assert.are.equal(1, err.attempts)
      assert.are.equal(0, #time.sleeps)
    end)
  end

  it("does not retry a 401", function()
    local client, time = fx.client { api_key = "wrong" }
    local _, err = client:get_job_run(P, J, fx.id("ok"))
    client:close()
    assert.are.equal(401, err.status)
    assert.are.equal(1, err.attempts)
    assert.are.equal(0, #time.sleeps)
  end)

  it("retries a 500 whose body says retirable: true", function()
    local client = fx.client()
    local res, _, meta = client:get_job_run(P, J, fx.id("retirable-true-500"))
    client:close()
    assert.truthy(res)
    assert.are.equal(2, meta.attempts)
  end)

  it("retries even a 400 whose body says retirable: true", function()
    local client = fx.client()
    local res, _, meta = client:get_job_run(P, J, fx.id("retirable-true-400"))
    client:close()
    assert.truthy(res)
    assert.are.equal(2, meta.attempts)
  end)

  it("does not retry a 503 whose body says retirable: false", function()
    local client, time = fx.client()
    local _, err = client:get_job_run(P, J, fx.id("retirable-false-503"))
    client:close()
    assert.are.equal(503, err.status)
    assert.is_false(err.retirable)
    assert.are.equal(1, err.attempts)
    assert.are.equal(0, #time.sleeps)
  end)

  it("accepts the retriable spelling and correlation_id", function()
    local client = fx.client()
    local _, err = client:get_job_run(P, J, fx.id("retriable-false-503"))
    client:close()
    assert.is_false(err.retirable)
    assert.are.equal(1, err.attempts)
    assert.are.equal("string", type(err.correlation_id))
  end)

  it("retries a refused connection, then returns a network error", function()
    local client, time = fx.client { base_url = "http://127.0.0.1:1/api/v1/workspace" }
    local res, err = client:get_job_run(P, J, "ok")
    client:close()
    assert.is_nil(res)
    assert.are.equal("network", err.kind)
    assert.are.equal(3, err.attempts)
    assert.is_true(err.retirable)
    assert.are.equal(2, #time.sleeps)
    assert.truthy(tostring(err):find("attempts=3", 1, true))
  end)

  it("makes one attempt when retry is false", function()
    local client, time = fx.client { retry = false }
    local _, err = client:get_job_run(P, J, fx.id("flaky503-2"))
    client:close()
    assert.are.equal(503, err.status)
    assert.are.equal(1, err.attempts)
    assert.are.equal(0, #time.sleeps)
  end)

  it("takes a retry policy per call", function()
    local client = fx.client()
    local _, err = client:get_job_run(P, J, fx.id("flaky503-5"), { retry = { max_attempts = 2 } })
    client:close()
    assert.are.equal(2, err.attempts)
  end)

  it("stops before a sleep that would pass the deadline", function()
    local client, time = fx.client { deadline = 2, retry = { max_attempts = 10, base_delay = 1 } }
    local _, err = client:get_job_run(P, J, fx.id("flaky503-9"))
    client:close()
    assert.is_true(err.deadline_reached)
    assert.truthy(time.total() < 2)
    assert.truthy(err.attempts < 10)
    assert.truthy(tostring(err):find("deadline", 1, true))
  end)
end)

describe("backoff delay", function()
  local policy = retry.DEFAULTS

  it("is full jitter under base_delay * 2^(attempt-1), capped at max_delay", function()
    for attempt = 1, 12 do
      local ceiling = math.min(policy.max_delay, policy.base_delay * 2 ^ (attempt - 1))
      assert.are.equal(0, retry.delay(policy, attempt, {}, function() return 0 end))
      local top = retry.delay(policy, attempt, {}, function() return 0.999999 end)
      assert.truthy(top <= ceiling and top > ceiling * 0.99)
    end
  end)

  it("uses Retry-After when present and ignores a negative one", function()
    assert.are.equal(7, retry.delay(policy, 1, { retry_after = 7 }, math.random))
    assert.are.equal(30, retry.delay(policy, 1, { retry_after = 1e6 }, math.random))
    local d = retry.delay(policy, 1, { retry_after = -5 }, function() return 0.5 end)
    assert.are.equal(0.25, d)
  end)

  it("is used by the client with its injected random source", function()
    local client, time = fx.client { random = function() return 1 end,
      retry = { base_delay = 0.1, max_delay = 10 } }
    assert.truthy(client:get_job_run(P, J, fx.id("flaky503-2")))
    client:close()
    assert.are.same({ 0.1, 0.2 }, time.sleeps)
  end)
end)

describe("error objects", function()
  it("have every documented field", function()
    local client = fx.client()
    local _, err = client:get_job_run(P, J, fx.id("notfound"))
    client:close()
    for _, k in ipairs { "kind", "status", "code", "category", "message", "retirable",
      "correlation_id", "details", "attempts", "body" } do
      assert.is_not_nil(err[k], k)
    end
    assert.is_true(intuned.is_error(err))
    assert.is_false(intuned.is_error({}))
  end)
end)
