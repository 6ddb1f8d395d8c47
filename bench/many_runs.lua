-- Benchmark (not a test): 200 Run API runs that finish at different times
-- (spread over about 2 s, the same spread for both sides), waited for one
-- by one with client:wait_for_run and all at once with client:wait_for_runs,
-- interleaved rounds, on the local emulator, whose result route answers
-- after LATENCY_MS (a remote API is not on loopback). Prints the wall
-- times, the polls each made, and the ratio.
--
--   make bench-runs        (or: lua5.4 bench/many_runs.lua [RUNS [ROUNDS]])
package.path = "lua/?.lua;spec/?.lua;" .. package.path
local build = os.getenv("BUILD") or "build/lua5.4"
package.cpath = build .. "/?.so;" .. package.cpath

local emulator = require("support.emulator")
local intuned = require("intuned")
local core = require("intuned.core")

local RUNS = tonumber(arg[1]) or 200
local ROUNDS = tonumber(arg[2]) or 3
local SPREAD_MS = 2000
local LATENCY_MS = 50
local WAIT = { interval = 0.2, max_interval = 1 }
local PROJECT = "my-project"

local srv = emulator.start()
srv:reset()
local client = intuned.new {
  base_url = srv.base_url, api_key = srv.api_key, workspace_id = srv.workspace_id,
}

-- The same spread every time: run i takes a fixed pseudo-random share of it.
local function duration(i)
  return (i * 7919) % SPREAD_MS
end

-- Every result poll waits LATENCY_MS on the server.
local function slow_results()
  srv:clear_faults()
  srv:fault { method = "GET", path = "/result$", fault = "stall-" .. LATENCY_MS, times = 1000000 }
end

local function start_all()
  local ids = {}
  for i = 1, RUNS do
    ids[i] = assert(client:start_run(PROJECT, { api = "page", parameters = { duration_ms = duration(i) } })).runId
  end
  return ids
end

local function polls()
  return #srv:requests { operation = "runApiResult" }
end

local modes = {
  { name = ("%d x wait_for_run, one after another"):format(RUNS), run = function(ids)
    for _, id in ipairs(ids) do
      local res = assert(client:wait_for_run(PROJECT, id, WAIT))
      assert(res.status == "completed")
    end
  end },
  { name = "wait_for_runs, concurrency 16", run = function(ids)
    local opts = { concurrency = 16 }
    for k, v in pairs(WAIT) do opts[k] = v end
    for _, r in ipairs(client:wait_for_runs(PROJECT, ids, opts)) do
      assert(r.res and r.res.status == "completed", r.err and tostring(r.err))
    end
  end },
}

local best, made = {}, {}
for _ = 1, ROUNDS do
  for m, mode in ipairs(modes) do
    srv:clear_faults()
    local ids = start_all()
    slow_results()
    srv:clear_log()
    local t0 = core.now()
    mode.run(ids)
    local t = core.now() - t0
    best[m] = math.min(best[m] or math.huge, t)
    made[m] = polls()
  end
end
client:close()
srv:stop()

print(("%d Run API runs finishing over %.1f s, polled every %g s at first, each poll answered after %d ms"
  .. " (best of %d interleaved rounds)"):format(RUNS, SPREAD_MS / 1000, WAIT.interval, LATENCY_MS, ROUNDS))
for m, mode in ipairs(modes) do
  print(("  %-44s %8.3f s  %5d polls  %5.2fx"):format(mode.name, best[m], made[m], best[m] / best[1]))
end
print(("  wait_for_runs takes %.0f%% of the one-by-one time (%.1fx faster)"):format(
  best[2] / best[1] * 100, best[1] / best[2]))
