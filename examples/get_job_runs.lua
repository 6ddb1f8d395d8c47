-- Fetch several job runs at once (one line each, in the order given), then
-- download the results file of the first one that has one.
--
--   export INTUNED_WORKSPACE_ID=... INTUNED_API_KEY=...
--   lua examples/get_job_runs.lua PROJECT JOB_ID JOB_RUN_ID [JOB_RUN_ID ...]
local intuned = require("intuned")

local project, job_id = arg[1], arg[2]
if not (project and job_id and arg[3]) then
  io.stderr:write("usage: lua examples/get_job_runs.lua PROJECT JOB_ID JOB_RUN_ID [JOB_RUN_ID ...]\n")
  os.exit(2)
end

local list = {}
for i = 3, #arg do
  list[#list + 1] = { project, job_id, arg[i] }
end

local client = intuned.new() -- settings from INTUNED_WORKSPACE_ID, INTUNED_API_KEY, INTUNED_BASE_URL
local results = client:get_job_runs(list, { concurrency = 8 })

local failures, with_results = 0, nil
for i, r in ipairs(results) do
  if r.res then
    local run = r.res.jobRun
    print(("%-28s %-9s %s/%s payloads ok"):format(list[i][3], run.status,
      tostring(run.successful_runs or "-"), tostring(run.payloads or "-")))
    with_results = with_results or (r.res.results and r.res)
  else
    failures = failures + 1
    print(("%-28s error: %s"):format(list[i][3], tostring(r.err)))
  end
end

if with_results then
  -- The signed URL is fetched without the API key; JSON results come back decoded.
  local rows, err = client:download_results(with_results)
  if rows then
    print(("results of %s: %d rows, first: %s"):format(with_results.jobRun.id, #rows,
      tostring(rows[1] and rows[1].output and rows[1].output.title)))
  else
    print("results download failed: " .. tostring(err))
  end
end
client:close()
os.exit(failures == 0 and 0 or 1)
