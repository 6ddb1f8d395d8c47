-- intuned inside a real nginx with its Lua module (LuaJIT), the way an
-- OpenResty-style site uses it: spec/nginx/app.lua calls the client from
-- content_by_lua, access_by_lua, an ngx.timer.at callback and
-- init_worker_by_lua, against the emulator. One worker process, so every
-- request shares one event loop.
local fx = require("support.fixtures")
local nginx_app = require("support.nginx_app")
local dump = require("nginx.dump")
local socket = require("socket")

local has_cjson, json = pcall(require, "cjson")
if not has_cjson then
  json = require("dkjson")
end

local STALL = 2          -- seconds the stalled run keeps its answer back
local OTHERS = 20        -- requests sent while it stalls
local WELL_UNDER = 1     -- what each of them must stay under, in seconds

-- Waits (polling, bounded) until the emulator has received a request for `id`.
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
  local srv, app

  setup(function()
    srv = fx.server()
    app = nginx_app.start { emulator = srv, pool = true }
  end)

  teardown(function()
    if app then
      app:stop()
    end
  end)

  local function fetch(path)
    local status, body, seconds = app:get(path)
    assert.are.equal(200, status, body)
    return json.decode(body), seconds
  end

  it("runs every Jobs and JobRuns operation through the thread pool", function()
    local report = fetch("/jobs?job=job-in-nginx-" .. fx.id("n"):gsub("[^%w]", ""))
    local names = {}
    for _, step in ipairs(report.steps) do
      assert.is_true(step.ok, step.name .. ": " .. tostring(step.error))
      names[#names + 1] = step.name
    end
    assert.are.equal(11, #names, table.concat(names, ", "))
  end)

  describe("with a thread pool", function()
    it("gives the same decoded result in content_by_lua as in plain Lua", function()
      local client = fx.client()
      for _, scenario in ipairs({ "ok", "nulls", "failed" }) do
        local id = fx.id(scenario)
        local got = fetch("/fetch?id=" .. id)
        assert.is_nil(got.raised)
        assert.is_nil(got.error)
        local res = assert(client:get_job_run(fx.PROJECT, fx.JOB, id))
        -- the emulator makes a fresh correlation id for every answer
        local function same_part(text)
          return (text:gsub('"correlationId"="[^"]*"', '"correlationId"=?'))
        end
        assert.are.equal(same_part(dump(res)), same_part(got.dump))
      end
      client:close()
    end)

    it("carries intuned.null across from the pool (keep_nulls)", function()
      local client = fx.client()
      local id = fx.id("nulls")
      local got = fetch("/fetch?keep_nulls=1&id=" .. id)
      local res = assert(client:get_job_run(fx.PROJECT, fx.JOB, id, { keep_nulls = true }))
      assert.are.equal(require("intuned").null, res.jobRun.payloads)
      assert.truthy(got.dump:find('"payloads"=null', 1, true), got.dump)
      assert.are.equal(dump(res), got.dump)
      client:close()
    end)

    it("answers 20 other requests in well under 2 s while one waits 2 s on a stalled run", function()
      local stalled = fx.id("stall-headers-" .. STALL)
      local paths = { "/fetch?id=" .. stalled }
      for i = 1, OTHERS do
        paths[#paths + 1] = "/fetch?id=" .. fx.id("ok") .. "-" .. i
      end
      local replies = app:get_many(paths, {
        after_first = function() wait_for_request(srv, stalled) end,
      })
      local slow = replies[1]
      assert.are.equal(200, slow.status)
      assert.are.equal("SUCCESS", json.decode(slow.body).status)
      assert.is_true(slow.seconds >= STALL - 0.1, "the stalled request took " .. slow.seconds .. " s")
      for i = 2, OTHERS + 1 do
        local r = replies[i]
        assert.truthy(r, "no answer for " .. paths[i])
        assert.are.equal(200, r.status)
        assert.are.equal("SUCCESS", json.decode(r.body).status, r.body)
        assert.is_true(r.seconds < WELL_UNDER, paths[i] .. " took " .. r.seconds .. " s")
        assert.is_true(r.finished < slow.finished, paths[i] .. " waited for the stalled request")
      end
    end)

    it("keeps connections alive inside the pool", function()
      local first = fetch("/fetch?id=" .. fx.id("ok"))
      local second = fetch("/fetch?id=" .. fx.id("ok"))
      local third = fetch("/fetch?id=" .. fx.id("ok"))
      assert.is_true(second.reused)
      assert.is_true(third.reused)
      assert.are.equal(first.connection, second.connection)
      assert.are.equal(second.connection, third.connection)
    end)

    it("works from access_by_lua", function()
      local status, body = app:get("/guarded?id=" .. fx.id("ok"))
      assert.are.equal(200, status)
      assert.are.equal("allowed\n", body)
      status = app:get("/guarded?id=" .. fx.id("running"))
      assert.are.equal(403, status)
    end)

    it("works from an ngx.timer.at callback", function()
      local id = fx.id("ok")
      local got = fetch("/timer?id=" .. id)
      assert.is_nil(got.raised)
      assert.are.equal("timer", got.phase)
      assert.are.equal("SUCCESS", got.status)
      assert.truthy(got.dump:find(id, 1, true))
    end)

    it("refuses in init_worker_by_lua unless the client was made with blocking = true", function()
      local got = fetch("/init_worker")
      assert.are.equal("SUCCESS", got.blocking.status)
      assert.truthy(got.pool.raised:find("cannot use nginx's thread pool in the init_worker phase", 1, true),
        got.pool.raised)
      assert.truthy(got.pool.raised:find("blocking = true", 1, true))
    end)

    it("fetches many runs with get_job_runs, in order, through the pool", function()
      local ids = {}
      for i = 1, 12 do
        ids[i] = fx.id(i == 5 and "notfound" or "ok")
      end
      local got = fetch("/many?concurrency=4&ids=" .. table.concat(ids, ","))
      assert.are.equal(12, #got.results)
      for i, r in ipairs(got.results) do
        if i == 5 then
          assert.are.same({ kind = "api", status = 404 }, r)
        else
          assert.are.same({ id = ids[i], status = "SUCCESS" }, r)
        end
      end
      assert.truthy(got.download:find("would block nginx's event loop", 1, true), got.download)
    end)

    it("names a thread pool that nginx does not have", function()
      local got = fetch("/fetch?pool=reports&id=" .. fx.id("ok"))
      assert.truthy(got.raised:find("nginx has no thread pool 'reports'", 1, true), got.raised)
      assert.truthy(got.raised:find("thread_pool reports threads=", 1, true), got.raised)
    end)

    it("never writes the API key to nginx's error log", function()
      assert.is_nil(app:error_log():find(srv.api_key, 1, true))
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

    it("raises a clear error instead of blocking the event loop", function()
      local status, body = plain:get("/fetch?id=" .. fx.id("ok"))
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
