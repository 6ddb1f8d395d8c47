-- Errors of the right kind, so retries do the right thing: oversized
-- header blocks are `too_large` at once, libcurl's URL errors are never
-- `network`, malformed base URLs are refused where they are given, and
-- limits the core enforces are misuse blamed on the caller's line.
local core = require("intuned.core")
local errors = require("intuned.errors")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB
local HERE = "limits_spec.lua:%d+: intuned: "

-- intuned.new with the emulator's settings, called from this file so that
-- misuse is blamed on a line of it.
local function new(opts)
  local srv = fx.server()
  local o = { base_url = srv.base_url, api_key = srv.api_key, workspace_id = srv.workspace_id }
  for k, v in pairs(opts) do o[k] = v end
  local client = require("intuned").new(o) -- not a tail call: keeps this frame to blame
  return client
end

describe("response headers over a limit", function()
  local client
  before_each(function() client = fx.client() end)
  after_each(function() client:close() end)

  it("gives too_large once for one header line over libcurl's own limit", function()
    local res, err = client:get_job_run(P, J, fx.id("huge-header-200000"))
    assert.is_nil(res)
    assert.are.equal("too_large", err.kind)
    assert.are.equal(1, err.attempts)
    assert.is_false(err.retirable)
    assert.truthy(err.message:find("a response header line is longer than libcurl accepts (102400 bytes)", 1, true),
      err.message)
    assert.is_nil(err.message:find("response larger than", 1, true))
  end)

  it("gives too_large once for ten thousand short headers, naming the header limit", function()
    local _, err = client:get_job_run(P, J, fx.id("many-headers-10000"))
    assert.are.equal("too_large", err.kind)
    assert.are.equal(1, err.attempts)
    assert.truthy(err.message:find("response headers larger than 65536 bytes", 1, true), err.message)
    assert.is_nil(err.message:find("response larger than", 1, true))
  end)

  it("still reads a run behind headers within the limits", function()
    local res, err = client:get_job_run(P, J, fx.id("many-headers-100"))
    assert.is_nil(err)
    assert.are.equal("SUCCESS", res.jobRun.status)
  end)
end)

describe("malformed base URLs", function()
  local BAD = {
    "http://127.0.0.1:99999/api", "http://127.0.0.1:0/api", "http://127.0.0.1:8x/api",
    "http://[::1/x", "http://[]/api", "http://:80/api", "http://exa mple.com/api",
    "http://example.com/a b", "http://example.com/api#frag", "http://example.com/api?x=1",
    "http://example.com/%zz", "http://user@example.com/", "ftp://example.com/",
    "http://example.com/\127", "http://example.com\n/api",
  }

  it("refuses each in intuned.new, blaming the caller's line", function()
    for _, url in ipairs(BAD) do
      local ok, msg = pcall(fx.client, { base_url = url })
      assert.is_false(ok, url)
      msg = tostring(msg)
      assert.truthy(msg:find("intuned: base_url", 1, true), msg)
    end
    local ok, msg = pcall(new, { base_url = "http://127.0.0.1:99999/api" })
    assert.is_false(ok)
    assert.truthy(tostring(msg):find(HERE .. "base_url"), msg)
  end)

  it("takes the good ones (IPv6 literals, ports, paths)", function()
    for _, url in ipairs { "http://[::1]:8080/api", "https://example.com", "http://127.0.0.1:1/a/b/" } do
      local client = fx.client { base_url = url }
      assert.are.equal(url:gsub("/+$", ""), client.base_url)
      client:close()
    end
  end)

  it("maps libcurl's URL errors to kind url, which is never retried", function()
    local session = core.session {}
    local status, kind = session:request("GET", "http://[::1/x")
    session:close()
    assert.is_nil(status)
    assert.are.equal("url", kind)
    assert.is_false(errors.transport("url", "bad URL", 3, false).retirable)
  end)
end)

describe("limits the core enforces", function()
  local client, res
  before_each(function()
    client = fx.client()
    res = assert(client:get_job_run(P, J, fx.id("ok")))
  end)
  after_each(function() client:close() end)

  local function raises(fn, what)
    local ok, msg = pcall(fn)
    assert.is_false(ok)
    assert.truthy(tostring(msg):find(HERE .. what), msg)
  end

  it("raise at the caller's line with an intuned: message", function()
    raises(function() new { timeout = 1e10 } end, "option 'timeout'")
    raises(function() new { connect_timeout = 1e10 } end, "option 'connect_timeout'")
    raises(function() new { deadline = 1e10 } end, "option 'deadline'")
    raises(function() new { max_response_bytes = 2 ^ 31 } end, "option 'max_response_bytes'")
    raises(function() new { user_agent = "tool\r\nX-Evil: 1" } end, "option 'user_agent'")
    raises(function() new { proxy = "http://proxy\n:8080" } end, "option 'proxy'")
    raises(function() client:get_job_run(P, J, "x", { timeout = 1e10 }) end, "option 'timeout'")
    raises(function() client:get_job_run(P, J, "x", { deadline = 1e10 }) end, "option 'deadline'")
    raises(function() client:get_job_runs({ { P, J, "x" } }, { timeout = 1e10 }) end, "option 'timeout'")
    raises(function() client:wait_for_job_run(P, J, "x", { interval = 1e10 }) end, "option 'interval'")
    raises(function() client:download_results(res, { timeout = 1e10 }) end, "option 'timeout'")
  end)
end)
