-- Fetch one job run and print its status and counts.
--
--   export INTUNED_WORKSPACE_ID=... INTUNED_API_KEY=...
--   lua examples/get_job_run.lua PROJECT JOB_ID JOB_RUN_ID
local intuned = require("intuned")

local project, job_id, job_run_id = arg[1], arg[2], arg[3]
if not (project and job_id and job_run_id) then
  io.stderr:write("usage: lua examples/get_job_run.lua PROJECT JOB_ID JOB_RUN_ID\n")
  os.exit(2)
end

local client = intuned.new() -- settings from INTUNED_WORKSPACE_ID, INTUNED_API_KEY, INTUNED_BASE_URL
local res, err = client:get_job_run(project, job_id, job_run_id)
client:close()

if not res then
  io.stderr:write(tostring(err), "\n")
  if err.kind == "api" and err.status == 404 then
    io.stderr:write("check the project name, job id and job run id\n")
  end
  os.exit(1)
end

local run = res.jobRun
print(("job run %s: %s%s"):format(run.id, run.status,
  intuned.is_terminal(run) and " (finished)" or " (in progress)"))
print(("payloads %s, successful %s, failed %s"):format(
  tostring(run.payloads or "-"), tostring(run.successful_runs or "-"), tostring(run.failed_runs or "-")))
if run.error then
  print(("error: %s (%s)"):format(run.error.message, run.error.code))
end
if res.results then
  print(("results: %s file at %s"):format(res.results.format, res.results.signed_url))
end
