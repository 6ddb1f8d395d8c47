-- Benchmark (not a test): 100 job runs whose answers each take 100 ms on the
-- local emulator, fetched one after another with client:get_job_run and all
-- together with client:get_job_runs (concurrency 50), in the same run.
-- Prints both wall times and their ratio; the target is a ratio under 10%.
--
--   make bench-concurrent        (or: lua5.4 bench/concurrent.lua [RUNS [CONCURRENCY]])
package.path = "lua/?.lua;spec/?.lua;" .. package.path
local build = os.getenv("BUILD") or "build/lua5.4"
package.cpath = build .. "/?.so;" .. package.cpath

local emulator = require("support.emulator")
local intuned = require("intuned")
local core = require("intuned.core")

local RUNS = tonumber(arg[1]) or 100
local CONCURRENCY = tonumber(arg[2]) or 50
local DELAY_MS = 100
local TARGET = 0.10

local srv = emulator.start()
local client = intuned.new {
  base_url = srv.base_url, api_key = srv.api_key, workspace_id = srv.workspace_id,
}

local function ids(tag)
  local list = {}
  for i = 1, RUNS do
    list[i] = { "bench", "concurrent", ("stall-headers-ms-%d.%s-%s-%d"):format(DELAY_MS, emulator.nonce(), tag, i) }
  end
  return list
end

-- One warm-up request so both sides start with a resolved, running server.
assert(client:get_job_run("bench", "concurrent", "ok.warmup"))

local sequential = ids("seq")
local t0 = core.now()
for _, e in ipairs(sequential) do
  assert(client:get_job_run(e[1], e[2], e[3]))
end
local t_seq = core.now() - t0

local together = ids("multi")
t0 = core.now()
local results = client:get_job_runs(together, { concurrency = CONCURRENCY })
local t_multi = core.now() - t0
for i, r in ipairs(results) do
  assert(r.res, r.err and tostring(r.err) or ("entry " .. i .. " missing"))
end

client:close()
srv:stop()

local ratio = t_multi / t_seq
print(("%d runs, each answered after %d ms (libcurl %s)"):format(RUNS, DELAY_MS, core.curl_version))
print(("  %-40s %8.3f s"):format(("%d x get_job_run, one after another"):format(RUNS), t_seq))
print(("  %-40s %8.3f s"):format(("get_job_runs, concurrency %d"):format(CONCURRENCY), t_multi))
print(("  ratio: %.1f%% of the sequential time (target: under %d%%) -> %s"):format(
  ratio * 100, TARGET * 100, ratio < TARGET and "met" or "MISSED"))
os.exit(ratio < TARGET and 0 or 1)
