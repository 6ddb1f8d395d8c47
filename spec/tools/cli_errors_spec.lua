-- How the command line says what went wrong: network, timeout and TLS
-- errors in one sentence naming the host (not libcurl's words twice),
-- settings that are missing or wrong named by their flag and variable, and
-- each usage error pointing at the help that covers it.
local cli = require("support.cli")
local fx = require("support.fixtures")
local errors = require("intuned.cli.errors")
local emulator = require("support.emulator")

local function err_of(fields)
  return setmetatable(fields, { __tostring = function(e) return "intuned: " .. e.kind .. " error: " .. e.message end })
end

describe("intuned error messages", function()
  describe("of transport failures, from libcurl's", function()
    local HOST = "api.example.com port 8443"
    for message, want in pairs {
      ["Couldn't connect to server: Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server"] =
        "cannot connect to 127.0.0.1 port 1 (connection refused)",
      ["Couldn't connect to server: Failed to connect to 10.0.0.1 port 80 after 3001 ms: Connection timed out"] =
        "cannot connect to 10.0.0.1 port 80 (timed out)",
      ["Couldn't connect to server: Failed to connect to h port 80 after 2 ms: No route to host"] =
        "cannot connect to h port 80 (no route to host)",
      ["Couldn't resolve host name: Could not resolve host: nonexist.invalid"] =
        "cannot resolve host nonexist.invalid",
      ["Timeout was reached: Operation timed out after 500 milliseconds with 0 bytes received"] =
        "no answer from api.example.com port 8443 within 0.5s",
      ["Timeout was reached: Operation timed out after 30001 milliseconds with 0 out of 1261 bytes received"] =
        "no answer from api.example.com port 8443 within 30s",
      ["Timeout was reached: Operation timed out after 2000 milliseconds with 100 out of 1261 bytes received"] =
        "the answer from api.example.com port 8443 did not arrive whole within 2s",
      ["Timeout was reached: Connection timed out after 10002 milliseconds"] =
        "cannot connect to api.example.com port 8443 (no answer within 10s)",
      ["Server returned nothing (no headers, no data): Empty reply from server"] =
        "api.example.com port 8443 closed the connection without answering",
      ["Failure when receiving data from the peer: Recv failure: Connection reset by peer"] =
        "api.example.com port 8443 reset the connection",
      ["SSL peer certificate or SSH remote key was not OK: SSL certificate problem: unable to get local issuer"
        .. " certificate"] =
        "the TLS certificate of api.example.com port 8443 is not trusted (unable to get local issuer certificate)",
      ["SSL peer certificate or SSH remote key was not OK: SSL: no alternative certificate subject name matches"
        .. " target host name '127.0.0.1'"] =
        "the TLS certificate of api.example.com port 8443 is not for that name",
      ["SSL connect error: OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number"] =
        "TLS handshake with api.example.com port 8443 failed (does it speak https?)",
      ["the server closed the connection without an answer (the request may have reached it)"] =
        "the server closed the connection without an answer (the request may have reached it)",
      ["Timeout was reached: Operation timed out after 500 milliseconds with 0 bytes received (deadline reached)"] =
        "no answer from api.example.com port 8443 within 0.5s (deadline reached)",
    } do
      it(want, function()
        local kind = message:find("SSL", 1, true) and "tls" or (message:find("Timeout", 1, true) and "timeout")
          or "network"
        assert.are.equal(want, errors.text(err_of { kind = kind, message = message }, HOST))
      end)
    end

    it("keeps the HTTP status, the correlation id and the attempts", function()
      assert.are.equal("api.example.com port 8443 reset the connection [HTTP 502, correlation_id=c-1, attempts=3]",
        errors.text(err_of { kind = "network", message = "Recv failure: Connection reset by peer", status = 502,
          correlation_id = "c-1", attempts = 3 }, HOST))
    end)

    it("names hosts as the messages do", function()
      assert.are.equal("127.0.0.1 port 8080", errors.host_of("http://127.0.0.1:8080/api/v1/workspace"))
      assert.are.equal("app.intuned.io", errors.host_of("https://app.intuned.io/api/v1/workspace"))
      assert.are.equal("::1 port 9", errors.host_of("http://[::1]:9/x"))
    end)
  end)

  describe("of a real command", function()
    it("when the host does not resolve", function()
      local _, err, code = cli.run("jobs list p", { INTUNED_BASE_URL = "http://nonexist.invalid/api" })
      assert.are.equal(3, code)
      assert.are.equal("intuned: cannot resolve host nonexist.invalid [attempts=3]\n", err)
    end)

    it("when the server does not answer in time", function()
      local srv = fx.server()
      local _, err, code = cli.run("run get p j " .. fx.id("stall-2") .. " --request-timeout 0.3")
      assert.are.equal(3, code)
      assert.are.equal(("intuned: no answer from 127.0.0.1 port %d within 0.3s [attempts=3]\n"):format(srv.port), err)
    end)

    it("when the connection is dropped", function()
      local srv = fx.server()
      srv:fault { fault = "reset-before", path = "/projects/p/jobs$", times = 3 }
      local _, err, code = cli.run("jobs list p")
      srv:clear_faults()
      assert.are.equal(3, code)
      assert.are.equal(("intuned: 127.0.0.1 port %d closed the connection without answering [attempts=3]\n")
        :format(srv.port), err)
    end)

    it("when the TLS certificate is not trusted, or the port does not speak TLS", function()
      local tls = emulator.start { tls = true }
      local _, err, code = cli.run("jobs list p", { INTUNED_BASE_URL = tls.tls_base_url })
      local _, err2, code2 = cli.run("jobs list p", { INTUNED_BASE_URL = "https://127.0.0.1:" .. tls.port .. "/api" })
      tls:stop()
      assert.are.equal(3, code)
      assert.are.equal(("intuned: the TLS certificate of 127.0.0.1 port %d is not trusted (unable to get local"
        .. " issuer certificate)\n"):format(tls.tls_port), err)
      assert.are.equal(3, code2)
      assert.are.equal(("intuned: TLS handshake with 127.0.0.1 port %d failed (does it speak https?)\n")
        :format(tls.port), err2)
    end)

    it("of the API: status, code, message and correlation id", function()
      local _, err, code = cli.run("jobs get my-project no-such-job")
      assert.are.equal(3, code)
      assert.truthy(err:find("^intuned: api error %(HTTP 404%) not%-found/user: Job no%-such%-job not found"
        .. " %[correlation_id=[%x-]+, attempts=1%]\n$"), err)
    end)
  end)

  describe("of settings", function()
    for _, case in ipairs {
      { "jobs list p", { INTUNED_WORKSPACE_ID = false },
        "intuned: no workspace id: give --workspace-id ID or set INTUNED_WORKSPACE_ID" },
      { "jobs list p", { INTUNED_WORKSPACE_ID = "" },
        "intuned: no workspace id: give --workspace-id ID or set INTUNED_WORKSPACE_ID" },
      { "jobs list p", { INTUNED_WORKSPACE_ID = "not-a-uuid" },
        "intuned: INTUNED_WORKSPACE_ID must be a UUID like 123e4567-e89b-12d3-a456-426614174000" },
      { "--workspace-id nope jobs list p", {},
        "intuned: --workspace-id must be a UUID like 123e4567-e89b-12d3-a456-426614174000" },
      { "jobs list p", { INTUNED_API_KEY = false },
        "intuned: no API key: set INTUNED_API_KEY (or give --api-key KEY)" },
      { "jobs list p --api-key 'a b'", {}, "intuned: --api-key must not contain whitespace or control bytes" },
      { "jobs list p", { INTUNED_BASE_URL = "ftp://example.com" },
        "intuned: INTUNED_BASE_URL must start with http:// or https://" },
      { "jobs list p --base-url http://", {}, "intuned: --base-url must have a host and no user info" },
      { "jobs list p --request-timeout soon", {},
        "intuned: option '--request-timeout' must be a positive number of seconds" },
      { "jobs list p --api-key", {}, "intuned: option '--api-key' needs a value" },
      { "--version=2 jobs list p", {}, "intuned: option '--version' takes no value" },
    } do
      it(case[3], function()
        local out, err, code = cli.run(case[1], case[2])
        assert.are.equal(2, code, err)
        assert.are.equal("", out)
        assert.are.equal(case[3] .. "\nTry 'intuned --help'.\n", err)
      end)
    end
  end)

  describe("of usage", function()
    for _, case in ipairs {
      { "jobs list p --interval 1", "unknown option '--interval' for 'jobs list'", "jobs list" },
      { "job-runs wait p j r --interval soon", "option '--interval' must be a positive number of seconds",
        "job-runs wait" },
      { "run wait p j r --progress=fancy", "option '--progress' must be auto, bar, lines or none", "run wait" },
      { "jobs get p", "'jobs get' takes PROJECT JOB (1 given)", "jobs get" },
      { "jobs trigger p j --timeout 5", "option '--timeout' goes with --wait", "jobs trigger" },
      { "runs start p", "'runs start' takes PROJECT API (1 given)", "runs start" },
      { "jobs", "missing command after 'jobs' (list, get, create, update, delete, pause, resume, trigger)", "jobs" },
      { "auth-sessions frob", "unknown command 'auth-sessions frob'", "auth-sessions" },
      { "frob", "unknown command 'frob'", nil },
      { "--bogus jobs list p", "unknown option '--bogus' for 'jobs list'", "jobs list" },
      { "--bogus", "unknown option '--bogus'", nil },
      { "jobs get p ..", "job_id must not be empty, '.' or '..'", "jobs get" },
    } do
      it(case[2], function()
        local out, err, code = cli.run(case[1])
        assert.are.equal(2, code, err)
        assert.are.equal("", out)
        assert.are.equal(("intuned: %s\nTry 'intuned %s--help'.\n"):format(case[2], case[3] and (case[3] .. " ") or ""),
          err)
      end)
    end
  end)
end)
