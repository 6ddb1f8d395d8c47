-- Every operation of the Intuned Client API, declared once, as data; the
-- client's methods are made from this table (intuned.client). The contract
-- is spec/contract/intuned-client.yaml; spec/tools/coverage_spec.lua
-- checks each entry against it (path, method, statuses, body schema) and
-- that each has its method, emulator route, docs entry and spec.
--
-- Fields of an entry:
--   id        the contract's operationId
--   method    HTTP method; POSTs are not idempotent, GET, PUT, DELETE are
--   path      below /{workspaceId}/projects/{projectName}; {name} is a path
--             parameter, filled from the method's arguments in order
--   body      the contract schema of the request body, when it has one
--   optional  the body may be left out (a positional nil): this JSON text
--             is sent instead
--   root      the body argument's name in error messages
--   query     query parameters the call options take:
--             option name -> { wire name, "integer" | "string" }
--   result    "object" (default), "array", or "none" (a 204: the method
--             returns true)
--   fields    members of the result the library reads: name -> JSON type
--   validate  a function(body) -> message for a result of the wrong shape
--   gone_ok   a 404 on a retry after an attempt that got no answer is a
--             success (a DELETE: the resource is gone either way)

local response = require("intuned.response")

local QUERY_PAGE = {
  page_size = { "pageSize", "integer" }, page_number = { "pageNumber", "integer" },
  sort_by = { "sortBy", "string" },
}

return {
  -- Jobs
  list_jobs = { id = "getJobs", method = "GET", path = "/jobs", result = "array" },
  create_job = { id = "createJob", method = "POST", path = "/jobs", body = "JobCreateRequest",
    root = "job", fields = { id = "string" } },
  get_job = { id = "getJob", method = "GET", path = "/jobs/{job_id}" },
  update_job = { id = "updateJob", method = "PUT", path = "/jobs/{job_id}", body = "JobUpdateRequest",
    root = "job" },
  delete_job = { id = "deleteJob", method = "DELETE", path = "/jobs/{job_id}", result = "none",
    gone_ok = true },
  pause_job = { id = "pauseJob", method = "POST", path = "/jobs/{job_id}/pause" },
  resume_job = { id = "resumeJob", method = "POST", path = "/jobs/{job_id}/resume" },
  trigger_job = { id = "triggerJob", method = "POST", path = "/jobs/{job_id}/trigger",
    fields = { jobRunId = "string" } },

  -- Job runs
  list_job_runs = { id = "getJobRuns", method = "GET", path = "/jobs/{job_id}/runs", query = QUERY_PAGE,
    fields = { jobRuns = "array", totalCount = "number" } },
  get_job_run = { id = "getJobRun", method = "GET", path = "/jobs/{job_id}/runs/{job_run_id}",
    validate = response.job_run_shape },
  terminate_job_run = { id = "terminateJobRun", method = "POST",
    path = "/jobs/{job_id}/runs/{job_run_id}/terminate" },

  -- The Run API
  start_run = { id = "runApiStart", method = "POST", path = "/run/start", body = "RunStartRequest",
    root = "request", fields = { runId = "string" } },
  get_run_result = { id = "runApiResult", method = "GET", path = "/run/{run_id}/result",
    fields = { status = "string" } },

  -- AuthSessions
  list_auth_sessions = { id = "getAuthSessions", method = "GET", path = "/auth-sessions", result = "array" },
  get_auth_session = { id = "getAuthSession", method = "GET", path = "/auth-sessions/{auth_session_id}" },
  delete_auth_session = { id = "deleteAuthSession", method = "DELETE", path = "/auth-sessions/{auth_session_id}",
    result = "none", gone_ok = true },
  start_auth_session_create = { id = "CreateOrUpdateAuthSessionStart", method = "POST",
    path = "/auth-sessions/create", body = "AuthSessionCreateRequest", fields = { operationId = "string" } },
  get_auth_session_create_result = { id = "createAuthSessionResult", method = "GET",
    path = "/auth-sessions/create/{operation_id}/result", fields = { status = "string" } },
  start_auth_session_validate = { id = "ValidateAuthSessionStart", method = "POST",
    path = "/auth-sessions/{auth_session_id}/validate/start", body = "AuthSessionValidateRequest",
    optional = "{}", fields = { operationId = "string" } },
  get_auth_session_validate_result = { id = "validateAuthSessionResult", method = "GET",
    path = "/auth-sessions/{auth_session_id}/validate/{operation_id}/result", fields = { status = "string" } },
  start_auth_session_update = { id = "UpdateAuthSessionStart", method = "POST",
    path = "/auth-sessions/{auth_session_id}/update", body = "AuthSessionUpdateRequest",
    fields = { operationId = "string" } },
  get_auth_session_update_result = { id = "updateAuthSessionResult", method = "GET",
    path = "/auth-sessions/{auth_session_id}/update/{operation_id}/result", fields = { status = "string" } },
}
