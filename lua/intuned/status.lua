-- Which statuses are final. Unknown statuses are not: the API adds new
-- ones, and a wait keeps polling through them.

local check = require("intuned.check")

local M = {}

-- Job runs (getJobRun's jobRun.status).
M.JOB_RUN_FINAL = {
  CANCELED = true, SUCCESS = true, FAILURE = true, TERMINATED = true, COMPLETED = true,
}

-- True when a run (or its status string, or a get_job_run result) has
-- reached a final state.
function M.is_terminal(run)
  local t = type(run)
  if t == "table" then
    if type(run.jobRun) == "table" then
      run = run.jobRun
    end
    return M.JOB_RUN_FINAL[run.status] == true
  elseif t == "string" then
    return M.JOB_RUN_FINAL[run] == true
  end
  check.fail("is_terminal expects a run table or a status string, got " .. t)
end

return M
