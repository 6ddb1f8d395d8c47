-- intuned inside a real nginx with its Lua module (LuaJIT), the way an
-- OpenResty-style site uses it: spec/nginx/app.lua calls the client from
-- content_by_lua, access_by_lua, an ngx.timer.at callback and
-- init_worker_by_lua, against the emulator, on each nginx transport: the
-- cosockets (the default) and the thread pool. Every transport-level
-- behaviour the libcurl path is specified for runs on both: the fault
-- matrix, deadlines, size caps (in the matrix), TLS, redirects (in the
-- matrix), stray bytes on kept-alive connections, and every operation.
-- One worker process, so every request shares one event loop.
local fx = require("support.fixtures")
local framing = require("support.framing")
local nginx_app = require("support.nginx_app")
local dump = require("nginx.dump")
local emulator = require("support.emulator")
local socket = require("socket")

local has_cjson, json = pcall(require, "cjson")
if not has_cjson then
  json = require("dkjson")
end

local STALL = 2          -- seconds the stalled run keeps its answer back
local OTHERS = 20        -- requests sent while it stalls
local WELL_UNDER = 1     -- what each of them must stay under, in seconds
-- More stalled calls at once than the test nginx has pool threads and Lua
-- VMs (4 each, spec/support/nginx_app.lua and spec/nginx/nginx.conf.in).
local STALLED = 6

-- Waits (polling, bounded) until the emulator has received a request for `id`.
-- n fresh job run ids of one scenario.
local function ids_of(scenario, n)
  local ids = {}
  for i = 1, n do
    ids[i] = fx.id(scenario)
  end
  return ids
end

local function wait_for_request(srv, id)
  local deadline = socket.gettime() + 5
  while #srv:requests(id) == 0 do
    assert(socket.gettime() < deadline, "the emulator never saw " .. id)
    socket.sleep(0.01)
  end
end

describe("nginx options outside nginx", function()
  it("accepts blocking and thread_pool, which change nothing in plain Lua", function()
    local client = fx.client { blocking = false, thread_pool = "reports" }
    assert.truthy(client:get_job_run(fx.PROJECT, fx.JOB, fx.id("ok")))
    client:close()
  end)

  it("rejects them with the wrong type, naming the option", function()
    assert.has_error(function() fx.client { blocking = "yes" } end, "intuned: option 'blocking' must be a boolean")
    assert.has_error(function() fx.client { thread_pool = 4 } end, "intuned: option 'thread_pool' must be a string")
  end)
end)

describe("nginx", function()
  local srv, tls, app

  setup(function()
    srv = fx.server()
    tls = emulator.start { tls = true }
    app = nginx_app.start { emulator = srv, tls_emulator = tls, pool = true }
  end)

  teardown(function()
    if app then
      app:stop()
    end
    if tls then
      tls:stop()
    end
  end)

  local function fetch(path)
    local status, body, seconds = app:get(path)
    assert.are.equal(200, status, body)
    return json.decode(body), seconds
  end

  local function all_steps_pass(report, count)
    local names = {}
    for _, step in ipairs(report.steps) do
      assert.is_true(step.ok, step.name .. ": " .. tostring(step.error))
      names[#names + 1] = step.name
    end
    assert.are.equal(count, #names, table.concat(names, ", "))
  end

  -- Sends `count` requests for runs that stall STALL s, waits until the
  -- emulator has them all, then OTHERS requests for runs that answer at
  -- once, each on its own connection; checks that every one of those is
  -- answered in well under the stall, before any stalled one.
  local function others_go_on(q, count)
    -- A short request log, read quickly while the stalled runs wait (this
    -- process may run slowly: under valgrind, say).
    srv:clear_log()
    local stalled, paths = {}, {}
    for i = 1, count do
      stalled[i] = fx.id("stall-headers-" .. STALL)
      paths[i] = "/fetch?" .. q .. "&id=" .. stalled[i]
    end
    for i = 1, OTHERS do
      paths[#paths + 1] = "/fetch?" .. q .. "&id=" .. fx.id("ok") .. "-" .. i
    end
    local replies = app:get_many(paths, {
      first_count = count,
      after_first = function()
        for _, id in ipairs(stalled) do
          wait_for_request(srv, id)
        end
      end,
    })
    local first_slow = math.huge
    for i = 1, count do
      local slow = replies[i]
      assert.truthy(slow, "no answer for " .. paths[i])
      assert.are.equal(200, slow.status)
      assert.are.equal("SUCCESS", json.decode(slow.body).status, slow.body)
      assert.is_true(slow.seconds >= STALL - 0.1, "a stalled request took " .. slow.seconds .. " s")
      first_slow = math.min(first_slow, slow.finished)
    end
    for i = count + 1, count + OTHERS do
      local r = replies[i]
      assert.truthy(r, "no answer for " .. paths[i])
      assert.are.equal(200, r.status)
      assert.are.equal("SUCCESS", json.decode(r.body).status, r.body)
      assert.is_true(r.seconds < WELL_UNDER, paths[i] .. " took " .. r.seconds .. " s")
      assert.is_true(r.finished < first_slow, paths[i] .. " waited for a stalled request")
    end
  end

  for _, transport in ipairs { "cosocket", "pool" } do
    describe("on the " .. transport .. " transport", function()
      local q = "transport=" .. transport

      it("gives the same decoded result as in plain Lua, keep_nulls too", function()
        local client = fx.client()
        -- The run fetched in plain Lua just before and just after nginx
        -- fetched it: nginx's dump must be one of them (the results' signed
        -- URL expires an hour after each answer, so a second may tick
        -- between two answers).
        local function plain(id, opts)
          return dump(assert(client:get_job_run(fx.PROJECT, fx.JOB, id, opts)))
        end
        local function fetched(path, id, opts)
          local before = plain(id, opts)
          local got = fetch(path)
          return got, before, plain(id, opts)
        end
        -- the emulator makes a fresh correlation id for every answer
        local function same_part(text)
          return (text:gsub('"correlationId"="[^"]*"', '"correlationId"=?'))
        end
        for _, scenario in ipairs({ "ok", "nulls", "failed" }) do
          local id = fx.id(scenario)
          local got, before, after = fetched("/fetch?" .. q .. "&id=" .. id, id)
          assert.is_nil(got.raised)
          assert.is_nil(got.error)
          if same_part(before) ~= same_part(got.dump) then
            assert.are.equal(same_part(after), same_part(got.dump))
          end
        end
        local id = fx.id("nulls")
        local got, before, after = fetched("/fetch?" .. q .. "&keep_nulls=1&id=" .. id, id, { keep_nulls = true })
        assert.truthy(got.dump:find('"payloads"=null', 1, true), got.dump)
        if before ~= got.dump then
          assert.are.equal(after, got.dump)
        end
        client:close()
      end)

      it("passes every row of the fault matrix", function()
        local report = fetch("/matrix?" .. q)
        local failed = {}
        for _, row in ipairs(report.rows) do
          if not row.ok then
            failed[#failed + 1] = row.name .. ": " .. tostring(row.why)
          end
        end
        assert.is_true(#report.rows > 40)
        assert.are.equal("", table.concat(failed, "\n"))
        -- redirects were not followed: the other origin saw no key
        for _, e in ipairs(srv:requests(function(entry) return entry.port == srv.redirect_port end)) do
          assert.is_nil(e.headers["x-api-key"])
        end
      end)

      it("runs every Jobs and JobRuns operation", function()
        srv:reset { job_run_ms = 200 }
        all_steps_pass(fetch("/jobs?" .. q .. "&job=job-nginx-" .. transport), 12)
      end)

      it("runs every Run API and AuthSessions operation and helper", function()
        srv:reset { run_ms = 200, operation_ms = 200 }
        all_steps_pass(fetch("/runs?" .. q), 13)
      end)

      it("fetches many runs with get_job_runs, in order, and downloads results", function()
        local ids = {}
        for i = 1, 12 do
          ids[i] = fx.id(i == 5 and "notfound" or "ok")
        end
        local got = fetch("/many?" .. q .. "&concurrency=4&ids=" .. table.concat(ids, ","))
        assert.are.equal(12, #got.results)
        for i, r in ipairs(got.results) do
          if i == 5 then
            assert.are.same({ kind = "api", status = 404 }, r)
          else
            assert.are.same({ id = ids[i], status = "SUCCESS" }, r)
          end
        end
        assert.are.equal("https://example.com/products/1", got.download)
        assert.is_true(got.file)
      end)

      it("holds the client's deadline against a stalled server", function()
        local got, seconds = fetch("/deadline?" .. q .. "&deadline=1&id=" .. fx.id("stall-headers-10"))
        assert.are.equal("timeout", got.kind)
        assert.is_true(got.deadline_reached)
        assert.is_true(seconds < 2 * 1 + 0.5 + 0.25, "took " .. seconds .. " s")
      end)

      it("verifies TLS: the trusted CA works, a certificate for another host is refused", function()
        local got = fetch("/fetch?" .. q .. "&api=tls&id=" .. fx.id("ok"))
        assert.are.equal("SUCCESS", got.status, got.error or got.raised)
        got = fetch("/fetch?" .. q .. "&api=wrong&id=" .. fx.id("ok"))
        assert.are.equal("tls", got.kind, got.error or got.raised)
      end)

      it("gives each later call its own run after a stray response on the connection", function()
        local id = fx.id("stray")
        local got = fetch("/stray?" .. q .. "&id=" .. id)
        assert.are.equal(id, got.first.id)
        for i, want in ipairs(framing.later_ids(id)) do
          local r = got.later[i] or {}
          assert.are.equal(want, r.id, r.error)
        end
      end)

      it("reads answers framed every way HTTP/1.x allows, keeping a connection only if allowed", function()
        for _, kind in ipairs(framing.kinds()) do
          local id = fx.id("framing-" .. kind)
          local got = fetch("/stray?wait=0&" .. q .. "&id=" .. id)
          framing.verify(kind, id, got.first, got.later)
        end
      end)

      it("keeps connections alive", function()
        local first = fetch("/fetch?" .. q .. "&id=" .. fx.id("ok"))
        local second = fetch("/fetch?" .. q .. "&id=" .. fx.id("ok"))
        local third = fetch("/fetch?" .. q .. "&id=" .. fx.id("ok"))
        assert.is_true(second.reused)
        assert.is_true(third.reused)
        assert.are.equal(first.connection, second.connection)
        assert.are.equal(second.connection, third.connection)
      end)

      it("works from access_by_lua and from an ngx.timer.at callback", function()
        local status, body = app:get("/guarded?" .. q .. "&id=" .. fx.id("ok"))
        assert.are.equal(200, status)
        assert.are.equal("allowed\n", body)
        status = app:get("/guarded?" .. q .. "&id=" .. fx.id("running"))
        assert.are.equal(403, status)
        local id = fx.id("ok")
        local got = fetch("/timer?" .. q .. "&id=" .. id)
        assert.is_nil(got.raised)
        assert.are.equal("timer", got.phase)
        assert.are.equal("SUCCESS", got.status)
      end)

      it("answers 20 other requests in well under 2 s while one waits 2 s on a stalled run", function()
        others_go_on(q, 1)
      end)

      it("answers 20 other requests in well under 2 s while more runs stall than the pool has threads and VMs",
        function()
          assert.is_true(STALLED > app.threads)
          others_go_on(q, STALLED)
        end)
    end)
  end

  it("names the missing resolver when the API is a host name (cosockets)", function()
    local got = fetch("/fetch?transport=cosocket&api=name&id=" .. fx.id("ok"))
    assert.are.equal("network", got.kind)
    assert.truthy(got.message:find("`resolver` directive", 1, true), got.message)
  end)

  it("names a thread pool that nginx does not have", function()
    local got = fetch("/fetch?transport=pool&pool=reports&id=" .. fx.id("ok"))
    assert.truthy(got.raised:find("nginx has no thread pool 'reports'", 1, true), got.raised)
    assert.truthy(got.raised:find("thread_pool reports threads=", 1, true), got.raised)
  end)

  it("refuses in init_worker_by_lua unless the client was made with blocking = true", function()
    local got = fetch("/init_worker")
    assert.are.equal("SUCCESS", got.blocking.status)
    assert.truthy(got.pool.raised:find("cannot use nginx's thread pool in the init_worker phase", 1, true),
      got.pool.raised)
    assert.truthy(got.cosocket.raised:find("cosockets do not work in nginx's init_worker phase", 1, true),
      got.cosocket.raised)
    assert.truthy(got.cosocket.raised:find("blocking = true", 1, true))
  end)

  it("never writes the API key to nginx's error log", function()
    assert.is_nil(app:error_log():find(srv.api_key, 1, true))
  end)

  describe("without lua_ssl_trusted_certificate", function()
    local untrusted
    setup(function()
      untrusted = nginx_app.start { emulator = srv, tls_emulator = tls, pool = false, trust = false }
    end)
    teardown(function()
      if untrusted then
        untrusted:stop()
      end
    end)

    it("refuses an https API, naming the directive, and never falls back to no verification", function()
      local id = fx.id("ok")
      local status, body = untrusted:get("/fetch?api=tls&id=" .. id)
      assert.are.equal(200, status)
      local got = json.decode(body)
      assert.are.equal("tls", got.kind, body)
      assert.truthy(got.message:find("lua_ssl_trusted_certificate", 1, true), got.message)
      assert.are.equal(0, #tls:requests(id))
    end)
  end)

  describe("examples/openresty/nginx.conf", function()
    local example

    -- The example as a user runs it, only pointed at this tree (it expects
    -- `make install LUA=luajit`), on a free port, in the foreground.
    local function conf(values)
      local text = assert(io.open(values.ROOT .. "/examples/openresty/nginx.conf")):read("*a")
      local n
      -- plus the readiness probe of support.nginx_app
      text, n = text:gsub("listen 8080;", "listen 127.0.0.1:" .. values.PORT .. ";\n"
        .. "        location = /ping { content_by_lua_block { ngx.say(ngx.config.prefix()) } }")
      assert(n == 1, "no `listen 8080;` in the example")
      text, n = text:gsub("\nhttp {\n", ("\nhttp {\n    lua_package_path \"%s/lua/?.lua;;\";\n"
        .. "    lua_package_cpath \"%s/%s/?.so;;\";\n"):format(values.ROOT, values.ROOT, values.BUILD))
      assert(n == 1, "no `http {` in the example")
      return values.USER_LINE .. "\ndaemon off;\n" .. text
    end

    setup(function()
      example = nginx_app.start { emulator = srv, conf = conf }
    end)

    teardown(function()
      if example then
        example:stop()
      end
    end)

    it("serves a run's status as JSON, and a 404 for an unknown run", function()
      local id = fx.id("ok")
      local status, body = example:get("/runs/my-project/my-sample-job/" .. id)
      assert.are.equal(200, status, body)
      assert.are.same({ id = id, status = "SUCCESS", payloads = 100, finished = true }, json.decode(body))
      status, body = example:get("/runs/my-project/my-sample-job/" .. fx.id("notfound"))
      assert.are.equal(404, status, body)
      assert.are.equal("api", json.decode(body).kind)
    end)

    it("lets a report through only once its run has finished (access_by_lua)", function()
      assert.are.equal(200, (example:get("/reports/my-project/my-sample-job/" .. fx.id("ok"))))
      assert.are.equal(403, (example:get("/reports/my-project/my-sample-job/" .. fx.id("running"))))
    end)
  end)

  describe("with fewer Lua VMs than the pool client was told", function()
    local fresh

    setup(function()
      fresh = nginx_app.start { emulator = srv, pool = true }
    end)

    teardown(function()
      if fresh then
        fresh:stop()
      end
    end)

    it("runs requests all at once: they need no VM", function()
      local ids = ids_of("stall-headers-ms-300", 12)
      -- The worker's first pool client says 64; nginx has 4 VMs.
      local status, body = fresh:get("/many?transport=pool&vms=64&concurrency=12&ids=" .. table.concat(ids, ","))
      assert.are.equal(200, status, body)
      local got = json.decode(body)
      for i, r in ipairs(got.results) do
        assert.are.same({ id = ids[i], status = "SUCCESS" }, r)
      end
      assert.are.equal(12, #got.results)
      -- One wave of 12 (0.3 s), not three of 4.
      assert.is_true(got.seconds < 0.85, "took " .. got.seconds .. " s")
    end)

    it("runs every download to a file, queued to nginx's 4 VMs, none refused", function()
      local ids = ids_of("slow-300-rows", 8)
      local status, body = fresh:get("/downloads?transport=pool&vms=64&ids=" .. table.concat(ids, ","))
      assert.are.equal(200, status, body)
      local got = json.decode(body)
      assert.are.equal(8, #got.results)
      for i, r in ipairs(got.results) do
        assert.are.equal(true, r, "download " .. i)
      end
      -- Two waves of 4 (0.3 s each), not one of 8.
      assert.is_true(got.seconds >= 0.55, "took " .. got.seconds .. " s")
    end)
  end)

  describe("without a thread pool", function()
    local plain

    setup(function()
      plain = nginx_app.start { emulator = srv, pool = false }
    end)

    teardown(function()
      if plain then
        plain:stop()
      end
    end)

    it("runs on cosockets by default", function()
      local status, body = plain:get("/fetch?id=" .. fx.id("ok"))
      assert.are.equal(200, status)
      assert.are.equal("SUCCESS", json.decode(body).status, body)
    end)

    it("raises a clear error for transport = \"pool\" instead of blocking the event loop", function()
      local status, body = plain:get("/fetch?transport=pool&id=" .. fx.id("ok"))
      assert.are.equal(200, status)
      local got = json.decode(body)
      assert.truthy(got.raised, body)
      assert.truthy(got.raised:find("nginx has no thread pool 'intuned'", 1, true), got.raised)
      assert.truthy(got.raised:find("thread_pool intuned threads=", 1, true), got.raised)
      assert.truthy(got.raised:find("blocking = true", 1, true), got.raised)
      assert.is_nil(got.raised:find(srv.api_key, 1, true))
    end)

    it("runs requests in the worker when the client is made with blocking = true", function()
      local id = fx.id("ok")
      local status, body = plain:get("/fetch?blocking=1&id=" .. id)
      assert.are.equal(200, status)
      local got = json.decode(body)
      assert.are.equal("SUCCESS", got.status, body)
      assert.truthy(got.dump:find(id, 1, true))
    end)
  end)
end)
