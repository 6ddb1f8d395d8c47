-- The Run API: start a run, read its result, wait for it, start and wait.
-- A run that ends failed or canceled is a result (check its status);
-- errors are for requests that failed and for timeouts.
local intuned = require("intuned")
local core = require("intuned.core")
local fx = require("support.fixtures")

local P = fx.PROJECT

local function request(outcome, extra)
  local parameters = { url = "https://example.com/item/1", outcome = outcome, polls = 3 }
  for k, v in pairs(extra or {}) do parameters[k] = v end
  return { api = "details", parameters = parameters }
end

describe("the Run API", function()
  local srv, client, time
  before_each(function()
    srv = fx.server()
    srv:reset { run_ms = 300 }
    srv:clear_log()
    client, time = fx.client()
  end)
  after_each(function() client:close() end)

  it("starts a run (201) with the request as the RunStart body", function()
    local res, err, meta = client:start_run(P, request("completed"))
    assert.is_nil(err)
    assert.are.equal(201, meta.status)
    assert.are.equal("string", type(res.runId))
    assert.are.equal("pending", res.status)
    local sent = srv:requests { operation = "runApiStart" }
    assert.are.equal("details", sent[1].json.api)
    assert.are.equal("https://example.com/item/1", sent[1].json.parameters.url)
  end)

  it("reads a run's result as it goes from pending to completed", function()
    local started = assert(client:start_run(P, request("completed", { result = { title = "Example" } })))
    local statuses = {}
    for _ = 1, 3 do
      local res = assert(client:get_run_result(P, started.runId))
      statuses[#statuses + 1] = res.status
    end
    assert.are.equal("completed", statuses[3])
    assert.is_false(intuned.is_terminal(statuses[1]))
    local final = assert(client:get_run_result(P, started.runId))
    assert.are.equal("Example", final.result.title)
    assert.is_true(intuned.is_terminal(final))
  end)

  it("gives the documented 404 for an unknown run", function()
    local _, err = client:get_run_result(P, "V1StGXR8_Z5jdHi6B-none")
    assert.are.equal(404, err.status)
  end)

  it("waits for a run, polling every 5 s by default", function()
    local started = assert(client:start_run(P, request("completed")))
    local seen = {}
    local res, err, info = client:wait_for_run(P, started.runId, {
      on_progress = function(result, i) seen[#seen + 1] = result.status .. "@" .. i.attempts end,
    })
    assert.is_nil(err)
    assert.are.equal("completed", res.status)
    assert.are.equal(5, time.sleeps[1])
    assert.are.equal(3, info.attempts)
    assert.are.equal("completed@3", seen[#seen])
  end)

  it("gives a failed or canceled run as a result, with its error or reason", function()
    local failed = assert(client:start_run(P, request("failed")))
    local res, err = client:wait_for_run(P, failed.runId, { interval = 1 })
    assert.is_nil(err)
    assert.are.equal("failed", res.status)
    assert.are.equal("script-timeout", res.error.code)
    local canceled = assert(client:start_run(P, request("canceled")))
    res = assert(client:wait_for_run(P, canceled.runId, { interval = 1 }))
    assert.are.equal("canceled", res.status)
    assert.are.equal("string", type(res.reason.type))
  end)

  it("times out a run that does not finish, with the last status", function()
    local slow = assert(client:start_run(P, request("completed", { polls = 1000 })))
    local res, err = client:wait_for_run(P, slow.runId, { interval = 1, timeout = 4 })
    assert.is_nil(res)
    assert.are.equal("timeout", err.kind)
    assert.truthy(err.message:find("run did not finish within 4s", 1, true), err.message)
    assert.is_true(time.total() <= 4)
  end)

  it("runs: starts, then waits, within one timeout", function()
    local res, err, info = client:run(P, request("completed"), { interval = 0.5 })
    assert.is_nil(err)
    assert.are.equal("completed", res.status)
    assert.are.equal(3, info.attempts)
    assert.are.equal(1, #srv:requests { operation = "runApiStart" })
  end)

  it("runs with the real clock", function()
    local c = fx.client { clock = core.now, sleep = core.sleep }
    local res, err = c:run(P, request("completed", { polls = nil, duration_ms = 200 }), { interval = 0.05 })
    c:close()
    assert.is_nil(err)
    assert.are.equal("completed", res.status)
  end)

  it("sends a start whose connection is reset after the request was read once", function()
    srv:fault { method = "POST", path = "/run/start$", fault = "reset-after" }
    local res, err = client:run(P, request("completed"))
    assert.is_nil(res)
    assert.are.equal("network", err.kind)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, #srv:requests { operation = "runApiStart" })
  end)

  it("raises on a RunStart body without api or parameters, before sending", function()
    local ok, msg = pcall(function() client:start_run(P, { parameters = {} }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("run_api_spec.lua:%d+: intuned: request%.api is required"), msg)
    ok, msg = pcall(function() client:run(P, { api = "a" }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("run_api_spec.lua:%d+: intuned: request%.parameters is required"), msg)
    ok, msg = pcall(function() client:wait_for_run(P, "") end)
    assert.is_false(ok)
    assert.truthy(msg:find("run_api_spec.lua:%d+: intuned: run_id must not be empty"), msg)
    assert.are.equal(0, #srv:requests { operation = "runApiStart" })
  end)
end)

describe("is_terminal", function()
  it("knows the final statuses of all three kinds, and no others", function()
    for _, s in ipairs { "SUCCESS", "FAILURE", "CANCELED", "TERMINATED", "COMPLETED",
      "completed", "failed", "canceled", "done" } do
      assert.is_true(intuned.is_terminal(s), s)
      assert.is_true(intuned.is_terminal({ status = s }), s)
    end
    for _, s in ipairs { "PENDING", "PAUSED", "PAUSING", "RESUMING", "pending", "started",
      "in_progress", "FROBNICATING", "" } do
      assert.is_false(intuned.is_terminal(s), s)
    end
    assert.is_true(intuned.is_terminal({ jobRun = { status = "SUCCESS" } }))
    assert.has_error(function() intuned.is_terminal(5) end)
  end)
end)
