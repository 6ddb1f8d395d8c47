-- The `intuned` command line (bin/intuned is a two-line wrapper):
--
--   intuned [OPTIONS] <group> <command> ARGS [OPTIONS]
--
-- groups jobs, job-runs, runs and auth-sessions (intuned.cli.jobs, ...),
-- and the old `intuned run get|wait|results` as aliases of `job-runs ...`.
-- `intuned --help` and docs/cli.md tell them all. This module finds the
-- command, reads the settings, makes the client and runs the command in a
-- context (below) that checks for Ctrl-C after every request and sleep.
--
-- main(argv) returns the exit status; nothing here calls os.exit, so the
-- whole tool can also be driven from Lua.

local intuned = require("intuned")
local core = require("intuned.core")
local args = require("intuned.cli.args")
local errors = require("intuned.cli.errors")
local help = require("intuned.cli.help")
local input = require("intuned.cli.input")
local output = require("intuned.cli.output")
local progress = require("intuned.cli.progress")
local wait = require("intuned.cli.wait")

local unpack = require("intuned.compat").unpack

local safe = output.safe

local M = {}

M.EXIT = errors.EXIT
local EXIT = M.EXIT

-- Each group's commands come from its module (the group job-runs from
-- intuned.cli.job_runs).
local ORDER, COMMANDS, GROUPS = {}, {}, {}
for _, name in ipairs({ "jobs", "job_runs", "runs", "auth_sessions" }) do
  for _, c in ipairs(require("intuned.cli." .. name)) do
    c.group = name:gsub("_", "-")
    c.key = c.group .. " " .. c.verb
    COMMANDS[c.key] = c
    ORDER[#ORDER + 1] = c
    GROUPS[c.group] = GROUPS[c.group] or {}
    table.insert(GROUPS[c.group], c.verb)
  end
end
M.COMMANDS = ORDER

-- Raised (as this table) when Ctrl-C was seen; main turns it into 130.
local INTERRUPTED = setmetatable({}, { __tostring = function() return "interrupted" end })

local function usage_error(io_, msg, topic)
  io_.stderr:write("intuned: ", safe(msg), "\n")
  io_.stderr:write(("Try 'intuned %s--help'.\n"):format(topic and (topic .. " ") or ""))
  return EXIT.usage
end

---------------------------------------------------------------------------
-- The context a command runs in
---------------------------------------------------------------------------

local Ctx = {}
Ctx.__index = Ctx

-- Calls a client method by name (or a function with its arguments), then
-- checks for Ctrl-C: a request cut short, or the flag set meanwhile.
function Ctx:call(f, ...)
  local a, b, c
  if type(f) == "string" then
    a, b, c = self.client[f](self.client, ...)
  else
    a, b, c = f(...)
  end
  if progress.interrupted() or (a == nil and type(b) == "table" and b.kind == "interrupted") then
    error(INTERRUPTED, 0)
  end
  return a, b, c
end

-- Sleeps (redrawing the progress bar when there is one); false on Ctrl-C.
function Ctx:nap(s)
  if self.display then
    return self.display:sleep(s)
  end
  return self.plain_sleep(s)
end

-- The same, raising on Ctrl-C.
function Ctx:sleep(s)
  if self:nap(s) == false or progress.interrupted() then
    error(INTERRUPTED, 0)
  end
end

-- The per-call options every request takes from the command line.
function Ctx:call_options()
  return self.json and { keep_nulls = true } or nil
end

-- Writes "intuned: message" (escaped) to stderr; -> code.
function Ctx:report(message, code)
  self.io.stderr:write("intuned: ", safe(message), "\n")
  return code or EXIT.error
end

-- A failed request, in one line; -> 3. `host` names the server it went
-- to when it was not the API's (a results download).
function Ctx:fail(err, host)
  return self:report(errors.text(err, host or self.host), EXIT.error)
end

function Ctx:usage(message)
  return usage_error(self.io, message, self.typed)
end

-- The wait options (intuned.cli.wait), or nil and a usage message. For a
-- command with --wait, they only go with it.
function Ctx:wait_options()
  local has_flag = false
  for _, name in ipairs(self.command.options) do
    has_flag = has_flag or name == "wait"
  end
  if has_flag and not self.opts.wait then
    for _, name in ipairs(wait.OPTIONS) do
      if self.opts[name] ~= nil then
        return nil, ("option '--%s' goes with --wait"):format(name)
      end
    end
    return {}
  end
  return wait.options(self.opts, self.json)
end

-- The JSON body of the command (--file or standard input); -> body, or
-- nil and the exit status after saying why (nil, nil: no body, none needed).
function Ctx:body(what, required)
  local body, why, code = input.body(self.opts, what, required, self.io.stdin)
  if body == nil and why then
    if progress.interrupted() then
      error(INTERRUPTED, 0)
    end
    if code == EXIT.usage then
      return nil, usage_error(self.io, why, self.typed)
    end
    return nil, self:report(why, code)
  end
  return body
end

---------------------------------------------------------------------------
-- Settings
---------------------------------------------------------------------------

-- A setting from its flag, else its variable (an empty variable is unset);
-- -> value, where it came from.
local function setting(opts, flag, var)
  if opts[flag] ~= nil then
    return opts[flag], "--" .. flag
  end
  local v = os.getenv(var)
  if v ~= nil and v ~= "" then
    return v, var
  end
  return nil, "--" .. flag .. " or " .. var
end

-- The client's settings, or nil and a message naming the flag and the
-- variable to fix.
local function settings(opts)
  local s = { names = {} }
  s.workspace_id, s.names.workspace_id = setting(opts, "workspace-id", "INTUNED_WORKSPACE_ID")
  if not s.workspace_id then
    return nil, "no workspace id: give --workspace-id ID or set INTUNED_WORKSPACE_ID"
  end
  s.api_key, s.names.api_key = setting(opts, "api-key", "INTUNED_API_KEY")
  if not s.api_key then
    return nil, "no API key: set INTUNED_API_KEY (or give --api-key KEY)"
  end
  s.base_url, s.names.base_url = setting(opts, "base-url", "INTUNED_BASE_URL")
  s.base_url = s.base_url or intuned.DEFAULT_BASE_URL
  local t = opts["request-timeout"]
  if t ~= nil then
    local n = tonumber(t)
    if not n or n <= 0 or n ~= n or n == math.huge then
      return nil, "option '--request-timeout' must be a positive number of seconds"
    end
    s.timeout = n
  end
  return s
end

-- The message of a Lua error raised by the library for misuse, without
-- its position and prefix ("intuned: "); nil for any other error.
local function misuse(e)
  local msg = tostring(e)
  if not msg:find("intuned: ", 1, true) then
    return nil
  end
  return (msg:gsub("^[^\n]-:%d+: ", ""):gsub("^intuned: ", ""))
end

---------------------------------------------------------------------------
-- Entry point
---------------------------------------------------------------------------

local function version(io_)
  io_.stdout:write("intuned ", intuned.VERSION, " (libcurl ", core.curl_version, ")\n")
  return EXIT.ok
end

-- Finds the command; -> command, its positional arguments, options, or
-- nil and the exit status once help or an error was written.
local function locate(argv, io_)
  local found = args.locate(argv, COMMANDS, GROUPS)
  local command = found.command
  local group, verb = found.group, found.verb
  local typed = command and (found.alias and (found.alias .. " " .. verb) or command.key)
  local words, opts, global_fault = args.parse(argv, command, typed)
  if not words then
    return nil, usage_error(io_, opts, (command and not global_fault) and typed or nil)
  end
  local known_group = group and (GROUPS[group] or args.ALIASES[group])
  if opts.version then
    return nil, version(io_)
  end
  if opts.help then
    if command then
      io_.stdout:write(help.command(command, typed))
    elseif known_group and not verb then
      local alias = args.ALIASES[group]
      io_.stdout:write(help.group(alias and alias.group or group, ORDER, alias and group))
    elseif not group then
      io_.stdout:write(help.main(ORDER))
    else
      return nil, usage_error(io_, ("unknown command '%s'"):format(table.concat(found.words, " ", 1,
        known_group and 2 or 1)), known_group and group or nil)
    end
    return nil, EXIT.ok
  end
  if not group then
    io_.stderr:write(help.main(ORDER))
    return nil, EXIT.usage
  end
  if not known_group then
    return nil, usage_error(io_, "unknown command '" .. group .. "'")
  end
  if not command then
    local verbs = args.ALIASES[group] and { "get", "wait", "results" } or GROUPS[group]
    if verb == nil then
      return nil, usage_error(io_, ("missing command after '%s' (%s)"):format(group,
        table.concat(verbs, ", ")), group)
    end
    return nil, usage_error(io_, ("unknown command '%s %s'"):format(group, verb), group)
  end
  local positional = {}
  for i = 3, #words do
    positional[#positional + 1] = words[i]
  end
  local min, max = #command.args, #command.args
  if command.nargs then
    min, max = command.nargs[1], command.nargs[2]
  end
  if #positional < min or #positional > max then
    return nil, usage_error(io_, ("'%s' takes %s (%d given)"):format(typed,
      table.concat(command.args, " "), #positional), typed)
  end
  return command, positional, opts, typed
end

local function run(ctx, command, positional)
  local done, status = pcall(command.run, ctx, unpack(positional))
  if done then
    return status
  end
  if status == INTERRUPTED then
    if ctx.display then
      ctx.display:clear()
    end
    ctx.io.stdout:flush()
    -- On a terminal the line may hold the "^C" it echoed: start it afresh.
    ctx.io.stderr:write(output.is_tty(2) and "\r\27[K" or "", "intuned: interrupted\n")
    return EXIT.interrupted
  end
  local msg = misuse(status)
  if msg then
    -- misuse caught by the library (an empty or "." id, a body the
    -- contract refuses, ...)
    return usage_error(ctx.io, msg, ctx.typed)
  end
  if ctx.display then
    ctx.display:clear()
  end
  ctx.io.stderr:write("intuned: internal error: ", safe(status), "\n")
  if os.getenv("INTUNED_DEBUG") then
    ctx.io.stderr:write(safe(debug.traceback()), "\n")
  end
  return EXIT.error
end

-- main(argv [, io_]) -> exit status. io_ defaults to the io library.
function M.main(argv, io_)
  io_ = io_ or io
  argv = argv or {}
  local command, positional, opts, typed = locate(argv, io_)
  if not command then
    return positional
  end
  local s, problem = settings(opts)
  if not s then
    return usage_error(io_, problem)
  end
  -- From here on Ctrl-C only sets a flag (sleeps return at once, a request
  -- in flight fails with kind "interrupted"); Ctx:call and Ctx:sleep see it.
  core.catch_interrupts()
  local ctx = setmetatable({
    io = io_, opts = opts, json = opts.json or false, command = command, typed = typed,
    host = errors.host_of(s.base_url),
  }, Ctx)
  ctx.plain_sleep = progress.sleep
  -- The library's own sleeps (between the attempts of a request) also
  -- redraw the bar and end early on Ctrl-C.
  local function client_sleep(secs)
    ctx:nap(secs)
  end
  local ok, client = pcall(intuned.new, {
    workspace_id = s.workspace_id, api_key = s.api_key, base_url = s.base_url,
    timeout = s.timeout, sleep = client_sleep,
  })
  if not ok then
    local msg = misuse(client) or tostring(client)
    for name, source in pairs(s.names) do
      if msg:sub(1, #name) == name then
        msg = source .. msg:sub(#name + 1):gsub(" %(or set INTUNED_[%u_]+%)", "")
      end
    end
    return usage_error(io_, msg)
  end
  ctx.client = client
  local status = run(ctx, command, positional)
  client:close()
  io_.stdout:flush()
  return status
end

return M
