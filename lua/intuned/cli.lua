-- The `intuned` command line (bin/intuned is a two-line wrapper):
--
--   intuned run get PROJECT JOB RUN [--json]
--   intuned run wait PROJECT JOB RUN [--interval S] [--timeout S] [--json]
--   intuned run results PROJECT JOB RUN [-o FILE]
--
-- main(argv) returns the exit status; nothing here calls os.exit, so the
-- whole tool can also be driven from Lua.

local intuned = require("intuned")
local core = require("intuned.core")
local term = require("intuned.term")

-- Every string that came from the server goes through `safe` on its way to
-- the screen (intuned.term): no answer can drive the terminal.
local safe = term.escape

local M = {}

M.EXIT = { ok = 0, run_failed = 1, usage = 2, error = 3, timeout = 4 }
local EXIT = M.EXIT

local FAILED = { FAILURE = true, CANCELED = true, TERMINATED = true }

local BAR_WIDTH = 24
local TICK = 1 -- seconds between redraws of the bar while sleeping

local HELP = {}

HELP.main = [[
usage: intuned [OPTIONS] run <get|wait|results> PROJECT JOB RUN [OPTIONS]

Reads Intuned job runs.

commands:
  run get       print a job run's summary (or its JSON with --json)
  run wait      wait until a job run finishes, showing its progress
  run results   download a finished job run's results file

options (any command):
  --workspace-id ID     workspace UUID (default: $INTUNED_WORKSPACE_ID)
  --api-key KEY         API key (default: $INTUNED_API_KEY; prefer the
                        variable: arguments are visible to other users)
  --base-url URL        API base URL (default: $INTUNED_BASE_URL, else
                        https://app.intuned.io/api/v1/workspace)
  --request-timeout S   seconds per HTTP request (default 30)
  -h, --help            help for the command
  --version             print the version

exit status:
  0  success (the run succeeded, or is still going for `run get`)
  1  the run finished unsuccessfully (FAILURE, CANCELED, TERMINATED)
  2  usage error
  3  API, network or file error
  4  `run wait` timed out

Run `intuned run <command> --help` for the command's options.
]]

HELP.run = [[
usage: intuned run <get|wait|results> PROJECT JOB RUN [OPTIONS]

  run get       print a job run's summary (or its JSON with --json)
  run wait      wait until a job run finishes, showing its progress
  run results   download a finished job run's results file

Run `intuned run <command> --help` for the command's options.
]]

HELP.get = [[
usage: intuned run get PROJECT JOB RUN [--json]

Prints the job run's status, payload counts, times, and its error or
reason when it has one.

  --json        print the API's JSON answer instead (nulls kept)

Exit status 0, or 1 when the run finished unsuccessfully; 3 on an API or
network error. See `intuned --help` for the options of every command.
]]

HELP.wait = [[
usage: intuned run wait PROJECT JOB RUN [OPTIONS]

Polls the job run until it finishes. On a terminal: a progress bar
(payloads done out of total, succeeded, failed, elapsed time, status);
otherwise one line each time the run changes.

  --interval S      first wait between polls (default 5)
  --max-interval S  longest wait between polls (default 60)
  --timeout S       give up after S seconds (default 3600)
  --progress MODE   auto (default), bar, lines or none
  --json            print the final JSON answer (progress then goes to stderr)

Exit status 0 when the run succeeded, 1 when it finished unsuccessfully,
3 on an API or network error, 4 on timeout.
]]

HELP.results = [[
usage: intuned run results PROJECT JOB RUN [-o FILE]

Downloads the results file of the job run from its signed URL (the API
key is not sent there).

  -o, --output FILE  write to FILE (complete or not at all); default: stdout
  --max-bytes N      refuse files larger than N bytes (default 256 MiB)

Exit status 0, or 3 when the run has no results file yet, the URL expired
(fetch again) or the download failed.
]]

-- Options each command accepts: name -> "flag" or "value".
local COMMON = {
  ["workspace-id"] = "value", ["api-key"] = "value", ["base-url"] = "value",
  ["request-timeout"] = "value", help = "flag", version = "flag",
}
local COMMAND_OPTIONS = {
  get = { json = "flag" },
  wait = { interval = "value", ["max-interval"] = "value", timeout = "value",
    progress = "value", json = "flag" },
  results = { output = "value", ["max-bytes"] = "value" },
}
local SHORT = { h = "help", o = "output" }
local TAKES_VALUE = {}
for _, set in pairs({ COMMON, COMMAND_OPTIONS.get, COMMAND_OPTIONS.wait, COMMAND_OPTIONS.results }) do
  for name, kind in pairs(set) do
    if kind == "value" then
      TAKES_VALUE[name] = true
    end
  end
end

local function usage_error(io_, msg, topic)
  io_.stderr:write("intuned: ", msg, "\n")
  io_.stderr:write(("Try 'intuned %s--help'.\n"):format(topic and ("run " .. topic .. " ") or ""))
  return EXIT.usage
end

-- Splits argv into words and options, checking each option against what
-- the command takes; an option that takes a value consumes the next word
-- unless given as --name=value. Returns nil, message on misuse.
local function resolve(argv, command)
  local words, opts = {}, {}
  local allowed = COMMAND_OPTIONS[command] or {}
  local i, n = 1, argv.n or #argv
  local only_words = false
  while i <= n do
    local a = argv[i]
    if only_words or a == "-" or a:sub(1, 1) ~= "-" then
      words[#words + 1] = a
    elseif a == "--" then
      only_words = true
    else
      local name, value
      if a:sub(1, 2) == "--" then
        name, value = a:match("^%-%-([^=]+)=(.*)$")
        name = name or a:sub(3)
      else
        name = SHORT[a:sub(2, 2)]
        value = #a > 2 and a:sub(3) or nil
      end
      local kind = name and (COMMON[name] or allowed[name])
      if not kind then
        return nil, "unknown option '" .. a .. "'" .. (command and (" for 'run " .. command .. "'") or "")
      end
      if kind == "flag" then
        if value ~= nil then
          return nil, "option '--" .. name .. "' takes no value"
        end
        opts[name] = true
      else
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then
            return nil, "option '" .. a .. "' needs a value"
          end
        end
        opts[name] = value
      end
    end
    i = i + 1
  end
  return words, opts
end

local function seconds(opts, name)
  local v = opts[name]
  if v == nil then
    return nil
  end
  local n = tonumber(v)
  if not n or n <= 0 or n ~= n or n == math.huge then
    return nil, ("option '--%s' must be a positive number of seconds"):format(name)
  end
  return n
end

---------------------------------------------------------------------------
-- Output
---------------------------------------------------------------------------

local function is_tty(fd)
  local r = os.execute("test -t " .. fd)
  return r == true or r == 0
end

local function clock_text(s)
  s = math.floor(s + 0.5)
  if s >= 3600 then
    return ("%d:%02d:%02d"):format(math.floor(s / 3600), math.floor(s % 3600 / 60), s % 60)
  end
  return ("%d:%02d"):format(math.floor(s / 60), s % 60)
end

local function num(v)
  if type(v) == "number" then
    return v % 1 == 0 and ("%d"):format(v) or tostring(v)
  end
  return "?"
end

local function counts(run)
  local ok, failed = run.successful_runs, run.failed_runs
  local done = (type(ok) == "number" and ok or 0) + (type(failed) == "number" and failed or 0)
  return done, run.payloads, ok, failed
end

-- One line of the progress bar, without the carriage return.
function M.bar_line(run, elapsed)
  local done, total, ok, failed = counts(run)
  local fill = 0
  if type(total) == "number" and total > 0 then
    fill = math.floor(BAR_WIDTH * math.min(done, total) / total)
  end
  return ("[%s%s] %s/%s payloads  %s ok  %s failed  %s  %s"):format(
    ("#"):rep(fill), ("-"):rep(BAR_WIDTH - fill), num(done), num(total),
    num(ok), num(failed), clock_text(elapsed), safe(run.status))
end

function M.plain_line(run, elapsed)
  local done, total, ok, failed = counts(run)
  return ("[%6.1fs] %s: %s/%s payloads done (%s ok, %s failed)"):format(
    elapsed, safe(run.status), num(done), num(total), num(ok), num(failed))
end

local function to_json(value)
  local found, cjson = pcall(require, "cjson")
  if not found then
    return nil, "--json needs the lua-cjson module (Debian: lua-cjson; LuaRocks: lua-cjson)"
  end
  -- lua-cjson escapes every "/"; a raw "/" never appears in its output, so
  -- each "\/" is an escaped slash and can be written plainly.
  return term.json((cjson.encode(value):gsub("\\/", "/")))
end

local function summary(out, res, ctx)
  local run = res.jobRun
  local function row(label, value)
    if value ~= nil and value ~= intuned.null then
      out:write(("%-9s %s\n"):format(label, safe(value)))
    end
  end
  local state = intuned.is_terminal(run) and "finished" or "not finished"
  row("Job run", ("%s (project %s, job %s)"):format(tostring(run.id), ctx.project,
    tostring(run.job_id or ctx.job)))
  row("Status", ("%s (%s)"):format(tostring(run.status), state))
  local done, total, ok, failed = counts(run)
  row("Payloads", ("%s/%s done, %s succeeded, %s failed"):format(num(done), num(total), num(ok), num(failed)))
  row("Type", run.type)
  row("Started", run.start_time)
  row("Ended", run.end_time)
  if type(run.error) == "table" then
    row("Error", ("%s: %s"):format(tostring(run.error.code or "error"), tostring(run.error.message)))
  end
  if type(run.reason) == "table" then
    row("Reason", ("%s: %s"):format(tostring(run.reason.type or "reason"), tostring(run.reason.message)))
  end
  if type(res.results) == "table" then
    row("Results", ("%s file, expires %s"):format(tostring(res.results.format),
      tostring(res.results.signed_url_expiration or "?")))
  end
end

local function status_exit(run)
  return FAILED[run.status] and EXIT.run_failed or EXIT.ok
end

local function write_json(io_, res, run)
  local text, why = to_json(res)
  if not text then
    io_.stderr:write("intuned: ", why, "\n")
    return EXIT.error
  end
  io_.stdout:write(text, "\n")
  return status_exit(run)
end

local function error_exit(io_, err)
  io_.stderr:write(safe(err), "\n")
  if err.kind == "timeout" and err.run ~= nil then
    return EXIT.timeout
  end
  return EXIT.error
end

---------------------------------------------------------------------------
-- Commands
---------------------------------------------------------------------------

local COMMANDS = {}

function COMMANDS.get(ctx)
  local res, err = ctx.client:get_job_run(ctx.project, ctx.job, ctx.run, { keep_nulls = ctx.opts.json })
  if not res then
    return error_exit(ctx.io, err)
  end
  if ctx.opts.json then
    return write_json(ctx.io, res, res.jobRun)
  else
    summary(ctx.io.stdout, res, ctx)
  end
  return status_exit(res.jobRun)
end

-- The progress display of `run wait`: redraw the bar in place on a
-- terminal, or print a line per change.
local function progress_display(mode, out)
  local started = core.now()
  local last_run
  local shown = false
  local function draw()
    if last_run then
      out:write("\r", M.bar_line(last_run, core.now() - started), "\27[K")
      out:flush()
      shown = true
    end
  end
  local display = {}
  function display.update(run)
    last_run = run
    if mode == "bar" then
      draw()
    elseif mode == "lines" then
      out:write(M.plain_line(run, core.now() - started), "\n")
      out:flush()
    end
  end
  -- Sleeps in ticks so the elapsed time on the bar keeps moving.
  function display.sleep(s)
    if mode ~= "bar" then
      return core.sleep(s)
    end
    while s > 0 do
      local step = math.min(TICK, s)
      core.sleep(step)
      s = s - step
      draw()
    end
  end
  function display.finish()
    if mode == "bar" and shown then
      out:write("\n")
      out:flush()
    end
  end
  return display
end

function COMMANDS.wait(ctx)
  local opts = ctx.opts
  local interval, e1 = seconds(opts, "interval")
  local max_interval, e2 = seconds(opts, "max-interval")
  local timeout, e3 = seconds(opts, "timeout")
  local problem = e1 or e2 or e3
  local mode = opts.progress or "auto"
  if not problem and not (mode == "auto" or mode == "bar" or mode == "lines" or mode == "none") then
    problem = "option '--progress' must be auto, bar, lines or none"
  end
  if problem then
    return usage_error(ctx.io, problem, "wait")
  end
  local out = opts.json and ctx.io.stderr or ctx.io.stdout
  if mode == "auto" then
    mode = is_tty(opts.json and 2 or 1) and os.getenv("TERM") ~= "dumb" and "bar" or "lines"
  end
  local display = progress_display(mode, out)
  ctx.client.sleep = display.sleep
  local res, err = ctx.client:wait_for_job_run(ctx.project, ctx.job, ctx.run, {
    interval = interval, max_interval = max_interval, timeout = timeout,
    keep_nulls = opts.json,
    on_progress = function(run) display.update(run) end,
  })
  display.finish()
  if not res then
    return error_exit(ctx.io, err)
  end
  if opts.json then
    return write_json(ctx.io, res, res.jobRun)
  elseif mode ~= "lines" then
    summary(ctx.io.stdout, res, ctx)
  end
  return status_exit(res.jobRun)
end

function COMMANDS.results(ctx)
  local opts = ctx.opts
  local max_bytes = opts["max-bytes"] and tonumber(opts["max-bytes"])
  if opts["max-bytes"] and not (max_bytes and max_bytes >= 1 and max_bytes % 1 == 0 and max_bytes <= 2 ^ 30) then
    return usage_error(ctx.io, "option '--max-bytes' must be a whole number of bytes, at most 1 GiB", "results")
  end
  if opts.output == "" then
    return usage_error(ctx.io, "option '--output' needs a file name", "results")
  end
  local res, err = ctx.client:get_job_run(ctx.project, ctx.job, ctx.run)
  if not res then
    return error_exit(ctx.io, err)
  end
  local body, derr, meta = ctx.client:download_results(res, {
    path = opts.output, max_bytes = max_bytes and math.floor(max_bytes), decode = false,
  })
  if not body then
    return error_exit(ctx.io, derr)
  end
  if opts.output then
    ctx.io.stderr:write(("wrote %d bytes to %s\n"):format(meta.bytes or 0, safe(opts.output)))
  else
    ctx.io.stdout:write(body)
  end
  return EXIT.ok
end

---------------------------------------------------------------------------
-- Entry point
---------------------------------------------------------------------------

-- main(argv [, io_]) -> exit status. io_ defaults to the io library.
function M.main(argv, io_)
  io_ = io_ or io
  argv = argv or {}
  -- A first pass finds the command words, so options can be checked
  -- against the command they belong to.
  local words = {}
  local i, n = 1, argv.n or #argv
  while i <= n do
    local a = argv[i]
    if a == "--" then
      break
    elseif a:sub(1, 1) ~= "-" then
      words[#words + 1] = a
    elseif a == "-o" or (a:sub(1, 2) == "--" and not a:find("=", 1, true) and TAKES_VALUE[a:sub(3)]) then
      i = i + 1 -- the option's value is not a command word
    end
    i = i + 1
  end
  local command = words[1] == "run" and COMMAND_OPTIONS[words[2] or ""] and words[2] or nil
  local args, opts = resolve(argv, command)
  if not args then
    return usage_error(io_, opts, command)
  end
  if opts.version then
    io_.stdout:write("intuned ", intuned.VERSION, " (libcurl ", core.curl_version, ")\n")
    return EXIT.ok
  end
  if opts.help then
    io_.stdout:write(HELP[command or (args[1] == "run" and "run") or "main"])
    return EXIT.ok
  end
  if #args == 0 then
    io_.stderr:write(HELP.main)
    return EXIT.usage
  end
  if args[1] ~= "run" then
    return usage_error(io_, "unknown command '" .. args[1] .. "'")
  end
  if not command then
    if args[2] == nil then
      return usage_error(io_, "missing command after 'run' (get, wait or results)")
    end
    return usage_error(io_, "unknown command 'run " .. args[2] .. "'")
  end
  if #args ~= 5 then
    return usage_error(io_, ("'run %s' takes PROJECT JOB RUN (%d given)"):format(command, #args - 2), command)
  end
  local request_timeout, terr = seconds(opts, "request-timeout")
  if terr then
    return usage_error(io_, terr, command)
  end
  local ok, client = pcall(intuned.new, {
    workspace_id = opts["workspace-id"], api_key = opts["api-key"], base_url = opts["base-url"],
    timeout = request_timeout,
  })
  if not ok then
    return usage_error(io_, (tostring(client):gsub("^[^:]*:%d+: ", ""):gsub("^intuned: ", "")), command)
  end
  local ctx = { client = client, io = io_, opts = opts, project = args[3], job = args[4], run = args[5] }
  local done, status = pcall(COMMANDS[command], ctx)
  client:close()
  if not done then
    local msg = tostring(status)
    if msg:find("intuned: ", 1, true) then
      -- misuse caught by the library (an empty or "." id, ...)
      return usage_error(io_, (msg:gsub("^[^:]*:%d+: ", ""):gsub("^intuned: ", "")), command)
    end
    error(status, 0)
  end
  return status
end

return M
