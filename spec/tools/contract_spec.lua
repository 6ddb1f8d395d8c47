-- The emulator against the contract (spec/contract/intuned-client.yaml):
-- every one of its operations is driven on the emulator, through successes
-- and each documented error status, and every answer is checked against the
-- response schema the contract gives for that operation and status, by a
-- real JSON Schema validator (spec/support/validate_contract.py: Debian's
-- python3-jsonschema, Draft 2020-12, with members the contract does not name
-- counted as drift). One test per operation lists the statuses it covered.
local cjson = require("cjson")
local emulator = require("support.emulator")
local emulator_api = require("support.emulator_api")
local files = require("support.files")

local PYTHON = "/usr/bin/python3"
local VALIDATOR = "spec/support/validate_contract.py"
local CONTRACT = os.getenv("INTUNED_CONTRACT") or "spec/contract/intuned-client.yaml"
local OPERATION_COUNT = 22

-- Runs the validator over `records` and returns its report.
local function validate(records)
  assert(files.exists(CONTRACT), "contract spec: no contract at " .. CONTRACT .. " (set INTUNED_CONTRACT)")
  local name = os.tmpname()
  files.write(name, #records > 0 and cjson.encode(records) or "[]")
  local out = files.capture(("%s %s %s %s 2>&1"):format(PYTHON, files.quote(VALIDATOR), files.quote(CONTRACT),
    files.quote(name)))
  os.remove(name)
  local ok, report = pcall(cjson.decode, out)
  assert(ok and type(report) == "table", "contract spec: the validator did not answer a report:\n" .. out)
  return report
end

local function describe_failures(report, records)
  local lines = {}
  for _, failure in ipairs(report.failures) do
    local record = records[failure.index + 1] or {}
    lines[#lines + 1] = ("%s %d (%s): %s"):format(failure.operation, failure.status,
      record.what or "?", table.concat(failure.errors, "; "))
  end
  return table.concat(lines, "\n")
end

local function sorted_keys(t)
  local keys = {}
  for key in pairs(t) do
    keys[#keys + 1] = key
  end
  table.sort(keys)
  return keys
end

local FULL_JOB = {
  id = "contract-job",
  payload = { { apiName = "my-awesome-api", parameters = { polls = 3, payloads = 4, param1 = "value1" },
    requestTimeout = 600, retry = { maximumAttempts = 2 } } },
  configuration = { retry = { maximumAttempts = 3 }, maxConcurrentRequests = 5, requestTimeout = 600 },
  schedule = {
    intervals = { { every = 3600 } },
    calendars = { { hour = 9, minute = { start = 0, step = 15, ["end"] = 45 }, dayOfWeek = "MONDAY",
      month = { start = "JANUARY", ["end"] = "MARCH" }, comment = "Mondays in the first quarter" } },
    jitter = "5m",
  },
  sink = { type = "s3", bucket = "my-s3-bucket", accessKeyId = "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region = "us-west-2",
    endpoint = "https://s3.custom-endpoint.com", forcePathStyle = true },
  proxy = "http://proxy.example.com:8080",
  auth_session = { id = "auth-session-123", checkAttempts = 2, createAttempts = 2 },
}

local UPDATE = {
  payload = { { apiName = "other-api", parameters = { polls = 3, payloads = 4 } } },
  configuration = { maxConcurrentRequests = 2 },
  sink = { type = "webhook", url = "https://example.com/webhook", headers = { Authorization = "Bearer token" },
    skipOnFail = true, apisToSend = { "other-api" } },
}

-- Every operation, its successes and each documented error status. `r`
-- records one answer: r(operationId, expected status, method, path, opts).
local function drive(r)
  local nonce = emulator.nonce()
  local WS = { workspace = "not-a-uuid" }
  local NO_KEY = { key = false }
  local NO_PROJECT = { project = "no-such-project" }

  -- Jobs
  r("getJobs", 200, "GET", "/jobs")
  r("getJobs", 400, "GET", "/jobs", WS)
  r("getJobs", 401, "GET", "/jobs", NO_KEY)
  r("getJobs", 404, "GET", "/jobs", NO_PROJECT)
  r("createJob", 201, "POST", "/jobs", { body = FULL_JOB })
  r("createJob", 201, "POST", "/jobs", { body = '{"id":"bare-job-1","payload":[],"configuration":{}}' })
  r("createJob", 400, "POST", "/jobs", { body = FULL_JOB })
  r("createJob", 400, "POST", "/jobs", { body = "{" })
  r("createJob", 400, "POST", "/jobs", { body = { id = "no-config-job", payload = { { apiName = "a", parameters = {
    q = 1 } } } } })
  r("createJob", 401, "POST", "/jobs", { body = FULL_JOB, key = false })
  r("createJob", 404, "POST", "/jobs", { body = FULL_JOB, project = "no-such-project" })
  r("getJobs", 200, "GET", "/jobs")
  for _, job in ipairs({ "my-sample-job", "nightly-scrape", "paused-job", "contract-job", "bare-job-1" }) do
    r("getJob", 200, "GET", "/jobs/" .. job)
  end
  r("getJob", 400, "GET", "/jobs/my-sample-job", WS)
  r("getJob", 401, "GET", "/jobs/my-sample-job", NO_KEY)
  r("getJob", 404, "GET", "/jobs/no-such-job")
  r("updateJob", 200, "PUT", "/jobs/contract-job", { body = UPDATE })
  r("getJob", 200, "GET", "/jobs/contract-job")
  r("updateJob", 400, "PUT", "/jobs/contract-job", { body = { payload = {} } })
  r("updateJob", 401, "PUT", "/jobs/contract-job", { body = UPDATE, key = false })
  r("updateJob", 404, "PUT", "/jobs/no-such-job", { body = UPDATE })

  -- Triggering, pausing, a run through its states (polls = 3), terminating
  local run = r("triggerJob", 200, "POST", "/jobs/contract-job/trigger").jobRunId
  local run_path = "/jobs/contract-job/runs/" .. run
  r("getJobRun", 200, "GET", run_path) -- PENDING
  r("pauseJob", 200, "POST", "/jobs/contract-job/pause")
  r("getJobRun", 200, "GET", run_path) -- PAUSED
  r("getJobs", 200, "GET", "/jobs") -- with a paused job's reason
  r("triggerJob", 400, "POST", "/jobs/contract-job/trigger")
  r("resumeJob", 200, "POST", "/jobs/contract-job/resume")
  r("getJobRun", 200, "GET", run_path) -- SUCCESS, with results
  local other = r("triggerJob", 200, "POST", "/jobs/contract-job/trigger").jobRunId
  r("terminateJobRun", 200, "POST", "/jobs/contract-job/runs/" .. other .. "/terminate")
  r("terminateJobRun", 200, "POST", "/jobs/contract-job/runs/" .. other .. "/terminate")
  r("getJobRun", 200, "GET", "/jobs/contract-job/runs/" .. other) -- TERMINATED
  for _, op in ipairs({ "pauseJob", "resumeJob", "triggerJob" }) do
    local path = "/jobs/my-sample-job/" .. op:match("^%l+")
    r(op, 400, "POST", path, WS)
    r(op, 401, "POST", path, NO_KEY)
    r(op, 404, "POST", "/jobs/no-such-job/" .. op:match("^%l+"))
  end
  r("pauseJob", 200, "POST", "/jobs/paused-job/pause")
  r("resumeJob", 200, "POST", "/jobs/paused-job/resume")
  r("terminateJobRun", 401, "POST", run_path .. "/terminate", NO_KEY)
  r("terminateJobRun", 404, "POST", "/jobs/contract-job/runs/jr_no_such_run/terminate")

  -- Get Job Runs and Get Job Run: seeded, created and legacy runs
  r("getJobRuns", 200, "GET", "/jobs/my-sample-job/runs")
  r("getJobRuns", 200, "GET", "/jobs/my-sample-job/runs?pageSize=2&pageNumber=1&sortBy=status,asc/start_time,desc")
  r("getJobRuns", 200, "GET", "/jobs/my-sample-job/runs?pageSize=10&pageNumber=4")
  r("getJobRuns", 200, "GET", "/jobs/contract-job/runs")
  r("getJobRuns", 200, "GET", "/jobs/nightly-scrape/runs?sortBy=end_time,desc")
  r("getJobRuns", 400, "GET", "/jobs/my-sample-job/runs?pageSize=0")
  r("getJobRuns", 400, "GET", "/jobs/my-sample-job/runs?sortBy=colour,asc")
  r("getJobRuns", 401, "GET", "/jobs/my-sample-job/runs", NO_KEY)
  r("getJobRuns", 404, "GET", "/jobs/no-such-job/runs")
  for _, id in ipairs({ "jr_sample_001", "jr_sample_002", "jr_sample_004" }) do
    r("getJobRun", 200, "GET", "/jobs/my-sample-job/runs/" .. id)
  end
  r("getJobRun", 200, "GET", "/jobs/paused-job/runs/jr_paused_002") -- CANCELED
  r("getJobRun", 200, "GET", "/jobs/nightly-scrape/runs/jr_nightly_001") -- S3 sink, schedule
  for _, scenario in ipairs({ "ok", "nulls", "failed", "running", "results-expired", "status-CANCELED",
    "progress-ms-1", "progress-fail-ms-1", "steps-3" }) do
    r("getJobRun", 200, "GET", "/jobs/my-sample-job/runs/" .. scenario .. "." .. nonce)
  end
  r("getJobRun", 400, "GET", "/jobs/my-sample-job/runs/jr_sample_001", WS)
  r("getJobRun", 400, "GET", "/jobs/my-sample-job/runs/badrequest." .. nonce)
  r("getJobRun", 401, "GET", "/jobs/my-sample-job/runs/jr_sample_001", NO_KEY)
  r("getJobRun", 401, "GET", "/jobs/my-sample-job/runs/ok." .. nonce, NO_KEY)
  r("getJobRun", 404, "GET", "/jobs/nightly-scrape/runs/jr_sample_001")
  r("getJobRun", 404, "GET", "/jobs/my-sample-job/runs/notfound." .. nonce)

  r("deleteJob", 204, "DELETE", "/jobs/bare-job-1")
  r("deleteJob", 401, "DELETE", "/jobs/contract-job", NO_KEY)
  r("deleteJob", 404, "DELETE", "/jobs/bare-job-1")

  -- Run API: each state and outcome (none of its errors is documented; they
  -- are checked against the document's shared error responses)
  local function run_api(parameters, reads)
    local id = r("runApiStart", 201, "POST", "/run/start", { body = { api = "my-awesome-api",
      parameters = parameters, proxy = "http://proxy.example.com:8080", saveTrace = false,
      retry = { maximumAttempts = 2 } } }).runId
    for _ = 1, reads do
      r("runApiResult", 200, "GET", "/run/" .. id .. "/result")
    end
  end
  run_api({ polls = 3, url = "https://example.com" }, 3)
  run_api({ polls = 1, result = { title = "Example Domain", links = 1 },
    extendedPayloads = { { api = "details", runId = "Uakgb_J5m9g-0JDMbcJqL", parameters = { url = "u" } } } }, 1)
  run_api({ polls = 1, result = { 1, "two" } }, 1)
  run_api({ outcome = "failed", polls = 1 }, 1)
  run_api({ outcome = "canceled", polls = 1 }, 1)
  r("runApiStart", 400, "POST", "/run/start", { body = { parameters = {} } })
  r("runApiStart", 401, "POST", "/run/start", { body = { api = "a", parameters = {} }, key = false })
  r("runApiResult", 404, "GET", "/run/V1StGXR8_Z5jdHi6B-myT/result")

  -- AuthSessions and their operations
  r("getAuthSessions", 200, "GET", "/auth-sessions")
  for _, id in ipairs({ "auth-session-123", "auth-session-456", "auth-session-789" }) do
    r("getAuthSession", 200, "GET", "/auth-sessions/" .. id)
  end
  r("getAuthSession", 404, "GET", "/auth-sessions/nobody")
  local function operation(start_op, result_op, start_path, result_base, body, reads)
    local id = r(start_op, 201, "POST", start_path, { body = body }).operationId
    for _ = 1, reads do
      r(result_op, 200, "GET", result_base .. id .. "/result")
    end
  end
  local create = "/auth-sessions/create"
  operation("CreateOrUpdateAuthSessionStart", "createAuthSessionResult", create, create .. "/",
    { id = "contract-session", parameters = { username = "u", polls = 3 }, proxy = "http://p.example.com:1",
      createAttempts = 2, checkAttempts = 2, saveTrace = false }, 3)
  for _, outcome in ipairs({ "failed", "canceled" }) do
    operation("CreateOrUpdateAuthSessionStart", "createAuthSessionResult", create, create .. "/",
      { parameters = { outcome = outcome, polls = 1 } }, 1)
  end
  r("getAuthSessions", 200, "GET", "/auth-sessions")
  local session = "/auth-sessions/contract-session"
  operation("ValidateAuthSessionStart", "validateAuthSessionResult", session .. "/validate/start",
    session .. "/validate/", { polls = 3, autoRecreate = false, checkAttempts = 1 }, 3)
  for _, outcome in ipairs({ "failed", "canceled" }) do
    operation("ValidateAuthSessionStart", "validateAuthSessionResult", session .. "/validate/start",
      session .. "/validate/", { outcome = outcome, polls = 1 }, 1)
  end
  operation("UpdateAuthSessionStart", "updateAuthSessionResult", session .. "/update", session .. "/update/",
    { parameters = { password = "new", polls = 3 } }, 3)
  operation("UpdateAuthSessionStart", "updateAuthSessionResult", session .. "/update", session .. "/update/",
    { parameters = { outcome = "failed", polls = 1 } }, 1)
  r("getAuthSession", 200, "GET", session)
  r("ValidateAuthSessionStart", 400, "POST", session .. "/validate/start")
  r("UpdateAuthSessionStart", 404, "POST", "/auth-sessions/nobody/update", { body = { parameters = {} } })
  r("CreateOrUpdateAuthSessionStart", 401, "POST", create, { body = { parameters = {} }, key = false })
  r("createAuthSessionResult", 404, "GET", create .. "/nothing/result")
  r("validateAuthSessionResult", 404, "GET", session .. "/validate/nothing/result")
  r("updateAuthSessionResult", 404, "GET", session .. "/update/nothing/result")
  r("deleteAuthSession", 204, "DELETE", session)
  r("deleteAuthSession", 404, "DELETE", session)
  r("getAuthSessions", 401, "GET", "/auth-sessions", NO_KEY)
end

-- The operations of the contract and their documented statuses, read once
-- when the file loads, so each gets its own test below.
local CONTRACT_OPERATIONS = validate({}).operations

describe("the emulator against the contract", function()
  local records, report, covered = {}, nil, {}

  setup(function()
    local srv = emulator.shared()
    srv:reset()
    local api = emulator_api.new(srv)
    local function r(operation, status, method, path, opts)
      local res = api:call(method, path, opts)
      local what = method .. " " .. path
      assert(res.status == status, ("%s: expected %d, got %s %s"):format(what, status, tostring(res.status), res.body))
      records[#records + 1] = { operation = operation, status = res.status, body = res.body,
        content_type = res.headers["content-type"] or "", what = what }
      return res.json
    end
    drive(r)
    srv:reset()
    report = validate(records)
    for _, entry in ipairs(report.checked) do
      covered[entry[1]] = covered[entry[1]] or {}
      covered[entry[1]][("%d"):format(entry[2])] = true
    end
  end)

  it("reads the " .. OPERATION_COUNT .. " operations of the contract", function()
    assert.are.equal(OPERATION_COUNT, #sorted_keys(CONTRACT_OPERATIONS))
  end)

  it("answers every request as the contract's response schemas say", function()
    assert.are.equal(#records, #report.checked)
    assert.is_true(#report.failures == 0,
      "answers that drift from the contract:\n" .. describe_failures(report, records))
  end)

  it("drives no operation the contract does not have", function()
    for operation in pairs(covered) do
      assert.is_table(CONTRACT_OPERATIONS[operation], operation)
    end
  end)

  for _, operation in ipairs(sorted_keys(CONTRACT_OPERATIONS)) do
    local documented = CONTRACT_OPERATIONS[operation]
    it(("covers %s: %s"):format(operation, table.concat(documented, ", ")), function()
      local seen = covered[operation] or {}
      for _, status in ipairs(documented) do
        assert.is_true(seen[status] == true, operation .. " never answered " .. status)
      end
    end)
  end

  it("has a validator that catches drift", function()
    local run = '{"id":"jr_x","start_time":"t","end_time":null,"workspace_id":"not-a-uuid",'
      .. '"project_id":"9b2d5c1e-3f4a-4b6c-8d7e-0f1a2b3c4d5e","job_id":"j","created_at":"t","updated_at":"t",'
      .. '"type":"MANUAL","status":"PENDING","payloads":1,"successful_runs":0,"failed_runs":0,'
      .. '"job_configuration_snapshot":{"configuration":{}}}'
    local bad = {
      { operation = "createJob", status = 201, content_type = "application/json",
        body = '{"id":"x","message":"made"}' },
      { operation = "getJobRun", status = 200, content_type = "application/json", body = '{"jobRun":' .. run .. '}' },
      { operation = "getJobRun", status = 200, content_type = "application/json",
        body = '{"jobRun":' .. run:gsub('"not%-a%-uuid"', '"123e4567-e89b-12d3-a456-426614174000"') .. ',"extra":1}' },
      { operation = "getJobs", status = 200, content_type = "application/json", body = "{}" },
      { operation = "deleteJob", status = 204, content_type = "", body = "{}" },
      { operation = "getJob", status = 405, content_type = "application/json", body = "{}" },
      { operation = "getJobs", status = 200, content_type = "text/plain", body = "[]" },
      { operation = "getJobs", status = 401, content_type = "application/json",
        body = '{"code":"unauthorized","category":"user","message":"m","retirable":true,"correlationId":"c"}' },
      { operation = "noSuchOperation", status = 200, content_type = "application/json", body = "{}" },
    }
    local checked = validate(bad)
    local failed = {}
    for _, failure in ipairs(checked.failures) do
      failed[failure.index + 1] = table.concat(failure.errors, "; ")
    end
    for i = 1, #bad do
      assert.is_string(failed[i], "not caught: " .. bad[i].operation .. " " .. bad[i].body)
    end
    assert.is_truthy(failed[2]:find("uuid", 1, true), failed[2])
    assert.is_truthy(failed[3]:find("extra", 1, true), failed[3])
    local good = validate({ { operation = "getJobs", status = 200, content_type = "application/json", body = "[]" } })
    assert.are.same({}, good.failures)
  end)
end)
