-- The C core's engine (core.engine_*, src/engine.c): one libcurl thread per
-- process that runs every submitted request on one multi handle, which
-- nginx's pool transport uses. Here in plain Lua against the emulator:
-- answers come back under their ids with the same values as
-- session:request (raw), failures keep its kinds, cancelled jobs are
-- freed wherever they are, the stale-bytes guard holds, misuse raises and
-- the key shows nowhere.
local core = require("intuned.core")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB
local REFUSED = "http://127.0.0.1:1/api/v1/workspace"

describe("the engine", function()
  local srv = fx.server()

  local function profile(opts)
    local o = { base_url = srv.base_url, api_key = srv.api_key, timeout = 5 }
    for k, v in pairs(opts or {}) do o[k] = v end
    local session = core.session(o)
    local id = core.engine_profile(session)
    session:close()
    return id
  end

  local function run_path(id)
    return ("/%s/projects/%s/jobs/%s/runs/%s"):format(srv.workspace_id, P, J, id)
  end

  -- Collects until every id of `ids` (a set) has its item, within 10 s.
  local function collect(ids)
    local got, left = {}, 0
    for _ in pairs(ids) do left = left + 1 end
    local give_up = core.now() + 10
    while left > 0 do
      assert.is_true(core.now() < give_up, left .. " jobs never ended")
      for _, item in ipairs(core.engine_collect(0.2)) do
        assert.truthy(ids[item.id], "an item for a job nobody submitted: " .. tostring(item.id))
        assert.is_nil(got[item.id], "two items for job " .. item.id)
        got[item.id] = item
        left = left - 1
      end
    end
    return got
  end

  local function one(pid, method, target, body, timeout)
    local id = core.engine_submit(pid, method, target, body, timeout)
    return collect({ [id] = true })[id]
  end

  local function idle()
    return fx.eventually(function()
      local s = core.engine_stats()
      return s.queued == 0 and s.running == 0 and s.ended == 0
    end)
  end

  after_each(function()
    core.engine_stop()
  end)

  it("answers 40 requests submitted at once, each under its own id", function()
    local pid = profile()
    local ids, want = {}, {}
    for i = 1, 40 do
      local run = fx.id("ok") .. "-" .. i
      local id = core.engine_submit(pid, "GET", run_path(run))
      ids[id], want[id] = true, run
    end
    local got = collect(ids)
    for id, item in pairs(got) do
      assert.are.equal(200, item.status)
      local run = core.decode(item.body)
      assert.are.equal(want[id], run.jobRun.id)
      assert.are.equal(#item.body, item.bytes)
      assert.truthy(item.head:find("^HTTP/1%.1 200"), item.head)
      assert.truthy(item.ctype:find("application/json", 1, true))
      assert.are.equal("boolean", type(item.reused))
    end
    assert.is_true(core.engine_stats().thread)
    assert.is_true(idle())
  end)

  it("gives the raw values session:request gives, and reuses the connection", function()
    local session = core.session { base_url = srv.base_url, api_key = srv.api_key, timeout = 5 }
    local pid = core.engine_profile(session)
    local run = fx.id("ok")
    local status, body, meta = session:request("GET", run_path(run), nil, nil, nil, true)
    session:close()
    local first = one(pid, "GET", run_path(run))
    local second = one(pid, "GET", run_path(run))
    assert.are.equal(status, first.status)
    assert.are.equal(meta.content_type, first.ctype)
    -- the emulator makes a fresh correlation id for every answer
    local function same(text) return (text:gsub('"correlationId":"[^"]*"', "")) end
    assert.are.equal(same(body), same(first.body))
    assert.is_false(first.reused)
    assert.is_true(second.reused)
    local meta2 = core.head_meta({}, second.head)
    assert.are.equal(core.head_meta({}, first.head).headers["x-connection"], meta2.headers["x-connection"])
  end)

  it("sends a POST body and its JSON content type", function()
    local pid = profile()
    local name = "engine-" .. fx.id("job"):gsub("%.", "-")
    local body = ('{"id":"%s","payload":[],"configuration":{"maxConcurrentRequests":1}}'):format(name)
    local item = one(pid, "POST", ("/%s/projects/%s/jobs"):format(srv.workspace_id, P), body)
    assert.are.equal(201, item.status, item.body)
    local seen = srv:requests(function(e) return e.method == "POST" and e.body == body end)
    assert.are.equal(1, #seen)
    assert.truthy(seen[1].headers["content-type"]:find("application/json", 1, true))
    assert.are.equal(srv.api_key, seen[1].headers["x-api-key"])
  end)

  it("fetches an absolute URL on a keyless profile", function()
    local keyless = core.session { timeout = 5 }
    local pid = core.engine_profile(keyless)
    keyless:close()
    local origin = srv.base_url:match("^(https?://[^/]+)")
    local item = one(pid, "GET", origin .. "/storage/engine.json")
    assert.are.equal(200, item.status)
    assert.truthy(item.body:find("Product 1", 1, true), item.body)
  end)

  it("keeps session:request's kinds: a refused connection, a timeout", function()
    local session = core.session { base_url = REFUSED, api_key = srv.api_key, timeout = 5 }
    local pid = core.engine_profile(session)
    local _, kind, message, code, sent = session:request("GET", run_path("x"))
    session:close()
    local refused = one(pid, "GET", run_path("x"))
    assert.are.same({ kind, message, code, sent }, { refused.kind, refused.message, refused.code, refused.sent })
    assert.are.equal("network", refused.kind)
    assert.is_false(refused.sent)
    assert.is_nil(refused.status)

    local started = core.now()
    local late = one(profile(), "GET", run_path(fx.id("stall-headers-3")), nil, 0.3)
    assert.are.equal("timeout", late.kind)
    assert.are.equal(28, late.code)
    assert.is_true(late.sent)
    assert.is_true(core.now() - started < 2, "took " .. core.now() - started .. " s")
  end)

  it("frees a cancelled job whether queued, running or ended", function()
    local pid = profile()
    -- Cancelled before the thread took it, or just after.
    local early = core.engine_submit(pid, "GET", run_path(fx.id("ok")))
    assert.is_true(core.engine_cancel(early))
    -- Running: its transfer is stopped long before its 3 s stall.
    local run = fx.id("stall-headers-3")
    local running = core.engine_submit(pid, "GET", run_path(run))
    assert.is_true(fx.eventually(function() return #srv:requests(run) > 0 end))
    assert.are.equal(1, core.engine_stats().running)
    assert.is_true(core.engine_cancel(running))
    assert.is_true(fx.eventually(function() return core.engine_stats().running == 0 end, 1))
    -- Ended, never collected.
    local ended = core.engine_submit(pid, "GET", run_path(fx.id("ok")))
    assert.is_true(fx.eventually(function() return core.engine_stats().ended == 1 end))
    assert.is_true(core.engine_cancel(ended))
    assert.are.equal(0, core.engine_stats().ended)
    -- Nothing of the three comes back, and nothing is left.
    assert.are.same({}, core.engine_collect(0.3))
    assert.is_true(idle())
    assert.is_false(core.engine_cancel(ended))
  end)

  it("gives every later job the run it asked for after a stray response on the connection", function()
    local pid = profile()
    local id = fx.id("stray")
    local first = one(pid, "GET", run_path(id))
    assert.are.equal(id, core.decode(first.body).jobRun.id)
    assert.is_true(fx.eventually(function() return #srv:requests("/__event/stray-sent/" .. id) > 0 end))
    local connections = {}
    for i = 1, 4 do
      local want = fx.id("ok")
      local item = one(pid, "GET", run_path(want))
      assert.are.equal(want, core.decode(item.body).jobRun.id, "job " .. i)
      local headers = core.head_meta({}, item.head).headers
      assert.is_nil(headers["x-stray"])
      connections[i] = headers["x-connection"]
      if i == 1 then
        assert.is_false(item.reused) -- the connection with stray bytes was refused
      end
    end
    assert.are.equal(connections[1], connections[4])
  end)

  it("raises on misuse before anything is queued", function()
    local pid = profile()
    local keyless = core.session()
    local free = core.engine_profile(keyless)
    keyless:close()
    local cases = {
      { "not an engine profile", function() core.engine_submit(pid + 1000, "GET", "/x") end },
      { "not an HTTP method", function() core.engine_submit(pid, "get", "/x") end },
      { "not an HTTP method", function() core.engine_submit(pid, "", "/x") end },
      { "a keyed session takes a path starting with '/'", function()
        core.engine_submit(pid, "GET", "http://example.com/")
      end },
      { "target has spaces or control bytes", function() core.engine_submit(pid, "GET", "/a b") end },
      { "a keyless session takes an http(s) URL", function() core.engine_submit(free, "GET", "/x") end },
      { "string expected", function() core.engine_submit(pid, "POST", "/x", {}) end },
      { "timeout out of range", function() core.engine_submit(pid, "GET", "/x", nil, -1) end },
      { "max_items must be at least 1", function() core.engine_collect(0, 0) end },
      { "session is closed", function() core.engine_profile(keyless) end },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(case[2])
      assert.is_false(ok, case[1])
      assert.truthy(tostring(err):find(case[1], 1, true), tostring(err))
      assert.is_nil(tostring(err):find(srv.api_key, 1, true))
    end
    assert.are.same({ queued = 0, running = 0, ended = 0, profiles = 2, thread = false }, core.engine_stats())
  end)

  it("never shows the profile's key in an error", function()
    local key = "engine-secret-" .. fx.id("key")
    local session = core.session { base_url = REFUSED, api_key = key, timeout = 5 }
    local pid = core.engine_profile(session)
    session:close()
    local item = one(pid, "GET", run_path("x"))
    for _, v in pairs(item) do
      assert.is_nil(tostring(v):find(key, 1, true))
    end
    local ok, err = pcall(core.engine_submit, pid, "GET", "no-slash")
    assert.is_false(ok)
    assert.is_nil(tostring(err):find(key, 1, true))
  end)

  it("keeps at most 64 profiles, with an error that says so", function()
    local session = core.session { base_url = srv.base_url, api_key = srv.api_key }
    for _ = 1, 64 do
      core.engine_profile(session)
    end
    local ok, err = pcall(core.engine_profile, session)
    session:close()
    assert.is_false(ok)
    assert.truthy(tostring(err):find("at most 64 client profiles", 1, true), tostring(err))
    assert.are.equal(64, core.engine_stats().profiles)
  end)

  it("ends its thread after a while with nothing to do, and starts it again for the next job", function()
    -- A child interpreter, with the idle time cut to 0.2 s.
    local script = ([[
      local core = require("intuned.core")
      local s = core.session { base_url = %q, api_key = %q, timeout = 5 }
      local pid = core.engine_profile(s)
      s:close()
      local function one(path)
        local id = core.engine_submit(pid, "GET", path)
        for _ = 1, 50 do
          local items = core.engine_collect(0.1)
          if items[1] then return assert(items[1].id == id and items[1].status) end
        end
      end
      local function idle()
        for _ = 1, 300 do
          if not core.engine_stats().thread then return true end
          core.sleep(0.01)
        end
      end
      print(one(%q), core.engine_stats().thread, idle(), one(%q), core.engine_stats().thread, idle())
      core.engine_stop()
    ]]):format(srv.base_url, srv.api_key, run_path(fx.id("ok")), run_path(fx.id("ok")))
    local f = assert(io.popen("INTUNED_ENGINE_IDLE_SECONDS=0.2 " .. fx.lua() .. " -e '"
      .. script:gsub("'", "'\\''") .. "' 2>&1"))
    local out = f:read("*a")
    f:close()
    assert.are.equal("200\ttrue\ttrue\t200\ttrue\ttrue\n", out)
  end)

  it("starts afresh after engine_stop: old profiles are gone, new ones work", function()
    local pid = profile()
    assert.are.equal(200, one(pid, "GET", run_path(fx.id("ok"))).status)
    local pending = core.engine_submit(pid, "GET", run_path(fx.id("stall-headers-3")))
    assert.is_true(core.engine_stats().thread)
    core.engine_stop()
    assert.are.same({ queued = 0, running = 0, ended = 0, profiles = 0, thread = false }, core.engine_stats())
    assert.is_false(core.engine_cancel(pending))
    assert.has_error(function() core.engine_submit(pid, "GET", run_path("x")) end)
    local again = profile()
    assert.are_not.equal(pid, again)
    assert.are.equal(200, one(again, "GET", run_path(fx.id("ok"))).status)
    assert.is_true(core.engine_stats().thread)
  end)
end)
