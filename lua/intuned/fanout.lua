-- What get_job_runs and wait_for_runs share: running `n` entries at most
-- `concurrency` at a time, on the C core's multi handle where the client's
-- session is one, or in nginx light threads where it is not (cosockets,
-- the thread pool).

local core = require("intuned.core")

local M = {}

-- libcurl takes whole milliseconds and 0 means "no limit".
M.MIN_TIMEOUT = 0.001
-- The longest a scheduler waits on its transfers before it looks at the
-- clock again (real seconds).
local MAX_POLL = 1

-- One turn of a scheduler over batch b: with transfers in flight, waits
-- for some to end (no later than `soonest`, a wake-up time on clock) and
-- hands each ended one ({tag, <the values of session:request>}) to done;
-- with none in flight, sleeps until soonest. Returns how many ended.
function M.turn(b, busy, soonest, clock, sleep, done)
  if busy > 0 then
    local wait_for = MAX_POLL
    if soonest then
      wait_for = math.max(0, math.min(wait_for, soonest - clock()))
    end
    local ended = b:wait(wait_for)
    for _, d in ipairs(ended) do
      done(d)
    end
    return #ended
  elseif soonest then
    local d = soonest - clock()
    if d > 0 then
      sleep(d)
    end
  end
  return 0
end

-- Runs work(i) for i = 1..n in `concurrency` nginx light threads.
local function light_threads(n, concurrency, work)
  local next_entry = 1
  local function worker()
    while next_entry <= n do
      local i = next_entry
      next_entry = next_entry + 1
      work(i)
    end
  end
  local threads = {}
  for t = 1, math.min(concurrency, n) do
    threads[t] = ngx.thread.spawn(worker)
  end
  for t = 1, #threads do
    ngx.thread.wait(threads[t])
  end
end

-- Runs n entries: schedule(batch) on a batch of min(concurrency, n) slots
-- when `session` is the core's, else each(i) in light threads. The batch
-- is closed whatever happens.
function M.run(session, n, concurrency, schedule, each)
  if n == 0 then
    return
  end
  if type(session) ~= "userdata" then
    return light_threads(n, concurrency, each)
  end
  local b = core.batch(session, math.min(concurrency, n))
  local ok, err = pcall(schedule, b)
  b:close()
  if not ok then
    error(err, 0)
  end
end

return M
