-- The API routes: the checks every operation shares, then the operation's
-- handler. Order: method (405, with Allow), API key (401), project (404),
-- workspace id is a UUID (400), the Job of the path (404), the JSON body
-- (400: missing, malformed, not an object), then the handler (its own 404s
-- and 400s). The project comes before the workspace id: the emulator serves
-- one workspace under any UUID, and a path with an unknown project is "not
-- found" whatever its workspace segment says.
--
-- Get Job Run of an id the stateful part did not hand out goes, before any
-- check, to the legacy scenarios (emulator/legacy.lua).
--
-- Handlers take ctx { ws, project = { name, id }, job (when the path has
-- one), params, query, body, now } and return status, value[, headers].
local auth_sessions = require("emulator.auth_sessions")
local http = require("emulator.http")
local job_runs = require("emulator.job_runs")
local jobs = require("emulator.jobs")
local legacy = require("emulator.legacy")
local run_api = require("emulator.run_api")
local store = require("emulator.store")

local M = {}

-- operationId -> { handler, job = the path names a Job, body = takes a JSON object }
local OPERATIONS = {
  runApiStart = { run_api.start, body = true },
  runApiResult = { run_api.result },
  getJobs = { jobs.list },
  createJob = { jobs.create, body = true },
  getJob = { jobs.get, job = true },
  updateJob = { jobs.update, job = true, body = true },
  deleteJob = { jobs.delete, job = true },
  pauseJob = { jobs.pause, job = true },
  resumeJob = { jobs.resume, job = true },
  triggerJob = { job_runs.trigger, job = true },
  getJobRuns = { job_runs.list, job = true },
  getJobRun = { job_runs.get, job = true },
  terminateJobRun = { job_runs.terminate, job = true },
  getAuthSessions = { auth_sessions.list },
  getAuthSession = { auth_sessions.get },
  deleteAuthSession = { auth_sessions.delete },
  CreateOrUpdateAuthSessionStart = { auth_sessions.create, body = true },
  createAuthSessionResult = { auth_sessions.create_result },
  ValidateAuthSessionStart = { auth_sessions.validate, body = true },
  validateAuthSessionResult = { auth_sessions.validate_result },
  UpdateAuthSessionStart = { auth_sessions.update, body = true },
  updateAuthSessionResult = { auth_sessions.update_result },
}

-- The checks before the handler: ctx, or nil, status and error body.
local function prepare(route, entry, raw_body)
  if not http.authorized() then
    return nil, http.error(401)
  end
  local project = store.project(route.project)
  if not project then
    return nil, http.error(404, { resource = "project", projectName = route.project },
      "Project " .. route.project .. " not found")
  end
  if not http.is_uuid(route.ws) then
    return nil, http.error(400, { field = "workspaceId", reason = "must be a UUID" })
  end
  local ctx = { ws = route.ws, project = project, params = route.params, query = ngx.req.get_uri_args(),
    now = ngx.now() }
  if entry.job then
    local id = route.params.jobId
    ctx.job = jobs.find(project.name, id)
    if not ctx.job then
      return nil, http.error(404, { resource = "job", jobId = id }, "Job " .. id .. " not found")
    end
  end
  if entry.body then
    local body, problem = http.json_object(raw_body)
    if not body then
      return nil, http.error(400, problem)
    end
    ctx.body = body
  end
  return ctx
end

--- Answers an API route (emulator/routes.lua's match) whose request body
-- is `raw_body`.
function M.handle(route, raw_body)
  -- Lets tests check the decoded project name whatever the body is.
  ngx.header["X-Project"] = ngx.escape_uri(route.project)
  if not route.operation then
    return http.send_error(405, nil, nil, { Allow = route.allow })
  end
  if route.operation == "getJobRun" and not job_runs.known(route.params.jobRunId) then
    return legacy.handle({ ws = route.ws, project = route.project, job = route.params.jobId,
      run = route.params.jobRunId })
  end
  local entry = OPERATIONS[route.operation]
  local ctx, status, body = prepare(route, entry, raw_body)
  if ctx then
    local headers
    status, body, headers = entry[1](ctx)
    if status == 204 then
      return http.send_empty(204, headers)
    end
    return http.send_json(status, body, headers)
  end
  return http.send_json(status, body)
end

return M
