-- AuthSessions: Get AuthSessions, Get AuthSession, Delete AuthSession, and
-- the three operations (create, validate, update), each a Start that answers
-- an operationId and a Result to poll: `pending` for the first quarter of
-- its way, `in_progress` (with a runId) until the end, then final. The
-- outcome and timing come from the request: from body.parameters (create,
-- update) or the body itself (validate, whose body has no parameters):
--   outcome      "done" (default), "failed" or "canceled"
--   duration_ms  how long it takes (default: the operation_ms option)
--   polls        or: final at the polls-th read of its result
-- What a finished operation does to its session:
--   create   the session is listed as PENDING while it runs; done: READY;
--            failed or canceled: it is gone (when the id was new)
--   update   PENDING while it runs; done: READY; failed: EXPIRED
--   validate done: READY; failed: EXPIRED
-- A canceled update or validate leaves the status it had; a create of an
-- id that exists is an update (its result still read under create/).
local check = require("emulator.check")
local http = require("emulator.http")
local json = require("emulator.json")
local progress = require("emulator.progress")
local store = require("emulator.store")

local M = {}

local OUTCOMES = { "done", "failed", "canceled" }

local OPERATION = {
  parameters = { type = "object", fields = check.controls(OUTCOMES) },
  proxy = check.PROXY,
  createAttempts = { type = "integer" },
  checkAttempts = { type = "integer" },
  saveTrace = { type = "boolean" },
}

local CREATE = { type = "object", required = { "parameters" }, fields = { id = { type = "string", min_length = 3 } } }
local UPDATE = { type = "object", required = { "parameters" }, fields = {} }
for name, shape in pairs(OPERATION) do
  CREATE.fields[name], UPDATE.fields[name] = shape, shape
end

local VALIDATE = { type = "object", fields = check.controls(OUTCOMES) }
VALIDATE.fields.autoRecreate = { type = "boolean" }
VALIDATE.fields.checkAttempts = { type = "integer" }
VALIDATE.fields.createAttempts = { type = "integer" }
VALIDATE.fields.proxy = check.PROXY
VALIDATE.fields.requestTimeout = { type = "integer" }

---------------------------------------------------------------------------
-- Records
---------------------------------------------------------------------------

local function session_key(project, id) return store.key("session", project, id) end
local function list_key(project) return store.key("sessions", project) end
local function op_key(project, id) return store.key("op", project, id) end

--- Adds a session (seeding, or a create): { id, type, status }.
function M.add(project, session)
  store.push(list_key(project), session.id)
  return store.set(session_key(project, session.id), session)
end

local function drop(project, id)
  store.delete(session_key(project, id))
  store.remove(list_key(project), id)
end

-- What a final operation leaves, by kind and outcome ("before": the status
-- the session had when it started; nil: the session is gone).
local AFTER = {
  create = { done = "READY" },
  update = { done = "READY", failed = "EXPIRED" },
  validate = { done = "READY", failed = "EXPIRED" },
}

-- The session with its operation's effect applied once that is final; nil
-- when there is no such session (any more).
local function settle(project, id, now)
  local session = store.get(session_key(project, id))
  if not session or not session.op then
    return session
  end
  local op = store.get(op_key(project, session.op))
  if not op or not progress.finished(op.progress, now) then
    return session
  end
  local status = AFTER[op.kind][op.outcome] or session.before
  session.op, session.before, session.status = nil, nil, status
  if not status then
    drop(project, id)
    return nil
  end
  return store.set(session_key(project, id), session)
end

local function public(session)
  return { id = session.id, type = session.type, status = session.status }
end

-- Starts an operation of `kind` on session `id`; `asks` holds the controls.
local function start(ctx, kind, id, asks, running_status)
  local op = {
    id = http.random_id(15, "abcdefghijklmnopqrstuvwxyz"),
    kind = kind, session = id, outcome = asks.outcome or "done", run_id = http.random_id(21),
    progress = progress.asked(ctx.now, asks, store.options().operation_ms),
  }
  store.set(op_key(ctx.project.name, op.id), op)
  local session = settle(ctx.project.name, id, ctx.now)
  session.op = op.id
  if kind == "create" then
    session.before = nil -- a new session: gone unless the creation succeeds
  else
    session.before = session.before or session.status
  end
  session.status = running_status or session.status
  store.set(session_key(ctx.project.name, id), session)
  return op
end

local function missing(id)
  return http.error(404, { resource = "authSession", authSessionId = id }, "AuthSession " .. id .. " not found")
end

---------------------------------------------------------------------------
-- Routes (ctx: ws, project, params, body, now; see emulator/api.lua)
---------------------------------------------------------------------------

function M.list(ctx)
  local out = json.array()
  for _, id in ipairs(store.list(list_key(ctx.project.name))) do
    local session = settle(ctx.project.name, id, ctx.now)
    if session then
      out[#out + 1] = public(session)
    end
  end
  return 200, out
end

function M.get(ctx)
  local session = settle(ctx.project.name, ctx.params.authSessionId, ctx.now)
  if not session then
    return missing(ctx.params.authSessionId)
  end
  return 200, public(session)
end

function M.delete(ctx)
  local id = ctx.params.authSessionId
  if not settle(ctx.project.name, id, ctx.now) then
    return missing(id)
  end
  drop(ctx.project.name, id)
  return 204
end

function M.create(ctx)
  local problem = check.details(ctx.body, CREATE)
  if problem then
    return http.error(400, problem)
  end
  local id = ctx.body.id or ("auth-session-" .. http.random_id(8, "abcdefghijklmnopqrstuvwxyz0123456789"))
  local kind = "update"
  if not settle(ctx.project.name, id, ctx.now) then
    kind = "create"
    M.add(ctx.project.name, { id = id, type = "CREDENTIALS", status = "PENDING" })
  end
  local op = start(ctx, kind, id, ctx.body.parameters, "PENDING")
  -- Its result is read under create/, whatever it does to the session.
  op.route = "create"
  store.set(op_key(ctx.project.name, op.id), op)
  return 201, { status = "started", operationId = op.id }
end

function M.update(ctx)
  local id = ctx.params.authSessionId
  local problem = check.details(ctx.body, UPDATE)
  if problem then
    return http.error(400, problem)
  end
  if not settle(ctx.project.name, id, ctx.now) then
    return missing(id)
  end
  local op = start(ctx, "update", id, ctx.body.parameters, "PENDING")
  return 201, { status = "started", operationId = op.id }
end

function M.validate(ctx)
  local id = ctx.params.authSessionId
  local problem = check.details(ctx.body, VALIDATE)
  if problem then
    return http.error(400, problem)
  end
  if not settle(ctx.project.name, id, ctx.now) then
    return missing(id)
  end
  local op = start(ctx, "validate", id, ctx.body, nil)
  return 201, { status = "pending", operationId = op.id }
end

---------------------------------------------------------------------------
-- Results
---------------------------------------------------------------------------

local FAILURES = {
  create = { "All create attempts failed", "create-attempts-failed" },
  update = { "All create attempts failed", "create-attempts-failed" },
  validate = { "All check attempts failed", "check-attempts-failed" },
}

local function final_body(op)
  if op.outcome == "done" then
    return { status = "done", authSessionId = op.session }
  elseif op.outcome == "failed" then
    local failure = FAILURES[op.kind]
    return {
      status = "failed", message = failure[1],
      error = { message = failure[1], code = failure[2], category = "auth", retirable = false },
    }
  end
  return {
    status = "canceled", message = "The operation was canceled by a user.",
    reason = { type = "cancelled-user-action", message = "The operation was canceled by a user." },
  }
end

-- Result of operation `op_id` read under `route` ("create", "validate",
-- "update"), for session `session_id` (nil under create/).
local function result(ctx, route, op_id, session_id)
  local key = op_key(ctx.project.name, op_id)
  local op = store.get(key)
  if not op or (op.route or op.kind) ~= route or (session_id and op.session ~= session_id) then
    return http.error(404, { resource = "operation", operationId = op_id }, "Operation " .. op_id .. " not found")
  end
  local phase = progress.phase(progress.read(op.progress, ctx.now))
  store.set(key, op)
  settle(ctx.project.name, op.session, ctx.now)
  if phase == "pending" then
    return 200, { status = "pending" }
  elseif phase == "running" then
    return 200, { status = "in_progress", runId = op.run_id }
  end
  return 200, final_body(op)
end

function M.create_result(ctx)
  return result(ctx, "create", ctx.params.operationId)
end

function M.validate_result(ctx)
  return result(ctx, "validate", ctx.params.operationId, ctx.params.authSessionId)
end

function M.update_result(ctx)
  return result(ctx, "update", ctx.params.operationId, ctx.params.authSessionId)
end

return M
