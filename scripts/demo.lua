-- make demo: start the local API emulator, then the main job of the
-- library: fetch a job run, trigger a job and wait for its run with its
-- progress showing, start a Run API run and wait for it; then a few more
-- things (an error, the command line, many runs at once, a results
-- download). Stops the emulator at the end.
package.path = "lua/?.lua;spec/?.lua;" .. package.path
local emulator = require("support.emulator")

local lua = os.getenv("LUA") or "lua5.4"
local build = os.getenv("BUILD") or ("build/" .. lua)

local srv = emulator.start()
srv:reset { run_ms = 3000 }
-- A job whose runs take 4 s over 20 payloads, so the wait has progress to show.
package.cpath = build .. "/?.so;" .. package.cpath
local client = require("intuned").new {
  base_url = srv.base_url, api_key = srv.api_key, workspace_id = srv.workspace_id,
}
assert(client:create_job("my-project", {
  id = "demo-scrape",
  payload = { { apiName = "list-products", parameters = { payloads = 20, duration_ms = 4000 } } },
  configuration = { maxConcurrentRequests = 5 },
}))
client:close()
local results_file = os.tmpname()
local env = ("INTUNED_WORKSPACE_ID=%s INTUNED_API_KEY=%s INTUNED_BASE_URL=%s POLL_INTERVAL=0.5"
  .. " LUA_PATH='lua/?.lua;;' LUA_CPATH='%s/?.so;;'"):format(srv.workspace_id, srv.api_key, srv.base_url, build)

local function run(title, cmd)
  print(("\n== %s\n$ %s"):format(title, cmd))
  io.stdout:flush()
  local ok = os.execute(env .. " " .. cmd)
  return ok == true or ok == 0
end

print(("Local API emulator listening at %s"):format(srv.base_url))
local ok = run("Fetch a job run",
    lua .. " examples/get_job_run.lua my-project my-sample-job jr_sample_001")
  and run("Trigger a job and wait for its run, showing its progress, then download its results",
    lua .. " examples/trigger_and_wait.lua my-project demo-scrape " .. results_file)
  and run("Start a Run API run and wait for its result",
    lua .. " examples/run_api.lua my-project product-details url=https://example.com/item/1")
  and run("An API error is a readable one-liner",
    lua .. " examples/get_job_run.lua my-project my-sample-job notfound.demo") == false
  and run("The command line tool: a job run's summary",
    lua .. " bin/intuned run get my-project my-sample-job jr_sample_001")
  and run("Several job runs at once (one of them missing)",
    lua .. " examples/get_job_runs.lua my-project my-sample-job jr_sample_001 jr_sample_003 notfound.x")
      == false
  and run("The results file downloaded above (the API key is not sent to storage)",
    "head -c 160 " .. results_file .. " && echo")
os.remove(results_file)
srv:stop()
print(ok and "\ndemo finished" or "\ndemo failed")
os.exit(ok and 0 or 1)
