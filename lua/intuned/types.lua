---@meta
-- luacheck: no unused args, no unused
-- Type annotations for editors (lua-language-server): the client's methods,
-- their options and the shapes of what they return. Nothing here runs; the
-- methods are made from intuned.operations at load time.
-- spec/tools/annotations_spec.lua fails when a public method lacks its entry.

---@class intuned
---@field VERSION string
---@field DEFAULT_BASE_URL string
---@field null lightuserdata JSON null
local intuned = {}

---@class intuned.Options
---@field workspace_id? string your workspace (a UUID); default $INTUNED_WORKSPACE_ID
---@field api_key? string default $INTUNED_API_KEY; sent to base_url only
---@field base_url? string default $INTUNED_BASE_URL, else https://app.intuned.io/api/v1/workspace
---@field timeout? number seconds per attempt (30)
---@field connect_timeout? number seconds (10)
---@field deadline? number seconds for every call made through the client
---@field retry? intuned.RetryPolicy|false
---@field max_response_bytes? integer (8 MiB)
---@field ca_file? string
---@field ca_path? string
---@field proxy? string
---@field user_agent? string
---@field clock? fun(): number
---@field sleep? fun(seconds: number)
---@field random? fun(): number
---@field transport? "cosocket"|"pool" inside nginx
---@field thread_pool? string inside nginx, transport "pool"
---@field vm_pool_size? integer inside nginx, transport "pool"
---@field blocking? boolean inside nginx: libcurl in the worker

---@class intuned.RetryPolicy
---@field max_attempts? integer (3)
---@field base_delay? number (0.5)
---@field max_delay? number (30)
---@field min_delay? number (0)

---@class intuned.CallOptions
---@field timeout? number
---@field deadline? number
---@field retry? intuned.RetryPolicy|false
---@field keep_nulls? boolean

---@class intuned.PageOptions: intuned.CallOptions
---@field page_size? integer|string
---@field page_number? integer|string pages are numbered from 0
---@field sort_by? string e.g. "start_time,desc"

---@class intuned.WaitOptions
---@field interval? number first wait between polls (5)
---@field max_interval? number (60)
---@field backoff? number (1.5)
---@field timeout? number the whole call (3600)
---@field request_timeout? number
---@field retry? intuned.RetryPolicy|false
---@field keep_nulls? boolean
---@field on_progress? fun(result: table, info: intuned.WaitInfo)

---@class intuned.ManyOptions: intuned.WaitOptions
---@field concurrency? integer (16)

---@class intuned.BatchOptions: intuned.CallOptions
---@field concurrency? integer (16)

---@class intuned.DownloadOptions: intuned.CallOptions
---@field path? string stream to this file
---@field max_bytes? integer (256 MiB)
---@field decode? boolean

---@class intuned.WaitInfo
---@field elapsed number
---@field attempts integer polls so far
---@field changes integer
---@field index? integer wait_for_runs
---@field finished? integer wait_for_runs
---@field total? integer wait_for_runs

---@class intuned.Meta
---@field status integer
---@field attempts integer
---@field headers table<string, string> lower-case names
---@field reused boolean
---@field bytes integer
---@field content_type? string
---@field retry_after? number
---@field gone? boolean a DELETE whose retry found the resource gone

---@class intuned.Error
---@field kind "api"|"network"|"timeout"|"tls"|"decode"|"too_large"|"url"|"no_results"|"io"|"interrupted"
---@field message string
---@field status? integer
---@field code? string
---@field category? string
---@field retirable boolean
---@field correlation_id? string
---@field details? any
---@field doc_url? string
---@field attempts? integer
---@field body? table|string
---@field retry_after? number
---@field location? string
---@field deadline_reached? boolean
---@field sent? boolean
---@field run? table the last state a wait saw
---@field last_error? intuned.Error

---@class intuned.JobRun
---@field id string
---@field status string SUCCESS, FAILURE, CANCELED, TERMINATED, COMPLETED are final
---@field type string
---@field job_id string
---@field workspace_id string
---@field project_id string
---@field start_time string
---@field end_time? string
---@field created_at string
---@field updated_at string
---@field payloads? integer
---@field successful_runs? integer
---@field failed_runs? integer
---@field error? table
---@field reason? table
---@field job_configuration_snapshot table

---@class intuned.JobRunResults
---@field signed_url string
---@field signed_url_expiration? string
---@field size? number
---@field key? string
---@field format string

---@class intuned.JobRunResult
---@field jobRun intuned.JobRun
---@field results? intuned.JobRunResults

---@class intuned.JobRunPage
---@field jobRuns intuned.JobRun[]
---@field totalCount integer

---@class intuned.Job
---@field id string
---@field state? "ACTIVE"|"PAUSED"
---@field payload? table[]
---@field configuration? table
---@field schedule? table
---@field sink? table
---@field proxy? string
---@field auth_session? table
---@field created_at string

---@class intuned.RunResult
---@field runId string
---@field status string completed, failed, canceled are final
---@field result? any
---@field error? table
---@field message? string
---@field reason? table

---@class intuned.AuthSession
---@field id string
---@field type string
---@field status string

---@class intuned.AuthSessionOperation
---@field status string done, failed, canceled are final
---@field operationId? string
---@field authSessionId? string
---@field error? table
---@field message? string

---@class intuned.Started
---@field operationId string
---@field status string

---@class intuned.Message
---@field message string
---@field id? string
---@field jobRunId? string

---@class intuned.ManyResult
---@field res? table
---@field meta? intuned.Meta
---@field err? intuned.Error

---@param opts? intuned.Options
---@return intuned.Client
function intuned.new(opts) end

---@param t? table
---@return table t marked as a JSON array
function intuned.array(t) end

---@param x table|string a run, a result, or a status
---@return boolean
function intuned.is_terminal(x) end

---@param v any
---@return boolean
function intuned.is_error(v) end

---@class intuned.Client
---@field workspace_id string
---@field base_url string
local Client = {}

---@param project string
---@param opts? intuned.CallOptions
---@return intuned.Job[]|nil jobs, intuned.Error|nil err, intuned.Meta|nil meta
function Client:list_jobs(project, opts) end

---@param project string
---@param job table the JobCreateRequest body
---@param opts? intuned.CallOptions
---@return intuned.Message|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:create_job(project, job, opts) end

---@param project string
---@param job_id string
---@param opts? intuned.CallOptions
---@return intuned.Job|nil job, intuned.Error|nil err, intuned.Meta|nil meta
function Client:get_job(project, job_id, opts) end

---@param project string
---@param job_id string
---@param job table the JobUpdateRequest body (a get_job result will do)
---@param opts? intuned.CallOptions
---@return intuned.Message|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:update_job(project, job_id, job, opts) end

---@param project string
---@param job_id string
---@param opts? intuned.CallOptions
---@return true|nil ok, intuned.Error|nil err, intuned.Meta|nil meta
function Client:delete_job(project, job_id, opts) end

---@param project string
---@param job_id string
---@param opts? intuned.CallOptions
---@return intuned.Message|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:pause_job(project, job_id, opts) end

---@param project string
---@param job_id string
---@param opts? intuned.CallOptions
---@return intuned.Message|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:resume_job(project, job_id, opts) end

---@param project string
---@param job_id string
---@param opts? intuned.CallOptions
---@return intuned.Message|nil res jobRunId and message, intuned.Error|nil err, intuned.Meta|nil meta
function Client:trigger_job(project, job_id, opts) end

---@param project string
---@param job_id string
---@param opts? intuned.WaitOptions
---@return intuned.JobRunResult|nil res, intuned.Error|nil err, intuned.WaitInfo|nil info
function Client:run_job(project, job_id, opts) end

---@param project string
---@param job_id string
---@param opts? intuned.PageOptions
---@return intuned.JobRunPage|nil page, intuned.Error|nil err, intuned.Meta|nil meta
function Client:list_job_runs(project, job_id, opts) end

---@param project string
---@param job_id string
---@param opts? intuned.PageOptions
---@return fun(): intuned.JobRun|false|nil, intuned.Error|nil
function Client:each_job_run(project, job_id, opts) end

---@param project string
---@param job_id string
---@param job_run_id string
---@param opts? intuned.CallOptions
---@return intuned.JobRunResult|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:get_job_run(project, job_id, job_run_id, opts) end

---@param project string
---@param job_id string
---@param job_run_id string
---@param opts? intuned.CallOptions
---@return intuned.Message|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:terminate_job_run(project, job_id, job_run_id, opts) end

---@param project string
---@param job_id string
---@param job_run_id string
---@param opts? intuned.WaitOptions
---@return intuned.JobRunResult|nil res, intuned.Error|nil err, intuned.WaitInfo|nil info
function Client:wait_for_job_run(project, job_id, job_run_id, opts) end

---@param list table[] { {project, job_id, job_run_id}, ... }
---@param opts? intuned.BatchOptions
---@return intuned.ManyResult[]
function Client:get_job_runs(list, opts) end

---@param res_or_results intuned.JobRunResult|intuned.JobRunResults
---@param opts? intuned.DownloadOptions
---@return any|nil body the decoded file, its text, or the path, intuned.Error|nil err, intuned.Meta|nil meta
function Client:download_results(res_or_results, opts) end

---@param project string
---@param request table the RunStart body: api, parameters, ...
---@param opts? intuned.CallOptions
---@return intuned.RunResult|nil res runId and status, intuned.Error|nil err, intuned.Meta|nil meta
function Client:start_run(project, request, opts) end

---@param project string
---@param run_id string
---@param opts? intuned.CallOptions
---@return intuned.RunResult|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:get_run_result(project, run_id, opts) end

---@param project string
---@param run_id string
---@param opts? intuned.WaitOptions
---@return intuned.RunResult|nil res, intuned.Error|nil err, intuned.WaitInfo|nil info
function Client:wait_for_run(project, run_id, opts) end

---@param project string
---@param request table the RunStart body
---@param opts? intuned.WaitOptions
---@return intuned.RunResult|nil res, intuned.Error|nil err, intuned.WaitInfo|nil info
function Client:run(project, request, opts) end

---@param project string
---@param run_ids string[]
---@param opts? intuned.ManyOptions
---@return intuned.ManyResult[]
function Client:wait_for_runs(project, run_ids, opts) end

---@param project string
---@param opts? intuned.CallOptions
---@return intuned.AuthSession[]|nil sessions, intuned.Error|nil err, intuned.Meta|nil meta
function Client:list_auth_sessions(project, opts) end

---@param project string
---@param auth_session_id string
---@param opts? intuned.CallOptions
---@return intuned.AuthSession|nil session, intuned.Error|nil err, intuned.Meta|nil meta
function Client:get_auth_session(project, auth_session_id, opts) end

---@param project string
---@param auth_session_id string
---@param opts? intuned.CallOptions
---@return true|nil ok, intuned.Error|nil err, intuned.Meta|nil meta
function Client:delete_auth_session(project, auth_session_id, opts) end

---@param project string
---@param body table the AuthSessionCreateRequest body
---@param opts? intuned.CallOptions
---@return intuned.Started|nil started, intuned.Error|nil err, intuned.Meta|nil meta
function Client:start_auth_session_create(project, body, opts) end

---@param project string
---@param operation_id string
---@param opts? intuned.CallOptions
---@return intuned.AuthSessionOperation|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:get_auth_session_create_result(project, operation_id, opts) end

---@param project string
---@param body table the AuthSessionCreateRequest body
---@param opts? intuned.WaitOptions
---@return intuned.AuthSessionOperation|nil res, intuned.Error|nil err, intuned.WaitInfo|nil info
function Client:create_auth_session(project, body, opts) end

---@param project string
---@param auth_session_id string
---@param body? table the AuthSessionValidateRequest body ({} when nil)
---@param opts? intuned.CallOptions
---@return intuned.Started|nil started, intuned.Error|nil err, intuned.Meta|nil meta
function Client:start_auth_session_validate(project, auth_session_id, body, opts) end

---@param project string
---@param auth_session_id string
---@param operation_id string
---@param opts? intuned.CallOptions
---@return intuned.AuthSessionOperation|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:get_auth_session_validate_result(project, auth_session_id, operation_id, opts) end

---@param project string
---@param auth_session_id string
---@param body? table the AuthSessionValidateRequest body
---@param opts? intuned.WaitOptions
---@return intuned.AuthSessionOperation|nil res, intuned.Error|nil err, intuned.WaitInfo|nil info
function Client:validate_auth_session(project, auth_session_id, body, opts) end

---@param project string
---@param auth_session_id string
---@param body table the AuthSessionUpdateRequest body
---@param opts? intuned.CallOptions
---@return intuned.Started|nil started, intuned.Error|nil err, intuned.Meta|nil meta
function Client:start_auth_session_update(project, auth_session_id, body, opts) end

---@param project string
---@param auth_session_id string
---@param operation_id string
---@param opts? intuned.CallOptions
---@return intuned.AuthSessionOperation|nil res, intuned.Error|nil err, intuned.Meta|nil meta
function Client:get_auth_session_update_result(project, auth_session_id, operation_id, opts) end

---@param project string
---@param auth_session_id string
---@param body table the AuthSessionUpdateRequest body
---@param opts? intuned.WaitOptions
---@return intuned.AuthSessionOperation|nil res, intuned.Error|nil err, intuned.WaitInfo|nil info
function Client:update_auth_session(project, auth_session_id, body, opts) end

--- Releases the connection; idempotent. Later calls raise.
function Client:close() end

return intuned
