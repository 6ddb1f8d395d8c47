-- What the API sends is checked before it is trusted: every field the
-- library reads from a response has its type checked, and a wrong one is a
-- clear error returned as nil, err, never a Lua error from inside the
-- library.
local intuned = require("intuned")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

describe("a job run answer of the wrong shape", function()
  local client, time
  before_each(function() client, time = fx.client() end)
  after_each(function() client:close() end)

  local function decode_error(scenario, mention, opts)
    local res, err = client:get_job_run(P, J, fx.id(scenario), opts)
    assert.is_nil(res, scenario)
    assert.are.equal("decode", err.kind, scenario)
    assert.are.equal(200, err.status, scenario)
    assert.are.equal(1, err.attempts, scenario)
    assert.truthy(err.message:find(mention, 1, true), scenario .. ": " .. err.message)
    return err
  end

  it("is a decode error when jobRun is an array", function()
    decode_error("jobrun-array", "jobRun")
    decode_error("jobrun-empty-array", "jobRun")
  end)

  it("is a decode error when the status is not a string", function()
    decode_error("jobrun-status-number", "jobRun.status")
    decode_error("jobrun-status-null", "jobRun.status")
    decode_error("jobrun-status-null", "jobRun.status", { keep_nulls = true })
  end)

  it("is a decode error when a payload count is not a number", function()
    decode_error("payloads-string", "jobRun.payloads")
    decode_error("failed-object", "jobRun.failed_runs")
  end)

  it("is a decode error when the body is not an object", function()
    decode_error("top-null", "JSON null")
    decode_error("top-number", "JSON number")
    decode_error("top-string", "JSON string")
    decode_error("top-array", "jobRun")
  end)

  it("ends a wait at once instead of polling it until the timeout", function()
    local res, err = client:wait_for_job_run(P, J, fx.id("jobrun-array"), { timeout = 600 })
    assert.is_nil(res)
    assert.are.equal("decode", err.kind)
    assert.are.equal(0, time.total())
  end)
end)

describe("a results field of the wrong shape", function()
  local client
  before_each(function() client = fx.client() end)
  after_each(function() client:close() end)

  local function download(scenario, opts)
    local res = assert(client:get_job_run(P, J, fx.id(scenario), opts))
    local ok, body, err = pcall(client.download_results, client, res)
    assert.is_true(ok, tostring(body))
    assert.is_nil(body)
    return err
  end

  it("is no_results when results is null, also with keep_nulls", function()
    assert.are.equal("no_results", download("results-null").kind)
    local err = download("results-null", { keep_nulls = true })
    assert.are.equal("no_results", err.kind)
  end)

  it("is a decode error when results is a number, a string or an array", function()
    for _, scenario in ipairs { "results-number", "results-string", "results-array" } do
      local err = download(scenario)
      assert.are.equal("decode", err.kind, scenario)
      assert.truthy(err.message:find("results", 1, true), err.message)
    end
  end)

  it("is an error, not a raise, when signed_url is missing, not a string or not a URL", function()
    assert.are.equal("no_results", download("signed-url-null").kind)
    assert.are.equal("no_results", download("signed-url-null", { keep_nulls = true }).kind)
    assert.are.equal("decode", download("signed-url-number").kind)
    assert.are.equal("decode", download("signed-url-malformed").kind)
  end)

  it("is no_results for a run without results whose jobRun is not a table", function()
    local _, err = client:download_results({ jobRun = intuned.null })
    assert.are.equal("no_results", err.kind)
    _, err = client:download_results({ jobRun = "x", results = intuned.null })
    assert.are.equal("no_results", err.kind)
  end)
end)

describe("an error body whose fields have the wrong types", function()
  it("still gives a usable api error", function()
    local client = fx.client()
    local res, err = client:get_job_run(P, J, fx.id("error-types"))
    client:close()
    assert.is_nil(res)
    assert.are.equal("api", err.kind)
    assert.are.equal(400, err.status)
    assert.are.equal("Bad Request", err.message)
    assert.is_nil(err.code)
    assert.is_nil(err.category)
    assert.is_nil(err.correlation_id)
    assert.is_nil(err.doc_url)
    assert.is_false(err.retirable)
    assert.are.equal(1, err.attempts)
    assert.truthy(tostring(err):find("HTTP 400", 1, true))
  end)
end)

-- The members the later operations read (an id a helper goes on with, a
-- page's runs and count, a result's status), each of the wrong type in an
-- answer that is otherwise a success (the emulator's json fault).
describe("an answer whose member the library reads has the wrong type", function()
  local srv, client
  before_each(function() srv, client = fx.fresh { run_ms = 300, operation_ms = 300 } end)
  after_each(function() fx.done(srv, client) end)

  -- Arms the answer `body` (status `status`) for the next request to
  -- `path` (a Lua pattern); -> the call's nil, err, checked.
  local function wrong(method, path, status, body, mention, call)
    srv:fault { method = method, path = path, fault = "json", status = status, body = body }
    local res, err = call()
    assert.is_nil(res, mention)
    assert.are.equal("decode", err.kind, mention)
    assert.truthy(err.message:find(mention, 1, true), mention .. ": " .. err.message)
    assert.are.equal(0, #srv:faults(), mention)
    return err
  end

  local run = { api = "details", parameters = { url = "https://example.com/1", polls = 2 } }

  it("is a decode error from each start, and its helper does not go on", function()
    wrong("POST", "/trigger$", 200, { jobRunId = 5, message = "ok" }, "jobRunId",
      function() return client:trigger_job(P, J) end)
    wrong("POST", "/trigger$", 200, { message = "ok" }, "jobRunId",
      function() return client:run_job(P, J, { interval = 1 }) end)
    wrong("POST", "/run/start$", 201, { runId = false, status = "pending" }, "runId",
      function() return client:run(P, run, { interval = 1 }) end)
    wrong("POST", "/auth%-sessions/create$", 201, { operationId = { 1 } }, "operationId",
      function() return client:create_auth_session(P, { parameters = { polls = 2 } }, { interval = 1 }) end)
    wrong("POST", "/validate/start$", 201, { operationId = 7 }, "operationId",
      function() return client:validate_auth_session(P, "auth-session-123", nil, { interval = 1 }) end)
    wrong("POST", "/update$", 201, { status = "pending" }, "operationId",
      function() return client:update_auth_session(P, "auth-session-456", { parameters = {} }, { interval = 1 }) end)
    wrong("POST", "/jobs$", 201, { id = 12, message = "created" }, "id",
      function()
        return client:create_job(P, { id = "typed-1", payload = {}, configuration = { maxConcurrentRequests = 1 } })
      end)
  end)

  it("is a decode error from a result whose status is not a string, also in a wait", function()
    local started = assert(client:start_run(P, run))
    wrong("GET", "/result$", 200, { status = 3 }, "status",
      function() return client:get_run_result(P, started.runId) end)
    wrong("GET", "/result$", 200, { status = { "done" } }, "status",
      function() return client:wait_for_run(P, started.runId, { interval = 1 }) end)
  end)

  it("is a decode error from a page whose runs or count have the wrong type, and each_job_run gives it", function()
    wrong("GET", "/runs$", 200, { jobRuns = {}, totalCount = "3" }, "totalCount",
      function() return client:list_job_runs(P, J) end)
    wrong("GET", "/runs$", 200, { jobRuns = "none", totalCount = 3 }, "jobRuns",
      function() return client:list_job_runs(P, J) end)
    srv:fault { method = "GET", path = "/runs$", fault = "json", body = { jobRuns = 5, totalCount = 1 } }
    local seen = {}
    for run_or_false, err in client:each_job_run(P, J) do
      seen[#seen + 1] = { run_or_false, err }
    end
    assert.are.equal(1, #seen)
    assert.is_false(seen[1][1])
    assert.are.equal("decode", seen[1][2].kind)
  end)
end)
