-- Small file and shell helpers shared by the spec support code and the
-- benchmark's server (every Lua version: nothing 5.2+ only).
local M = {}

-- One shell word, whatever the string holds.
function M.quote(s)
  return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'"
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local data = f:read("*a")
  f:close()
  return data
end

function M.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then
    f:close()
    return true
  end
  return false
end

-- The programs the support code starts are never under test: under
-- `make test-asan` they must not inherit the sanitizer runtime (LD_PRELOAD;
-- pgrep, for one, hangs with it). Base library only, so these work while
-- the interpreter closes.
local UNPRELOAD = "unset LD_PRELOAD; "

-- True when the command exited 0 (os.execute returns a status number on
-- 5.1/LuaJIT, true/nil on 5.2+).
function M.execute(command)
  local result = os.execute(UNPRELOAD .. command)
  if type(result) == "number" then
    return result == 0
  end
  return result == true
end

-- The command's standard output.
function M.capture(command)
  local pipe = assert(io.popen(UNPRELOAD .. command, "r"))
  local output = pipe:read("*a")
  pipe:close()
  return output
end

-- A fresh temporary file name, nothing created there yet.
function M.tmpname()
  local name = os.tmpname()
  os.remove(name)
  return name
end

-- The pid of this Lua process (/proc/self is the reader itself), or nil.
function M.own_pid()
  local stat = M.read("/proc/self/stat")
  return stat and stat:match("^(%d+)")
end

return M
