-- The local Intuned API emulator, run by nginx's Lua module: the whole
-- contract (spec/contract/intuned-client.yaml, 22 operations) with state,
-- plus the legacy Get Job Run scenarios, results files, faults on any route
-- and control routes for the specs. This file only dispatches; each part
-- lives in spec/server/emulator/:
--   routes.lua     which operation a method and path are
--   api.lua        checks shared by every operation (401, 404, 400, 405)
--   jobs.lua, job_runs.lua, run_api.lua, auth_sessions.lua   the operations
--   legacy.lua, legacy_docs.lua, legacy_wire.lua   scripted Get Job Run
--                  answers picked by run id ("flaky503.<nonce>", "stray", ...)
--   storage.lua    /storage/<name>, the results files behind signed URLs
--   faults.lua     faults armed through /__emulator/faults
--   control.lua    /__emulator/ping, /reset, /faults
--   seed.lua       the known state a reset leaves
--   store.lua, progress.lua, check.lua, json.lua, http.lua, log.lua, config.lua
--
-- How specs steer the state (every value optional):
--   POST /__emulator/reset {job_run_ms, run_ms, operation_ms, paused_factor,
--     page_size, seed, projects}: drops all state and faults, seeds
--     "my-project" (see seed.lua) and sets the default durations.
--   Job runs: the first payload entry's parameters of the Job: outcome
--     (SUCCESS, FAILURE, CANCELED, COMPLETED), duration_ms, polls (final at
--     the polls-th Get Job Run of that run), payloads (counters' total).
--   Run API runs: parameters.outcome (completed, failed, canceled),
--     parameters.duration_ms, parameters.polls, parameters.result.
--   Auth-session operations: outcome (done, failed, canceled), duration_ms,
--     polls, in body.parameters (create, update) or the body (validate).
--   POST /__emulator/faults {fault, method, path, prefix, times, after,
--     retirable, retry_after}: see faults.lua.
-- Every request but the control ones is logged to <prefix>/requests.log
-- (emulator/log.lua) with its body, operationId and fault.
local api = require("emulator.api")
local config = require("emulator.config")
local control = require("emulator.control")
local faults = require("emulator.faults")
local http = require("emulator.http")
local log = require("emulator.log")
local routes = require("emulator.routes")
local seed = require("emulator.seed")
local storage = require("emulator.storage")

local M = {}

function M.init()
  local prefix = ngx.config.prefix()
  for name, value in pairs(dofile(prefix .. "emulator_config.lua")) do
    config[name] = value
  end
  config.prefix = prefix
  math.randomseed(math.floor(ngx.now() * 1000) % 2147483647)
end

function M.handle()
  ngx.update_time()
  local path = ngx.var.request_uri:match("^[^?]*")
  if control.handle(path) then
    return
  end
  local method = ngx.req.get_method()
  local body = (method ~= "GET" and method ~= "HEAD") and http.read_body() or nil
  seed.ensure()
  local route = routes.match(method, path)
  local fault = faults.take(method, path)
  log.request({ body = body, operation = route and route.operation, fault = fault and fault.fault })
  http.common_headers()
  if fault then
    faults.apply(fault)
  end
  if route then
    return api.handle(route, body)
  elseif path:find("^/storage/") then
    return storage.handle(path)
  end
  return http.send_error(404, { path = path })
end

function M.handle_redirect_target()
  log.request()
  http.common_headers()
  return http.send_raw(200, '{"jobRun":{"id":"stolen","status":"SUCCESS"}}',
    "application/json")
end

return M
