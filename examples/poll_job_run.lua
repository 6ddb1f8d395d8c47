-- Poll a job run until it reaches a terminal status, printing progress.
--
--   export INTUNED_WORKSPACE_ID=... INTUNED_API_KEY=...
--   lua examples/poll_job_run.lua PROJECT JOB_ID JOB_RUN_ID [INTERVAL_SECONDS]
local intuned = require("intuned")
local core = require("intuned.core")

local project, job_id, job_run_id = arg[1], arg[2], arg[3]
local interval = tonumber(arg[4] or "5")
if not (project and job_id and job_run_id and interval and interval > 0) then
  io.stderr:write("usage: lua examples/poll_job_run.lua PROJECT JOB_ID JOB_RUN_ID [INTERVAL_SECONDS]\n")
  os.exit(2)
end

local client = intuned.new()
local started = core.now()
local last
while true do
  local res, err = client:get_job_run(project, job_id, job_run_id)
  if not res then
    io.stderr:write(tostring(err), "\n")
    client:close()
    os.exit(1)
  end
  local run = res.jobRun
  local line = ("[%5.1fs] %s: %s/%s payloads done (%s ok, %s failed)"):format(
    core.now() - started, run.status,
    (run.successful_runs or 0) + (run.failed_runs or 0), tostring(run.payloads or "?"),
    tostring(run.successful_runs or 0), tostring(run.failed_runs or 0))
  if line:sub(10) ~= last then
    print(line)
    io.stdout:flush()
    last = line:sub(10)
  end
  if intuned.is_terminal(run) then
    break
  end
  core.sleep(interval)
end
client:close()
