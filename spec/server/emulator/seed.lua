-- The known state a reset (POST /__emulator/reset, and the first request
-- after start) leaves: timing options, and unless `seed` is false, project
-- "my-project" with three Jobs and their finished runs and three auth
-- sessions; plus an empty project per name in `projects`.
--
--   my-sample-job   ACTIVE; runs jr_sample_001..005 (SUCCESS, FAILURE,
--                   SUCCESS, TERMINATED, SUCCESS), one a day from
--                   2024-01-01, 30 minutes and 20 payloads each
--   nightly-scrape  ACTIVE, scheduled, S3 sink; runs jr_nightly_001..003
--                   (SUCCESS, SUCCESS, FAILURE)
--   paused-job      PAUSED, empty payload; runs jr_paused_001..002
--                   (SUCCESS, CANCELED)
--   auth sessions   auth-session-123 (CREDENTIALS, READY),
--                   auth-session-456 (RUNTIME, PENDING),
--                   auth-session-789 (RECORDER, EXPIRED)
local auth_sessions = require("emulator.auth_sessions")
local check = require("emulator.check")
local http = require("emulator.http")
local job_runs = require("emulator.job_runs")
local jobs = require("emulator.jobs")
local json = require("emulator.json")
local store = require("emulator.store")

local M = {}

M.PROJECT = "my-project"
M.PROJECT_ID = require("emulator.legacy_docs").PROJECT_ID

local DAY = 86400
local START = 1704067200 -- 2024-01-01T00:00:00Z
local RUN_SECONDS = 1800

local JOBS = {
  {
    body = {
      id = "my-sample-job",
      payload = { { apiName = "my-awesome-api", parameters = { param1 = "value1", param2 = 42, param3 = true },
        requestTimeout = 600, retry = { maximumAttempts = 3 } } },
      configuration = { retry = { maximumAttempts = 3 }, maxConcurrentRequests = 5, requestTimeout = 600 },
      sink = { type = "webhook", url = "https://example.com/webhook", headers = { Authorization = "Bearer token" },
        skipOnFail = false, apisToSend = { "api1", "api2" } },
      proxy = "http://username:password@proxy.example.com:8080",
      auth_session = { id = "auth-session-123", checkAttempts = 3, createAttempts = 3 },
    },
    runs = { { "jr_sample_001", "SUCCESS", "SCHEDULED" }, { "jr_sample_002", "FAILURE", "SCHEDULED" },
      { "jr_sample_003", "SUCCESS", "MANUAL" }, { "jr_sample_004", "TERMINATED", "MANUAL" },
      { "jr_sample_005", "SUCCESS", "SCHEDULED" } },
  },
  {
    body = {
      id = "nightly-scrape",
      payload = { { apiName = "list-products", parameters = { category = "shoes" } },
        { apiName = "product-details", parameters = { url = "https://example.com/item/1" } } },
      configuration = { maxConcurrentRequests = 10 },
      schedule = { calendars = { { hour = 2, minute = 0, comment = "Every night at 02:00" } }, jitter = 60 },
      sink = { type = "s3", bucket = "my-s3-bucket", accessKeyId = "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region = "us-west-2", prefix = "nightly/" },
    },
    runs = { { "jr_nightly_001", "SUCCESS", "SCHEDULED" }, { "jr_nightly_002", "SUCCESS", "SCHEDULED" },
      { "jr_nightly_003", "FAILURE", "SCHEDULED" } },
  },
  {
    body = {
      id = "paused-job",
      payload = json.array(),
      configuration = { requestTimeout = 300 },
      schedule = { intervals = { { every = 3600 } } },
    },
    state = "PAUSED",
    runs = { { "jr_paused_001", "SUCCESS", "MANUAL" }, { "jr_paused_002", "CANCELED", "MANUAL" } },
  },
}

local SESSIONS = {
  { id = "auth-session-123", type = "CREDENTIALS", status = "READY" },
  { id = "auth-session-456", type = "RUNTIME", status = "PENDING" },
  { id = "auth-session-789", type = "RECORDER", status = "EXPIRED" },
}

local function seed_project()
  store.add_project(M.PROJECT, M.PROJECT_ID)
  for j, entry in ipairs(JOBS) do
    local job = jobs.add(M.PROJECT, entry.body, entry.state, START - DAY)
    for i, run in ipairs(entry.runs) do
      local terminated = run[2] == "TERMINATED"
      job_runs.add(M.PROJECT, job, {
        id = run[1], outcome = terminated and "SUCCESS" or run[2], type = run[3], total = 20,
        created = START + (i - 1) * DAY + j * 3600, seconds = RUN_SECONDS, stop_at = terminated and 0.4 or nil,
      })
    end
  end
  for _, session in ipairs(SESSIONS) do
    auth_sessions.add(M.PROJECT, json.copy(session))
  end
end

local OPTIONS = { type = "object", closed = true, fields = {
  seed = { type = "boolean" },
  projects = { type = "array", items = { type = "string", min_length = 1 } },
} }
for name in pairs(store.DEFAULTS) do
  local whole = name == "page_size"
  OPTIONS.fields[name] = { type = whole and "integer" or "number", min = whole and 1 or 0,
    max = name == "paused_factor" and 1 or nil }
end

--- Drops all state and seeds it again. Returns a summary, or nil and the
-- details of a 400 answer.
function M.reset(options)
  local problem = check.details(options, OPTIONS)
  if problem then
    return nil, problem
  end
  store.flush()
  local timing = {}
  for name in pairs(store.DEFAULTS) do
    timing[name] = options[name]
  end
  store.set_options(timing)
  if options.seed ~= false then
    seed_project()
  end
  for _, name in ipairs(options.projects or {}) do
    if not store.project(name) then
      store.add_project(name, http.uuid())
    end
  end
  store.set("ready", true)
  return { projects = store.projects(), options = store.options() }
end

--- Seeds the default state if nothing did yet (the first request).
function M.ensure()
  if not store.get("ready") then
    M.reset({})
  end
end

return M
