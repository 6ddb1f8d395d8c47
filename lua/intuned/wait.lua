-- The polling engine: every wait of the client (a job run, a Run API run,
-- an auth-session operation, many runs at once) polls through one `watch`
-- per thing it waits for, with a growing interval, an overall timeout that
-- the client's deadline may shorten, and a progress callback. Time comes
-- from the client's clock and sleep, so specs drive it without waiting.

local check = require("intuned.check")
local errors = require("intuned.errors")
local final = require("intuned.status")
local retry = require("intuned.retry")

local M = {}

M.DEFAULTS = { interval = 5, max_interval = 60, backoff = 1.5, timeout = 3600 }

M.OPTIONS = {
  interval = true, max_interval = true, backoff = true, timeout = true, on_progress = true,
  request_timeout = true, retry = true, keep_nulls = true,
}

-- A wait's options (opts of the method `what`); misuse raises at the
-- caller of the method that called this. `known` replaces M.OPTIONS.
function M.options(opts, what, known)
  opts = check.options(opts, known or M.OPTIONS, what, 2)
  local o = {
    interval = check.seconds(opts, "interval", 2) or M.DEFAULTS.interval,
    max_interval = check.seconds(opts, "max_interval", 2) or M.DEFAULTS.max_interval,
    timeout = check.seconds(opts, "timeout", 2) or M.DEFAULTS.timeout,
    request_timeout = check.seconds(opts, "request_timeout", 2),
    backoff = opts.backoff or M.DEFAULTS.backoff,
    on_progress = check.func(opts, "on_progress", 2),
    keep_nulls = opts.keep_nulls and true or nil,
    given = opts,
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

-- One poll: the single-call method `method` with the n ids, then the
-- call's options.
local function poll_by(method, n)
  return function(client, ids, call)
    if n == 2 then
      return client[method](client, ids[1], ids[2], call)
    end
    return client[method](client, ids[1], ids[2], ids[3], call)
  end
end

local STATUS = { "status" }

-- The kinds of things to wait for: what they are called, how one poll goes
-- (with the normal retries of its method), where the status is, and the
-- fields whose change is worth telling.
M.KINDS = {
  job_run = {
    what = "job run", poll = poll_by("get_job_run", 3),
    state = function(res) return res.jobRun end,
    fields = { "status", "payloads", "successful_runs", "failed_runs" },
  },
  run = { what = "run", poll = poll_by("get_run_result", 2), fields = STATUS },
  auth_create = {
    what = "auth-session operation", poll = poll_by("get_auth_session_create_result", 2), fields = STATUS,
  },
  auth_validate = {
    what = "auth-session operation", poll = poll_by("get_auth_session_validate_result", 3), fields = STATUS,
  },
  auth_update = {
    what = "auth-session operation", poll = poll_by("get_auth_session_update_result", 3), fields = STATUS,
  },
}

---------------------------------------------------------------------------
-- A watch: the state of waiting for one thing
---------------------------------------------------------------------------

local Watch = {}
Watch.__index = Watch

-- A watch of `kind` with the wait options o, for a wait that started at
-- `started` on client's clock. It ends at its timeout, or at the client's
-- deadline when that comes first.
function M.watch(client, kind, o, started)
  local w = setmetatable({
    client = client, kind = kind, o = o, started = started, limit = o.timeout,
    interval = o.interval, polls = 0, changes = 0,
  }, Watch)
  if client.deadline and client.deadline < o.timeout then
    w.limit, w.by_deadline = client.deadline, true
  end
  w.end_at = started + w.limit
  return w
end

-- Seconds left before the watch's end (may be <= 0).
function Watch:left()
  return self.end_at - self.client.clock()
end

-- The options of one poll: clipped to what is left, so neither it nor its
-- retries run past the end.
function Watch:call(left)
  local o = self.o
  return { timeout = o.request_timeout, retry = o.retry, keep_nulls = o.keep_nulls, deadline = left }
end

function Watch:info(extra)
  local info = { elapsed = self.client.clock() - self.started, attempts = self.polls, changes = self.changes }
  for k, v in pairs(extra or {}) do
    info[k] = v
  end
  return info
end

-- The state in a poll's result (a job run's result holds it in jobRun).
local function state_of(kind, res)
  return kind.state and kind.state(res) or res
end
M.state = state_of

-- The parts of the state whose change is worth telling the caller about
-- (kind.fields), as one string.
local function fingerprint(kind, st)
  local parts = {}
  for i, name in ipairs(kind.fields) do
    parts[i] = tostring(st[name])
  end
  return table.concat(parts, "\0")
end
M.fingerprint = fingerprint

-- A poll's result: tells on_progress when something changed; true when
-- the status is final. `extra` adds to on_progress's info (wait_for_runs:
-- index, total, and finished, which counts this one once it is final).
function Watch:seen(res, extra)
  self.polls = self.polls + 1
  local st = state_of(self.kind, res)
  local done = final.is_terminal(st)
  self.last, self.last_err = st, nil
  local now_seen = fingerprint(self.kind, st)
  if now_seen ~= self.fingerprint then
    self.fingerprint = now_seen
    self.changes = self.changes + 1
    if self.o.on_progress then
      local info = self:info(extra)
      if done and info.finished then
        info.finished = info.finished + 1
      end
      self.o.on_progress(st, info)
    end
  end
  return done
end

-- A poll's failure: true when waiting cannot help (401, 404, ...).
function Watch:failed(err)
  self.polls = self.polls + 1
  if not err.retirable then
    err.run = self.last
    return true
  end
  self.last_err = err
  return false
end

-- How long to sleep before the next poll (never past the end).
function Watch:delay()
  local d = math.min(self.interval, math.max(0, self:left()))
  self.interval = math.min(self.interval * self.o.backoff, self.o.max_interval)
  return d
end

-- The error of a watch that ran out of time.
function Watch:timed_out()
  local last, last_err = self.last, self.last_err
  return errors.new {
    kind = "timeout",
    message = ("%s did not finish within %gs%s (last status %s%s)"):format(
      self.kind.what, self.limit, self.by_deadline and " (the client's deadline)" or "",
      tostring(last and last.status or "unknown"),
      last_err and ", last poll failed: " .. last_err.message or ""),
    run = last,
    last_error = last_err,
    attempts = self.polls,
    elapsed = self.client.clock() - self.started,
    deadline_reached = self.by_deadline or nil,
  }
end

---------------------------------------------------------------------------
-- One wait
---------------------------------------------------------------------------

-- Polls `ids` of `kind` until final -> result, nil, info | nil, err.
-- `started`: when the call began (a start-then-wait helper counts its
-- start against the timeout).
function M.wait(client, kind, ids, o, started)
  local w = M.watch(client, kind, o, started or client.clock())
  while true do
    local left = w:left()
    if left <= 0 then
      return nil, w:timed_out()
    end
    local res, err = kind.poll(client, ids, w:call(left))
    if res then
      if w:seen(res) then
        return res, nil, w:info()
      end
    elseif w:failed(err) then
      return nil, err
    end
    if w:left() <= 0 then
      return nil, w:timed_out()
    end
    client.sleep(w:delay())
  end
end

-- The options of the start request of a start-then-wait helper, within
-- the whole call's time (and the client's deadline).
function M.start_call(client, o)
  local limit = o.timeout
  if client.deadline and client.deadline < limit then
    limit = client.deadline
  end
  return { timeout = o.request_timeout, retry = o.retry, deadline = limit }
end

return M
