-- client:wait_for_runs: many Run API runs waited for at once. Each run has
-- its own watch of the polling engine (intuned.wait: interval, timeout,
-- the client's deadline, on_progress, what a failing poll does); the polls
-- that are due go out together on the C core's multi handle (HTTP/2
-- streams on one connection when the server offers it), `concurrency` at a
-- time. Inside nginx's thread pool, light threads wait for the runs instead.

local core = require("intuned.core")
local check = require("intuned.check")
local operations = require("intuned.operations")
local request = require("intuned.request")
local response = require("intuned.response")
local state = require("intuned.state")
local wait = require("intuned.wait")

local M = {}

M.DEFAULT_CONCURRENCY = 16
-- The longest the scheduler waits on the transfers before it looks at the
-- clock again (real seconds).
local MAX_POLL = 1
local MIN_TIMEOUT = 0.001

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
    if busy > 0 then
      local wait_for = MAX_POLL
      if soonest then
        wait_for = math.max(0, math.min(wait_for, soonest - clock()))
      end
      for _, d in ipairs(b:wait(wait_for)) do
        busy = busy - 1
        local i = d[1]
        local res, meta = response.interpret(rqs[i], unpack(d, 2, 6))
        if res then
          meta.attempts = 1
          handle(i, res, nil, meta)
        else
          meta.attempts = 1
          handle(i, nil, meta)
        end
      end
    elseif soonest and finished < n then
      local d = soonest - clock()
      if d > 0 then
        self.sleep(d)
      end
    end
  end
end

-- Inside nginx's thread pool there is no multi handle: light threads each
-- wait for their share of the runs.
local function in_light_threads(self, project, run_ids, opts, concurrency, results)
  local call = {}
  for k, v in pairs(opts or {}) do
    call[k] = v
  end
  call.concurrency = nil
  local next_entry = 1
  local function worker()
    while next_entry <= #run_ids do
      local i = next_entry
      next_entry = next_entry + 1
      local res, err, meta = self:wait_for_run(project, run_ids[i], call)
      results[i] = res and { res = res, meta = meta } or { err = err }
    end
  end
  local threads = {}
  for t = 1, math.min(concurrency, #run_ids) do
    threads[t] = ngx.thread.spawn(worker) -- luacheck: ignore 113
  end
  for t = 1, #threads do
    ngx.thread.wait(threads[t]) -- luacheck: ignore 113
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
  if #rqs == 0 then
    return results
  end
  local session = st.session
  if type(session) ~= "userdata" then
    in_light_threads(self, project, run_ids, opts, concurrency, results)
    return results
  end
  local b = core.batch(session, math.min(concurrency, #rqs))
  local ok, err = pcall(schedule, self, b, rqs, o, concurrency, results)
  b:close()
  if not ok then
    error(err, 0)
  end
  return results
end

return M
