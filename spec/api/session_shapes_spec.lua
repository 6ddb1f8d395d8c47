-- A session remembers the table sizes of its last JSON body to build the
-- next one without a pre-scan. That memory is only a size hint: answers of
-- other shapes on the same client must decode exactly as on a fresh one.
-- meta.headers is built when first read, from that response's own headers.
-- Polling reuses the URL of the previous call only for the same ids.
local fx = require("support.fixtures")
local intuned = require("intuned")

local function get(client, scenario)
  local res, err = client:get_job_run(fx.PROJECT, fx.JOB, fx.id(scenario))
  assert.is_nil(err)
  return res
end

local function get_exact(client, id)
  local res, err = client:get_job_run(fx.PROJECT, fx.JOB, id)
  assert.is_nil(err)
  return res
end

local function assert_ok_run(res)
  local run = res.jobRun
  assert.equal("SUCCESS", run.status)
  assert.equal(100, run.payloads)
  assert.same({ "api1", "api2" }, run.job_configuration_snapshot.sink.apisToSend)
  assert.equal("Bearer token", run.job_configuration_snapshot.notifications[1].headers.Authorization)
  assert.equal(3, run.job_configuration_snapshot.configuration.retry.maximumAttempts)
  assert.is_table(res.results)
end

describe("one client, answers of changing shapes", function()
  it("decodes each answer fully whatever the previous one looked like", function()
    local client = fx.client()
    for _ = 1, 2 do
      assert_ok_run(get(client, "ok"))

      local running = get(client, "running")
      assert.equal("PENDING", running.jobRun.status)
      assert.is_nil(running.jobRun.payloads)
      assert.is_nil(running.results)

      local nulls = get(client, "nulls")
      assert.is_nil(nulls.jobRun.job_configuration_snapshot.sink)
      assert.equal(5, nulls.jobRun.job_configuration_snapshot.configuration.maxConcurrentRequests)

      local big = get(client, "big-50000")
      assert.is_true(#big.jobRun.pad > 48000 and #big.jobRun.pad < 50000)
      assert.equal("SUCCESS", big.jobRun.status)

      assert_ok_run(get(client, "ok"))
    end
    client:close()
  end)

  it("keeps nulls on request even right after a shape without them", function()
    local client = fx.client()
    assert_ok_run(get(client, "ok"))
    local res = client:get_job_run(fx.PROJECT, fx.JOB, fx.id("nulls"), { keep_nulls = true })
    assert.equal(intuned.null, res.jobRun.payloads)
    assert.equal(intuned.null, res.jobRun.job_configuration_snapshot.sink)
    assert_ok_run(get(client, "ok"))
    client:close()
  end)
end)

describe("meta.headers", function()
  it("is there when read, lower-cased, and stays the same table", function()
    local client = fx.client()
    local _, _, meta = client:get_job_run(fx.PROJECT, fx.JOB, fx.id("ok"))
    local headers = meta.headers
    assert.is_table(headers)
    assert.equal("application/json", headers["content-type"])
    assert.is_string(headers["x-connection"])
    assert.is_nil(headers["Content-Type"])
    assert.equal(headers, meta.headers)
    assert.equal(headers, rawget(meta, "headers"))
    assert.is_nil(meta.no_such_field)
    client:close()
  end)

  it("describes its own response even when first read after later requests", function()
    local client = fx.client()
    local _, _, m1 = client:get_job_run(fx.PROJECT, fx.JOB, fx.id("ok"))
    local _, _, m2 = client:get_job_run(fx.PROJECT, fx.JOB, fx.id("ok"))
    local _, _, m3 = client:get_job_run(fx.PROJECT, fx.JOB, fx.id("ok"))
    local n1 = tonumber(m1.headers["x-connection-requests"])
    assert.equal(n1 + 1, tonumber(m2.headers["x-connection-requests"]))
    assert.equal(n1 + 2, tonumber(m3.headers["x-connection-requests"]))
    client:close()
  end)
end)

describe("polling one run, then another", function()
  it("asks for the run it is given each time", function()
    local client = fx.client()
    local a, b = fx.id("ok"), fx.id("ok")
    assert.equal(a, get_exact(client, a).jobRun.id)
    assert.equal(a, get_exact(client, a).jobRun.id)
    assert.equal(b, get_exact(client, b).jobRun.id)
    assert.equal(a, get_exact(client, a).jobRun.id)
    assert.has_error(function() client:get_job_run(fx.PROJECT, fx.JOB, "..") end)
    assert.has_error(function() client:get_job_run(fx.PROJECT, fx.JOB, nil) end)
    assert.equal(a, get_exact(client, a).jobRun.id)
    client:close()
  end)
end)
