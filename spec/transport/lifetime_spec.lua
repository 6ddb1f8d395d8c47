-- Several clients on one Lua state, coroutines that share or abandon them,
-- clients collected in the middle of a call: no crash, no mixed-up answers,
-- no leak. The injected sleep yields, which is how a coroutine scheduler
-- (or a program's event loop) would drive the client between attempts.
local intuned = require("intuned")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

local function settings(extra)
  local srv = fx.server()
  local o = { base_url = srv.base_url, api_key = srv.api_key, workspace_id = srv.workspace_id,
    random = function() return 0.5 end, clock = function() return 0 end }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- A client whose waits yield to the caller of coroutine.resume.
local function yielding_client(extra)
  local o = settings(extra)
  o.sleep = function(s) coroutine.yield("sleep", s) end
  return intuned.new(o)
end

local function full_gc()
  collectgarbage()
  collectgarbage()
end

describe("client lifetime", function()
  it("keeps two clients used alternately apart, each on its own connection", function()
    local a = fx.client()
    local b = fx.client()
    local plan = { "ok", "notfound", "invalid-json", "ok", "big-gzip-16777216", "ok", "flaky503-1", "ok" }
    local reused = 0
    for round = 1, 3 do
      for _, scenario in ipairs(plan) do
        local conn = {}
        for name, client in pairs { a = a, b = b } do
          local id = fx.id(scenario)
          local res, err, meta = client:get_job_run(P, J, id)
          if scenario == "ok" or scenario == "flaky503-1" then
            assert(res, ("round %d %s %s: %s"):format(round, name, scenario, tostring(err)))
            assert.are.equal(id, res.jobRun.id)
            conn[name] = meta.headers["x-connection"]
            reused = reused + (meta.reused and 1 or 0)
          else
            assert.is_nil(res)
            assert.truthy(intuned.is_error(err))
          end
        end
        if conn.a then
          assert.are_not.equal(conn.a, conn.b, "two clients on one connection")
        end
      end
    end
    -- Answers after a 404 or an undecodable 200 come on the same connection.
    assert.truthy(reused >= 12, "reused " .. reused)
    a:close()
    b:close()
  end)

  it("lets coroutines share one client between attempts", function()
    local client = yielding_client()
    local results = {}
    local ids = { fx.id("flaky503-2"), fx.id("flaky503-1"), fx.id("ok"), fx.id("retry-after-1") }
    local tasks = {}
    for i, id in ipairs(ids) do
      tasks[i] = coroutine.create(function()
        local res, err, meta = client:get_job_run(P, J, id)
        results[i] = { res = res, err = err, meta = meta }
      end)
    end
    -- Round-robin until every task is done.
    local pending = #tasks
    while pending > 0 do
      pending = 0
      for _, task in ipairs(tasks) do
        if coroutine.status(task) == "suspended" then
          local ok, msg = coroutine.resume(task)
          assert(ok, msg)
          if coroutine.status(task) == "suspended" then pending = pending + 1 end
        end
      end
    end
    client:close()
    for i, id in ipairs(ids) do
      assert(results[i].res, tostring(results[i].err))
      assert.are.equal(id, results[i].res.jobRun.id)
    end
    assert.are.equal(3, results[1].meta.attempts)
    assert.are.equal(2, results[2].meta.attempts)
    assert.are.equal(1, results[3].meta.attempts)
  end)

  it("collects a client abandoned with its coroutine in the middle of a call", function()
    local weak = setmetatable({}, { __mode = "v" })
    for i = 1, 20 do
      local task = coroutine.create(function()
        local client = yielding_client()
        weak[#weak + 1] = client
        weak[#weak + 1] = client.session
        client:get_job_run(P, J, fx.id("flaky503-5"))
        error("the call should not have finished")
      end)
      local ok, why, delay = coroutine.resume(task)
      assert(ok, why)
      assert.are.equal("sleep", why, "iteration " .. i)
      assert.are.equal(0.25, delay)
    end
    full_gc()
    assert.are.same({}, weak, "abandoned clients or sessions were not collected")
    -- The state is still sound: a new client works.
    local client = fx.client()
    assert.truthy(client:get_job_run(P, J, fx.id("ok")))
    client:close()
  end)

  it("raises cleanly when a suspended call's client was closed meanwhile", function()
    local client = yielding_client()
    local task = coroutine.create(function()
      return client:get_job_run(P, J, fx.id("flaky503-2"))
    end)
    assert(coroutine.resume(task))
    client:close()
    full_gc()
    local ok, msg = coroutine.resume(task)
    assert.is_false(ok)
    assert.truthy(tostring(msg):find("closed", 1, true), tostring(msg))
  end)

  it("leaks no memory over many abandoned and collected clients (child process)", function()
    local srv = fx.server()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
local intuned = require("intuned")
local o = { base_url = %q, api_key = %q, workspace_id = %q, max_response_bytes = 65536,
  clock = function() return 0 end, sleep = function() coroutine.yield() end }
local function rss_kb()
  local f = io.open("/proc/self/status")
  local kb = f and tonumber(f:read("*a"):match("VmRSS:%%s*(%%d+)"))
  if f then f:close() end
  return kb
end
local n = 0
local function round()
  n = n + 1
  local a, b = intuned.new(o), intuned.new(o)
  assert(a:get_job_run("p", "j", "ok." .. n))
  assert(b:get_job_run("p", "j", "big-300000." .. n, { retry = false }) == nil)
  local task = coroutine.create(function() return a:get_job_run("p", "j", "flaky503-3." .. n) end)
  assert(coroutine.resume(task))
  if n %% 2 == 0 then a:close() end
  a, b, task = nil, nil, nil
  collectgarbage()
  collectgarbage()
end
for _ = 1, 40 do round() end
local before = rss_kb()
for _ = 1, 200 do round() end
local after = rss_kb()
print(("rss %%d %%d"):format(before or -1, after or -1))
]]):format(srv.base_url, srv.api_key, srv.workspace_id))
    f:close()
    local pipe = assert(io.popen(fx.lua() .. " " .. script .. " 2>&1"))
    local out = pipe:read("*a")
    pipe:close()
    os.remove(script)
    local before, after = out:match("rss (%-?%d+) (%-?%d+)")
    assert(before, out)
    before, after = tonumber(before), tonumber(after)
    if before < 0 then
      pending("no /proc/self/status here")
      return
    end
    if os.getenv("INTUNED_SANITIZER") == "asan" then
      -- ASan's quarantine holds freed memory back on purpose; LeakSanitizer
      -- checks for lost memory in that run instead.
      pending("resident size says nothing under AddressSanitizer")
      return
    end
    -- 200 rounds make 400 sessions; a lost handle or buffer would add
    -- tens of kilobytes each.
    assert(after - before < 3072, ("RSS grew from %d kB to %d kB"):format(before, after))
  end)
end)
