local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

describe("bad responses", function()
  local client, time
  before_each(function() client, time = fx.client() end)
  after_each(function() client:close() end)

  it("gives a decode error naming the offset for invalid JSON in a 200, without retrying", function()
    local res, err = client:get_job_run(P, J, fx.id("invalid-json"))
    assert.is_nil(res)
    assert.are.equal("decode", err.kind)
    assert.are.equal(200, err.status)
    assert.truthy(err.message:find("at byte %d+"), err.message)
    assert.are.equal(1, err.attempts)
    assert.are.equal(0, #time.sleeps)
    assert.are.equal("string", type(err.body))
  end)

  it("gives a decode error for an empty 200", function()
    local _, err = client:get_job_run(P, J, fx.id("empty-200"))
    assert.are.equal("decode", err.kind)
  end)

  it("gives a decode error for a 200 that is not JSON", function()
    local _, err = client:get_job_run(P, J, fx.id("text-200"))
    assert.are.equal("decode", err.kind)
    assert.truthy(err.message:find("text/plain", 1, true))
  end)

  it("gives a decode error when jobRun is missing or not an object", function()
    for _, scenario in ipairs { "wrong-shape", "jobrun-not-object" } do
      local _, err = client:get_job_run(P, J, fx.id(scenario))
      assert.are.equal("decode", err.kind, scenario)
      assert.truthy(err.message:find("jobRun", 1, true))
    end
  end)

  it("turns an HTML 502 page into an api error with status 502", function()
    local _, err = client:get_job_run(P, J, fx.id("html-502"))
    assert.are.equal("api", err.kind)
    assert.are.equal(502, err.status)
    assert.is_true(err.retirable)
    assert.are.equal(3, err.attempts)
    assert.are.equal("Bad Gateway", err.message)
    assert.truthy(err.body:find("<html", 1, true))
    assert.is_nil(tostring(err):find("<html", 1, true))
  end)

  it("gives too_large for a body over max_response_bytes, without retrying", function()
    local small = fx.client { max_response_bytes = 64 * 1024 }
    local _, err = small:get_job_run(P, J, fx.id("big-200000"))
    small:close()
    assert.are.equal("too_large", err.kind)
    assert.are.equal(1, err.attempts)
  end)

  it("names the cap when Content-Length alone is over it", function()
    -- stall-ms sends a Content-Length, so libcurl refuses before any body
    local tiny = fx.client { max_response_bytes = 100 }
    local _, err = tiny:get_job_run(P, J, fx.id("stall-ms-10"))
    tiny:close()
    assert.are.equal("too_large", err.kind)
    assert.are.equal("response larger than 100 bytes", err.message)
  end)

  it("caps a gzip body by its inflated size", function()
    local small = fx.client { max_response_bytes = 1024 * 1024 }
    local _, err = small:get_job_run(P, J, fx.id("big-gzip-67108864"))
    small:close()
    assert.are.equal("too_large", err.kind)
  end)

  it("gives timeout for a response that stalls past timeout", function()
    local quick = fx.client { timeout = 0.3, retry = false }
    local _, err = quick:get_job_run(P, J, fx.id("stall-3"))
    quick:close()
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.retirable)
  end)

  it("succeeds on a slow but steady response within the timeout", function()
    local res = client:get_job_run(P, J, fx.id("slow-300"))
    assert.truthy(res and res.jobRun)
  end)

  it("does not follow a redirect and names the Location", function()
    local _, err = client:get_job_run(P, J, fx.id("redirect-302"))
    assert.are.equal("api", err.kind)
    assert.are.equal(302, err.status)
    assert.truthy(err.message:find("/stolen/", 1, true))
    assert.is_false(err.retirable)
  end)
end)

-- The core gives an empty 2xx as a success with an empty body; what it
-- means is the operation's: nothing to return (a DELETE), or the result it
-- promised is missing.
describe("an empty 2xx body", function()
  local srv, client
  before_each(function() srv, client = fx.fresh() end)
  after_each(function() fx.done(srv, client) end)

  it("comes from the core as a success with no body", function()
    local session = require("intuned.core").session { base_url = srv.base_url, api_key = srv.api_key, timeout = 5 }
    for _, status in ipairs({ 200, 201, 202 }) do
      srv:fault { method = "GET", path = "/jobs$", fault = "empty-" .. status }
      local got, body, meta = session:request("GET", "/" .. srv.workspace_id .. "/projects/" .. fx.PROJECT .. "/jobs")
      assert.are.equal(status, got)
      assert.are.equal("", body)
      assert.is_nil(meta.content_type)
    end
    session:close()
  end)

  it("is done for an operation that returns nothing (delete_job)", function()
    srv:fault { method = "DELETE", path = "/jobs/my%-sample%-job$", fault = "empty-200" }
    local ok, err, meta = client:delete_job(fx.PROJECT, fx.JOB)
    assert.is_nil(err)
    assert.is_true(ok)
    assert.are.equal(200, meta.status)
  end)

  it("is a decode error, not retried, for one that promised a result", function()
    srv:fault { method = "POST", path = "/pause$", fault = "empty-200" }
    local res, err = client:pause_job(fx.PROJECT, fx.JOB)
    assert.is_nil(res)
    assert.are.equal("decode", err.kind)
    assert.are.equal(1, err.attempts)
    assert.truthy(err.message:find("empty response body", 1, true), err.message)
  end)
end)

describe("one kept-alive connection", function()
  it("carries nothing of a POST with a body into the GET that follows it", function()
    local srv = fx.server()
    srv:reset()
    srv:clear_log()
    local client = fx.client()
    local job = { id = "carry-1", payload = { { apiName = "a", parameters = { n = 1 } } },
      configuration = { maxConcurrentRequests = 1 } }
    assert(client:create_job(P, job))
    local res, err, meta = client:get_job(P, "carry-1")
    assert.is_nil(err)
    assert.are.equal("carry-1", res.id)
    assert.is_true(meta.reused)
    assert(client:trigger_job(P, "carry-1"))
    local _, err2, meta2 = client:list_jobs(P)
    assert.is_nil(err2)
    assert.is_true(meta2.reused)
    client:close()
    local log = srv:requests()
    assert.are.same({ "POST", "GET", "POST", "GET" },
      { log[1].method, log[2].method, log[3].method, log[4].method })
    assert.is_string(log[1].body)
    for _, i in ipairs({ 2, 4 }) do
      assert.is_true(log[i].body == nil or log[i].body == "", log[i].body)
      assert.is_nil(log[i].headers["content-type"])
      assert.is_nil(log[i].headers["content-length"])
    end
    assert.are.equal(log[1].connection, log[4].connection)
  end)
end)
