-- AuthSessions: list, read, delete, and the three operations (create,
-- validate, update), each a start and a result to wait for, with the
-- start-then-wait helpers. done, failed and canceled are final; pending
-- and in_progress are not; a failed operation is a result, not an error.
local intuned = require("intuned")
local fx = require("support.fixtures")

local P = fx.PROJECT

describe("auth sessions", function()
  local srv, client, time
  before_each(function()
    srv = fx.server()
    srv:reset { operation_ms = 300 }
    srv:clear_log()
    client, time = fx.client()
  end)
  after_each(function() client:close() end)

  it("lists the project's sessions as an array", function()
    local sessions, err = client:list_auth_sessions(P)
    assert.is_nil(err)
    assert.are.equal(3, #sessions)
    assert.are.equal(require("intuned.core").array_mt, getmetatable(sessions))
  end)

  it("reads one session, and gives 404 for an unknown one", function()
    local s = assert(client:get_auth_session(P, "auth-session-123"))
    assert.are.equal("auth-session-123", s.id)
    assert.are.equal("READY", s.status)
    local _, err = client:get_auth_session(P, "auth-session-none")
    assert.are.equal(404, err.status)
  end)

  it("deletes a session (204 gives true)", function()
    local ok, err, meta = client:delete_auth_session(P, "auth-session-789")
    assert.is_nil(err)
    assert.is_true(ok)
    assert.are.equal(204, meta.status)
    local _, gone = client:get_auth_session(P, "auth-session-789")
    assert.are.equal(404, gone.status)
  end)

  it("starts a create and reads its result until done", function()
    local started, err = client:start_auth_session_create(P, {
      id = "auth-session-new", parameters = { username = "u", password = "p", polls = 3 },
    })
    assert.is_nil(err)
    assert.are.equal("string", type(started.operationId))
    local statuses = {}
    for _ = 1, 3 do
      local res = assert(client:get_auth_session_create_result(P, started.operationId))
      statuses[#statuses + 1] = res.status
    end
    assert.are.equal("done", statuses[3])
    assert.is_false(intuned.is_terminal(statuses[1]))
    assert.are.equal("READY", assert(client:get_auth_session(P, "auth-session-new")).status)
  end)

  it("creates a session: start, then wait for the final result", function()
    local res, err, info = client:create_auth_session(P, {
      id = "auth-session-made", parameters = { username = "u", polls = 2 },
    })
    assert.is_nil(err)
    assert.are.equal("done", res.status)
    assert.are.equal("auth-session-made", res.authSessionId)
    assert.are.equal(2, info.attempts)
    assert.are.equal(5, time.sleeps[1]) -- the default interval
  end)

  it("gives a failed or canceled operation as a result", function()
    local res, err = client:create_auth_session(P, { parameters = { outcome = "failed", polls = 2 } })
    assert.is_nil(err)
    assert.are.equal("failed", res.status)
    assert.are.equal("table", type(res.error))
    res = assert(client:create_auth_session(P, { parameters = { outcome = "canceled", polls = 2 } }))
    assert.are.equal("canceled", res.status)
  end)

  it("validates a session with no body (sending {}), or with one", function()
    local started = assert(client:start_auth_session_validate(P, "auth-session-123"))
    local sent = srv:requests { operation = "ValidateAuthSessionStart" }
    assert.are.equal("{}", sent[1].body)
    assert.are.equal("application/json", sent[1].headers["content-type"])
    local res = assert(client:get_auth_session_validate_result(P, "auth-session-123", started.operationId))
    assert.are.equal("string", type(res.status))
    local final, err = client:validate_auth_session(P, "auth-session-123", { polls = 2, autoRecreate = false })
    assert.is_nil(err)
    assert.are.equal("done", final.status)
    -- Without a body the operation takes its time (300 ms): the real clock.
    local real = fx.client { clock = require("intuned.core").now, sleep = require("intuned.core").sleep }
    final = assert(real:validate_auth_session(P, "auth-session-123", nil, { interval = 0.05 }))
    real:close()
    assert.is_true(intuned.is_terminal(final))
  end)

  it("updates a session: start and result, or start-then-wait", function()
    local started = assert(client:start_auth_session_update(P, "auth-session-456",
      { parameters = { username = "v", polls = 2 } }))
    local res = assert(client:get_auth_session_update_result(P, "auth-session-456", started.operationId))
    assert.are.equal("string", type(res.status))
    local final, err = client:update_auth_session(P, "auth-session-456", { parameters = { polls = 2 } })
    assert.is_nil(err)
    assert.are.equal("done", final.status)
  end)

  it("times out an operation that does not finish", function()
    local res, err = client:create_auth_session(P, { parameters = { polls = 1000 } },
      { interval = 1, timeout = 3 })
    assert.is_nil(res)
    assert.are.equal("timeout", err.kind)
    assert.truthy(err.message:find("auth-session operation did not finish within 3s", 1, true), err.message)
  end)

  it("raises on misuse before sending", function()
    local ok, msg = pcall(function() client:start_auth_session_create(P, { id = "x" }) end)
    assert.is_false(ok)
    assert.truthy(msg:find("auth_sessions_spec.lua:%d+: intuned: body%.parameters is required"), msg)
    ok, msg = pcall(function() client:update_auth_session(P, "auth-session-456", nil) end)
    assert.is_false(ok)
    assert.truthy(msg:find("auth_sessions_spec.lua:%d+: intuned: body must be a table"), msg)
    ok, msg = pcall(function() client:get_auth_session_update_result(P, "auth-session-456", "..") end)
    assert.is_false(ok)
    assert.truthy(msg:find("operation_id must not be empty"), msg)
    assert.are.equal(0, #srv:requests { operation = "CreateOrUpdateAuthSessionStart" })
  end)
end)
