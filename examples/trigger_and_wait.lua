-- Trigger a job, wait for its run with progress, then download the results.
--
--   export INTUNED_WORKSPACE_ID=... INTUNED_API_KEY=...
--   lua examples/trigger_and_wait.lua PROJECT JOB_ID [RESULTS_FILE]
local intuned = require("intuned")

local project, job_id, results_file = arg[1], arg[2], arg[3]
if not (project and job_id) then
  io.stderr:write("usage: lua examples/trigger_and_wait.lua PROJECT JOB_ID [RESULTS_FILE]\n")
  os.exit(2)
end

local client = intuned.new()

local started, err = client:trigger_job(project, job_id)
if not started then
  io.stderr:write("trigger failed: ", tostring(err), "\n")
  os.exit(1)
end
print("triggered run " .. started.jobRunId)

local res, werr = client:wait_for_job_run(project, job_id, started.jobRunId, {
  interval = tonumber(os.getenv("POLL_INTERVAL") or "5"),
  on_progress = function(run, info)
    print(("[%5.1fs] %s: %d/%s payloads done"):format(info.elapsed, run.status,
      (run.successful_runs or 0) + (run.failed_runs or 0), tostring(run.payloads or "?")))
  end,
})
if not res then
  io.stderr:write("wait failed: ", tostring(werr), "\n")
  os.exit(1)
end
print("finished: " .. res.jobRun.status)
if res.jobRun.status ~= "SUCCESS" then
  os.exit(1)
end

local path = results_file or "results.json"
local saved, derr, meta = client:download_results(res, { path = path })
if not saved then
  io.stderr:write("download failed: ", tostring(derr), "\n")
  os.exit(1)
end
print(("results: %d bytes in %s"):format(meta.bytes, saved))
client:close()
