-- client:get_job_runs: many job runs at once on the C core's multi handle.
--
-- Each entry runs the ordinary retry loop (intuned.retry) in a coroutine.
-- Where that loop would do a request or a sleep, the coroutine yields to the
-- scheduler below instead: requests go to free slots of the batch, sleeps
-- become wake-up times. A slot is held only while a request is in flight,
-- so an entry waiting to retry never holds up the others.

local check = require("intuned.check")
local errors = require("intuned.errors")
local fanout = require("intuned.fanout")
local operations = require("intuned.operations")
local request = require("intuned.request")
local response = require("intuned.response")
local retry = require("intuned.retry")
local state = require("intuned.state")

local M = {}

M.DEFAULT_CONCURRENCY = 16
local MIN_TIMEOUT = fanout.MIN_TIMEOUT

local BATCH_OPTIONS = {
  concurrency = true, timeout = true, deadline = true, retry = true, keep_nulls = true,
}

local unpack = table.unpack or unpack -- luacheck: ignore 143

-- The request of each entry (a get_job_run); misuse raises naming the entry.
local function requests_of(self, list)
  if type(list) ~= "table" then
    check.fail("get_job_runs expects a list of {project, job_id, job_run_id}", 2)
  end
  local rqs = {}
  for i = 1, #list do
    local e = list[i]
    if type(e) ~= "table" then
      check.fail(("list[%d] must be a table {project, job_id, job_run_id}, got %s"):format(i, type(e)), 2)
    end
    local where = ("list[%d]."):format(i)
    local project, job_id, run_id = e[1] or e.project, e[2] or e.job_id, e[3] or e.job_run_id
    check.segment(project, where .. "project", 2)
    check.segment(job_id, where .. "job_id", 2)
    check.segment(run_id, where .. "job_run_id", 2)
    rqs[i] = request.build(self, operations.get_job_run, project, job_id, run_id)
  end
  return rqs
end

local function options(self, opts)
  local o = request.options(self, opts, BATCH_OPTIONS, "get_job_runs", 2)
  o.concurrency = check.concurrency(opts, M.DEFAULT_CONCURRENCY, 2)
  return o
end

-- What the core returns for a request that never started: the deadline
-- passed while it waited for a free slot.
local function no_time_left()
  return nil, "timeout", "deadline reached while waiting for a free slot", 0, false
end

-- Runs every entry to its end; fills results[i] = { res, err, meta }.
local function schedule(self, b, rqs, o, results)
  local clock = self.clock
  local started = clock()
  local deadline_at = o.deadline and started + o.deadline
  local n, capacity = #rqs, math.min(o.concurrency, #rqs)
  local tasks = {}     -- entry index -> coroutine, while it runs
  local queue = {}     -- entries waiting for a slot, first come first served
  local sleeping = {}  -- entry index -> wake-up time
  local next_entry, finished, busy = 1, 0, 0

  -- What a coroutine yielded or returned decides where its entry goes.
  local function handle(i, ok, what, a, b2, c)
    if not ok then
      error(what, 0)
    elseif what == "fetch" then
      queue[#queue + 1] = { i, a }
    elseif what == "sleep" then
      sleeping[i] = clock() + a
    else
      results[i] = { res = a, err = b2, meta = c }
      tasks[i] = nil
      finished = finished + 1
    end
  end

  local function start(i)
    local deadline = o.deadline
    if deadline then
      deadline = deadline - (clock() - started)
      if deadline <= 0 then
        results[i] = { err = errors.new {
          kind = "timeout", message = "deadline reached before the request started",
          deadline_reached = true, attempts = 0,
        } }
        finished = finished + 1
        return
      end
    end
    local ctx = request.context(self, o)
    ctx.deadline = deadline
    ctx.sleep = function(d) coroutine.yield("sleep", d) end
    tasks[i] = coroutine.create(function()
      local res, err, meta = retry.run(ctx, function(timeout)
        return response.interpret(rqs[i], coroutine.yield("fetch", timeout))
      end)
      return "done", res, err, meta
    end)
    handle(i, coroutine.resume(tasks[i]))
  end

  local function soonest_wake()
    local soonest
    for _, at in pairs(sleeping) do
      if not soonest or at < soonest then
        soonest = at
      end
    end
    return soonest
  end

  while finished < n do
    -- Entries whose wait is over go on (in input order).
    local now, due = clock(), {}
    for i, at in pairs(sleeping) do
      if at <= now then
        due[#due + 1] = i
      end
    end
    table.sort(due)
    for _, i in ipairs(due) do
      sleeping[i] = nil
      handle(i, coroutine.resume(tasks[i]))
    end
    -- Free slots: queued requests (retries) first, then new entries. The
    -- time a request waited for its slot counts against the deadline.
    while busy < capacity do
      local q = table.remove(queue, 1)
      if q then
        local timeout = q[2] or o.timeout
        if deadline_at then
          timeout = math.min(timeout, deadline_at - clock())
        end
        if timeout <= 0 then
          handle(q[1], coroutine.resume(tasks[q[1]], no_time_left()))
        else
          b:add(q[1], "GET", rqs[q[1]].path, nil, math.max(timeout, MIN_TIMEOUT), o.keep_nulls)
          busy = busy + 1
        end
      elseif next_entry <= n then
        next_entry = next_entry + 1
        start(next_entry - 1)
      else
        break
      end
    end
    -- In flight: wait for some; nothing in flight: only waits are left,
    -- sleep until the first ends.
    busy = busy - fanout.turn(b, busy, soonest_wake(), clock, self.sleep, function(d)
      handle(d[1], coroutine.resume(tasks[d[1]], unpack(d, 2, 6)))
    end)
  end
end

-- Inside nginx (no multi handle): each entry is the ordinary call, in a
-- light thread of its own (intuned.fanout).
local function one_call(self, rqs, o, results)
  local clock, started = self.clock, self.clock()
  return function(i)
    local call = { timeout = o.timeout, policy = o.policy, keep_nulls = o.keep_nulls }
    if o.deadline then
      call.deadline = math.max(o.deadline - (clock() - started), MIN_TIMEOUT)
    end
    local res, err, meta = request.run(self, rqs[i], call)
    results[i] = { res = res, err = err, meta = meta }
  end
end

-- client:get_job_runs(list [, opts]) -> { {res =, err =, meta =}, ... }
-- list: { {project, job_id, job_run_id}, ... } (or named fields).
-- opts: concurrency (default 16), timeout, deadline (whole call), retry,
-- keep_nulls. Results are in input order; one entry's failure is its own.
function M.get_job_runs(self, list, opts)
  local st = state.check(self, "get_job_runs")
  local rqs = requests_of(self, list)
  local o = options(self, opts)
  local results = {}
  fanout.run(st.session, #rqs, o.concurrency,
    function(b) schedule(self, b, rqs, o, results) end, one_call(self, rqs, o, results))
  return results
end

return M
