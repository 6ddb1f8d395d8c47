-- client:wait_for_runs: many Run API runs waited for at once. Each run has
-- its own watch of the polling engine (intuned.wait: interval, timeout,
-- the client's deadline, on_progress, what a failing poll does); the polls
-- that are due go out together on the C core's multi handle (HTTP/2
-- streams on one connection when the server offers it), `concurrency` at a
-- time. Inside nginx, light threads wait for the runs instead.

local check = require("intuned.check")
local fanout = require("intuned.fanout")
local operations = require("intuned.operations")
local request = require("intuned.request")
local response = require("intuned.response")
local state = require("intuned.state")
local wait = require("intuned.wait")

local M = {}

M.DEFAULT_CONCURRENCY = 16
local MIN_TIMEOUT = fanout.MIN_TIMEOUT

local unpack = table.unpack or unpack -- luacheck: ignore 143

local OPTIONS = { concurrency = true }
for k in pairs(wait.OPTIONS) do
  OPTIONS[k] = true
end

-- The request of each run's result; misuse raises naming the entry.
local function requests_of(self, project, run_ids)
  if type(run_ids) ~= "table" then
    check.fail("wait_for_runs expects a list of run ids, got " .. type(run_ids), 2)
  end
  local rqs = {}
  check.segment(project, "project", 2)
  for i = 1, #run_ids do
    check.segment(run_ids[i], ("run_ids[%d]"):format(i), 2)
    rqs[i] = request.build(self, operations.get_run_result, project, run_ids[i])
  end
  return rqs
end

-- The scheduler over one batch: polls what is due, sleeps until the next
-- poll is due, ends every watch at its end.
local function schedule(self, b, rqs, o, concurrency, results)
  local clock, n = self.clock, #rqs
  local started = clock()
  local watches, due_at, busy, finished = {}, {}, 0, 0
  for i = 1, n do
    watches[i] = wait.watch(self, wait.KINDS.run, o, started)
    due_at[i] = started
  end
  local function finish(i, entry)
    results[i] = entry
    due_at[i] = nil
    finished = finished + 1
  end
  local function handle(i, res, err, meta)
    local w = watches[i]
    local extra = { index = i, finished = finished, total = n }
    if res then
      if w:seen(res, extra) then
        return finish(i, { res = res, meta = meta })
      end
    elseif w:failed(err) then
      return finish(i, { err = err })
    end
    due_at[i] = clock() + w:delay()
  end
  while finished < n do
    local now = clock()
    local soonest
    for i = 1, n do
      local at = due_at[i]
      if at and at ~= true then
        local left = watches[i]:left()
        if left <= 0 then
          finish(i, { err = watches[i]:timed_out() })
        elseif at <= now and busy < concurrency then
          local timeout = math.min(o.request_timeout or self.timeout, left)
          b:add(i, "GET", rqs[i].path, nil, math.max(timeout, MIN_TIMEOUT), o.keep_nulls)
          due_at[i] = true -- in flight
          busy = busy + 1
        elseif at > now and (not soonest or at < soonest) then
          soonest = at
        end
      end
    end
    if busy > 0 or finished < n then
      busy = busy - fanout.turn(b, busy, soonest, clock, self.sleep, function(d)
        local i = d[1]
        local res, meta = response.interpret(rqs[i], unpack(d, 2, 6))
        meta.attempts = 1 -- a poll is one attempt: the next poll is the retry
        if res then
          handle(i, res, nil, meta)
        else
          handle(i, nil, meta)
        end
      end)
    end
  end
end

-- Inside nginx (no multi handle): each run is an ordinary wait_for_run,
-- in a light thread of its own (intuned.fanout).
local function one_wait(self, project, run_ids, opts, results)
  local call = {}
  for k, v in pairs(opts or {}) do
    call[k] = v
  end
  call.concurrency = nil
  return function(i)
    local res, err, meta = self:wait_for_run(project, run_ids[i], call)
    results[i] = res and { res = res, meta = meta } or { err = err }
  end
end

-- client:wait_for_runs(project, run_ids [, opts]) -> { {res =, meta =} | {err =}, ... }
-- Results in the order of run_ids; a run that fails, or is still going at
-- the timeout (or the client's deadline), is its own error entry. opts:
-- concurrency (polls in flight at most, default 16), and the options of
-- wait_for_run; on_progress(result, info) also gets info.index, .finished
-- and .total.
function M.wait_for_runs(self, project, run_ids, opts)
  local st = state.check(self, "wait_for_runs")
  local o = wait.options(opts, "wait_for_runs", OPTIONS)
  local concurrency = check.concurrency(opts, M.DEFAULT_CONCURRENCY, 1)
  local rqs = requests_of(self, project, run_ids)
  local results = {}
  fanout.run(st.session, #rqs, concurrency, function(b) schedule(self, b, rqs, o, concurrency, results) end,
    one_wait(self, project, run_ids, opts, results))
  return results
end

return M
