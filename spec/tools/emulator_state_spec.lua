-- Spec of the emulator's stateful routes (spec/server/emulator/): what each
-- operation does to the state, pages and sorting, outcomes and timing, and
-- the checks every route shares. Driven over support.http, not the client.
local cjson = require("cjson")
local emulator = require("support.emulator")
local emulator_api = require("support.emulator_api")
local socket = require("socket")

local null = cjson.null
local eventually = emulator_api.eventually

local function ids(list)
  local out = {}
  for i, item in ipairs(list) do
    out[i] = item.id
  end
  return out
end

local function job_body(id, parameters, extra)
  local body = {
    id = id,
    payload = { { apiName = "my-api", parameters = parameters or { q = 1 } } },
    configuration = { maxConcurrentRequests = 2 },
  }
  for name, value in pairs(extra or {}) do
    body[name] = value
  end
  return body
end

describe("emulator state", function()
  local srv, api

  setup(function()
    srv = emulator.shared()
    api = emulator_api.new(srv)
  end)

  before_each(function()
    srv:reset()
  end)

  teardown(function()
    srv:reset()
  end)

  -- Creates a job and triggers it; returns the run id.
  local function trigger_new(id, parameters)
    api:expect(201, "POST", "/jobs", { body = job_body(id, parameters) })
    return api:expect(200, "POST", "/jobs/" .. id .. "/trigger").jobRunId
  end

  local function get_run(job, run)
    return api:expect(200, "GET", "/jobs/" .. job .. "/runs/" .. run)
  end

  describe("reset", function()
    it("seeds my-project with three jobs, one paused, their finished runs and auth sessions", function()
      local jobs = api:expect(200, "GET", "/jobs")
      assert.are.same({ "my-sample-job", "nightly-scrape", "paused-job" }, ids(jobs))
      assert.are.same({ "ACTIVE", "ACTIVE", "PAUSED" }, { jobs[1].state, jobs[2].state, jobs[3].state })
      assert.are.equal("paused", jobs[3].reason.type)
      for job, count in pairs({ ["my-sample-job"] = 5, ["nightly-scrape"] = 3, ["paused-job"] = 2 }) do
        local page = api:expect(200, "GET", "/jobs/" .. job .. "/runs", { headers = {} })
        assert.are.equal(count, page.totalCount, job)
      end
      local sessions = api:expect(200, "GET", "/auth-sessions")
      assert.are.same({ "auth-session-123", "auth-session-456", "auth-session-789" }, ids(sessions))
    end)

    it("drops what specs created and answers its summary", function()
      api:expect(201, "POST", "/jobs", { body = job_body("scratch-job") })
      local summary = srv:reset({ projects = { "empty-project" }, run_ms = 50 })
      assert.are.same({ "my-project", "empty-project" }, summary.projects)
      assert.are.equal(50, summary.options.run_ms)
      assert.are.equal(3000, summary.options.job_run_ms)
      assert.are.equal(404, api:call("GET", "/jobs/scratch-job").status)
      local empty = api:call("GET", "/jobs", { project = "empty-project" })
      assert.are.same({ 200, "[]" }, { empty.status, empty.body })
    end)

    it("can leave no project at all, and refuses unknown options", function()
      srv:reset({ seed = false })
      assert.are.equal(404, api:call("GET", "/jobs").status)
      assert.has_error(function() srv:reset({ job_run_msec = 5 }) end)
      assert.has_error(function() srv:reset({ paused_factor = 2 }) end)
    end)
  end)

  describe("jobs", function()
    it("creates, reads, updates and deletes a job", function()
      local created = api:expect(201, "POST", "/jobs", { body = job_body("crud-job-1", nil, {
        proxy = "http://proxy.example.com:3128", sink = { type = "webhook", url = "https://example.com/hook" } }) })
      assert.are.same({ id = "crud-job-1", message = "created" }, created)
      assert.are.equal("crud-job-1", ids(api:expect(200, "GET", "/jobs"))[4])

      local details = api:expect(200, "GET", "/jobs/crud-job-1")
      assert.are.equal("ACTIVE", details.state)
      assert.are.equal("9b2d5c1e-3f4a-4b6c-8d7e-0f1a2b3c4d5e", details.projectId)
      assert.are.equal("http://proxy.example.com:3128", details.proxy)
      assert.are.equal("my-api", details.payload[1].apiName)
      assert.are.equal(null, details.last_run_time)

      local item = api:expect(200, "GET", "/jobs")[4]
      assert.are.same({ version = "v1", url = "http://proxy.example.com:3128" }, item.proxy)
      assert.are.equal(srv.workspace_id, item.workspace_id)

      local updated = api:expect(200, "PUT", "/jobs/crud-job-1", { body = {
        payload = { { apiName = "other-api", parameters = { x = 2 } } }, configuration = { requestTimeout = 30 } } })
      assert.are.same({ id = "crud-job-1", message = "updated job successfully" }, updated)
      details = api:expect(200, "GET", "/jobs/crud-job-1")
      assert.are.equal("other-api", details.payload[1].apiName)
      assert.are.equal(30, details.configuration.requestTimeout)
      assert.are.equal(null, details.sink) -- a full replacement: what was not sent is gone
      assert.is_nil(details.proxy)

      local deleted = api:call("DELETE", "/jobs/crud-job-1")
      assert.are.same({ 204, "" }, { deleted.status, deleted.body })
      assert.are.equal(404, api:call("GET", "/jobs/crud-job-1").status)
      assert.are.equal(404, api:call("DELETE", "/jobs/crud-job-1").status)
      assert.are.equal(3, #api:expect(200, "GET", "/jobs"))
    end)

    it("keeps empty arrays and objects as they were sent", function()
      api:expect(201, "POST", "/jobs", { body = '{"id":"empty-payload","payload":[],"configuration":{}}' })
      local res = api:call("GET", "/jobs/empty-payload")
      assert.is_truthy(res.body:find('"payload":[]', 1, true))
      assert.is_truthy(res.body:find('"configuration":{}', 1, true))
    end)

    it("refuses bad bodies, naming the field", function()
      local cases = {
        { "{", "body" },
        { "[]", "body" },
        { { payload = {}, configuration = {} }, "id" },
        { job_body("short"), "id" },
        { job_body("has spaces in it"), "id" },
        { { id = "no-payload-job", configuration = {} }, "payload" },
        { { id = "bad-payload-job", payload = { { parameters = {} } }, configuration = {} }, "payload[0].apiName" },
        { job_body("bad-outcome-job", { outcome = "GREAT" }), "payload[0].parameters.outcome" },
        { job_body("bad-config-job", nil, { configuration = { maxConcurrentRequests = 99 } }),
          "configuration.maxConcurrentRequests" },
        { job_body("bad-sink-job", nil, { sink = { type = "s3", bucket = "b" } }), "sink" },
        { job_body("my-sample-job"), "id" }, -- exists already
      }
      for _, case in ipairs(cases) do
        local res = api:call("POST", "/jobs", { body = case[1] })
        assert.are.equal(400, res.status, res.body)
        assert.are.equal("bad-request", res.json.code)
        assert.is_false(res.json.retirable)
        assert.are.equal(case[2], res.json.details.field, res.body)
      end
      local res = api:call("PUT", "/jobs/my-sample-job", { body = { configuration = {} } })
      assert.are.same({ 400, "payload" }, { res.status, res.json.details.field })
      assert.are.equal(400, api:call("POST", "/jobs").status) -- no body at all
    end)

    it("pauses and resumes; a paused job cannot be triggered", function()
      assert.are.same({ message = "Paused" }, api:expect(200, "POST", "/jobs/my-sample-job/pause"))
      local details = api:expect(200, "GET", "/jobs/my-sample-job")
      assert.are.equal("PAUSED", details.state)
      assert.are.equal("paused", api:expect(200, "GET", "/jobs")[1].reason.type)
      local refused = api:call("POST", "/jobs/my-sample-job/trigger")
      assert.are.same({ 400, "bad-request", "jobId" },
        { refused.status, refused.json.code, refused.json.details.field })

      assert.are.same({ message = "Resumed" }, api:expect(200, "POST", "/jobs/my-sample-job/resume"))
      assert.are.equal(null, api:expect(200, "GET", "/jobs")[1].reason)
      assert.is_string(api:expect(200, "POST", "/jobs/my-sample-job/trigger").jobRunId)
      assert.are.equal(404, api:call("POST", "/jobs/no-such-job/trigger").status)
    end)

    it("tells when a scheduled job runs next and when it ran last", function()
      local nightly = api:expect(200, "GET", "/jobs/nightly-scrape")
      assert.is_truthy(nightly.next_run_time:find("^%d%d%d%d%-%d%d%-%d%dT%d%d:00:00Z$"))
      assert.are.equal("2024-01-03T02:30:00Z", nightly.last_run_time)
      assert.are.equal("sched-nightly-scrape", api:expect(200, "GET", "/jobs")[2].schedule_id)
    end)
  end)

  describe("job runs", function()
    it("a triggered run moves from PENDING to SUCCESS, counters growing, then has results", function()
      local run = trigger_new("progress-job", { polls = 3, payloads = 4 })
      assert.is_truthy(run:find("^jr_"))
      local first = get_run("progress-job", run)
      assert.are.same({ "PENDING", "MANUAL", 4, 0, 0, null },
        { first.jobRun.status, first.jobRun.type, first.jobRun.payloads, first.jobRun.successful_runs,
          first.jobRun.failed_runs, first.jobRun.end_time })
      assert.is_nil(first.results)
      local second = get_run("progress-job", run)
      assert.are.same({ "PENDING", 2 }, { second.jobRun.status, second.jobRun.successful_runs })
      local done = get_run("progress-job", run)
      assert.are.same({ "SUCCESS", 4, 0 }, { done.jobRun.status, done.jobRun.successful_runs, done.jobRun.failed_runs })
      assert.is_string(done.jobRun.end_time)
      assert.are.equal("my-api", api:expect(200, "GET", "/jobs/progress-job").payload[1].apiName)
      local url = done.results.signed_url
      assert.is_truthy(url:find("^http://127%.0%.0%.1:" .. srv.port .. "/storage/" .. run .. "%.json%?"))
      local file = api:call("GET", nil, { url = url, key = false })
      assert.are.equal(200, file.status)
      assert.are.equal(#file.body, done.results.size)
      assert.are.equal(3, #file.json)
    end)

    it("ends as the job's outcome asks, after duration_ms", function()
      local run = trigger_new("failing-job", { outcome = "FAILURE", duration_ms = 800, payloads = 10 })
      assert.are.equal("PENDING", get_run("failing-job", run).jobRun.status)
      local body = eventually(function()
        local b = get_run("failing-job", run)
        return b.jobRun.status ~= "PENDING" and b or nil
      end, 5)
      assert.are.same({ "FAILURE", 5, 5 }, { body.jobRun.status, body.jobRun.successful_runs, body.jobRun.failed_runs })
      assert.are.equal("internal-server-error", body.jobRun.error.code)
      assert.are.equal("terminated", body.jobRun.reason.type)
      assert.is_nil(body.results)
      for _, outcome in ipairs({ "CANCELED", "COMPLETED" }) do
        local id = trigger_new("outcome-" .. outcome:lower(), { outcome = outcome, polls = 1 })
        assert.are.equal(outcome, get_run("outcome-" .. outcome:lower(), id).jobRun.status)
      end
    end)

    it("takes job_run_ms as the default duration", function()
      srv:reset({ job_run_ms = 0 })
      local run = trigger_new("instant-job")
      assert.are.equal("SUCCESS", get_run("instant-job", run).jobRun.status)
      srv:reset({ job_run_ms = 60000 })
      run = trigger_new("slow-job-1")
      socket.sleep(0.2)
      assert.are.equal("PENDING", get_run("slow-job-1", run).jobRun.status)
    end)

    it("runs of a paused job are PAUSED and go slower", function()
      srv:reset({ paused_factor = 0.05 })
      local started = socket.gettime()
      local run = trigger_new("pausing-job", { duration_ms = 2000 })
      api:expect(200, "POST", "/jobs/pausing-job/pause")
      socket.sleep(1)
      local paused = get_run("pausing-job", run).jobRun
      assert.are.equal("PAUSED", paused.status)
      api:expect(200, "POST", "/jobs/pausing-job/resume")
      -- Unpaused it would have ended a while ago.
      assert.are.equal("PENDING", get_run("pausing-job", run).jobRun.status)
      local done = eventually(function()
        local r = get_run("pausing-job", run).jobRun
        return r.status == "SUCCESS" and r or nil
      end, 5)
      assert.is_table(done)
      assert.is_true(socket.gettime() - started > 2.5) -- 2 s of work, and 1 s at a twentieth of the speed
    end)

    it("terminates a run: TERMINATED, its counters where they were", function()
      local run = trigger_new("long-job-1", { duration_ms = 60000, payloads = 100 })
      local answer = api:expect(200, "POST", "/jobs/long-job-1/runs/" .. run .. "/terminate")
      assert.are.equal("JobRun terminated successfully.", answer.message)
      local body = get_run("long-job-1", run)
      assert.are.equal("TERMINATED", body.jobRun.status)
      assert.are.equal("user-request", body.jobRun.reason.type)
      assert.is_string(body.jobRun.end_time)
      assert.is_true(body.jobRun.successful_runs < 100)
      assert.is_nil(body.results)
      assert.are.equal(200, api:call("POST", "/jobs/long-job-1/runs/" .. run .. "/terminate").status)
      assert.are.equal("TERMINATED", get_run("long-job-1", run).jobRun.status)
      assert.are.equal(404, api:call("POST", "/jobs/long-job-1/runs/jr_nope/terminate").status)
    end)

    it("pages from 0 and sorts as asked", function()
      local function page(query)
        return api:expect(200, "GET", "/jobs/my-sample-job/runs" .. query)
      end
      assert.are.same({ "jr_sample_005", "jr_sample_004", "jr_sample_003", "jr_sample_002", "jr_sample_001" },
        ids(page("").jobRuns))
      local p0, p1, p2 = page("?pageSize=2"), page("?pageSize=2&pageNumber=1"), page("?pageSize=2&pageNumber=2")
      assert.are.same({ { "jr_sample_005", "jr_sample_004" }, { "jr_sample_003", "jr_sample_002" },
        { "jr_sample_001" } }, { ids(p0.jobRuns), ids(p1.jobRuns), ids(p2.jobRuns) })
      assert.are.same({ 5, 5, 5 }, { p0.totalCount, p1.totalCount, p2.totalCount })
      local beyond = api:call("GET", "/jobs/my-sample-job/runs?pageSize=2&pageNumber=3")
      assert.is_truthy(beyond.body:find('"jobRuns":[]', 1, true))
      assert.are.equal(5, beyond.json.totalCount)
      assert.are.same({ "jr_sample_001", "jr_sample_002" }, ids(page("?sortBy=start_time,asc&pageSize=2").jobRuns))
      assert.are.same({ "jr_sample_002", "jr_sample_005", "jr_sample_003", "jr_sample_001", "jr_sample_004" },
        ids(page("?sortBy=status,asc/start_time,desc").jobRuns))
      for _, query in ipairs({ "?pageSize=0", "?pageSize=two", "?pageNumber=-1", "?sortBy=start_time",
        "?sortBy=colour,asc", "?sortBy=start_time,up", "?pageSize=1&pageSize=2", "?page_size=2" }) do
        local res = api:call("GET", "/jobs/my-sample-job/runs" .. query)
        assert.are.same({ 400, "bad-request" }, { res.status, res.json.code }, query)
      end
      assert.are.equal(404, api:call("GET", "/jobs/no-such-job/runs").status)
    end)

    it("answers its own run ids only under their job, and others from the scenarios", function()
      assert.are.equal("SUCCESS", get_run("my-sample-job", "jr_sample_001").jobRun.status)
      assert.are.equal(404, api:call("GET", "/jobs/nightly-scrape/runs/jr_sample_001").status)
      local legacy = get_run("my-sample-job", "ok." .. emulator.nonce())
      assert.are.equal(100, legacy.jobRun.payloads)
      api:expect(204, "DELETE", "/jobs/my-sample-job")
      local gone = api:call("GET", "/jobs/my-sample-job/runs/jr_sample_001")
      assert.are.same({ 404, "not-found" }, { gone.status, gone.json.code })
    end)
  end)

  describe("run API", function()
    it("goes pending, started, then completed with a result shaped by its parameters", function()
      local started = api:expect(201, "POST", "/run/start",
        { body = { api = "scrape", parameters = { polls = 3, n = 7 } } })
      assert.are.equal("pending", started.status)
      assert.are.equal(21, #started.runId)
      local path = "/run/" .. started.runId .. "/result"
      assert.are.same({ runId = started.runId, status = "pending" }, api:expect(200, "GET", path))
      assert.are.same({ runId = started.runId, status = "started" }, api:expect(200, "GET", path))
      local done = api:expect(200, "GET", path)
      assert.are.equal("completed", done.status)
      assert.are.same({ api = "scrape", parameters = { polls = 3, n = 7 } }, done.result)

      local shaped = api:expect(201, "POST", "/run/start", { body = { api = "a", parameters = {
        polls = 1, result = { title = "Example Domain" }, extendedPayloads = { { api = "details" } } } } })
      done = api:expect(200, "GET", "/run/" .. shaped.runId .. "/result")
      assert.are.same({ title = "Example Domain" }, done.result)
      assert.are.equal("details", done.extendedPayloads[1].api)
    end)

    it("fails or is canceled when asked, with the documented bodies", function()
      local failed = api:expect(201, "POST", "/run/start",
        { body = { api = "a", parameters = { outcome = "failed", polls = 1 } } })
      local body = api:expect(200, "GET", "/run/" .. failed.runId .. "/result")
      assert.are.same({ "failed", "script-timeout", "execution", true },
        { body.status, body.error.code, body.error.category, body.error.retirable })
      assert.is_string(body.error.correlation_id)
      local canceled = api:expect(201, "POST", "/run/start",
        { body = { api = "a", parameters = { outcome = "canceled", polls = 1 } } })
      body = api:expect(200, "GET", "/run/" .. canceled.runId .. "/result")
      assert.are.same({ "canceled", "cancelled-user-action" }, { body.status, body.reason.type })
    end)

    it("takes its time from duration_ms or the run_ms option", function()
      local slow = api:expect(201, "POST", "/run/start", { body = { api = "a", parameters = { duration_ms = 2000 } } })
      assert.are.equal("pending", api:expect(200, "GET", "/run/" .. slow.runId .. "/result").status)
      local quick = api:expect(201, "POST", "/run/start", { body = { api = "a", parameters = { duration_ms = 100 } } })
      socket.sleep(0.3)
      assert.are.equal("completed", api:expect(200, "GET", "/run/" .. quick.runId .. "/result").status)
      srv:reset({ run_ms = 0 })
      local instant = api:expect(201, "POST", "/run/start", { body = { api = "a", parameters = {} } })
      assert.are.equal("completed", api:expect(200, "GET", "/run/" .. instant.runId .. "/result").status)
      srv:reset({ run_ms = 60000 })
      local default = api:expect(201, "POST", "/run/start", { body = { api = "a", parameters = {} } })
      assert.are.equal("pending", api:expect(200, "GET", "/run/" .. default.runId .. "/result").status)
    end)

    it("refuses a start without api or parameters, and unknown runs", function()
      assert.are.equal("api", api:call("POST", "/run/start", { body = { parameters = {} } }).json.details.field)
      assert.are.equal("parameters.outcome",
        api:call("POST", "/run/start", { body = { api = "a", parameters = { outcome = "done" } } }).json.details.field)
      assert.are.equal(404, api:call("GET", "/run/V1StGXR8_Z5jdHi6B-myT/result").status)
    end)
  end)

  describe("auth sessions", function()
    local function session_status(id)
      local res = api:call("GET", "/auth-sessions/" .. id)
      return res.status == 200 and res.json.status or res.status
    end

    it("lists, reads and deletes", function()
      assert.are.same({ id = "auth-session-123", type = "CREDENTIALS", status = "READY" },
        api:expect(200, "GET", "/auth-sessions/auth-session-123"))
      local deleted = api:call("DELETE", "/auth-sessions/auth-session-456")
      assert.are.same({ 204, "" }, { deleted.status, deleted.body })
      assert.are.equal(404, session_status("auth-session-456"))
      assert.are.equal(404, api:call("DELETE", "/auth-sessions/auth-session-456").status)
      assert.are.same({ "auth-session-123", "auth-session-789" }, ids(api:expect(200, "GET", "/auth-sessions")))
    end)

    it("creates a session: PENDING while the operation runs, READY once it is done", function()
      local started = api:expect(201, "POST", "/auth-sessions/create",
        { body = { id = "new-session", parameters = { username = "u", polls = 3 } } })
      assert.are.equal("started", started.status)
      assert.are.equal(15, #started.operationId)
      local path = "/auth-sessions/create/" .. started.operationId .. "/result"
      assert.are.equal("PENDING", session_status("new-session"))
      assert.are.same({ status = "pending" }, api:expect(200, "GET", path))
      local running = api:expect(200, "GET", path)
      assert.are.equal("in_progress", running.status)
      assert.are.equal(21, #running.runId)
      assert.are.same({ status = "done", authSessionId = "new-session" }, api:expect(200, "GET", path))
      assert.are.equal("READY", session_status("new-session"))
      assert.are.equal("new-session", ids(api:expect(200, "GET", "/auth-sessions"))[4])
    end)

    it("a creation that fails or is canceled leaves no session", function()
      for _, outcome in ipairs({ "failed", "canceled" }) do
        local started = api:expect(201, "POST", "/auth-sessions/create",
          { body = { id = "doomed-" .. outcome, parameters = { outcome = outcome, polls = 2 } } })
        assert.are.equal("PENDING", session_status("doomed-" .. outcome))
        local path = "/auth-sessions/create/" .. started.operationId .. "/result"
        api:expect(200, "GET", path)
        local final = api:expect(200, "GET", path)
        assert.are.equal(outcome, final.status)
        assert.is_string(final.message)
        assert.are.equal(404, session_status("doomed-" .. outcome))
      end
      local named = api:expect(201, "POST", "/auth-sessions/create", { body = { parameters = { polls = 1 } } })
      local done = api:expect(200, "GET", "/auth-sessions/create/" .. named.operationId .. "/result")
      assert.is_truthy(done.authSessionId:find("^auth%-session%-"))
      assert.are.equal("READY", session_status(done.authSessionId))
    end)

    it("validates and updates, each outcome changing the status as documented", function()
      local function run_op(kind, id, body)
        local route = kind == "validate" and "/validate/start" or "/update"
        local started = api:expect(201, "POST", "/auth-sessions/" .. id .. route, { body = body })
        assert.are.equal(kind == "validate" and "pending" or "started", started.status)
        return api:expect(200, "GET", "/auth-sessions/" .. id .. "/" .. kind .. "/" .. started.operationId .. "/result")
      end
      assert.are.same({ status = "done", authSessionId = "auth-session-789" },
        run_op("validate", "auth-session-789", { polls = 1 }))
      assert.are.equal("READY", session_status("auth-session-789"))
      local failed = run_op("validate", "auth-session-789", { outcome = "failed", polls = 1 })
      assert.are.same({ "failed", "check-attempts-failed" }, { failed.status, failed.error.code })
      assert.are.equal("EXPIRED", session_status("auth-session-789"))
      run_op("update", "auth-session-789", { parameters = { polls = 1 } })
      assert.are.equal("READY", session_status("auth-session-789"))
      run_op("update", "auth-session-123", { parameters = { outcome = "failed", polls = 1 } })
      assert.are.equal("EXPIRED", session_status("auth-session-123"))
      run_op("update", "auth-session-789", { parameters = { outcome = "canceled", polls = 1 } })
      assert.are.equal("READY", session_status("auth-session-789"))

      local slow = api:expect(201, "POST", "/auth-sessions/auth-session-789/update",
        { body = { parameters = { duration_ms = 60000 } } })
      assert.are.equal("PENDING", session_status("auth-session-789"))
      assert.are.equal("pending",
        api:expect(200, "GET", "/auth-sessions/auth-session-789/update/" .. slow.operationId .. "/result").status)
    end)

    it("answers 404 for an operation read under another route or session, 400 for bad bodies", function()
      local op = api:expect(201, "POST", "/auth-sessions/auth-session-123/validate/start", { body = {} }).operationId
      assert.are.equal(200, api:call("GET", "/auth-sessions/auth-session-123/validate/" .. op .. "/result").status)
      assert.are.equal(404, api:call("GET", "/auth-sessions/auth-session-789/validate/" .. op .. "/result").status)
      assert.are.equal(404, api:call("GET", "/auth-sessions/auth-session-123/update/" .. op .. "/result").status)
      assert.are.equal(404, api:call("GET", "/auth-sessions/create/" .. op .. "/result").status)
      assert.are.equal(404, api:call("POST", "/auth-sessions/nobody/validate/start", { body = {} }).status)
      assert.are.equal(400, api:call("POST", "/auth-sessions/auth-session-123/validate/start").status)
      assert.are.equal("parameters",
        api:call("POST", "/auth-sessions/create", { body = { id = "abc" } }).json.details.field)
      assert.are.equal("id", api:call("POST", "/auth-sessions/create", { body = { id = "ab", parameters = {} } })
        .json.details.field)
      assert.are.equal(400, api:call("POST", "/auth-sessions/auth-session-123/update", { body = {} }).status)
    end)
  end)

  describe("checks every route shares", function()
    -- One path per route of the contract, with the method it takes.
    local ROUTES = {
      { "GET", "/jobs" }, { "POST", "/jobs" }, { "GET", "/jobs/my-sample-job" }, { "PUT", "/jobs/my-sample-job" },
      { "DELETE", "/jobs/my-sample-job" }, { "POST", "/jobs/my-sample-job/pause" },
      { "POST", "/jobs/my-sample-job/resume" }, { "POST", "/jobs/my-sample-job/trigger" },
      { "GET", "/jobs/my-sample-job/runs" }, { "GET", "/jobs/my-sample-job/runs/jr_sample_001" },
      { "POST", "/jobs/my-sample-job/runs/jr_sample_001/terminate" }, { "POST", "/run/start" },
      { "GET", "/run/x/result" }, { "GET", "/auth-sessions" }, { "GET", "/auth-sessions/auth-session-123" },
      { "DELETE", "/auth-sessions/auth-session-123" }, { "POST", "/auth-sessions/create" },
      { "GET", "/auth-sessions/create/x/result" }, { "POST", "/auth-sessions/auth-session-123/validate/start" },
      { "GET", "/auth-sessions/auth-session-123/validate/x/result" },
      { "POST", "/auth-sessions/auth-session-123/update" },
      { "GET", "/auth-sessions/auth-session-123/update/x/result" },
    }

    it("answers 401, then 404 for an unknown project, then 400 for a workspace id that is no UUID", function()
      for _, route in ipairs(ROUTES) do
        local method, path = route[1], route[2]
        local res = api:call(method, path, { key = "wrong-key", project = "no-such-project" })
        assert.are.same({ 401, "unauthorized", false }, { res.status, res.json.code, res.json.retirable }, path)
        assert.is_string(res.json.correlationId)
        res = api:call(method, path, { project = "no-such-project", workspace = "not-a-uuid" })
        assert.are.same({ 404, "not-found" }, { res.status, res.json.code }, path)
        res = api:call(method, path, { workspace = "not-a-uuid" })
        assert.are.same({ 400, "workspaceId" }, { res.status, res.json.details.field }, path)
      end
      assert.are.equal(3, #api:expect(200, "GET", "/jobs")) -- nothing above changed anything
    end)

    it("answers 405 with Allow for another method on a known path, 404 for unknown paths", function()
      local cases = {
        { "DELETE", "/jobs", "GET, HEAD, POST" },
        { "POST", "/jobs/my-sample-job", "GET, HEAD, PUT, DELETE" },
        { "GET", "/jobs/my-sample-job/trigger", "POST" },
        { "GET", "/auth-sessions/create", "POST" },
        { "PUT", "/run/x/result", "GET, HEAD" },
      }
      for _, case in ipairs(cases) do
        local res = api:call(case[1], case[2])
        assert.are.same({ 405, case[3] }, { res.status, res.headers.allow }, case[2])
      end
      for _, path in ipairs({ "/jobz", "/jobs/my-sample-job/runs/x/y", "/auth-sessions/a/b", "/run" }) do
        assert.are.equal(404, api:call("GET", path).status, path)
      end
      local res = api:call("GET", nil, { url = "http://127.0.0.1:" .. srv.port .. "/elsewhere" })
      assert.are.same({ 404, "not-found" }, { res.status, res.json.code })
    end)

    it("decodes path segments", function()
      api:expect(201, "POST", "/jobs", { body = job_body("job_with-odd_id") })
      local res = api:call("GET", nil, { url = srv:project_url("/jobs/job%5Fwith%2Dodd_id") })
      assert.are.same({ 200, "job_with-odd_id" }, { res.status, res.json.id })
    end)
  end)
end)
