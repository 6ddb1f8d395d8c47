local intuned = require("intuned")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

describe("get_job_run", function()
  local client
  before_each(function() client = fx.client() end)
  after_each(function() client:close() end)

  it("decodes every field of a job run with the right Lua types", function()
    local id = fx.id("ok")
    local res, err = client:get_job_run(P, J, id)
    assert.is_nil(err)
    local run = res.jobRun
    assert.are.equal(id, run.id)
    assert.are.equal(J, run.job_id)
    for _, k in ipairs { "start_time", "end_time", "workspace_id", "project_id",
      "created_at", "updated_at", "type", "status" } do
      assert.are.equal("string", type(run[k]), k)
    end
    assert.are.equal(fx.server().workspace_id, run.workspace_id)
    assert.are.equal("SUCCESS", run.status)
    assert.are.equal(100, run.payloads)
    assert.are.equal(95, run.successful_runs)
    assert.are.equal(5, run.failed_runs)
    if math.type then
      assert.are.equal("integer", math.type(run.payloads))
      assert.are.equal("integer", math.type(run.successful_runs))
      assert.are.equal("integer", math.type(run.failed_runs))
      assert.are.equal("100", tostring(run.payloads))
    else -- 5.1, 5.2, LuaJIT: doubles only (spec/tools/versions_spec.lua)
      assert.are.equal("100", tostring(run.payloads))
    end
    assert.is_nil(run.error)
    assert.is_nil(run.reason)
    local conf = run.job_configuration_snapshot
    assert.are.equal("table", type(conf.configuration))
    assert.are.equal(3, conf.configuration.retry.maximumAttempts)
    assert.are.equal("number", type(conf.configuration.maxConcurrentRequests))
    assert.are.equal(600, conf.configuration.requestTimeout)
    assert.are.equal("string", type(conf.configuration.proxy))
    assert.are.equal("webhook", conf.sink.type)
    assert.are.equal("table", type(conf.sink.headers))
    assert.are.equal("boolean", type(conf.sink.skipOnFail))
    assert.are.equal("string", type(conf.sink.apisToSend[1]))
    assert.are.equal("string", type(conf.auth_session.id))
    assert.are.equal("number", type(conf.auth_session.checkAttempts))
    assert.are.equal("v1", conf.proxy.version)
    assert.are.equal("webhook", conf.notifications[1].type)
    assert.are.equal("string", type(res.results.signed_url))
    assert.are.equal("json", res.results.format)
    assert.are.equal("number", type(res.results.size))
    assert.are.equal("string", type(res.results.key))
    assert.are.equal("string", type(res.results.signed_url_expiration))
  end)

  it("leaves null members out, so `if run.error then` works", function()
    local res = assert(client:get_job_run(P, J, fx.id("nulls")))
    local run = res.jobRun
    assert.are.equal("SUCCESS", run.status)
    for _, k in ipairs { "payloads", "successful_runs", "failed_runs", "end_time", "error", "reason" } do
      assert.is_nil(run[k], k)
    end
    assert.is_nil(run.job_configuration_snapshot.sink)
    assert.is_nil(res.results)
  end)

  it("keeps nulls as intuned.null when asked", function()
    local res = assert(client:get_job_run(P, J, fx.id("nulls"), { keep_nulls = true }))
    assert.are.equal(intuned.null, res.jobRun.payloads)
    assert.are.equal(intuned.null, res.jobRun.error)
  end)

  it("returns a running job without results", function()
    local res = assert(client:get_job_run(P, J, fx.id("running")))
    assert.are.equal("PENDING", res.jobRun.status)
    assert.is_nil(res.jobRun.end_time)
    assert.is_nil(res.results)
    assert.is_false(intuned.is_terminal(res.jobRun))
  end)

  it("returns the error and reason objects of a failed run", function()
    local res = assert(client:get_job_run(P, J, fx.id("failed")))
    local run = res.jobRun
    assert.are.equal("FAILURE", run.status)
    assert.are.equal("internal-server-error", run.error.code)
    assert.are.equal("infrastructure", run.error.category)
    assert.are.equal("string", type(run.error.message))
    assert.are.equal("terminated", run.reason.type)
    assert.is_true(intuned.is_terminal(res))
  end)

  it("passes an unknown status through", function()
    local res = assert(client:get_job_run(P, J, fx.id("unknown-status")))
    assert.are.equal("FROBNICATING", res.jobRun.status)
    assert.is_false(intuned.is_terminal(res.jobRun))
  end)

  it("reports attempts and headers in the third return value", function()
    local res, err, meta = client:get_job_run(P, J, fx.id("ok"))
    assert.truthy(res)
    assert.is_nil(err)
    assert.are.equal(1, meta.attempts)
    assert.are.equal(200, meta.status)
    assert.truthy(meta.headers["x-connection"])
  end)

  it("uses one connection for sequential calls", function()
    local _, _, m1 = client:get_job_run(P, J, fx.id("ok"))
    local _, _, m2 = client:get_job_run(P, J, fx.id("ok"))
    local _, _, m3 = client:get_job_run(P, J, fx.id("notfound"))
    local _, _, m4 = client:get_job_run(P, J, fx.id("ok"))
    assert.are.equal(m1.headers["x-connection"], m2.headers["x-connection"])
    assert.are.equal(m1.headers["x-connection"], m4.headers["x-connection"])
    assert.are.equal(tonumber(m1.headers["x-connection-requests"]) + 1,
      tonumber(m2.headers["x-connection-requests"]))
    assert.is_nil(m3)
    assert.is_true(m2.reused)
  end)
end)

describe("API errors", function()
  local client
  before_each(function() client = fx.client() end)
  after_each(function() client:close() end)

  local function check_documented(err, status, code)
    assert.are.equal("api", err.kind)
    assert.are.equal(status, err.status)
    assert.are.equal(code, err.code)
    assert.are.equal("user", err.category)
    assert.are.equal("string", type(err.message))
    assert.is_false(err.retirable)
    assert.are.equal("string", type(err.correlation_id))
    assert.are.equal(1, err.attempts)
    assert.are.equal("table", type(err.body))
    assert.are.equal(code, err.body.code)
    assert.is_true(intuned.is_error(err))
    local line = tostring(err)
    assert.is_nil(line:find("\n"))
    assert.truthy(line:find(tostring(status), 1, true))
    assert.truthy(line:find(code, 1, true))
    assert.truthy(line:find(err.message, 1, true))
  end

  it("turns a 404 body into an error object", function()
    local res, err = client:get_job_run(P, J, fx.id("notfound"))
    assert.is_nil(res)
    check_documented(err, 404, "not-found")
  end)

  it("turns a 400 body into an error object with details", function()
    local _, err = client:get_job_run(P, J, fx.id("badrequest"))
    check_documented(err, 400, "bad-request")
    assert.truthy(err.details)
  end)

  it("turns a wrong key into a 401 error object", function()
    local bad = fx.client { api_key = "wrong-key" }
    local _, err = bad:get_job_run(P, J, fx.id("ok"))
    bad:close()
    check_documented(err, 401, "unauthorized")
    assert.is_nil(tostring(err):find("wrong-key", 1, true))
  end)
end)

describe("is_terminal", function()
  local expected = {
    CANCELED = true, SUCCESS = true, FAILURE = true, TERMINATED = true, COMPLETED = true,
    PENDING = false, PAUSED = false, PAUSING = false, RESUMING = false,
    SOMETHING_NEW = false,
  }
  for status, want in pairs(expected) do
    it(("is %s for %s"):format(tostring(want), status), function()
      assert.are.equal(want, intuned.is_terminal(status))
      assert.are.equal(want, intuned.is_terminal { status = status })
      assert.are.equal(want, intuned.is_terminal { jobRun = { status = status } })
    end)
  end

  it("raises for values that are neither a run nor a status", function()
    assert.has_error(function() intuned.is_terminal(42) end)
    assert.has_error(function() intuned.is_terminal() end)
  end)
end)

describe("intuned module", function()
  it("exposes VERSION and the null sentinel", function()
    assert.are.equal("string", type(intuned.VERSION))
    assert.truthy(intuned.VERSION:match("^%d+%.%d+%.%d+"))
    assert.are.equal(require("cjson").null, intuned.null)
  end)
end)

describe("client", function()
  it("never shows the key in tostring", function()
    local client = fx.client { api_key = "sekrit-key-123" }
    local s = tostring(client) .. tostring(client.session)
    client:close()
    assert.is_nil(s:find("sekrit", 1, true))
    assert.truthy(tostring(client):find("closed", 1, true))
  end)

  it("closes idempotently and refuses calls afterwards", function()
    local client = fx.client()
    client:close()
    client:close()
    assert.has_error(function() client:get_job_run(P, J, "x") end, "intuned: client is closed")
  end)

  it("takes its settings from the environment", function()
    -- run in a child interpreter so this process's environment is untouched
    local srv = fx.server()
    local code = ([[
      local c = require("intuned").new()
      local res, err = c:get_job_run("p", "j", "ok.env")
      io.write(res and res.jobRun.id or tostring(err))
    ]]):gsub("\n", " ")
    local cmd = ("INTUNED_WORKSPACE_ID=%s INTUNED_API_KEY=%s INTUNED_BASE_URL=%s %s -e '%s'")
      :format(srv.workspace_id, srv.api_key, srv.base_url, fx.lua(), code)
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    assert.are.equal("ok.env", out)
  end)

  it("rejects misuse with a message that names the argument", function()
    local srv = fx.server()
    local base = { base_url = srv.base_url, api_key = "k", workspace_id = srv.workspace_id }
    local function with(k, v)
      local o = {}
      for key, val in pairs(base) do o[key] = val end
      o[k] = v
      return o
    end
    local cases = {
      { with("workspace_id", "not-a-uuid"), "workspace_id" },
      { with("workspace_id", 42), "workspace_id" },
      { with("api_key", ""), "api_key" },
      { with("api_key", "a\r\nX-Evil: 1"), "api_key" },
      { with("api_key", "has space"), "api_key" },
      { with("base_url", "ftp://example.com"), "base_url" },
      { with("base_url", "http://"), "base_url" },
      { with("base_url", "http://user:pw@example.com"), "base_url" },
      { with("timeout", -1), "timeout" },
      { with("timeout", "5"), "timeout" },
      { with("retry", 3), "retry" },
      { with("retry", { max_attempts = 0 }), "max_attempts" },
      { with("max_response_bytes", 0), "max_response_bytes" },
      { with("timout", 5), "timout" },
    }
    for _, c in ipairs(cases) do
      local ok, msg = pcall(intuned.new, c[1])
      assert.is_false(ok, c[2])
      assert.truthy(msg:find(c[2], 1, true), msg)
      assert.is_nil(msg:find("\r", 1, true))
    end
    assert.has_error(function() intuned.new("nope") end)
  end)

  it("blames the caller's line for misuse", function()
    local client = fx.client()
    local ok, msg = pcall(function() client:get_job_run(P, J, "") end)
    assert.is_false(ok)
    assert.truthy(msg:find("client_spec.lua", 1, true), msg)
    assert.truthy(msg:find("job_run_id", 1, true), msg)
    ok, msg = pcall(function() client:get_job_run(P, J, "r", { timout = 1 }) end)
    client:close()
    assert.is_false(ok)
    assert.truthy(msg:find("client_spec.lua", 1, true), msg)
    assert.truthy(msg:find("timout", 1, true), msg)
  end)
end)
