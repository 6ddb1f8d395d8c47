-- Retries that never do the work twice. A POST (create, trigger, pause,
-- resume, terminate) is retried only when it cannot have been processed: no
-- connection was made, the server said 429 or 503, or its error body says
-- retirable: true. GET, PUT and DELETE are retried as before; a DELETE whose
-- retry finds the resource gone succeeds.
local fx = require("support.fixtures")

local P, J = fx.PROJECT, "my-sample-job"

describe("retries of requests that must not run twice", function()
  local srv, client
  before_each(function() srv, client = fx.fresh { job_run_ms = 60000 } end)
  after_each(function() fx.done(srv, client) end)

  local function triggers()
    return #srv:requests { operation = "triggerJob" }
  end

  local function run_count()
    return assert(client:list_job_runs(P, J, { page_size = 100 })).totalCount
  end

  it("sends a trigger whose connection is reset after the request was read exactly once", function()
    local runs = run_count()
    srv:fault { method = "POST", path = "/trigger$", fault = "reset-after" }
    local res, err = client:trigger_job(P, J)
    assert.is_nil(res)
    assert.are.equal("network", err.kind)
    assert.is_true(err.sent)
    assert.is_false(err.retirable)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, triggers())
    assert.are.equal(runs + 1, run_count()) -- the API did the work once
  end)

  it("does not retry a trigger that timed out after it was sent", function()
    local c = fx.client { timeout = 0.3 }
    srv:fault { method = "POST", path = "/trigger$", fault = "stall-2000" }
    local _, err = c:trigger_job(P, J)
    c:close()
    assert.are.equal("timeout", err.kind)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, triggers())
  end)

  it("retries a trigger refused at connect time (nothing was sent)", function()
    local c = fx.client { base_url = "http://127.0.0.1:1/api/v1/workspace" }
    local _, err = c:trigger_job(P, J)
    c:close()
    assert.are.equal("network", err.kind)
    assert.is_false(err.sent)
    assert.are.equal(3, err.attempts)
  end)

  it("retries a trigger whose host does not resolve (nothing was sent)", function()
    local c = fx.client { base_url = "http://intuned-spec.invalid/api/v1/workspace", timeout = 5 }
    local _, err = c:trigger_job(P, J)
    c:close()
    assert.are.equal(3, err.attempts, tostring(err))
    assert.is_false(err.sent)
  end)

  it("treats a trigger whose TLS handshake failed (nothing sent) as a GET: kind tls, which would fail again",
    function()
      local c = fx.client { base_url = srv.base_url:gsub("^http:", "https:"), timeout = 5 }
      local _, err = c:trigger_job(P, J)
      local _, get_err = c:get_job(P, J)
      c:close()
      assert.are.equal("tls", err.kind)
      assert.is_false(err.sent)
      assert.are.same({ "tls", err.attempts }, { get_err.kind, get_err.attempts })
      assert.are.equal(0, triggers())
    end)

  it("retries a trigger answered 503 or 429, which were not processed", function()
    for _, fault in ipairs { "503", "429-0" } do
      srv:clear_log()
      srv:fault { method = "POST", path = "/trigger$", fault = fault }
      local res, err, meta = client:trigger_job(P, J)
      assert.is_nil(err, fault)
      assert.are.equal("string", type(res.jobRunId))
      assert.are.equal(2, meta.attempts)
      assert.are.equal(2, triggers())
    end
  end)

  it("does not retry a trigger answered 500, 502 or 504", function()
    for _, status in ipairs { 500, 502, 504 } do
      srv:clear_log()
      srv:fault { method = "POST", path = "/trigger$", fault = "status-" .. status }
      local _, err = client:trigger_job(P, J)
      assert.are.equal(status, err.status)
      assert.is_false(err.retirable)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, triggers())
      srv:clear_faults()
    end
  end)

  it("retries a trigger whose error body says retirable: true, and not one that says false", function()
    srv:fault { method = "POST", path = "/trigger$", fault = "status-500", retirable = true }
    local res, _, meta = client:trigger_job(P, J)
    assert.are.equal("string", type(res.jobRunId))
    assert.are.equal(2, meta.attempts)
    srv:fault { method = "POST", path = "/trigger$", fault = "status-503", retirable = false }
    local _, err = client:trigger_job(P, J)
    assert.are.equal(503, err.status)
    assert.are.equal(1, err.attempts)
  end)

  it("applies the same rule to every other POST: create, pause, resume, terminate, the run and auth-session starts",
    function()
      local made = 0
      local function new_id()
        made = made + 1
        return "job-once-" .. made
      end
      local run = { api = "details", parameters = { url = "https://example.com/1" } }
      local calls = {
        { "/jobs$", function() return client:create_job(P, { id = new_id(), payload = {}, configuration = {} }) end },
        { "/pause$", function() return client:pause_job(P, J) end },
        { "/resume$", function() return client:resume_job(P, J) end },
        { "/terminate$", function() return client:terminate_job_run(P, J, "jr_sample_001") end },
        { "/run/start$", function() return client:start_run(P, run) end },
        { "/auth%-sessions/create$", function() return client:start_auth_session_create(P, { parameters = {} }) end },
        { "/validate/start$", function() return client:start_auth_session_validate(P, "auth-session-123") end },
        { "/update$", function()
          return client:start_auth_session_update(P, "auth-session-456", { parameters = {} })
        end },
      }
      for _, call in ipairs(calls) do
        local path = call[1]
        local function sent()
          return #srv:requests(function(e) return e.method == "POST" and e.uri:gsub("%?.*", ""):find(path) end)
        end
        local before = sent()
        srv:fault { method = "POST", path = path, fault = "reset-after" }
        local _, err = call[2]()
        assert.are.equal(1, err.attempts, path)
        assert.is_false(err.retirable, path)
        assert.are.equal(before + 1, sent(), path) -- the API got it once
        srv:fault { method = "POST", path = path, fault = "503" }
        local res, err2, meta = call[2]()
        assert.is_nil(err2 and err2.status == 503 or nil, path)
        assert.are.equal(before + 3, sent(), path) -- refused once (503), then done
        assert.are.equal(2, (meta or err2).attempts, path)
        assert.is_true(res ~= nil or err2 ~= nil, path)
      end
    end)

  it("still retries a GET and a PUT after a reset", function()
    srv:fault { method = "GET", path = "/jobs/my%-sample%-job$", fault = "reset-after" }
    local job, err, meta = client:get_job(P, J)
    assert.is_nil(err)
    assert.are.equal(2, meta.attempts)
    srv:fault { method = "PUT", path = "/jobs/my%-sample%-job$", fault = "reset-after" }
    local _, uerr, umeta = client:update_job(P, J, job)
    assert.is_nil(uerr)
    assert.are.equal(2, umeta.attempts)
  end)

  it("counts a DELETE whose retry finds the job gone as done, and says so", function()
    assert(client:create_job(P, { id = "job-gone-1", payload = {}, configuration = {} }))
    srv:fault { method = "DELETE", path = "/jobs/job%-gone%-1$", fault = "reset-after" }
    local ok, err, meta = client:delete_job(P, "job-gone-1")
    assert.is_nil(err)
    assert.is_true(ok)
    assert.is_true(meta.gone)
    assert.are.equal(404, meta.status)
    assert.are.equal(2, meta.attempts)
  end)

  it("gives a DELETE's 404 on the first attempt as the error it is", function()
    local ok, err = client:delete_job(P, "never-existed")
    assert.is_nil(ok)
    assert.are.equal(404, err.status)
    assert.are.equal(1, err.attempts)
  end)
end)
