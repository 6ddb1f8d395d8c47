-- Which statuses are final, for the three kinds of things the API runs.
-- Unknown statuses are not final: the API adds new ones, and a wait keeps
-- polling through them.

local check = require("intuned.check")

local M = {}

-- Job runs (get_job_run's jobRun.status). PENDING, PAUSED, PAUSING and
-- RESUMING are not final.
M.JOB_RUN = { SUCCESS = true, FAILURE = true, CANCELED = true, TERMINATED = true, COMPLETED = true }

-- Run API runs (get_run_result's status). pending and started are not.
M.RUN = { completed = true, failed = true, canceled = true }

-- AuthSession operations (the create, validate and update results'
-- status). pending and in_progress are not.
M.AUTH_OPERATION = { done = true, failed = true, canceled = true }

-- Of each kind, the final statuses that mean it went well.
M.SUCCEEDED = { SUCCESS = true, COMPLETED = true, completed = true, done = true }

local FINAL = {}
for _, set in ipairs({ M.JOB_RUN, M.RUN, M.AUTH_OPERATION }) do
  for name in pairs(set) do
    FINAL[name] = true
  end
end

-- True when x has reached a final status: a job run, a get_job_run result,
-- a Run API result, an auth-session operation result, or a status string.
function M.is_terminal(x)
  local t = type(x)
  if t == "table" then
    if type(x.jobRun) == "table" then
      x = x.jobRun
    end
    return FINAL[x.status] == true
  elseif t == "string" then
    return FINAL[x] == true
  end
  check.fail("is_terminal expects a run, a result or a status string, got " .. t)
end

return M
