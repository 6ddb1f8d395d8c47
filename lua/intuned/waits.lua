-- The client's waits, all on the one polling engine (intuned.wait): poll a
-- job run, a Run API run or an auth-session operation until its status is
-- final, and the helpers that start something and wait for it. In every
-- one, `timeout` bounds the whole call and `request_timeout` each request;
-- a final status that went badly (FAILURE, failed, canceled) is a result:
-- check its status. Errors are for requests that failed and for timeouts.

local body = require("intuned.body")
local check = require("intuned.check")
local state = require("intuned.state")
local wait = require("intuned.wait")

local M = {}

local KINDS = wait.KINDS

-- client:wait_for_job_run(project, job_id, job_run_id [, opts])
--   -> result, nil, info | nil, err
-- opts: interval (first wait, s), max_interval, backoff (growth factor),
-- timeout (whole wait, s), on_progress(run, info), request_timeout, retry,
-- keep_nulls. info = { elapsed, attempts (polls so far), changes }.
function M.wait_for_job_run(self, project, job_id, job_run_id, opts)
  state.check(self, "wait_for_job_run")
  local o = wait.options(opts, "wait_for_job_run")
  -- Misuse of the ids raises here, before any waiting.
  check.segment(project, "project", 1)
  check.segment(job_id, "job_id", 1)
  check.segment(job_run_id, "job_run_id", 1)
  return wait.wait(self, KINDS.job_run, { project, job_id, job_run_id }, o)
end

-- client:wait_for_run(project, run_id [, opts]) -> result, nil, info | nil, err
function M.wait_for_run(self, project, run_id, opts)
  state.check(self, "wait_for_run")
  local o = wait.options(opts, "wait_for_run")
  check.segment(project, "project", 1)
  check.segment(run_id, "run_id", 1)
  return wait.wait(self, KINDS.run, { project, run_id }, o)
end

-- Starts with start(), then waits for what it started, as `kind`, within
-- one timeout: the start counts against it.
local function start_then_wait(self, o, kind, start, ids_of)
  local started = self.clock()
  local res, err = start()
  if not res then
    return nil, err
  end
  return wait.wait(self, kind, ids_of(res), o, started)
end

-- The start-then-wait helpers, declared: what they wait for, the method
-- that starts it, the id they take after the project (if any), the body
-- schema (if any, and whether it may be left out), and the member of the
-- start's answer that names what started.
local HELPERS = {
  run_job = { kind = KINDS.job_run, start = "trigger_job", id = "job_id", started = "jobRunId" },
  run = { kind = KINDS.run, start = "start_run", schema = "RunStartRequest", root = "request",
    started = "runId" },
  create_auth_session = { kind = KINDS.auth_create, start = "start_auth_session_create",
    schema = "AuthSessionCreateRequest", started = "operationId" },
  validate_auth_session = { kind = KINDS.auth_validate, start = "start_auth_session_validate",
    id = "auth_session_id", schema = "AuthSessionValidateRequest", optional = true, started = "operationId" },
  update_auth_session = { kind = KINDS.auth_update, start = "start_auth_session_update",
    id = "auth_session_id", schema = "AuthSessionUpdateRequest", started = "operationId" },
}

-- client:run_job(project, job_id [, opts]), client:run(project, request [, opts]),
-- client:create_auth_session(project, body [, opts]),
-- client:validate_auth_session(project, id [, body, opts]),
-- client:update_auth_session(project, id, body [, opts])
--   -> the final result, nil, info | nil, err
-- Misuse (ids, the body, the options) raises before anything is sent.
local function helper(name, h)
  return function(self, project, a, b, c)
    state.check(self, name)
    local id, request, opts = nil, a, b
    if h.id then
      id, request, opts = a, b, c
    end
    if not h.schema then
      request, opts = nil, request
    end
    local o = wait.options(opts, name)
    check.segment(project, "project", 1)
    if h.id then
      check.segment(id, h.id, 1)
    end
    if h.schema and (request ~= nil or not h.optional) then
      body.check(request, h.schema, h.root or "body", 1)
    end
    local function start()
      local call = wait.start_call(self, o)
      if h.id and h.schema then
        return self[h.start](self, project, id, request, call)
      elseif h.id then
        return self[h.start](self, project, id, call)
      end
      return self[h.start](self, project, request, call)
    end
    return start_then_wait(self, o, h.kind, start, function(res)
      if h.id then
        return { project, id, res[h.started] }
      end
      return { project, res[h.started] }
    end)
  end
end

for name, h in pairs(HELPERS) do
  M[name] = helper(name, h)
end

return M
