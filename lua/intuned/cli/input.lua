-- Request bodies from the command line: a JSON file (--file FILE, "-" for
-- standard input, or standard input itself when it is not a terminal), and
-- the Run API's parameters from --params FILE and --param NAME=VALUE.
-- Each function returns the value, or nil, a message and the exit status
-- (2 for a body that is not what it should be, 3 when a file cannot be
-- read).

local core = require("intuned.core")
local output = require("intuned.cli.output")

local M = {}

local USAGE, FILE_ERROR = 2, 3

local function read(path, stdin)
  if path == "-" then
    local text = stdin:read("*a")
    if text == nil then
      return nil, "cannot read standard input", FILE_ERROR
    end
    return text, "standard input"
  end
  local f, why = io.open(path, "rb")
  if not f then
    return nil, ("cannot read %s"):format(why or path), FILE_ERROR
  end
  local text, rerr = f:read("*a")
  f:close()
  if text == nil then
    return nil, ("cannot read %s: %s"):format(path, tostring(rerr)), FILE_ERROR
  end
  return text, path
end

-- A JSON object from `path` ("-": standard input); `what` names it in
-- messages ("the job").
function M.json_object(path, what, stdin)
  local text, name, code = read(path, stdin)
  if not text then
    return nil, name, code
  end
  if text:find("^%s*$") then
    return nil, ("%s is empty: %s must be a JSON object"):format(name, what), USAGE
  end
  local value, why = core.decode(text, { keep_nulls = true })
  if value == nil then
    return nil, ("%s is not JSON: %s"):format(name, tostring(why)), USAGE
  end
  if type(value) ~= "table" or getmetatable(value) ~= nil then
    return nil, ("%s: %s must be a JSON object"):format(name, what), USAGE
  end
  return value
end

-- The body of a command: --file, else standard input when it is not a
-- terminal. `required` false: no body at all when neither is given.
function M.body(opts, what, required, stdin)
  local path = opts.file
  if path == "" then
    return nil, "option '--file' needs a file name", USAGE
  end
  if not path then
    if not required then
      return nil
    end
    if output.is_tty(0) then
      return nil, ("give %s as JSON with --file FILE or on standard input"):format(what), USAGE
    end
    path = "-"
  end
  local value, why, code = M.json_object(path, what, stdin)
  if value == nil then
    return nil, why, code
  end
  return value
end

-- --param NAME=VALUE (a string) and NAME:=JSON (any JSON value), over what
-- --params FILE gives; -> the parameters object.
function M.parameters(opts, stdin)
  local params = {}
  if opts.params then
    local value, why, code = M.json_object(opts.params, "the parameters", stdin)
    if value == nil then
      return nil, why, code
    end
    params = value
  end
  for _, item in ipairs(opts.param or {}) do
    local name, raw = item:match("^([^=:]+):=(.*)$")
    if name then
      local value, why = core.decode(raw, { keep_nulls = true })
      if value == nil then
        return nil, ("--param %s: %s is not JSON (%s); use %s=TEXT for a string")
          :format(item, raw, tostring(why), name), USAGE
      end
      params[name] = value
    else
      name, raw = item:match("^([^=]+)=(.*)$")
      if not name then
        return nil, ("--param %s: expected NAME=VALUE or NAME:=JSON"):format(item), USAGE
      end
      params[name] = raw
    end
  end
  return params
end

return M
