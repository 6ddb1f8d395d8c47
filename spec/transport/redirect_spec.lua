-- Redirects are never followed: libcurl would send x-api-key to whatever
-- host the Location names. The emulator's redirect target is a second server
-- (redirect_port) that logs every request; it must see none.
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

describe("redirects", function()
  local srv = fx.server()

  local function target_requests()
    return srv:requests(function(e) return e.port == srv.redirect_port end)
  end

  for _, status in ipairs { 301, 302, 303, 307, 308 } do
    it(("returns a %d as an error naming the status and the Location, not followed"):format(status), function()
      srv:clear_log()
      local client, time = fx.client()
      local id = fx.id("redirect-" .. status)
      local res, err = client:get_job_run(P, J, id)
      client:close()
      assert.is_nil(res)
      assert.are.equal("api", err.kind)
      assert.are.equal(status, err.status)
      assert.is_false(err.retirable)
      assert.are.equal(1, err.attempts)
      assert.are.same({}, time.sleeps)
      local target = ("http://127.0.0.1:%d/stolen/"):format(srv.redirect_port)
      assert.are.equal(target, err.location:sub(1, #target))
      local line = tostring(err)
      assert.truthy(line:find("HTTP " .. status, 1, true), line)
      assert.truthy(line:find(err.location, 1, true), line)
      -- The API saw one request, the target none.
      assert.are.equal(1, #srv:requests(function(e) return e.port == srv.port and e.uri:find(id, 1, true) end))
      assert.are.same({}, target_requests())
    end)
  end

  it("never lets the target see the key, over many redirects on one connection", function()
    srv:clear_log()
    local client = fx.client { retry = { max_attempts = 5 } }
    for i = 1, 20 do
      local status = ({ 301, 302, 307 })[i % 3 + 1]
      local _, err = client:get_job_run(P, J, fx.id("redirect-" .. status))
      assert.are.equal(status, err.status)
    end
    client:close()
    assert.are.same({}, target_requests())
    local api = srv:requests(function(e) return e.port == srv.port end)
    assert.are.equal(20, #api)
    for _, e in ipairs(api) do
      assert.are.equal(srv.api_key, e.headers["x-api-key"])
    end
  end)

  it("has a target that does log requests (the proof above can fail)", function()
    srv:clear_log()
    local http = require("socket.http")
    local body = http.request(srv.redirect_url .. "/stolen/probe")
    assert.truthy(body and body:find("stolen", 1, true))
    local seen = target_requests()
    assert.are.equal(1, #seen)
    assert.is_nil(seen[1].headers["x-api-key"])
  end)
end)
