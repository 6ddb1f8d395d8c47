-- The command line's words and options: which command argv names (with
-- the old `run get|wait|results` as aliases of `job-runs ...`), and its
-- options, each checked against what that command takes.

local M = {}

-- Every option: kind "flag", "value" (one value) or "list" (repeatable);
-- `arg` names the value in help; global ones belong to every command.
M.OPTIONS = {
  ["workspace-id"] = { kind = "value", arg = "ID", global = true,
    help = "workspace UUID (default: $INTUNED_WORKSPACE_ID)" },
  ["api-key"] = { kind = "value", arg = "KEY", global = true,
    help = "API key (default: $INTUNED_API_KEY; prefer the variable: arguments are visible to other users)" },
  ["base-url"] = { kind = "value", arg = "URL", global = true,
    help = "API base URL (default: $INTUNED_BASE_URL, else https://app.intuned.io/api/v1/workspace)" },
  ["request-timeout"] = { kind = "value", arg = "S", global = true,
    help = "seconds per HTTP request (default 30)" },
  help = { kind = "flag", short = "h", global = true, help = "help for the command" },
  version = { kind = "flag", global = true, help = "print the version" },
  json = { kind = "flag", help = "print the API's answer as JSON (one document; progress goes to stderr)" },
  wait = { kind = "flag", help = "wait until it finishes, showing its progress" },
  interval = { kind = "value", arg = "S", help = "first wait between polls (default 5)" },
  ["max-interval"] = { kind = "value", arg = "S", help = "longest wait between polls (default 60)" },
  timeout = { kind = "value", arg = "S", help = "give up waiting after S seconds (default 3600)" },
  progress = { kind = "value", arg = "MODE",
    help = "auto (default: bar on a terminal, else lines), bar, lines or none" },
  file = { kind = "value", arg = "FILE", short = "f",
    help = "the body as JSON (- for standard input); default: standard input" },
  output = { kind = "value", arg = "FILE", short = "o",
    help = "write to FILE (complete or not at all); default: stdout" },
  ["max-bytes"] = { kind = "value", arg = "N", help = "refuse files larger than N bytes (default 256 MiB)" },
  all = { kind = "flag", help = "every run, page after page" },
  ["page-size"] = { kind = "value", arg = "N", help = "runs per page (default: the API's)" },
  page = { kind = "value", arg = "N", help = "which page, from 0 (default 0)" },
  sort = { kind = "value", arg = "SPEC", help = "FIELD,asc|desc pairs joined by /, e.g. start_time,desc" },
  param = { kind = "list", arg = "NAME=VALUE",
    help = "a parameter (a string; NAME:=JSON for a number, object, ...); repeatable" },
  params = { kind = "value", arg = "FILE", help = "the parameters as a JSON object (- for standard input)" },
}

local SHORT = {}
for name, o in pairs(M.OPTIONS) do
  if o.short then
    SHORT[o.short] = name
  end
end

-- The old commands, kept: `intuned run get|wait|results ...`.
M.ALIASES = { run = { group = "job-runs", verbs = { get = true, wait = true, results = true } } }

-- Whether a word of argv is an option: "--name...", or "-x..." where x is
-- a short option's letter. Anything else is a word, so an id that starts
-- with "-" needs no "--" before it (unless it starts like a short option).
local function is_option(a)
  if a:sub(1, 2) == "--" then
    return #a > 2
  end
  return a:sub(1, 1) == "-" and SHORT[a:sub(2, 2)] ~= nil
end

-- Words of argv (not options nor their values), in order.
local function words_of(argv, n)
  local words = {}
  local i = 1
  while i <= n do
    local a = argv[i]
    if a == "--" then
      for k = i + 1, n do
        words[#words + 1] = argv[k]
      end
      break
    elseif not is_option(a) then
      words[#words + 1] = a
    elseif a:sub(1, 2) == "--" then
      local o = M.OPTIONS[a:sub(3)]
      if o and o.kind ~= "flag" then
        i = i + 1 -- --name VALUE: the value is no word
      end
    else
      local o = M.OPTIONS[SHORT[a:sub(2, 2)]]
      if o.kind ~= "flag" and #a == 2 then
        i = i + 1
      end
    end
    i = i + 1
  end
  return words
end

-- Which command argv names. `commands` maps "group verb" to a command.
-- Returns { group, verb, command, alias, words } (command nil when the
-- words name none).
function M.locate(argv, commands, groups)
  local n = argv.n or #argv
  local words = words_of(argv, n)
  local group, verb = words[1], words[2]
  local found = { words = words, group = group, verb = verb }
  local alias = group and M.ALIASES[group]
  if alias then
    found.alias = group
    if verb and alias.verbs[verb] then
      found.command = commands[alias.group .. " " .. verb]
    end
  elseif group and groups[group] and verb then
    found.command = commands[group .. " " .. verb]
  end
  return found
end

-- The options of argv for `command` (nil: only the global ones). Returns
-- the positional words and the options, or nil, message, and whether the
-- fault is in a global option. `typed`: the command as the user named it.
function M.parse(argv, command, typed)
  local allowed = {}
  for _, name in ipairs(command and command.options or {}) do
    allowed[name] = true
  end
  local n = argv.n or #argv
  local words, opts = {}, {}
  local i = 1
  local only_words = false
  while i <= n do
    local a = argv[i]
    if only_words or (a ~= "--" and not is_option(a)) then
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
      local o = name and M.OPTIONS[name]
      if not (o and (o.global or allowed[name])) then
        local where = command and (" for '" .. (typed or command.key) .. "'") or ""
        return nil, "unknown option '" .. a .. "'" .. where, not command
      end
      if o.kind == "flag" then
        if value ~= nil then
          return nil, "option '--" .. name .. "' takes no value", o.global
        end
        opts[name] = true
      else
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then
            return nil, "option '" .. a .. "' needs a value", o.global
          end
        end
        if o.kind == "list" then
          opts[name] = opts[name] or {}
          table.insert(opts[name], value)
        else
          opts[name] = value
        end
      end
    end
    i = i + 1
  end
  return words, opts
end

return M
