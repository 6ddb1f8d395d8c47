-- The Jobs operations against the emulator's state: list, create, read,
-- update, delete, pause, resume, trigger; bodies with the API's wire names,
-- checked before anything is sent; results as the API sends them.
local intuned = require("intuned")
local fx = require("support.fixtures")

local P = fx.PROJECT

local function new_job(id, extra)
  local job = {
    id = id,
    payload = { { apiName = "my-awesome-api", parameters = { param1 = "value1", n = 42 } } },
    configuration = { maxConcurrentRequests = 5, retry = { maximumAttempts = 2 } },
  }
  for k, v in pairs(extra or {}) do job[k] = v end
  return job
end

describe("jobs", function()
  local srv, client
  before_each(function()
    srv = fx.server()
    srv:reset { job_run_ms = 200 }
    client = fx.client()
  end)
  after_each(function() client:close() end)

  it("lists the project's jobs as an array", function()
    local jobs, err, meta = client:list_jobs(P)
    assert.is_nil(err)
    assert.are.equal(200, meta.status)
    assert.is_true(#jobs >= 3)
    assert.are.equal(require("intuned.core").array_mt, getmetatable(jobs))
    local ids = {}
    for _, job in ipairs(jobs) do ids[job.id] = job.state end
    assert.are.equal("ACTIVE", ids["my-sample-job"])
    assert.are.equal("PAUSED", ids["paused-job"])
  end)

  it("creates a job (201), sending the body with the API's own names", function()
    local res, err, meta = client:create_job(P, new_job("job-created-1"))
    assert.is_nil(err)
    assert.are.equal(201, meta.status)
    assert.are.equal("job-created-1", res.id)
    assert.are.equal("string", type(res.message))
    local sent = srv:requests { operation = "createJob" }
    local body = sent[#sent].json
    assert.are.equal("my-awesome-api", body.payload[1].apiName)
    assert.are.equal(42, body.payload[1].parameters.n)
    assert.are.equal("application/json", sent[#sent].headers["content-type"])
    local job = assert(client:get_job(P, "job-created-1"))
    assert.are.equal(5, job.configuration.maxConcurrentRequests)
  end)

  it("passes fields it does not know through, and writes intuned.array() as []", function()
    assert(client:create_job(P, new_job("job-created-2", {
      future_field = { x = 1 }, payload = intuned.array(),
    })))
    local sent = srv:requests { operation = "createJob" }
    local raw = sent[#sent].body
    assert.truthy(raw:find('"future_field":{"x":1}', 1, true), raw)
    assert.truthy(raw:find('"payload":[]', 1, true), raw)
  end)

  it("writes an empty table as [] where the contract wants an array", function()
    assert(client:create_job(P, new_job("job-created-3", { payload = {} })))
    local sent = srv:requests { operation = "createJob" }
    assert.truthy(sent[#sent].body:find('"payload":[]', 1, true), sent[#sent].body)
  end)

  it("raises before sending a body that lacks a required field or has a wrong type", function()
    local before = #srv:requests { operation = "createJob" }
    local function raises(job, message)
      local ok, msg = pcall(function() client:create_job(P, job) end)
      assert.is_false(ok)
      assert.truthy(tostring(msg):find("jobs_spec.lua:%d+: intuned: " .. message), msg)
    end
    local missing = new_job("job-x-1234")
    missing.configuration = nil
    raises(missing, "job%.configuration is required")
    raises(new_job(5), "job%.id must be string, got number")
    raises(new_job("job-x-1234", { payload = { { apiName = 1, parameters = {} } } }),
      "job%.payload%[1%]%.apiName must be string")
    raises(new_job("job-x-1234", { sink = { type = "webhook" } }), "job%.sink%.url is required")
    raises(new_job("job-x-1234", { sink = { type = "s3", bucket = "b" } }), "job%.sink%.accessKeyId is required")
    raises(new_job("job-x-1234", { payload = { { apiName = "a", parameters = { f = print } } } }),
      "cannot encode job%.payload%[1%]%.parameters%.f: a function")
    raises("not a table", "job must be a table")
    assert.are.equal(before, #srv:requests { operation = "createJob" })
  end)

  it("leaves enum values to the server (open enums)", function()
    local _, err = client:create_job(P, new_job("job-created-4", { sink = { type = "carrier-pigeon" } }))
    -- No client-side check: whatever the server says comes back as an error object.
    if err then
      assert.are.equal("api", err.kind)
    end
  end)

  it("reads a job with its wire names", function()
    local job, err = client:get_job(P, "my-sample-job")
    assert.is_nil(err)
    assert.are.equal("my-sample-job", job.id)
    assert.are.equal("webhook", job.sink.type)
    assert.are.equal("string", type(job.projectId))
  end)

  it("gives the documented 404 for an unknown job", function()
    local res, err = client:get_job(P, "no-such-job")
    assert.is_nil(res)
    assert.are.equal("api", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal(1, err.attempts)
  end)

  it("updates a job from what get_job returned, as it is", function()
    local job = assert(client:get_job(P, "paused-job"))
    job.configuration.maxConcurrentRequests = 7
    local res, err = client:update_job(P, "paused-job", job)
    assert.is_nil(err)
    assert.are.equal("string", type(res.message))
    local sent = srv:requests { operation = "updateJob" }
    local raw = sent[#sent].body
    for _, field in ipairs { "id", "projectId", "state", "created_at", "next_run_time", "last_run_time" } do
      assert.is_nil(raw:find('"' .. field .. '":', 1, true), field .. " was sent: " .. raw)
    end
    assert.truthy(raw:find('"payload":[]', 1, true), raw) -- its empty payload stays an array
    assert.are.equal(7, assert(client:get_job(P, "paused-job")).configuration.maxConcurrentRequests)
  end)

  it("deletes a job (204 gives true), then the job is gone", function()
    assert(client:create_job(P, new_job("job-deleted-1")))
    local ok, err, meta = client:delete_job(P, "job-deleted-1")
    assert.is_nil(err)
    assert.is_true(ok)
    assert.are.equal(204, meta.status)
    local _, gone = client:get_job(P, "job-deleted-1")
    assert.are.equal(404, gone.status)
    local _, again = client:delete_job(P, "job-deleted-1")
    assert.are.equal(404, again.status)
    assert.are.equal(1, again.attempts)
  end)

  it("pauses and resumes a job", function()
    local res, err = client:pause_job(P, "my-sample-job")
    assert.is_nil(err)
    assert.are.equal("Paused", res.message)
    assert.are.equal("PAUSED", assert(client:get_job(P, "my-sample-job")).state)
    res = assert(client:resume_job(P, "my-sample-job"))
    assert.are.equal("Resumed", res.message)
    assert.are.equal("ACTIVE", assert(client:get_job(P, "my-sample-job")).state)
  end)

  it("triggers a job and gives the new run's id", function()
    local res, err = client:trigger_job(P, "my-sample-job")
    assert.is_nil(err)
    assert.are.equal("string", type(res.jobRunId))
    local run = assert(client:get_job_run(P, "my-sample-job", res.jobRunId))
    assert.are.equal(res.jobRunId, run.jobRun.id)
    local sent = srv:requests { operation = "triggerJob" }
    assert.is_nil(sent[#sent].headers["content-type"])
  end)

  it("refuses to trigger a paused job (400) or an unknown one (404)", function()
    local _, err = client:trigger_job(P, "paused-job")
    assert.are.equal(400, err.status)
    _, err = client:trigger_job(P, "no-such-job")
    assert.are.equal(404, err.status)
  end)

  it("raises on misuse of ids and options at the caller's line", function()
    local ok, msg = pcall(function() client:get_job(P, "") end)
    assert.is_false(ok)
    assert.truthy(msg:find("jobs_spec.lua:%d+: intuned: job_id must not be empty"), msg)
    ok, msg = pcall(function() client:list_jobs(P, { page = 1 }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("jobs_spec.lua:%d+: intuned: unknown list_jobs option 'page'"), msg)
    ok, msg = pcall(function() client.trigger_job(nil, P, "x") end)
    assert.is_false(ok)
    assert.truthy(msg:find("use client:trigger_job"), msg)
  end)
end)
