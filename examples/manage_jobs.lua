-- Create a job, list the project's jobs, update it, pause and resume it,
-- then delete it.
--
--   export INTUNED_WORKSPACE_ID=... INTUNED_API_KEY=...
--   lua examples/manage_jobs.lua PROJECT NEW_JOB_ID
local intuned = require("intuned")

local project, job_id = arg[1], arg[2]
if not (project and job_id) then
  io.stderr:write("usage: lua examples/manage_jobs.lua PROJECT NEW_JOB_ID\n")
  os.exit(2)
end

local client = intuned.new()

-- Exits with the error of a failed call; gives its result otherwise.
local function must(what, res, err)
  if res == nil then
    io.stderr:write(what, " failed: ", tostring(err), "\n")
    os.exit(1)
  end
  return res
end

must("create", client:create_job(project, {
  id = job_id,
  payload = { { apiName = "my-awesome-api", parameters = { url = "https://example.com" } } },
  configuration = { maxConcurrentRequests = 5, retry = { maximumAttempts = 3 } },
  schedule = intuned.null, -- no schedule: triggered by hand
}))
print("created " .. job_id)

for _, job in ipairs(must("list", client:list_jobs(project))) do
  print(("  %-20s %s"):format(job.id, tostring(job.state)))
end

-- What get_job returns can be changed and sent back as it is.
local job = must("get", client:get_job(project, job_id))
job.configuration.maxConcurrentRequests = 10
must("update", client:update_job(project, job_id, job))
print("updated: maxConcurrentRequests = "
  .. must("get", client:get_job(project, job_id)).configuration.maxConcurrentRequests)

print(must("pause", client:pause_job(project, job_id)).message)
print(must("resume", client:resume_job(project, job_id)).message)
must("delete", client:delete_job(project, job_id))
print("deleted " .. job_id)
client:close()
