-- What every wait and start-then-wait helper shares, through the one
-- polling engine (intuned.wait), shown for each of them in turn: each poll
-- (and the start) runs with `request_timeout` and never past the wait's
-- end; `timeout` bounds the whole call, the start included; the client's
-- deadline ends it when that comes first; on_progress gets the result and
-- the wait's info; a status the library does not know means keep polling.
local intuned = require("intuned")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

local function run_request(polls)
  return { api = "details", parameters = { url = "https://example.com/1", outcome = "completed", polls = polls } }
end

-- A job whose runs end at the `polls`-th read (the emulator takes its
-- runs' pace from the first payload's parameters).
local function job_with(client, polls)
  local id = fx.id("job"):gsub("[^%w-]", "-")
  assert(client:create_job(P, { id = id, payload = { { apiName = "a", parameters = { polls = polls } } },
    configuration = { maxConcurrentRequests = 1 } }))
  return id
end

-- Each case: how it is called for something that ends at the `polls`-th
-- poll, the method it polls with, the one it starts with (helpers), the
-- path of its polls (a Lua pattern, for faults), and the final status.
local CASES = {
  {
    name = "wait_for_job_run", poll = "get_job_run", final = "SUCCESS", known_only = true,
    call = function(c, polls, o)
      local id = polls > 100 and fx.id("running") or fx.id("steps-" .. polls)
      return c:wait_for_job_run(P, J, id, o)
    end,
  },
  {
    name = "run_job", poll = "get_job_run", start = "trigger_job", final = "SUCCESS", known_only = true,
    call = function(c, polls, o) return c:run_job(P, job_with(c, polls), o) end,
  },
  {
    name = "wait_for_run", poll = "get_run_result", path = "/run/[^/]+/result$", final = "completed",
    call = function(c, polls, o)
      local started = assert(c:start_run(P, run_request(polls)))
      return c:wait_for_run(P, started.runId, o)
    end,
  },
  {
    name = "run", poll = "get_run_result", start = "start_run", path = "/run/[^/]+/result$", final = "completed",
    call = function(c, polls, o) return c:run(P, run_request(polls), o) end,
  },
  {
    name = "create_auth_session", poll = "get_auth_session_create_result", start = "start_auth_session_create",
    path = "/auth%-sessions/create/[^/]+/result$", final = "done",
    call = function(c, polls, o) return c:create_auth_session(P, { parameters = { polls = polls } }, o) end,
  },
  {
    name = "validate_auth_session", poll = "get_auth_session_validate_result",
    start = "start_auth_session_validate", path = "/validate/[^/]+/result$", final = "done",
    call = function(c, polls, o) return c:validate_auth_session(P, "auth-session-123", { polls = polls }, o) end,
  },
  {
    name = "update_auth_session", poll = "get_auth_session_update_result", start = "start_auth_session_update",
    path = "/update/[^/]+/result$", final = "done",
    call = function(c, polls, o)
      return c:update_auth_session(P, "auth-session-456", { parameters = { polls = polls } }, o)
    end,
  },
}

-- The status of a wait's result (a job run's is in jobRun).
local function status_of(res)
  return res.jobRun and res.jobRun.status or res.status
end

-- Records the options of every call of `method` on this client (the real
-- method still runs: nothing in the request path changes).
local function spy(client, method)
  local calls, real = {}, client[method]
  client[method] = function(self, ...)
    local args = { ... }
    calls[#calls + 1] = { opts = args[select("#", ...)], at = self.clock() }
    return real(self, ...)
  end
  return calls
end

describe("every wait", function()
  local srv
  before_each(function()
    srv = fx.server()
    srv:reset { run_ms = 300, operation_ms = 300 }
  end)
  after_each(function() srv:clear_faults() end)

  for _, case in ipairs(CASES) do
    describe(case.name, function()
      it("runs each poll (and its start) with request_timeout, never past the wait's end", function()
        local client, time = fx.client()
        local polls = spy(client, case.poll)
        local starts = case.start and spy(client, case.start)
        local t0 = time.now
        local res, err = case.call(client, 3, { interval = 2, timeout = 30, request_timeout = 7 })
        assert.is_nil(err)
        assert.are.equal(case.final, status_of(res))
        assert.is_true(#polls >= 3, #polls)
        for _, call in ipairs(polls) do
          assert.are.equal(7, call.opts.timeout)
          assert.is_true(call.opts.deadline > 0 and call.at - t0 + call.opts.deadline <= 30 + 1e-9)
        end
        if starts then
          assert.are.equal(1, #starts)
          assert.are.equal(7, starts[1].opts.timeout)
        end
        assert.is_true(time.total() <= 30)
        client:close()
      end)

      it("tells on_progress the result and the wait's info", function()
        local client = fx.client()
        local seen = {}
        local res = assert(case.call(client, 3, {
          interval = 1,
          on_progress = function(result, info)
            seen[#seen + 1] = { status = status_of(result), attempts = info.attempts, elapsed = info.elapsed }
          end,
        }))
        assert.is_true(#seen >= 1)
        assert.are.equal(status_of(res), seen[#seen].status)
        assert.is_true(intuned.is_terminal(seen[#seen].status))
        for i = 2, #seen do
          assert.is_true(seen[i].attempts > seen[i - 1].attempts and seen[i].elapsed >= seen[i - 1].elapsed)
        end
        client:close()
      end)

      -- A wait on something that never ends, with these client and wait
      -- options: it ends as a timeout within `limit` seconds.
      local function times_out_within(limit, client_opts, timeout)
        local client, time = fx.client(client_opts)
        local res, err = case.call(client, 1000, { interval = 1, timeout = timeout })
        assert.is_nil(res)
        assert.are.equal("timeout", err.kind)
        assert.is_true(time.total() <= limit, time.total())
        client:close()
      end

      it("ends within its timeout, the start included, with kind 'timeout'", function()
        times_out_within(4, nil, 4)
      end)

      it("ends at the client's deadline when that comes before its timeout", function()
        times_out_within(3, { deadline = 3 }, 60)
      end)

      if not case.known_only then
        it("keeps polling through a status it does not know", function()
          srv:fault { method = "GET", path = case.path, fault = "json", times = 2,
            body = { status = "frobnicating", runId = "x" } }
          local client = fx.client()
          local seen = {}
          local res, err = case.call(client, 2, {
            interval = 1, on_progress = function(result) seen[#seen + 1] = result.status end,
          })
          assert.is_nil(err)
          assert.are.equal(case.final, res.status)
          assert.are.equal("frobnicating", seen[1])
          assert.are.equal(0, #srv:faults())
          client:close()
        end)
      end
    end)
  end
end)
