-- make demo: start the local API emulator, fetch a job run, wait for
-- another one to finish while printing its progress, then show the command
-- line tool (summary, progress bar, results download) and several runs
-- fetched at once; stop the emulator.
package.path = "lua/?.lua;spec/?.lua;" .. package.path
local emulator = require("support.emulator")

local lua = os.getenv("LUA") or "lua5.4"
local build = os.getenv("BUILD") or ("build/" .. lua)

local srv = emulator.start()
local results_file = os.tmpname()
local env = ("INTUNED_WORKSPACE_ID=%s INTUNED_API_KEY=%s INTUNED_BASE_URL=%s"
  .. " LUA_PATH='lua/?.lua;;' LUA_CPATH='%s/?.so;;'"):format(srv.workspace_id, srv.api_key, srv.base_url, build)

local function run(title, cmd)
  print(("\n== %s\n$ %s"):format(title, cmd))
  io.stdout:flush()
  local ok = os.execute(env .. " " .. cmd)
  return ok == true or ok == 0
end

print(("Local API emulator listening at %s"):format(srv.base_url))
local ok = run("Fetch one job run",
    lua .. " examples/get_job_run.lua my-project my-sample-job jr_demo_finished")
  and run("Wait for a running job run to finish",
    lua .. " examples/poll_job_run.lua my-project my-sample-job progress-6.demo 1")
  and run("An API error is a readable one-liner",
    lua .. " examples/get_job_run.lua my-project my-sample-job notfound.demo") == false
  and run("The command line tool: a job run's summary",
    lua .. " bin/intuned run get my-project my-sample-job jr_demo_finished")
  and run("Wait with a progress bar (plain lines when not on a terminal)",
    lua .. " bin/intuned run wait my-project my-sample-job progress-5.cli --interval 0.5 --max-interval 1")
  and run("Several job runs at once (one of them missing), then a results file",
    lua .. " examples/get_job_runs.lua my-project my-sample-job jr_a jr_b notfound.x jr_c"
      .. " flaky503-1.demo progress-fail-1.demo") == false
  and run("Download the results file (the API key is not sent to storage)",
    lua .. " bin/intuned run results my-project my-sample-job jr_demo_finished -o " .. results_file)
  and run("What was downloaded", "head -c 160 " .. results_file .. " && echo")
os.remove(results_file)
srv:stop()
print(ok and "\ndemo finished" or "\ndemo failed")
os.exit(ok and 0 or 1)
