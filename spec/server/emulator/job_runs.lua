-- JobRuns: Trigger Job (creates one), Get Job Runs (pages, sorting), Get
-- Job Run, Terminate Job Run, and what pausing, resuming and deleting a Job
-- do to its runs.
--
-- A run is PENDING (PAUSED while its Job is paused, going paused_factor as
-- fast) with its counters growing, until it reaches its outcome: SUCCESS
-- (with results), FAILURE (with error and reason), CANCELED or COMPLETED;
-- or TERMINATED when terminated first. The first payload's parameters of
-- the Job choose (read at trigger time): outcome, duration_ms or polls (see
-- emulator/progress.lua), payloads (the counters' total, default the number
-- of payload entries).
--
-- Get Job Runs takes the contract's query parameters: pageSize (default: the
-- page_size option), pageNumber (the first page is 0), sortBy ("field,asc"
-- or "field,desc" pairs joined by "/", fields among the JobRun's scalar wire
-- names, null first going up; default created_at,desc). Any other query
-- parameter is a 400.
--
-- Run ids are global: Get Job Run answers from here for every id this module
-- handed out (or seeded, or whose Job was deleted: 404), and leaves every
-- other id to the legacy scenarios.
local http = require("emulator.http")
local json = require("emulator.json")
local progress = require("emulator.progress")
local storage = require("emulator.storage")
local store = require("emulator.store")

local null = json.null

local M = {}

M.OUTCOMES = { "SUCCESS", "FAILURE", "CANCELED", "COMPLETED" }

local DOC_ERRORS = "https://intunedhq.com/docs/main/support/errors"
local DOC_REASONS = "https://intunedhq.com/docs/main/support/reasons"

---------------------------------------------------------------------------
-- Documents
---------------------------------------------------------------------------

--- The JobRun error object of a failed run.
function M.failure_error()
  return {
    message = "An error occurred while executing the job",
    code = "internal-server-error",
    category = "infrastructure",
    correlationId = http.uuid(),
    retirable = false,
    doc_url = DOC_ERRORS .. "#internal-server-error",
    details = { step = "execute", attempts = 3 },
  }
end

--- A JobRun reason object.
function M.reason(kind, message, details)
  return { type = kind, message = message, details = details, doc_url = DOC_REASONS .. "#" .. kind }
end

--- The JobRun reason object of a failed run.
function M.failure_reason()
  return M.reason("terminated", "The job run was terminated after repeated failures", { failed_payloads = 5 })
end

local REASONS = {
  FAILURE = M.failure_reason,
  CANCELED = function() return M.reason("user-request", "The job run was canceled") end,
  TERMINATED = function() return M.reason("user-request", "The job run was terminated by a user") end,
}

local SUCCESSFUL = { SUCCESS = true, COMPLETED = true }

---------------------------------------------------------------------------
-- Records
---------------------------------------------------------------------------

local function run_key(id) return store.key("run", id) end
local function gone_key(id) return store.key("gone", id) end
local function list_key(project, job) return store.key("runs", project, job) end

local function save(run)
  return store.set(run_key(run.id), run)
end

--- True when `id` is a run of the stateful part (live or deleted).
function M.known(id)
  return store.get(run_key(id)) ~= nil or store.get(gone_key(id)) ~= nil
end

local function snapshot(job)
  local configuration = json.copy(job.configuration)
  if job.proxy ~= null then
    configuration.proxy = job.proxy
  end
  return {
    configuration = configuration,
    sink = job.sink,
    auth_session = job.auth_session,
    proxy = job.proxy ~= null and { version = "v1", url = job.proxy } or null,
    notifications = null,
  }
end

--- What the first payload entry's parameters ask of a run of `job`.
local function controls(job)
  local first = job.payload[1]
  return first and first.parameters or {}
end

--- Adds a run of `job` in `project` (a name). fields: id, type, created,
-- outcome, total, and progress (a record) or seconds and stop_at (a
-- finished run, or one terminated at that fraction: seeding).
function M.add(project, job, fields)
  local id = fields.id or ("jr_" .. http.random_id(21, "abcdefghijklmnopqrstuvwxyz0123456789"))
  local run = {
    id = id, project = project, job = job.id, type = fields.type or "MANUAL",
    outcome = fields.outcome or "SUCCESS", total = fields.total or #job.payload,
    progress = fields.progress or progress.new(fields.created, fields.seconds),
    snapshot = snapshot(job),
  }
  if fields.stop_at then
    run.progress.done, run.progress.stopped = fields.stop_at, true
    run.progress.ended = fields.created + (fields.seconds or 0) * fields.stop_at
  end
  save(run)
  store.push(list_key(project, job.id), id)
  return run
end

local function runs_of(project, job_id)
  local runs = {}
  for _, id in ipairs(store.list(list_key(project, job_id))) do
    runs[#runs + 1] = store.get(run_key(id))
  end
  return runs
end

--- Every run of a paused (factor < 1) or resumed (1) Job changes speed.
function M.set_speed(project, job_id, factor, now)
  for _, run in ipairs(runs_of(project, job_id)) do
    progress.set_speed(run.progress, now, factor)
    save(run)
  end
end

--- A deleted Job's runs: gone, and their ids answer 404 from now on.
function M.delete_all(project, job_id)
  for _, id in ipairs(store.list(list_key(project, job_id))) do
    store.delete(run_key(id))
    store.set(gone_key(id), true)
  end
  store.delete(list_key(project, job_id))
end

--- When the Job's last finished run ended (epoch seconds), or nil.
function M.last_end(project, job_id, now)
  local last
  for _, run in ipairs(runs_of(project, job_id)) do
    if progress.finished(run.progress, now) then
      progress.settle(run.progress, now)
      last = math.max(last or 0, run.progress.ended)
    end
  end
  return last
end

---------------------------------------------------------------------------
-- Views
---------------------------------------------------------------------------

local function status_of(run, job, now)
  local p = run.progress
  if p.stopped then
    return "TERMINATED"
  elseif progress.fraction(p, now) >= 1 then
    return run.outcome
  end
  return job.state == "PAUSED" and "PAUSED" or "PENDING"
end

local function counts(run)
  local failed = run.outcome == "FAILURE" and math.ceil(run.total / 2) or 0
  return run.total - failed, failed
end

local function view(run, ctx, now)
  local p = run.progress
  local f = progress.settle(p, now)
  local status = status_of(run, ctx.job, now)
  local ok_total, failed_total = counts(run)
  local reason = REASONS[status]
  return {
    id = run.id,
    start_time = http.iso(p.created),
    end_time = p.ended and http.iso(p.ended) or null,
    workspace_id = ctx.ws,
    project_id = ctx.project.id,
    job_id = run.job,
    created_at = http.iso(p.created),
    updated_at = http.iso(p.ended or now),
    type = run.type,
    status = status,
    payloads = run.total,
    successful_runs = math.floor(ok_total * f),
    failed_runs = math.floor(failed_total * f),
    error = status == "FAILURE" and M.failure_error() or null,
    reason = reason and reason() or null,
    job_configuration_snapshot = run.snapshot,
  }
end

local function results(run)
  local name = ngx.escape_uri(run.id) .. ".json"
  return storage.results(name, "results/" .. run.project .. "/" .. run.job .. "/" .. run.id .. ".json",
    storage.SIZE)
end

---------------------------------------------------------------------------
-- Routes (ctx: ws, project, job, params, query, now; see emulator/api.lua)
---------------------------------------------------------------------------

function M.trigger(ctx)
  local job = ctx.job
  if job.state == "PAUSED" then
    return http.error(400, { field = "jobId", reason = "the job is paused" }, "Job " .. job.id .. " is paused")
  end
  local asks = controls(job)
  local run = M.add(ctx.project.name, job, {
    created = ctx.now, outcome = asks.outcome, total = asks.payloads,
    progress = progress.asked(ctx.now, asks, store.options().job_run_ms),
  })
  return 200, { jobRunId = run.id, message = "Job triggered successfully" }
end

-- The run of the path, or the 404 answer.
local function find(ctx)
  local id = ctx.params.jobRunId
  local run = store.get(run_key(id))
  if not run or run.project ~= ctx.project.name or run.job ~= ctx.job.id then
    return nil, http.error(404, { resource = "jobRun", jobRunId = id }, "JobRun " .. id .. " not found")
  end
  return run
end

function M.get(ctx)
  local run, status, body = find(ctx)
  if not run then
    return status, body
  end
  progress.read(run.progress, ctx.now)
  save(run)
  local doc = view(run, ctx, ctx.now)
  return 200, { jobRun = doc, results = SUCCESSFUL[doc.status] and results(run) or nil }
end

function M.terminate(ctx)
  local run, status, body = find(ctx)
  if not run then
    return status, body
  end
  if progress.finished(run.progress, ctx.now) then
    return 200, { message = "JobRun already finished." }
  end
  progress.stop(run.progress, ctx.now)
  save(run)
  return 200, { message = "JobRun terminated successfully." }
end

---------------------------------------------------------------------------
-- Get Job Runs
---------------------------------------------------------------------------

local SORTABLE = {
  id = true, start_time = true, end_time = true, created_at = true, updated_at = true, type = true,
  status = true, payloads = true, successful_runs = true, failed_runs = true, job_id = true,
}

-- sortBy ("field,direction" pairs joined by "/") as a list of { field, desc },
-- or nil and the reason.
local function parse_sort(text)
  local keys = {}
  for pair in (text .. "/"):gmatch("([^/]*)/") do
    local field, direction = pair:match("^([%w_]+),(%a+)$")
    if not field or not SORTABLE[field] or (direction ~= "asc" and direction ~= "desc") then
      return nil, ("%q is not a sortable field and asc or desc"):format(pair)
    end
    keys[#keys + 1] = { field, direction == "desc" }
  end
  return keys
end

local function less(a, b)
  if a == null then
    return b ~= null
  elseif b == null then
    return false
  end
  return a < b
end

local function query_number(query, name, default, least)
  local value = query[name]
  if value == nil then
    return default
  end
  local n = type(value) == "string" and value:find("^%d+$") and tonumber(value)
  if not n or n < least then
    return nil, http.error(400, { field = name, reason = "must be a whole number of at least " .. least })
  end
  return n
end

local QUERY = { pageSize = true, pageNumber = true, sortBy = true }

-- Unknown query parameters are refused rather than ignored, so that a client
-- sending page_size (say) learns it at once.
function M.list(ctx)
  for name in pairs(ctx.query) do
    if not QUERY[name] then
      return http.error(400, { field = name, reason = "is not a query parameter of Get Job Runs"
        .. " (pageSize, pageNumber, sortBy)" })
    end
  end
  local size, status, body = query_number(ctx.query, "pageSize", store.options().page_size, 1)
  if not size then
    return status, body
  end
  local number
  number, status, body = query_number(ctx.query, "pageNumber", 0, 0)
  if not number then
    return status, body
  end
  local keys, why = { { "created_at", true } }, nil
  if type(ctx.query.sortBy) == "string" then
    keys, why = parse_sort(ctx.query.sortBy)
  elseif ctx.query.sortBy ~= nil then
    keys, why = nil, "must be given once, with a value"
  end
  if not keys then
    return http.error(400, { field = "sortBy", reason = why })
  end
  local rows = {}
  for i, run in ipairs(runs_of(ctx.project.name, ctx.job.id)) do
    rows[i] = { doc = view(run, ctx, ctx.now), index = i }
  end
  local first_desc = keys[1][2]
  table.sort(rows, function(a, b)
    for _, key in ipairs(keys) do
      local x, y = a.doc[key[1]], b.doc[key[1]]
      if x ~= y then
        if key[2] then
          return less(y, x)
        end
        return less(x, y)
      end
    end
    if first_desc then
      return a.index > b.index
    end
    return a.index < b.index
  end)
  local page = json.array()
  for i = number * size + 1, math.min(#rows, (number + 1) * size) do
    page[#page + 1] = rows[i].doc
  end
  return 200, { jobRuns = page, totalCount = #rows }
end

return M
