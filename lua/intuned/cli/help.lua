-- The help texts of the command line, made from the command tables
-- (intuned.cli.jobs, job_runs, runs, auth_sessions) and the option
-- catalog (intuned.cli.args).

local args = require("intuned.cli.args")

local M = {}

M.GROUPS = {
  { name = "jobs", summary = "the jobs of a project" },
  { name = "job-runs", summary = "the runs of a job" },
  { name = "runs", summary = "the Run API: runs of one of the project's APIs" },
  { name = "auth-sessions", summary = "auth sessions, and their create, validate and update operations" },
}

local GLOBAL = { "workspace-id", "api-key", "base-url", "request-timeout", "help", "version" }

local EXIT = [[
exit status:
  0    success
  1    the run or operation ended unsuccessfully: a job run FAILURE,
       CANCELED or TERMINATED, a run failed or canceled, an auth-session
       operation failed or canceled
  2    usage error (unknown option, missing argument, bad setting or body)
  3    API, network or file error
  4    a wait timed out (also when no poll ever succeeded)
  130  interrupted (Ctrl-C)
]]

local WAITS = [[
waits (--wait, and the wait commands):
  A progress bar on a terminal (plain lines otherwise, or --progress), then
  a summary. A failed poll shows on the bar as it happens, with how many
  failed in a row; a wait whose polls have all failed gives up after 5 of
  them (exit 3) instead of waiting out --timeout.
]]

-- Words wrapped to lines of at most `width`: the first line starts with
-- `first`, the others with `indent`.
local function wrap(text, indent, width, first)
  local lines, line, empty = {}, first, true
  for word in text:gmatch("%S+") do
    if not empty and #line + 1 + #word > width then
      lines[#lines + 1] = line
      line, empty = indent .. word, false
    elseif empty then
      line, empty = line .. word, false
    else
      line = line .. " " .. word
    end
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n")
end

-- `own`: help texts of this command for some options (name -> text).
local function option_lines(names, own)
  local out = {}
  for _, name in ipairs(names) do
    local o = args.OPTIONS[name]
    local text = own and own[name] or o.help
    local head = "  " .. (o.short and ("-" .. o.short .. ", ") or "") .. "--" .. name
      .. (o.arg and (" " .. o.arg) or "")
    local indent = (" "):rep(24)
    if #head >= 23 then
      out[#out + 1] = head
      out[#out + 1] = wrap(text, indent, 78, indent)
    else
      out[#out + 1] = wrap(text, indent, 78, head .. (" "):rep(24 - #head))
    end
  end
  return table.concat(out, "\n") .. "\n"
end

local function usage_line(c, prefix)
  return ("usage: intuned %s %s [OPTIONS]"):format(prefix or c.key, table.concat(c.args, " "))
end

local SUMMARY_AT = 40

local function command_line(c, prefix)
  local left = "  " .. (prefix or c.key) .. " " .. table.concat(c.args, " ")
  local indent = (" "):rep(SUMMARY_AT)
  if #left >= SUMMARY_AT - 1 then
    return left .. "\n" .. wrap(c.summary, indent, 78, indent)
  end
  return wrap(c.summary, indent, 78, left .. (" "):rep(SUMMARY_AT - #left))
end

-- The help of one command; `typed`: the words that named it (an alias).
function M.command(c, typed)
  local parts = { usage_line(c, typed) }
  if typed and typed ~= c.key then
    parts[#parts + 1] = ("(the old name of `intuned %s`)"):format(c.key)
  end
  parts[#parts + 1] = ""
  parts[#parts + 1] = c.summary:sub(1, 1):upper() .. c.summary:sub(2) .. "."
  if c.details then
    parts[#parts + 1] = ""
    parts[#parts + 1] = (c.details:gsub("\n$", ""))
  end
  parts[#parts + 1] = ""
  parts[#parts + 1] = "options:"
  parts[#parts + 1] = (option_lines(c.options, c.option_help):gsub("\n$", ""))
  parts[#parts + 1] = ""
  local exits = c.exits or "0 success, 2 usage, 3 API, network or file error, 130 Ctrl-C."
  parts[#parts + 1] = wrap("exit status: " .. exits, "  ", 78, "")
  parts[#parts + 1] = "Options of every command (--workspace-id, --api-key, ...): `intuned --help`."
  return table.concat(parts, "\n") .. "\n"
end

function M.group(name, commands, alias)
  local lines = {}
  if alias then
    lines[#lines + 1] = "usage: intuned run <get|wait|results> PROJECT JOB RUN [OPTIONS]"
    lines[#lines + 1] = ""
    lines[#lines + 1] = "The old names of `intuned job-runs get|wait|results`, kept as they were:"
    lines[#lines + 1] = ""
  else
    lines[#lines + 1] = ("usage: intuned %s <command> ARGS [OPTIONS]"):format(name)
    lines[#lines + 1] = ""
  end
  for _, c in ipairs(commands) do
    if c.group == name and not alias then
      lines[#lines + 1] = command_line(c)
    elseif c.group == name and args.ALIASES[alias].verbs[c.verb] then
      lines[#lines + 1] = command_line(c, alias .. " " .. c.verb)
    end
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = ("Run `intuned %s <command> --help` for the command's options."):format(alias or name)
  return table.concat(lines, "\n") .. "\n"
end

function M.main(commands)
  local lines = {
    "usage: intuned [OPTIONS] <group> <command> ARGS [OPTIONS]",
    "",
    "The Intuned Client API from the command line: jobs, job runs, the Run API",
    "and auth sessions. Lists print as tables, --json prints the API's answer.",
  }
  for _, g in ipairs(M.GROUPS) do
    lines[#lines + 1] = ""
    lines[#lines + 1] = g.name .. ": " .. g.summary
    for _, c in ipairs(commands) do
      if c.group == g.name then
        lines[#lines + 1] = command_line(c)
      end
    end
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "aliases (the old commands, kept):"
  lines[#lines + 1] = "  run get|wait|results PROJECT JOB RUN  the same as job-runs get|wait|results"
  lines[#lines + 1] = ""
  lines[#lines + 1] = "options (any command):"
  lines[#lines + 1] = option_lines(GLOBAL) .. option_lines({ "json" })
  lines[#lines + 1] = WAITS
  lines[#lines + 1] = EXIT
  lines[#lines + 1] = "Run `intuned <group> <command> --help` for a command's options."
  return table.concat(lines, "\n") .. "\n"
end

return M
