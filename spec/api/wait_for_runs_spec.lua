-- wait_for_runs: many Run API runs waited for at once, on one multi handle,
-- `concurrency` polls at a time, every result in the order asked; one
-- failing run never hides the others; the timeout and the client's
-- deadline end what is still going as timeout entries.
local core = require("intuned.core")
local emulator = require("support.emulator")
local fx = require("support.fixtures")

local P = fx.PROJECT

local function start(client, outcome, polls)
  local res = assert(client:start_run(P, { api = "page", parameters = { outcome = outcome, polls = polls } }))
  return res.runId
end

local function distinct(list, field)
  local seen, n = {}, 0
  for _, e in ipairs(list) do
    if not seen[e[field]] then
      seen[e[field]], n = true, n + 1
    end
  end
  return n
end

describe("wait_for_runs", function()
  local srv, client, time
  before_each(function()
    srv = fx.server()
    srv:reset { run_ms = 300 }
    srv:clear_log()
    client, time = fx.client()
  end)
  after_each(function() client:close() end)

  it("returns every run's final result in the order asked", function()
    local ids, outcomes = {}, { "completed", "failed", "canceled" }
    for i = 1, 30 do
      ids[i] = start(client, outcomes[i % 3 + 1], i % 5 + 1)
    end
    local results = client:wait_for_runs(P, ids, { interval = 1 })
    assert.are.equal(30, #results)
    for i, r in ipairs(results) do
      assert.is_nil(r.err, i)
      assert.are.equal(ids[i], r.res.runId)
      assert.are.equal(outcomes[i % 3 + 1], r.res.status)
      assert.are.equal(200, r.meta.status)
    end
  end)

  it("keeps one failing run from hiding the others", function()
    local ids = { start(client, "completed", 2), "V1StGXR8_Z5jdHi6B-none", start(client, "completed", 3) }
    local results = client:wait_for_runs(P, ids, { interval = 1 })
    assert.are.equal("completed", results[1].res.status)
    assert.are.equal(404, results[2].err.status)
    assert.are.equal("completed", results[3].res.status)
  end)

  it("keeps at most `concurrency` polls in flight", function()
    local ids = {}
    for i = 1, 24 do ids[i] = start(client, "completed", 3) end
    srv:clear_log()
    local results = client:wait_for_runs(P, ids, { interval = 1, concurrency = 3 })
    for _, r in ipairs(results) do assert.is_nil(r.err) end
    local polls = srv:requests { operation = "runApiResult" }
    assert.are.equal(72, #polls)
    assert.is_true(distinct(polls, "connection") <= 3, "connections: " .. distinct(polls, "connection"))
  end)

  it("ends runs still going at the timeout as timeout entries", function()
    local ids = { start(client, "completed", 2), start(client, "completed", 1000) }
    local results = client:wait_for_runs(P, ids, { interval = 1, timeout = 10 })
    assert.are.equal("completed", results[1].res.status)
    assert.are.equal("timeout", results[2].err.kind)
    assert.truthy(results[2].err.message:find("run did not finish within 10s", 1, true))
    assert.is_true(time.total() <= 10)
  end)

  it("ends at the client's deadline when that comes first", function()
    local c, t = fx.client { deadline = 3 }
    local results = c:wait_for_runs(P, { start(c, "completed", 1000) }, { interval = 1 })
    c:close()
    assert.is_true(results[1].err.deadline_reached)
    assert.is_true(t.total() <= 3)
  end)

  it("tells on_progress as runs finish", function()
    local ids = { start(client, "completed", 2), start(client, "failed", 4), start(client, "completed", 3) }
    local finished = {}
    client:wait_for_runs(P, ids, {
      interval = 1,
      on_progress = function(result, info)
        assert.are.equal(3, info.total)
        if require("intuned").is_terminal(result) then
          finished[#finished + 1] = info.index .. ":" .. info.finished
        end
      end,
    })
    assert.are.same({ "1:1", "3:2", "2:3" }, finished)
  end)

  it("raises on misuse, naming the entry", function()
    local ok, msg = pcall(function() client:wait_for_runs(P, "run") end)
    assert.is_false(ok)
    assert.truthy(msg:find("wait_for_runs_spec.lua:%d+: intuned: wait_for_runs expects a list"), msg)
    ok, msg = pcall(function() client:wait_for_runs(P, { "a", "" }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("wait_for_runs_spec.lua:%d+: intuned: run_ids%[2%] must not be empty"), msg)
    ok, msg = pcall(function() client:wait_for_runs(P, { "a" }, { concurrency = 0 }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("option 'concurrency'"), msg)
  end)

  it("multiplexes the polls on one HTTP/2 connection, in real time", function()
    local tls = emulator.start { tls = true }
    tls:reset { run_ms = 300 }
    local c = fx.client { base_url = tls.h2_base_url, ca_file = tls.ca_file, clock = core.now, sleep = core.sleep }
    local ids = {}
    for i = 1, 20 do
      ids[i] = assert(c:start_run(P, { api = "page", parameters = { duration_ms = 100 + 20 * i } })).runId
    end
    local results = c:wait_for_runs(P, ids, { interval = 0.05 })
    c:close()
    local polls = tls:requests { operation = "runApiResult" }
    tls:stop()
    for i, r in ipairs(results) do
      assert.are.equal("completed", r.res and r.res.status, i)
    end
    assert.are.equal(1, distinct(polls, "connection"))
  end)
end)
