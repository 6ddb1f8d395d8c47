-- Spec of the local API emulator itself (spec/server, spec/support/emulator.lua),
-- driven with the curl command line so it does not depend on the client.
local emulator = require("support.emulator")
local cjson = require("cjson")
local socket = require("socket")

local files = require("support.files")

local shell_quote, read_file, exists = files.quote, files.read, files.exists

-- (curl must not inherit the sanitizer runtime of `make test-asan`.)
local capture = files.capture

-- Headers of the last response in a curl -D dump (lower-case names).
local function parse_headers(dump)
  local headers, status = {}, nil
  for line in (dump or ""):gmatch("[^\r\n]*") do
    local code = line:match("^HTTP/%S+ (%d%d%d)")
    if code then
      headers, status = {}, tonumber(code)
    else
      local name, value = line:match("^([^:]+):%s*(.-)%s*$")
      if name then
        headers[name:lower()] = value
      end
    end
  end
  return headers, status
end

local tmpname = files.tmpname

-- One curl run. opts: key (false for none, default the server's), headers
-- (list of "Name: value"), args (extra curl arguments), server.
-- Returns { rc, status, headers, body, time }.
local function fetch(url, opts)
  opts = opts or {}
  local srv = opts.server or emulator.shared()
  local header_file, body_file = tmpname(), tmpname()
  local parts = { "curl -s -D", shell_quote(header_file), "-o", shell_quote(body_file),
    "-w", "'%{http_code} %{time_total}'" }
  local key = opts.key
  if key == nil then
    key = srv.api_key
  end
  if key then
    parts[#parts + 1] = "-H " .. shell_quote("x-api-key: " .. key)
  end
  for _, header in ipairs(opts.headers or {}) do
    parts[#parts + 1] = "-H " .. shell_quote(header)
  end
  parts[#parts + 1] = opts.args or ""
  parts[#parts + 1] = shell_quote(url)
  local output = capture(table.concat(parts, " ") .. "; echo \" $?\"")
  local _, time, rc = output:match("^(%d+) ([%d.,]+)%s+(%d+)")
  time = (time or ""):gsub(",", ".")
  local headers, status = parse_headers(read_file(header_file))
  local result = {
    rc = tonumber(rc),
    status = status,
    headers = headers,
    body = read_file(body_file) or "",
    time = tonumber(time),
  }
  os.remove(header_file)
  os.remove(body_file)
  return result
end

local function run_url(scenario, opts)
  return emulator.shared():url(scenario .. "." .. emulator.nonce(), opts)
end

local function get(scenario, opts)
  return fetch(run_url(scenario), opts)
end

local function json(response)
  return cjson.decode(response.body)
end

local function accepts(port)
  local conn = socket.tcp()
  conn:settimeout(0.5)
  local ok = conn:connect("127.0.0.1", port)
  conn:close()
  return ok ~= nil
end

local function wait_until(predicate, seconds)
  local deadline = socket.gettime() + seconds
  while not predicate() do
    if socket.gettime() > deadline then
      return false
    end
    socket.sleep(0.02)
  end
  return true
end

local function assert_documented_error(body, code)
  assert.are.equal(code, body.code)
  assert.are.equal("user", body.category)
  assert.is_string(body.message)
  assert.is_false(body.retirable)
  assert.is_string(body.correlationId)
end

describe("emulator", function()
  local srv

  setup(function()
    srv = emulator.shared()
  end)

  describe("documented responses", function()
    it("answers ok with every field of the contract", function()
      local url = run_url("ok")
      local res = fetch(url)
      assert.are.equal(200, res.status)
      assert.are.equal("application/json", res.headers["content-type"])
      assert.are.equal("my-project", res.headers["x-project"])
      assert.is_truthy(res.headers["x-connection"])
      assert.are.equal("1", res.headers["x-connection-requests"])
      assert.are.equal(url:match("^https?://[^/]+(/.*)$"), res.headers["x-request-uri"])
      local body = json(res)
      local run = body.jobRun
      assert.is_truthy(run.id:find("^ok%."))
      assert.are.equal("my-sample-job", run.job_id)
      assert.are.equal(emulator.WORKSPACE_ID, run.workspace_id)
      for _, field in ipairs({ "start_time", "end_time", "project_id", "created_at", "updated_at" }) do
        assert.is_string(run[field], field)
      end
      assert.are.equal("SCHEDULED", run.type)
      assert.are.equal("SUCCESS", run.status)
      assert.are.same({ 100, 95, 5 }, { run.payloads, run.successful_runs, run.failed_runs })
      assert.are.equal(cjson.null, run.error)
      assert.are.equal(cjson.null, run.reason)
      local snap = run.job_configuration_snapshot
      assert.are.equal(3, snap.configuration.retry.maximumAttempts)
      assert.are.equal(5, snap.configuration.maxConcurrentRequests)
      assert.are.equal(600, snap.configuration.requestTimeout)
      assert.is_string(snap.configuration.proxy)
      assert.are.equal("webhook", snap.sink.type)
      assert.are.same({ "api1", "api2" }, snap.sink.apisToSend)
      assert.is_false(snap.sink.skipOnFail)
      assert.are.equal("auth-session-123", snap.auth_session.id)
      assert.are.equal("v1", snap.proxy.version)
      assert.are.equal("webhook", snap.notifications[1].type)
      local results = body.results
      assert.is_truthy(results.signed_url:find("^http://127%.0%.0%.1:" .. srv.port .. "/storage/"))
      assert.are.equal("json", results.format)
      assert.are.equal(1234.5, results.size)
      assert.is_string(results.signed_url_expiration)
      assert.is_string(results.key)
    end)

    it("answers 401 for a missing or wrong key, before any scenario", function()
      for _, key in ipairs({ false, "wrong-key" }) do
        for _, scenario in ipairs({ "ok", "notfound", "reset" }) do
          local res = get(scenario, { key = key })
          assert.are.equal(401, res.status)
          assert_documented_error(json(res), "unauthorized")
        end
      end
    end)

    it("answers the documented 404 and 400 bodies", function()
      local res = get("notfound")
      assert.are.equal(404, res.status)
      assert_documented_error(json(res), "not-found")
      assert.is_table(json(res).details)

      res = get("badrequest")
      assert.are.equal(400, res.status)
      assert_documented_error(json(res), "bad-request")
      assert.are.equal("jobRunId", json(res).details.field)

      res = fetch(srv:url("ok", { workspace = "not-a-uuid" }))
      assert.are.equal(400, res.status)
      assert.are.equal("workspaceId", json(res).details.field)
    end)

    it("answers 404 for paths of another shape", function()
      local good = srv:url("ok")
      for _, url in ipairs({ good .. "/extra", good .. "/", srv.base_url .. "/x/projects/p/jobs/j",
        (good:gsub("/jobs/", "/jobz/")), (good:gsub("/jobs/[^/]+/", "/jobs//")) }) do
        local res = fetch(url)
        assert.are.equal(404, res.status, url)
        assert_documented_error(json(res), "not-found")
      end
    end)

    it("ignores the query string", function()
      local res = fetch(run_url("ok") .. "?a=1&b=%2F")
      assert.are.equal(200, res.status)
      assert.is_truthy(json(res).jobRun.id:find("^ok%.[^?]+$"))
    end)

    it("answers 405 for other methods", function()
      local res = get("ok", { args = "-X POST" })
      assert.are.equal(405, res.status)
    end)
  end)

  describe("job run variants", function()
    it("running has no counters, end time nor results", function()
      local body = json(get("running"))
      assert.are.equal("PENDING", body.jobRun.status)
      assert.are.equal(cjson.null, body.jobRun.end_time)
      assert.are.equal(cjson.null, body.jobRun.payloads)
      assert.is_nil(body.results)
    end)

    it("nulls has every nullable field null", function()
      local body = json(get("nulls"))
      local run = body.jobRun
      assert.are.equal("SUCCESS", run.status)
      for _, field in ipairs({ "payloads", "successful_runs", "failed_runs", "end_time", "error", "reason" }) do
        assert.are.equal(cjson.null, run[field], field)
      end
      local snap = run.job_configuration_snapshot
      for _, field in ipairs({ "sink", "auth_session", "proxy", "notifications" }) do
        assert.are.equal(cjson.null, snap[field], field)
      end
      assert.is_nil(body.results)
    end)

    it("failed carries error and reason objects", function()
      local run = json(get("failed")).jobRun
      assert.are.equal("FAILURE", run.status)
      assert.are.equal("internal-server-error", run.error.code)
      assert.are.equal("infrastructure", run.error.category)
      assert.is_false(run.error.retirable)
      assert.is_string(run.error.doc_url)
      assert.is_table(run.error.details)
      assert.are.equal("terminated", run.reason.type)
      assert.is_string(run.reason.message)
    end)

    it("reports any status", function()
      assert.are.equal("FROBNICATING", json(get("unknown-status")).jobRun.status)
      assert.are.equal("CANCELED", json(get("status-CANCELED")).jobRun.status)
    end)

    it("treats unknown scenarios as ok", function()
      local res = fetch(srv:url("jr_abc123def456ghi789xyz"))
      assert.are.equal(200, res.status)
      assert.are.equal("jr_abc123def456ghi789xyz", json(res).jobRun.id)
    end)

    it("decodes percent-encoded path segments exactly", function()
      local run_id = "echo.a/b?c#d e+f%g\xC3\xA9\xE2\x82\xAC"
      local job, project = "job/1?x#y z", "my proj/\xC3\xA9"
      local res = fetch(srv:url(run_id, { job = job, project = project }))
      assert.are.equal(200, res.status)
      local run = json(res).jobRun
      assert.are.equal(run_id, run.id)
      assert.are.equal(job, run.job_id)
      assert.are.equal(emulator.encode_segment(project), res.headers["x-project"])
      assert.is_truthy(res.headers["x-request-uri"]:find("%2F", 1, true))
    end)
  end)

  describe("transient failures", function()
    it("flaky503 fails twice with 503 (no retirable field), then succeeds", function()
      local url = run_url("flaky503")
      local first, second, third = fetch(url), fetch(url), fetch(url)
      assert.are.same({ 503, 503, 200 }, { first.status, second.status, third.status })
      local body = json(first)
      assert.are.equal("service-unavailable", body.code)
      assert.are.equal("infrastructure", body.category)
      assert.is_string(body.correlationId)
      assert.is_nil(body.retirable)
    end)

    it("flaky-<status>-<n> and always-<status> answer empty bodies", function()
      local url = run_url("flaky-500-1")
      local first, second = fetch(url), fetch(url)
      assert.are.same({ 500, "", 200 }, { first.status, first.body, second.status })
      local always = run_url("always-502")
      assert.are.same({ 502, 502 }, { fetch(always).status, fetch(always).status })
    end)

    it("answers 429 with each kind of Retry-After, then 200", function()
      local expected = { ["1"] = "^1$", huge = "^999999$", negative = "^%-5$", garbage = "^soon$",
        date = "^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$" }
      for value, pattern in pairs(expected) do
        local url = run_url("retry-after-" .. value)
        local res = fetch(url)
        assert.are.equal(429, res.status)
        assert.is_truthy(res.headers["retry-after"]:find(pattern), value)
        assert.are.equal(200, fetch(url).status)
      end
    end)

    it("sends retry hints in both spellings", function()
      local url = run_url("retirable-true-500")
      local res = fetch(url)
      assert.are.equal(500, res.status)
      assert.is_true(json(res).retirable)
      assert.is_string(json(res).correlationId)
      assert.are.equal(200, fetch(url).status)

      url = run_url("retriable-false-503")
      for _ = 1, 2 do
        res = fetch(url)
        assert.are.equal(503, res.status)
        assert.is_false(json(res).retriable)
        assert.is_nil(json(res).retirable)
        assert.is_string(json(res).correlation_id)
      end

      res = get("retirable-true-400")
      assert.are.same({ 400, "bad-request", true }, { res.status, json(res).code, json(res).retirable })
    end)
  end)

  describe("malformed answers", function()
    it("sends broken or unexpected bodies", function()
      local cases = {
        ["invalid-json"] = { 200, "application/json", '{"jobRun": {"id": "x",,}' },
        ["empty-200"] = { 200, "application/json", "" },
        ["text-200"] = { 200, "text/plain", "hello" },
        ["wrong-shape"] = { 200, "application/json", '{"foo":1}' },
        ["jobrun-not-object"] = { 200, "application/json", '{"jobRun":"nope"}' },
      }
      for scenario, want in pairs(cases) do
        local res = get(scenario)
        assert.are.same(want, { res.status, res.headers["content-type"], res.body }, scenario)
      end
      local res = get("html-502")
      assert.are.equal(502, res.status)
      assert.are.equal("text/html", res.headers["content-type"])
      assert.is_truthy(res.body:find("<html>", 1, true))
    end)

    it("breaks connections in the scripted places", function()
      -- 52: empty reply; 18: transfer closed with bytes outstanding.
      local expected = { reset = 52, ["reset-after-headers"] = 18, ["close-mid-body"] = 18, truncated = 18 }
      for scenario, rc in pairs(expected) do
        assert.are.equal(rc, get(scenario).rc, scenario)
      end
    end)

    it("stalls after the headers, before the headers, and trickles", function()
      local stalled = get("stall-ms-2000", { args = "-m 0.3" })
      assert.are.equal(28, stalled.rc) -- curl: operation timed out
      assert.are.equal(200, stalled.status) -- the headers did arrive

      local late = get("stall-headers-ms-2000", { args = "-m 0.3" })
      assert.are.equal(28, late.rc)
      assert.is_nil(late.status)

      local slow = get("slow-200")
      assert.are.equal(200, slow.status)
      assert.is_true(slow.time >= 0.18)
      assert.is_table(json(slow).jobRun)
    end)

    it("streams big bodies as valid JSON", function()
      local res = get("big-300000")
      assert.are.equal(200, res.status)
      assert.are.equal("chunked", res.headers["transfer-encoding"])
      assert.is_true(math.abs(#res.body - 300000) < 16)
      assert.are.equal("SUCCESS", json(res).jobRun.status)
    end)

    it("sends a gzip bomb only to clients that accept gzip", function()
      local url = run_url("big-gzip-67108864")
      local out = capture("curl -s --compressed -H 'x-api-key: " .. srv.api_key .. "' -D - -o /dev/null"
        .. " -w 'size=%{size_download}\\n' " .. shell_quote(url))
      assert.is_truthy(out:lower():find("content%-encoding: gzip"))
      local wire = tonumber(out:match("size=(%d+)"))
      assert.is_true(wire < 200000, "compressed size " .. tostring(wire))
      local inflated = capture("curl -s --compressed -H 'x-api-key: " .. srv.api_key .. "' "
        .. shell_quote(url) .. " | wc -c")
      assert.are.equal(67108864, tonumber(inflated))

      local plain = get("big-gzip-100000")
      assert.is_nil(plain.headers["content-encoding"])
      assert.are.equal(100000, #plain.body)
      assert.are.equal("x", json(plain).jobRun.id)
    end)
  end)

  describe("connections and logging", function()
    it("reuses connections and says so", function()
      local url = shell_quote(run_url("ok"))
      local dump = capture("curl -s -H 'x-api-key: " .. srv.api_key .. "' -D - -o /dev/null " .. url
        .. " -o /dev/null " .. url)
      local connections = {}
      for value in dump:gmatch("[Xx]%-[Cc]onnection: (%d+)") do
        connections[#connections + 1] = value
      end
      local counts = {}
      for value in dump:gmatch("[Xx]%-[Cc]onnection%-[Rr]equests: (%d+)") do
        counts[#counts + 1] = value
      end
      assert.are.equal(2, #connections)
      assert.are.equal(connections[1], connections[2])
      assert.are.same({ "1", "2" }, counts)
    end)

    it("logs every request with its headers", function()
      local run_id = "ok." .. emulator.nonce()
      fetch(srv:url(run_id), { headers = { "X-Marker: hello there" } })
      local entries = srv:requests(run_id)
      assert.are.equal(1, #entries)
      local entry = entries[1]
      assert.are.equal("GET", entry.method)
      assert.are.equal(srv.port, entry.port)
      assert.are.equal("hello there", entry.headers["x-marker"])
      assert.are.equal(srv.api_key, entry.headers["x-api-key"])
      assert.is_truthy(entry.raw_header:find("X-Marker: hello there", 1, true))
    end)

    it("redirects to another origin that logs what it saw", function()
      local run_id = "redirect-302." .. emulator.nonce()
      local res = fetch(srv:url(run_id))
      assert.are.equal(302, res.status)
      assert.is_truthy(res.headers["location"]:find("^http://127%.0%.0%.1:" .. srv.redirect_port .. "/stolen/"))

      local followed = fetch(srv:url(run_id), { args = "-L" })
      assert.are.equal(200, followed.status)
      assert.are.equal("stolen", json(followed).jobRun.id)
      local hits = srv:requests(function(entry)
        return entry.port == srv.redirect_port and entry.uri:find(run_id, 1, true) ~= nil
      end)
      assert.are.equal(1, #hits)
      assert.is_truthy(hits[1].uri:find("^/stolen/"))
      assert.is_table(hits[1].headers)
    end)

    it("serves results files and expired links", function()
      local base = "http://127.0.0.1:" .. srv.port .. "/storage/"
      local res = fetch(base .. "abc.json", { key = false })
      assert.are.equal(200, res.status)
      assert.are.equal("no", res.headers["x-saw-api-key"])
      local rows = json(res)
      assert.is_table(rows[1].input)
      assert.is_table(rows[1].output)
      local expired = fetch(base .. "expired-abc.json", { key = false })
      assert.are.equal(403, expired.status)
      assert.is_truthy(expired.body:find("<Code>AccessDenied</Code>", 1, true))
    end)

    it("clears the log", function()
      get("ok")
      srv:clear_log()
      assert.are.same({}, srv:requests())
    end)
  end)

  describe("progress", function()
    it("advances over time, then ends", function()
      local url = run_url("progress-1")
      local first = json(fetch(url)).jobRun
      assert.are.same({ "PENDING", 20, 0, 0 },
        { first.status, first.payloads, first.successful_runs, first.failed_runs })
      socket.sleep(0.3)
      local later = json(fetch(url)).jobRun
      assert.are.equal("PENDING", later.status)
      assert.is_true(later.successful_runs > 0)
      assert.is_true(later.successful_runs > later.failed_runs)

      local done_url, fail_url = run_url("progress-ms-100"), run_url("progress-fail-ms-100")
      fetch(done_url)
      fetch(fail_url)
      socket.sleep(0.15)
      local done = json(fetch(done_url))
      assert.are.equal("SUCCESS", done.jobRun.status)
      assert.are.equal(20, done.jobRun.successful_runs + done.jobRun.failed_runs)
      assert.is_string(done.jobRun.end_time)
      assert.is_table(done.results)
      local failed = json(fetch(fail_url)).jobRun
      assert.are.equal("FAILURE", failed.status)
      assert.are.equal("internal-server-error", failed.error.code)
    end)
  end)

  describe("helper", function()
    it("shares one server per process", function()
      assert.are.equal(srv, emulator.shared())
    end)

    it("stops nginx and removes the prefix, idempotently", function()
      local other = emulator.start({ api_key = "other-key" })
      assert.are_not.equal(srv.port, other.port)
      assert.are.equal(401, fetch(other:url("ok"), { server = other, key = "test-key" }).status)
      assert.are.equal(200, fetch(other:url("ok"), { server = other }).status)
      other:stop()
      assert.is_false(accepts(other.port))
      assert.is_false(accepts(other.redirect_port))
      assert.is_false(exists(other.prefix))
      other:stop()
    end)

    describe("in another Lua process", function()
      local interpreter = capture("readlink /proc/" .. read_file("/proc/self/stat"):match("^%d+") .. "/exe")
        :gsub("%s+$", "")
      if interpreter:find("valgrind", 1, true) then
        interpreter = os.getenv("LUA") or "lua5.4" -- make test-valgrind: the tool is not Lua
      end
      local script, report

      before_each(function()
        script, report = tmpname(), tmpname()
      end)

      after_each(function()
        os.remove(script)
        os.remove(report)
      end)

      -- Starts a child that starts an emulator, reports "pid port prefix",
      -- then runs `tail_code`.
      local function spawn(tail_code, background)
        local f = assert(io.open(script, "w"))
        f:write(string.format([[
package.path = %q
local srv = require("support.emulator").start()
local pid = io.open("/proc/self/stat"):read("*l"):match("^%%d+")
local out = io.open(%q, "w")
out:write(pid, " ", srv.port, " ", srv.prefix, "\n")
out:close()
%s
]], package.path, report, tail_code))
        f:close()
        os.execute(shell_quote(interpreter) .. " " .. shell_quote(script) .. " >/dev/null 2>&1"
          .. (background and " &" or ""))
        assert.is_true(wait_until(function()
          return (read_file(report) or ""):find("\n") ~= nil
        end, 5))
        local pid, port, prefix = read_file(report):match("^(%d+) (%d+) (%S+)")
        return pid, tonumber(port), prefix
      end

      it("is stopped when that process ends normally", function()
        local _, port, prefix = spawn("", false)
        -- Gone by the time the process has exited: the finalizer stopped it.
        assert.is_false(exists(prefix))
        assert.is_false(accepts(port))
      end)

      it("is stopped when that process is killed", function()
        local pid, port, prefix = spawn("require('socket').sleep(30)", true)
        assert.is_true(accepts(port))
        os.execute("kill -KILL " .. pid)
        assert.is_true(wait_until(function()
          return not exists(prefix) and not accepts(port)
        end, 3))
      end)
    end)

    it("serves HTTPS with its own CA when asked", function()
      local tls = emulator.start({ tls = true })
      finally(function() tls:stop() end)
      local cacert = "--cacert " .. shell_quote(tls.ca_file)
      local res = fetch(tls:url("ok", { base_url = tls.tls_base_url }), { server = tls, args = cacert })
      assert.are.same({ 0, 200 }, { res.rc, res.status })
      assert.is_truthy(json(res).results.signed_url:find("^https://"))

      local by_name = fetch("https://localhost:" .. tls.tls_port .. "/storage/a.json",
        { server = tls, args = cacert })
      assert.are.equal(200, by_name.status)

      local without_ca = fetch(tls:url("ok", { base_url = tls.tls_base_url }), { server = tls })
      assert.are.equal(60, without_ca.rc) -- peer certificate cannot be authenticated

      local wrong = fetch(tls:url("ok", { base_url = tls.wrong_tls_base_url }), { server = tls, args = cacert })
      assert.are.equal(60, wrong.rc)
      local resolved = fetch("https://wrong.example:" .. tls.wrong_tls_port .. "/storage/a.json",
        { server = tls, args = cacert .. " --resolve wrong.example:" .. tls.wrong_tls_port .. ":127.0.0.1" })
      assert.are.equal(200, resolved.status)
    end)
  end)
end)
