-- The job run documents of the legacy scenarios (emulator/legacy.lua): a
-- complete SUCCESS run carrying every field of the contract, its results,
-- and the sender of a Get Job Run answer. ctx: ws, project, job, run (the
-- decoded path parameters), scenario.
local http = require("emulator.http")
local job_runs = require("emulator.job_runs")
local json = require("emulator.json")
local storage = require("emulator.storage")

local null = json.null

local M = {}

M.PROJECT_ID = "9b2d5c1e-3f4a-4b6c-8d7e-0f1a2b3c4d5e"

local function snapshot()
  return {
    configuration = {
      retry = { maximumAttempts = 3 },
      maxConcurrentRequests = 5,
      requestTimeout = 600,
      proxy = "http://username:password@proxy.example.com:8080",
    },
    sink = {
      type = "webhook",
      url = "https://example.com/webhook",
      headers = {
        ["Content-Type"] = "application/json",
        Authorization = "Bearer token",
      },
      skipOnFail = false,
      apisToSend = { "api1", "api2" },
    },
    auth_session = { id = "auth-session-123", checkAttempts = 3, createAttempts = 3 },
    proxy = { version = "v1", url = "http://proxy.example.com:8080" },
    notifications = {
      { type = "webhook", url = "https://example.com/notify",
        headers = { Authorization = "Bearer token" } },
    },
  }
end

function M.ok_run(ctx)
  return {
    id = ctx.run,
    start_time = "2024-01-01T00:00:00Z",
    end_time = "2024-01-01T00:30:00Z",
    workspace_id = ctx.ws,
    project_id = M.PROJECT_ID,
    job_id = ctx.job,
    created_at = "2024-01-01T00:00:00Z",
    updated_at = "2024-01-01T00:30:00Z",
    type = "SCHEDULED",
    status = "SUCCESS",
    payloads = 100,
    successful_runs = 95,
    failed_runs = 5,
    error = null,
    reason = null,
    job_configuration_snapshot = snapshot(),
  }
end

function M.results(ctx, expired)
  local name = (expired and "expired-" or "") .. ngx.escape_uri(ctx.run) .. ".json"
  return storage.results(name, "results/" .. ctx.run .. ".json", 1234.5)
end

function M.failed_run(ctx)
  local run = M.ok_run(ctx)
  run.status = "FAILURE"
  run.error = job_runs.failure_error()
  run.reason = job_runs.failure_reason()
  return run
end

function M.ok_body(ctx)
  return json.encode({ jobRun = M.ok_run(ctx), results = M.results(ctx) })
end

function M.send_run(run, res)
  return http.send_json(200, { jobRun = run, results = res })
end

function M.ok(ctx)
  return M.send_run(M.ok_run(ctx), M.results(ctx))
end

-- Number of requests seen so far for this run id, this one included.
function M.hit(ctx)
  return (ngx.shared.emulator:incr("n:" .. ctx.run, 1, 0))
end

-- Time of the first request for this run id.
function M.first_seen(ctx)
  local key = "t:" .. ctx.run
  ngx.shared.emulator:add(key, ngx.now())
  return ngx.shared.emulator:get(key)
end

return M
