-- Every wait of the command line (job-runs wait, jobs trigger --wait, runs
-- start --wait, runs wait, the auth-session operations with --wait): polls
-- with a single-call method in its own loop, so that each failed poll can
-- be shown as it happens, a wait that never had a successful poll can give
-- up early, and Ctrl-C is seen after every request and within a slice of
-- every sleep.
--
--   interval      first wait between polls (grows by BACKOFF up to
--                 max_interval)
--   timeout       the whole wait (exit 4)
--   GIVE_UP       failed polls in a row, with no success ever, after which
--                 the wait ends with the last error (exit 3)
-- Until a first poll succeeds, each poll is a single attempt and polls
-- come at most FIRST_RETRY apart (a mistyped URL or a closed port is told
-- within seconds); from then on each poll has the library's retries, and
-- failures only show (a Retry-After the server sent is honoured). A
-- failure that waiting cannot mend (401, 404, TLS, ...) ends it at once.

local core = require("intuned.core")
local intuned = require("intuned")
local errors = require("intuned.cli.errors")
local kinds = require("intuned.cli.kinds")
local output = require("intuned.cli.output")
local progress = require("intuned.cli.progress")

local M = {}

M.DEFAULTS = { interval = 5, max_interval = 60, timeout = 3600 }
M.BACKOFF = 1.5
M.GIVE_UP = 5
M.FIRST_RETRY = 1

-- The command-line options of every wait.
M.OPTIONS = { "interval", "max-interval", "timeout", "progress" }

-- list with the wait options added.
function M.with_options(list)
  for _, name in ipairs(M.OPTIONS) do
    list[#list + 1] = name
  end
  return list
end

-- Reads the wait options; returns them, or nil and a usage message.
function M.options(opts, json)
  local o = {}
  for _, name in ipairs({ "interval", "max-interval", "timeout" }) do
    local v = opts[name]
    if v ~= nil then
      local n = tonumber(v)
      if not n or n <= 0 or n ~= n or n == math.huge then
        return nil, ("option '--%s' must be a positive number of seconds"):format(name)
      end
      o[name:gsub("-", "_")] = n
    end
  end
  o.interval = o.interval or M.DEFAULTS.interval
  o.max_interval = math.max(o.max_interval or M.DEFAULTS.max_interval, o.interval)
  o.timeout = o.timeout or M.DEFAULTS.timeout
  local mode = opts.progress or "auto"
  if not (mode == "auto" or mode == "bar" or mode == "lines" or mode == "none") then
    return nil, "option '--progress' must be auto, bar, lines or none"
  end
  local fd = json and 2 or 1
  if mode == "auto" then
    mode = output.is_tty(fd) and os.getenv("TERM") ~= "dumb" and "bar" or "lines"
  end
  o.mode = mode
  o.columns = mode == "bar" and output.columns() or nil
  return o
end

local function timed_out(kind, ids, o, w)
  local last = w.last
  local why
  if not last then
    why = w.last_err and ("no poll succeeded; the last failed: " .. errors.short(w.last_err, w.host))
      or "no poll succeeded"
  else
    why = "last status " .. tostring(last.status)
    if w.in_row > 0 then
      why = ("%s; the last %s: %s"):format(why,
        w.in_row == 1 and "poll failed" or (w.in_row .. " polls failed"), errors.short(w.last_err, w.host))
    end
  end
  return ("%s did not finish within %s (%s)"):format(kind.name(ids), output.seconds(o.timeout), why)
end

-- Waits for the thing `ids` names, of kind `kind_name` (intuned.cli.kinds)
-- -> result | nil, exit status (the error already written).
-- ctx: the command's context (client, io, json, host, call, display).
function M.wait(ctx, kind_name, ids, o)
  local kind = kinds[kind_name]
  local out = ctx.json and ctx.io.stderr or ctx.io.stdout
  local display = progress.new(o.mode, out, {
    bar = kinds.bar(kind, ids), compact = kind.compact, line = kind.line, fields = kind.fields,
    columns = o.columns,
  })
  ctx.display = display
  local started = core.now()
  local end_at = started + o.timeout
  local interval = o.interval
  local w = { ok = 0, in_row = 0, host = ctx.host }
  local call = { keep_nulls = ctx.json or nil }
  while true do
    local left = end_at - core.now()
    if left <= 0 then
      display:finish()
      return nil, ctx:report(timed_out(kind, ids, o, w), errors.EXIT.timeout)
    end
    call.deadline = left
    if w.ok == 0 then
      call.retry = false
    else
      call.retry = nil
    end
    local res, err = ctx:call(kind.poll, ctx.client, ids, call)
    if res then
      w.ok, w.in_row = w.ok + 1, 0
      w.last = kinds.state(kind, res)
      display:seen(w.last)
      if intuned.is_terminal(w.last) then
        display:finish()
        return res
      end
    else
      w.in_row, w.last_err = w.in_row + 1, err
      if not err.retirable and not (err.kind == "timeout" and err.deadline_reached) then
        display:finish()
        return nil, ctx:fail(err)
      end
      display:failed(errors.short(err, ctx.host), w.in_row)
      if w.ok == 0 and w.in_row >= M.GIVE_UP then
        display:finish()
        return nil, ctx:report(("gave up waiting for %s: %d polls failed and none succeeded; the last: %s")
          :format(kind.name(ids), w.in_row, errors.text(err, ctx.host)), errors.EXIT.error)
      end
    end
    left = end_at - core.now()
    if left <= 0 then
      display:finish()
      return nil, ctx:report(timed_out(kind, ids, o, w), errors.EXIT.timeout)
    end
    local delay = w.ok == 0 and math.min(interval, M.FIRST_RETRY) or interval
    local after = not res and err.retry_after
    if type(after) == "number" and after > delay then
      delay = math.min(after, o.max_interval)
    end
    ctx:sleep(math.min(delay, left))
    if w.ok > 0 then
      interval = math.min(interval * M.BACKOFF, o.max_interval)
    end
  end
end

-- The output of a finished wait (or get): the JSON answer, or the
-- summary; -> exit status (1 when it ended badly). With --json, a wait
-- ends its progress on stderr with a one-line summary.
function M.show(ctx, kind_name, ids, res)
  local kind = kinds[kind_name]
  if ctx.json then
    local d = ctx.display
    if d and d.mode ~= "none" then
      ctx.io.stderr:write(("%s ended %s after %s\n"):format(output.safe(kind.name(ids)),
        output.safe(kinds.state(kind, res).status), output.clock(d:elapsed())))
    end
    output.json(ctx.io.stdout, res)
  else
    kind.summary(ctx.io.stdout, res, ids)
  end
  return kinds.exit_for(kind, kinds.state(kind, res))
end

return M
