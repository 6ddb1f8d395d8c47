local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

local function list_of(scenarios)
  local list = {}
  for i, s in ipairs(scenarios) do
    list[i] = { P, J, fx.id(s) }
  end
  return list
end

local function count_keys(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

local function rep(scenario, n)
  local t = {}
  for i = 1, n do t[i] = scenario end
  return t
end

describe("get_job_runs", function()
  local client, time
  before_each(function() client, time = fx.client() end)
  after_each(function() client:close() end)

  it("returns results in input order, whatever order they finish in", function()
    -- Later entries answer first: the first ones are held longest.
    local scenarios = {}
    for i = 1, 12 do
      scenarios[i] = "stall-headers-ms-" .. (13 - i) * 15
    end
    local list = list_of(scenarios)
    local results = client:get_job_runs(list, { concurrency = 12 })
    assert.are.equal(12, #results)
    for i, r in ipairs(results) do
      assert.is_nil(r.err)
      assert.are.equal(list[i][3], r.res.jobRun.id)
      assert.are.equal(1, r.meta.attempts)
      assert.are.equal(200, r.meta.status)
    end
  end)

  it("one 404 among 50 does not spoil the others", function()
    local scenarios = rep("ok", 50)
    scenarios[23] = "notfound"
    local list = list_of(scenarios)
    local results = client:get_job_runs(list)
    assert.are.equal(50, #results)
    for i, r in ipairs(results) do
      if i == 23 then
        assert.is_nil(r.res)
        assert.are.equal("api", r.err.kind)
        assert.are.equal(404, r.err.status)
        assert.are.equal("not-found", r.err.code)
        assert.are.equal(1, r.err.attempts)
      else
        assert.is_nil(r.err)
        assert.are.equal(list[i][3], r.res.jobRun.id)
        assert.are.equal("SUCCESS", r.res.jobRun.status)
      end
    end
  end)

  it("retries each entry by the normal policy, in parallel with the others", function()
    local list = list_of { "flaky503-2", "ok", "flaky503-2", "always-503", "retirable-false-503", "ok" }
    local results = client:get_job_runs(list)
    local attempts = {}
    for i, r in ipairs(results) do
      attempts[i] = (r.meta or r.err).attempts
    end
    assert.are.same({ 3, 1, 3, 3, 1, 1 }, attempts)
    assert.is_nil(results[1].err)
    assert.are.equal("SUCCESS", results[3].res.jobRun.status)
    assert.are.equal(503, results[4].err.status)
    assert.is_false(results[5].err.retirable)
    assert.are.equal(3, #fx.server():requests(list[1][3]))
    -- the entries waited side by side (0.25 then 0.5 s), not one after another
    assert.are.same({ 0.25, 0.5 }, time.sleeps)
  end)

  it("honours the retry option and Retry-After per entry", function()
    local list = list_of { "flaky503-2", "retry-after-3" }
    local results = client:get_job_runs(list, { retry = { max_attempts = 2 } })
    assert.are.equal(503, results[1].err.status)
    assert.are.equal(2, results[1].err.attempts)
    assert.are.equal("SUCCESS", results[2].res.jobRun.status)
    assert.are.same({ 0.25, 2.75 }, time.sleeps)
    local none = client:get_job_runs(list_of { "flaky503-1" }, { retry = false })
    assert.are.equal(1, none[1].err.attempts)
  end)

  it("lets other entries use the slot while one waits to retry", function()
    local srv = fx.server()
    local c = fx.client { retry = { base_delay = 20, max_delay = 20 } }
    local list = list_of { "flaky503-1", "stall-headers-ms-20", "stall-headers-ms-20", "stall-headers-ms-20" }
    local results = c:get_job_runs(list, { concurrency = 1 })
    c:close()
    for _, r in ipairs(results) do
      assert.is_nil(r.err)
    end
    local order = {}
    for _, e in ipairs(srv:requests(function(e)
      for _, item in ipairs(list) do
        if e.uri:find(item[3], 1, true) then return true end
      end
    end)) do
      for i, item in ipairs(list) do
        if e.uri:find(item[3], 1, true) then order[#order + 1] = i end
      end
    end
    assert.are.same({ 1, 2, 3, 4, 1 }, order)
  end)

  it("never has more than `concurrency` requests in flight", function()
    local job = "concurrency-" .. fx.id("c")
    local list = {}
    for i = 1, 12 do
      list[i] = { P, job, fx.id("inflight-ms-100") }
    end
    local results = client:get_job_runs(list, { concurrency = 4 })
    local most, connections = 0, {}
    for _, r in ipairs(results) do
      assert.is_nil(r.err)
      most = math.max(most, tonumber(r.meta.headers["x-inflight"]))
      connections[r.meta.headers["x-connection"]] = true
    end
    assert.are.equal(4, most)
    assert.is_true(count_keys(connections) <= 4, "connections used: " .. count_keys(connections))
  end)

  it("runs up to 16 at once by default", function()
    local job = "default-" .. fx.id("c")
    local list = {}
    for i = 1, 24 do
      list[i] = { P, job, fx.id("inflight-ms-100") }
    end
    local most = 0
    for _, r in ipairs(client:get_job_runs(list)) do
      most = math.max(most, tonumber(r.meta.headers["x-inflight"]))
    end
    assert.are.equal(16, most)
  end)

  it("multiplexes the requests as HTTP/2 streams on one connection when the server offers it", function()
    local srv = require("support.emulator").start { tls = true }
    local c = fx.client { base_url = srv.h2_base_url, ca_file = srv.ca_file, api_key = srv.api_key }
    local list, job = {}, "h2-group-" .. fx.id("g")
    for i = 1, 20 do
      list[i] = { P, job, fx.id("inflight-ms-100") }
    end
    local results = c:get_job_runs(list, { concurrency = 10 })
    c:close()
    local connections, most = {}, 0
    for _, r in ipairs(results) do
      assert.is_nil(r.err)
      connections[r.meta.headers["x-connection"]] = true
      most = math.max(most, tonumber(r.meta.headers["x-inflight"]))
    end
    local versions = {}
    for _, e in ipairs(srv:requests("inflight")) do
      versions[e.http_version] = true
    end
    -- the copies of the session's handle verify certificates as it does
    local wrong = fx.client { base_url = srv.wrong_tls_base_url, ca_file = srv.ca_file, api_key = srv.api_key }
    local bad = wrong:get_job_runs({ { P, J, fx.id("ok") } })
    wrong:close()
    local untrusted = fx.client { base_url = srv.h2_base_url, api_key = srv.api_key }
    local bad2 = untrusted:get_job_runs({ { P, J, fx.id("ok") } })
    untrusted:close()
    srv:stop()
    assert.are.equal("tls", bad[1].err.kind)
    assert.are.equal("tls", bad2[1].err.kind)
    assert.are.equal(1, count_keys(connections))
    assert.are.equal(10, most)
    assert.are.same({ [2] = true }, versions)
  end)

  it("sends the API key and the session's headers on every request", function()
    local list = list_of(rep("ok", 5))
    client:get_job_runs(list, { concurrency = 5 })
    for _, item in ipairs(list) do
      local entries = fx.server():requests(item[3])
      assert.are.equal(1, #entries)
      assert.are.equal(fx.server().api_key, entries[1].headers["x-api-key"])
      assert.truthy(entries[1].headers["user-agent"]:find("intuned-lua/", 1, true))
    end
  end)

  it("reports per-entry transport failures and bad bodies", function()
    -- A small cap, so the big body goes over it long before the timeout,
    -- however slowly this process runs (under valgrind, say).
    local c = fx.client { retry = false, timeout = 0.2, max_response_bytes = 65536 }
    local results = c:get_job_runs(list_of { "reset", "invalid-json", "stall-2", "redirect-302", "big-9000000", "ok" })
    c:close()
    assert.are.equal("network", results[1].err.kind)
    assert.are.equal("decode", results[2].err.kind)
    assert.are.equal("timeout", results[3].err.kind)
    assert.are.equal(302, results[4].err.status)
    assert.are.equal("too_large", results[5].err.kind)
    assert.are.equal("SUCCESS", results[6].res.jobRun.status)
  end)

  it("accepts named fields and keep_nulls", function()
    local results = client:get_job_runs({ { project = P, job_id = J, job_run_id = fx.id("nulls") } },
      { keep_nulls = true })
    assert.are.equal(require("intuned").null, results[1].res.jobRun.payloads)
  end)

  it("gives an empty list for an empty list, without a request", function()
    assert.are.same({}, client:get_job_runs({}))
  end)

  it("stops retrying at the deadline", function()
    local c, t = fx.client { retry = { max_attempts = 10, base_delay = 1, max_delay = 1 } }
    local results = c:get_job_runs(list_of { "always-503", "ok" }, { deadline = 2.5 })
    c:close()
    assert.is_true(results[1].err.deadline_reached)
    assert.is_true(t.total() < 2.5)
    assert.are.equal("SUCCESS", results[2].res.jobRun.status)
  end)

  it("raises on misuse, naming the entry or option, at the caller's line", function()
    assert.has_error(function() client:get_job_runs("x") end,
      "intuned: get_job_runs expects a list of {project, job_id, job_run_id}")
    assert.has_error(function() client:get_job_runs({ { P, J, "ok" }, "x" }) end,
      "intuned: list[2] must be a table {project, job_id, job_run_id}, got string")
    assert.has_error(function() client:get_job_runs({ { P, J, ".." } }) end,
      "intuned: list[1].job_run_id must not be empty, '.' or '..'")
    assert.has_error(function() client:get_job_runs({ { P, nil, "x" } }) end,
      "intuned: list[1].job_id must be a string, got nil")
    assert.has_error(function() client:get_job_runs({}, { concurrency = 0 }) end,
      "intuned: option 'concurrency' must be an integer from 1 to 1024")
    assert.has_error(function() client:get_job_runs({}, { concurrency = 2.5 }) end,
      "intuned: option 'concurrency' must be an integer from 1 to 1024")
    assert.has_error(function() client:get_job_runs({}, { concurency = 2 }) end,
      "intuned: unknown get_job_runs option 'concurency'")
    assert.has_error(function() client.get_job_runs({}) end)
    local ok, msg = pcall(function() local _ = client:get_job_runs({ { P, J, "" } }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("^spec/api/batch_spec.lua:%d+: intuned: list%[1%]"), msg)
    ok, msg = pcall(function() local _ = client:get_job_runs({}, { concurrency = -1 }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("^spec/api/batch_spec.lua:%d+: intuned: option"), msg)
    local c = fx.client()
    c:close()
    assert.has_error(function() c:get_job_runs({}) end, "intuned: client is closed")
  end)
end)

describe("examples/get_job_runs.lua", function()
  it("prints one line per run in order, an error line for a missing one, and the results", function()
    local srv = fx.server()
    local ids = { fx.id("ok"), fx.id("notfound"), fx.id("running") }
    local cmd = ("INTUNED_WORKSPACE_ID=%s INTUNED_API_KEY=%s INTUNED_BASE_URL=%s %s"
      .. " examples/get_job_runs.lua p j %s 2>&1"):format(srv.workspace_id, srv.api_key, srv.base_url,
      fx.lua(), table.concat(ids, " "))
    local p = io.popen(cmd)
    local out = p:read("*a")
    local ok, _, code = p:close()
    if type(ok) == "number" then code = ok end
    assert.are_not.equal(0, code, out) -- one run was missing
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    local function plain(s) return (s:gsub("%p", "%%%0")) end
    assert.truthy(lines[1]:find("^" .. plain(ids[1]) .. "%s+SUCCESS"), out)
    assert.truthy(lines[2]:find("^" .. plain(ids[2]) .. "%s+error: .*HTTP 404"), out)
    assert.truthy(lines[3]:find("^" .. plain(ids[3]) .. "%s+PENDING"), out)
    assert.truthy(lines[4]:find("results of " .. ids[1] .. ": 3 rows, first: Product 1", 1, true), out)
  end)
end)
