-- TLS against the emulator's HTTPS ports, with a CA and server certificates
-- made by openssl at test time in the emulator's temporary prefix.
local emulator = require("support.emulator")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

describe("TLS", function()
  local srv

  lazy_setup(function()
    srv = emulator.start { tls = true }
  end)

  lazy_teardown(function()
    if srv then srv:stop() end
  end)

  local function client(base_url, opts)
    local o = { base_url = base_url, api_key = srv.api_key, workspace_id = srv.workspace_id }
    for k, v in pairs(opts or {}) do o[k] = v end
    return fx.client(o)
  end

  local function https_requests()
    return srv:requests(function(e) return e.scheme == "https" end)
  end

  it("fails with kind tls, without retrying, when the CA is not trusted", function()
    srv:clear_log()
    local c, time = client(srv.tls_base_url)
    local res, err = c:get_job_run(P, J, fx.id("ok"))
    c:close()
    assert.is_nil(res)
    assert.are.equal("tls", err.kind)
    assert.is_false(err.retirable)
    assert.are.equal(1, err.attempts)
    assert.are.same({}, time.sleeps)
    assert.is_nil(err.status)
    -- The handshake failed: no HTTP request, so no key, reached the server.
    assert.are.same({}, https_requests())
  end)

  it("succeeds with ca_file and keeps the TLS connection for the next call", function()
    srv:clear_log()
    local c = client(srv.tls_base_url, { ca_file = srv.ca_file })
    local id = fx.id("ok")
    local res, err, meta = c:get_job_run(P, J, id)
    assert.is_nil(err)
    assert.are.equal(id, res.jobRun.id)
    assert.is_false(meta.reused)
    local _, err2, meta2 = c:get_job_run(P, J, fx.id("ok"))
    c:close()
    assert.is_nil(err2)
    assert.is_true(meta2.reused)
    local seen = https_requests()
    assert.are.equal(2, #seen)
    assert.are.equal(srv.api_key, seen[1].headers["x-api-key"])
    assert.are.equal(seen[1].connection, seen[2].connection)
  end)

  it("succeeds with ca_path (a hashed CA folder)", function()
    local dir = srv.prefix .. "/tls/capath"
    assert(os.execute(("mkdir -p '%s' && cp '%s' '%s/' && openssl rehash '%s' >/dev/null 2>&1")
      :format(dir, srv.ca_file, dir, dir)))
    local c2 = client(srv.tls_base_url, { ca_path = dir })
    local res2, err2 = c2:get_job_run(P, J, fx.id("ok"))
    c2:close()
    assert.is_nil(err2)
    assert.truthy(res2.jobRun)
  end)

  it("fails with kind tls for a certificate naming another host, even with the right CA", function()
    srv:clear_log()
    local c, time = client(srv.wrong_tls_base_url, { ca_file = srv.ca_file })
    local _, err = c:get_job_run(P, J, fx.id("ok"))
    c:close()
    assert.are.equal("tls", err.kind)
    assert.is_false(err.retirable)
    assert.are.equal(1, err.attempts)
    assert.are.same({}, time.sleeps)
    assert.are.same({}, https_requests())
    assert.is_nil(tostring(err):find(srv.api_key, 1, true))
  end)

  it("fails with kind tls for a CA file that is not the server's", function()
    local other = srv.prefix .. "/tls/wrong.crt" -- a leaf, not the issuing CA
    local c = client(srv.tls_base_url, { ca_file = other })
    local _, err = c:get_job_run(P, J, fx.id("ok"))
    c:close()
    assert.are.equal("tls", err.kind)
    assert.are.equal(1, err.attempts)
  end)
end)
