-- Jobs: Get Jobs, Create Job, Get Job, Update Job, Delete Job, Pause Job,
-- Resume Job. A Job is stored as its definition (payload, configuration,
-- schedule, sink, proxy, auth_session: the documented fields only) plus
-- state, reason and creation time; Get Jobs and Get Job each shape it their
-- own way, as the contract says (JobListItem, JobDetails).
local check = require("emulator.check")
local http = require("emulator.http")
local job_runs = require("emulator.job_runs")
local json = require("emulator.json")
local store = require("emulator.store")

local null = json.null

local M = {}

---------------------------------------------------------------------------
-- Request bodies
---------------------------------------------------------------------------

local CONTROLS = check.controls(job_runs.OUTCOMES)
CONTROLS.payloads = { type = "integer", min = 0 }

local PAYLOAD = {
  type = "array",
  items = {
    type = "object", required = { "apiName", "parameters" },
    fields = {
      apiName = { type = "string" },
      parameters = { type = "object", fields = CONTROLS },
      requestTimeout = { type = "integer" },
      retry = check.RETRY,
    },
  },
}

local DEFINITION = {
  payload = PAYLOAD,
  configuration = {
    type = "object",
    fields = {
      retry = check.RETRY,
      maxConcurrentRequests = { type = "number", min = 1, max = 25 },
      requestTimeout = { type = "integer" },
    },
  },
  schedule = { type = "object", nullable = true },
  sink = check.SINK,
  proxy = check.PROXY,
  auth_session = {
    type = "object", nullable = true, required = { "id" },
    fields = { id = { type = "string" }, checkAttempts = { type = "integer" }, createAttempts = { type = "integer" } },
  },
}

local CREATE = { type = "object", required = { "id", "payload", "configuration" }, fields = {} }
local UPDATE = { type = "object", required = { "payload", "configuration" }, fields = DEFINITION }
for name, shape in pairs(DEFINITION) do
  CREATE.fields[name] = shape
end
CREATE.fields.id = { type = "string", min_length = 7, pattern = "^[%w_-]+$" }

local function pick(from, names)
  local out = {}
  for _, name in ipairs(names) do
    out[name] = json.copy(from[name])
  end
  return out
end

-- The stored definition: documented fields only, absent ones null.
local function definition(body)
  local payload = json.array()
  for i, item in ipairs(body.payload) do
    payload[i] = pick(item, { "apiName", "parameters", "requestTimeout", "retry" })
  end
  local out = pick(body, { "schedule", "sink", "proxy", "auth_session" })
  for _, name in ipairs({ "schedule", "sink", "proxy", "auth_session" }) do
    if out[name] == nil then
      out[name] = null
    end
  end
  out.payload = payload
  out.configuration = pick(body.configuration, { "retry", "maxConcurrentRequests", "requestTimeout" })
  return out
end

---------------------------------------------------------------------------
-- Records
---------------------------------------------------------------------------

local function job_key(project, id) return store.key("job", project, id) end
local function list_key(project) return store.key("jobs", project) end

function M.find(project, id)
  return store.get(job_key(project, id))
end

local function save(project, job)
  return store.set(job_key(project, job.id), job)
end

--- Adds a Job to `project` (a name) from a create body; `state` and
-- `created` (epoch seconds) default to ACTIVE and now.
function M.add(project, body, state, created)
  local job = definition(body)
  job.id, job.created, job.state, job.reason = body.id, created or ngx.now(), state or "ACTIVE", null
  if job.state == "PAUSED" then
    job.reason = { type = "paused", message = "Paused by user", timestamp = http.iso(job.created) }
  end
  store.push(list_key(project), job.id)
  return save(project, job)
end

---------------------------------------------------------------------------
-- Views
---------------------------------------------------------------------------

-- Scheduled Jobs run at the top of every hour, as far as anyone can tell.
local function next_run(job, now)
  if job.schedule == null then
    return null
  end
  return http.iso((math.floor(now / 3600) + 1) * 3600)
end

local function last_run(ctx, job)
  local t = job_runs.last_end(ctx.project.name, job.id, ctx.now)
  return t and http.iso(t) or null
end

local function list_item(ctx, job)
  return {
    id = job.id, workspace_id = ctx.ws, project_id = ctx.project.id,
    configuration = job.configuration, payload = job.payload, sink = job.sink, schedule = job.schedule,
    next_run_time = next_run(job, ctx.now), last_run_time = last_run(ctx, job),
    created_at = http.iso(job.created), auth_session = job.auth_session,
    proxy = job.proxy ~= null and { version = "v1", url = job.proxy } or null,
    reason = job.reason, state = job.state,
    schedule_id = job.schedule ~= null and "sched-" .. job.id or null,
  }
end

local function details(ctx, job)
  return {
    id = job.id, projectId = ctx.project.id,
    configuration = job.configuration, payload = job.payload, sink = job.sink, schedule = job.schedule,
    created_at = http.iso(job.created),
    next_run_time = next_run(job, ctx.now), last_run_time = last_run(ctx, job),
    state = job.state, auth_session = job.auth_session,
    proxy = job.proxy ~= null and job.proxy or nil,
  }
end

---------------------------------------------------------------------------
-- Routes (ctx: ws, project, job, params, body, now; see emulator/api.lua)
---------------------------------------------------------------------------

function M.list(ctx)
  local out = json.array()
  for _, id in ipairs(store.list(list_key(ctx.project.name))) do
    out[#out + 1] = list_item(ctx, M.find(ctx.project.name, id))
  end
  return 200, out
end

function M.create(ctx)
  local problem = check.details(ctx.body, CREATE)
  if problem then
    return http.error(400, problem)
  end
  if M.find(ctx.project.name, ctx.body.id) then
    return http.error(400, { field = "id", reason = "a job with this id already exists" },
      "Job " .. ctx.body.id .. " already exists")
  end
  local job = M.add(ctx.project.name, ctx.body, "ACTIVE", ctx.now)
  return 201, { id = job.id, message = "created" }
end

function M.get(ctx)
  return 200, details(ctx, ctx.job)
end

function M.update(ctx)
  local problem = check.details(ctx.body, UPDATE)
  if problem then
    return http.error(400, problem)
  end
  local job = ctx.job
  for name, value in pairs(definition(ctx.body)) do
    job[name] = value
  end
  save(ctx.project.name, job)
  return 200, { id = job.id, message = "updated job successfully" }
end

function M.delete(ctx)
  local project, id = ctx.project.name, ctx.job.id
  job_runs.delete_all(project, id)
  store.delete(job_key(project, id))
  store.remove(list_key(project), id)
  return 204
end

function M.pause(ctx)
  local job = ctx.job
  if job.state ~= "PAUSED" then
    job.state = "PAUSED"
    job.reason = { type = "paused", message = "Paused by user", timestamp = http.iso(ctx.now) }
    save(ctx.project.name, job)
    job_runs.set_speed(ctx.project.name, job.id, store.options().paused_factor, ctx.now)
  end
  return 200, { message = "Paused" }
end

function M.resume(ctx)
  local job = ctx.job
  if job.state == "PAUSED" then
    job.state, job.reason = "ACTIVE", null
    save(ctx.project.name, job)
    job_runs.set_speed(ctx.project.name, job.id, 1, ctx.now)
  end
  return 200, { message = "Resumed" }
end

return M
