-- The Run API: Run API - Start and Run API - Result. A run is `pending` for
-- the first quarter of its way, `started` until the end, then final as its
-- request's parameters chose:
--   parameters.outcome      "completed" (default), "failed" or "canceled"
--   parameters.duration_ms  how long it takes (default: the run_ms option)
--   parameters.polls        or: final at the polls-th read of its result
--   parameters.result       what a completed run returns (default: the api
--                           name and the parameters, echoed)
--   parameters.extendedPayloads  echoed as the result's extendedPayloads
local check = require("emulator.check")
local http = require("emulator.http")
local progress = require("emulator.progress")
local store = require("emulator.store")

local M = {}

local START = {
  type = "object", required = { "api", "parameters" },
  fields = {
    api = { type = "string" },
    parameters = { type = "object", fields = check.controls({ "completed", "failed", "canceled" }) },
    proxy = check.PROXY,
    saveTrace = { type = "boolean" },
    requestTimeout = { type = "integer" },
    retry = check.RETRY,
    authSession = { type = "object" },
    sink = check.SINK,
  },
}
START.fields.parameters.fields.extendedPayloads = { type = "array", items = { type = "object", required = { "api" } } }

local function run_key(project, id) return store.key("apirun", project, id) end

function M.start(ctx)
  local problem = check.details(ctx.body, START)
  if problem then
    return http.error(400, problem)
  end
  local asks = ctx.body.parameters
  local run = {
    id = http.random_id(21),
    api = ctx.body.api,
    parameters = asks,
    outcome = asks.outcome or "completed",
    progress = progress.asked(ctx.now, asks, store.options().run_ms),
  }
  store.set(run_key(ctx.project.name, run.id), run)
  return 201, { runId = run.id, status = "pending" }
end

local FINAL = {
  completed = function(run)
    local result = run.parameters.result
    if result == nil then
      result = { api = run.api, parameters = run.parameters }
    end
    return { result = result, extendedPayloads = run.parameters.extendedPayloads }
  end,
  failed = function()
    return {
      message = "Script timed out after 600 seconds",
      error = {
        message = "Script timed out after 600 seconds",
        code = "script-timeout",
        category = "execution",
        retirable = true,
        correlation_id = http.uuid(),
      },
    }
  end,
  canceled = function()
    return {
      message = "The Run was canceled by a user.",
      reason = { type = "cancelled-user-action", message = "The Run was canceled by a user." },
    }
  end,
}

function M.result(ctx)
  local id = ctx.params.runId
  local key = run_key(ctx.project.name, id)
  local run = store.get(key)
  if not run then
    return http.error(404, { resource = "run", runId = id }, "Run " .. id .. " not found")
  end
  local phase = progress.phase(progress.read(run.progress, ctx.now))
  store.set(key, run)
  if phase ~= "final" then
    return 200, { runId = id, status = phase == "pending" and "pending" or "started" }
  end
  local body = FINAL[run.outcome](run)
  body.runId, body.status = id, run.outcome
  return 200, body
end

return M
