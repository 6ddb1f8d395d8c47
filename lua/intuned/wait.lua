-- client:wait_for_job_run: poll a job run until it reaches a terminal
-- status, with a growing interval, an overall timeout and a progress
-- callback. Time comes from the client's clock and sleep, so specs drive it
-- without waiting.

local check = require("intuned.check")
local errors = require("intuned.errors")
local retry = require("intuned.retry")
local state = require("intuned.state")
local final = require("intuned.status")

local M = {}

M.DEFAULTS = { interval = 5, max_interval = 60, backoff = 1.5, timeout = 3600 }

local WAIT_OPTIONS = {
  interval = true, max_interval = true, backoff = true, timeout = true, on_progress = true,
  request_timeout = true, retry = true, keep_nulls = true,
}

-- The parts of a run whose change is worth telling the caller about.
local function fingerprint(run)
  return table.concat({
    tostring(run.status), tostring(run.payloads),
    tostring(run.successful_runs), tostring(run.failed_runs),
  }, "\0")
end

local function options(opts)
  opts = check.options(opts, WAIT_OPTIONS, "wait_for_job_run", 2)
  local o = {
    interval = check.seconds(opts, "interval", 2) or M.DEFAULTS.interval,
    max_interval = check.seconds(opts, "max_interval", 2) or M.DEFAULTS.max_interval,
    timeout = check.seconds(opts, "timeout", 2) or M.DEFAULTS.timeout,
    request_timeout = check.seconds(opts, "request_timeout", 2),
    backoff = opts.backoff or M.DEFAULTS.backoff,
    on_progress = check.func(opts, "on_progress", 2),
    keep_nulls = opts.keep_nulls and true or nil,
  }
  if opts.retry ~= nil then
    o.retry = check.retry(opts.retry, retry.DEFAULTS, 2)
  end
  if type(o.backoff) ~= "number" or not (o.backoff >= 1 and o.backoff < math.huge) then
    check.fail("option 'backoff' must be a number >= 1", 2)
  end
  if o.max_interval < o.interval then
    o.max_interval = o.interval
  end
  return o
end

-- The error of a wait that ran out of time: its own timeout, or the
-- client's deadline when that came first.
local function timed_out(w, last_run, last_err, polls, elapsed)
  local status = last_run and last_run.status or "unknown"
  return nil, errors.new {
    kind = "timeout",
    message = ("job run did not finish within %gs%s (last status %s%s)"):format(
      w.limit, w.by_deadline and " (the client's deadline)" or "", tostring(status),
      last_err and ", last poll failed: " .. last_err.message or ""),
    run = last_run,
    last_error = last_err,
    attempts = polls,
    elapsed = elapsed,
    deadline_reached = w.by_deadline or nil,
  }
end

-- client:wait_for_job_run(project, job_id, job_run_id [, opts])
--   -> result, nil, info | nil, err
-- opts: interval (first wait, s), max_interval, backoff (growth factor),
-- timeout (whole wait, s), on_progress(run, info), request_timeout, retry,
-- keep_nulls. info = { elapsed, attempts (polls so far), changes }.
-- The wait ends at its timeout or at the client's deadline, whichever
-- comes first; every poll, retries included, is clipped to what is left.
local function wait_for_job_run(self, project, job_id, job_run_id, o)
  local clock, sleep = self.clock, self.sleep
  local started = clock()
  local w = { limit = o.timeout }
  if self.deadline and self.deadline < o.timeout then
    w.limit, w.by_deadline = self.deadline, true
  end
  local end_at = started + w.limit
  local interval = o.interval
  local polls, changes = 0, 0
  local seen, last_run, last_err
  while true do
    local left = end_at - clock()
    if left <= 0 then
      return timed_out(w, last_run, last_err, polls, clock() - started)
    end
    polls = polls + 1
    local res, err = self:get_job_run(project, job_id, job_run_id, {
      timeout = o.request_timeout, retry = o.retry, keep_nulls = o.keep_nulls, deadline = left,
    })
    local info = { elapsed = clock() - started, attempts = polls, changes = changes }
    if res then
      local run = res.jobRun
      last_run, last_err = run, nil
      local now_seen = fingerprint(run)
      if now_seen ~= seen then
        seen = now_seen
        changes = changes + 1
        info.changes = changes
        if o.on_progress then
          o.on_progress(run, info)
        end
      end
      if final.is_terminal(run) then
        return res, nil, info
      end
    elseif not err.retirable then
      -- 401, 404 and the like will not get better by waiting.
      err.run = last_run
      return nil, err
    else
      last_err = err
    end
    left = end_at - clock()
    if left <= 0 then
      return timed_out(w, last_run, last_err, polls, clock() - started)
    end
    sleep(math.min(interval, left))
    interval = math.min(interval * o.backoff, o.max_interval)
  end
end

function M.wait_for_job_run(self, project, job_id, job_run_id, opts)
  state.check(self, "wait_for_job_run")
  local o = options(opts)
  -- Misuse of the ids raises here, before any waiting.
  check.segment(project, "project", 1)
  check.segment(job_id, "job_id", 1)
  check.segment(job_run_id, "job_run_id", 1)
  return wait_for_job_run(self, project, job_id, job_run_id, o)
end

-- client:run_job(project, job_id [, opts]) -> what wait_for_job_run returns
-- Triggers the job, then waits for the run it started. opts: the options of
-- wait_for_job_run; `request_timeout` and `retry` apply to the trigger too.
function M.run_job(self, project, job_id, opts)
  state.check(self, "run_job")
  local o = options(opts)
  check.segment(project, "project", 1)
  check.segment(job_id, "job_id", 1)
  local started, err = self:trigger_job(project, job_id, {
    timeout = o.request_timeout, retry = o.retry, deadline = self.deadline,
  })
  if not started then
    return nil, err
  end
  return wait_for_job_run(self, project, job_id, started.jobRunId, o)
end

return M
