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

-- Starts with `start` (a method name and its arguments after the project),
-- then waits for what it started, as `kind`, within one timeout.
local function start_then_wait(self, o, kind, start, ids_of)
  local started = self.clock()
  local res, err = start()
  if not res then
    return nil, err
  end
  local ids = ids_of(res)
  return wait.wait(self, kind, ids, o, started)
end

-- client:run_job(project, job_id [, opts]) -> what wait_for_job_run returns
-- Triggers the job, then waits for the run it started.
function M.run_job(self, project, job_id, opts)
  state.check(self, "run_job")
  local o = wait.options(opts, "run_job")
  check.segment(project, "project", 1)
  check.segment(job_id, "job_id", 1)
  return start_then_wait(self, o, KINDS.job_run, function()
    return self:trigger_job(project, job_id, wait.start_call(self, o))
  end, function(res) return { project, job_id, res.jobRunId } end)
end

-- client:run(project, request [, opts]) -> the final result | nil, err
-- Starts a Run API run (request: the RunStart body), then waits for it.
function M.run(self, project, request, opts)
  state.check(self, "run")
  local o = wait.options(opts, "run")
  check.segment(project, "project", 1)
  -- The body is checked (and misuse raised) by start_run, blamed here:
  -- check it first so the caller's line is the one named.
  body.check(request, "RunStartRequest", "request", 1)
  return start_then_wait(self, o, KINDS.run, function()
    return self:start_run(project, request, wait.start_call(self, o))
  end, function(res) return { project, res.runId } end)
end

-- client:create_auth_session(project, body [, opts]) -> the final operation result
function M.create_auth_session(self, project, request, opts)
  state.check(self, "create_auth_session")
  local o = wait.options(opts, "create_auth_session")
  check.segment(project, "project", 1)
  body.check(request, "AuthSessionCreateRequest", "body", 1)
  return start_then_wait(self, o, KINDS.auth_create, function()
    return self:start_auth_session_create(project, request, wait.start_call(self, o))
  end, function(res) return { project, res.operationId } end)
end

-- client:validate_auth_session(project, id [, body, opts]) -> the final operation result
function M.validate_auth_session(self, project, id, request, opts)
  state.check(self, "validate_auth_session")
  local o = wait.options(opts, "validate_auth_session")
  check.segment(project, "project", 1)
  check.segment(id, "auth_session_id", 1)
  if request ~= nil then
    body.check(request, "AuthSessionValidateRequest", "body", 1)
  end
  return start_then_wait(self, o, KINDS.auth_validate, function()
    return self:start_auth_session_validate(project, id, request, wait.start_call(self, o))
  end, function(res) return { project, id, res.operationId } end)
end

-- client:update_auth_session(project, id, body [, opts]) -> the final operation result
function M.update_auth_session(self, project, id, request, opts)
  state.check(self, "update_auth_session")
  local o = wait.options(opts, "update_auth_session")
  check.segment(project, "project", 1)
  check.segment(id, "auth_session_id", 1)
  body.check(request, "AuthSessionUpdateRequest", "body", 1)
  return start_then_wait(self, o, KINDS.auth_update, function()
    return self:start_auth_session_update(project, id, request, wait.start_call(self, o))
  end, function(res) return { project, id, res.operationId } end)
end

return M
