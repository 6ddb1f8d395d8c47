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

local unpack = require("intuned.compat").unpack

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

-- The scheduler of one get_job_runs call over batch b: entries as
-- coroutines; `queue` holds requests waiting for a slot (first come first
-- served), `sleeping` wake-up times; results[i] = { res, err, meta }.
local Scheduler = {}
Scheduler.__index = Scheduler

local function new_scheduler(self, b, rqs, o, results)
  local started = self.clock()
  return setmetatable({
    client = self, b = b, rqs = rqs, o = o, results = results, clock = self.clock,
    started = started, deadline_at = o.deadline and started + o.deadline,
    capacity = math.min(o.concurrency, #rqs),
    tasks = {}, queue = {}, sleeping = {}, next_entry = 1, finished = 0, busy = 0,
  }, Scheduler)
end

-- What entry i's coroutine yielded or returned decides where it goes.
function Scheduler:handle(i, ok, what, a, b, c)
  if not ok then
    error(what, 0)
  elseif what == "fetch" then
    self.queue[#self.queue + 1] = { i, a }
  elseif what == "sleep" then
    self.sleeping[i] = self.clock() + a
  else
    self.results[i] = { res = a, err = b, meta = c }
    self.tasks[i] = nil
    self.finished = self.finished + 1
  end
end

function Scheduler:resume(i, ...)
  self:handle(i, coroutine.resume(self.tasks[i], ...))
end

-- Entry i starts its retry loop, or ends at once when the deadline passed.
function Scheduler:start(i)
  local o, deadline = self.o, self.o.deadline
  if deadline then
    deadline = deadline - (self.clock() - self.started)
    if deadline <= 0 then
      self.results[i] = { err = errors.new {
        kind = "timeout", message = "deadline reached before the request started",
        deadline_reached = true, attempts = 0,
      } }
      self.finished = self.finished + 1
      return
    end
  end
  local ctx = request.context(self.client, o)
  ctx.deadline = deadline
  ctx.sleep = function(d) coroutine.yield("sleep", d) end
  local rq = self.rqs[i]
  self.tasks[i] = coroutine.create(function()
    local res, err, meta = retry.run(ctx, function(timeout)
      return response.interpret(rq, coroutine.yield("fetch", timeout))
    end)
    return "done", res, err, meta
  end)
  self:resume(i)
end

-- Entries whose wait is over go on, in input order.
function Scheduler:wake_due()
  local now, due = self.clock(), {}
  for i, at in pairs(self.sleeping) do
    if at <= now then
      due[#due + 1] = i
    end
  end
  table.sort(due)
  for _, i in ipairs(due) do
    self.sleeping[i] = nil
    self:resume(i)
  end
end

-- Free slots: queued requests (retries) first, then new entries. The time
-- a request waited for its slot counts against the deadline.
function Scheduler:fill_slots()
  local o = self.o
  while self.busy < self.capacity do
    local q = table.remove(self.queue, 1)
    if q then
      local timeout = q[2] or o.timeout
      if self.deadline_at then
        timeout = math.min(timeout, self.deadline_at - self.clock())
      end
      if timeout <= 0 then
        self:resume(q[1], no_time_left())
      else
        self.b:add(q[1], "GET", self.rqs[q[1]].path, nil, math.max(timeout, MIN_TIMEOUT), o.keep_nulls)
        self.busy = self.busy + 1
      end
    elseif self.next_entry <= #self.rqs then
      self.next_entry = self.next_entry + 1
      self:start(self.next_entry - 1)
    else
      return
    end
  end
end

function Scheduler:soonest_wake()
  local soonest
  for _, at in pairs(self.sleeping) do
    if not soonest or at < soonest then
      soonest = at
    end
  end
  return soonest
end

-- Runs every entry to its end. In flight: wait for some; nothing in
-- flight: only waits are left, sleep until the first ends.
local function schedule(self, b, rqs, o, results)
  local sc = new_scheduler(self, b, rqs, o, results)
  while sc.finished < #rqs do
    sc:wake_due()
    sc:fill_slots()
    sc.busy = sc.busy - fanout.turn(b, sc.busy, sc:soonest_wake(), sc.clock, self.sleep, function(d)
      sc:resume(d[1], unpack(d, 2, 6))
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
