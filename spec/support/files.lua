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

-- The pid of this Lua process (/proc/self is the reader itself), or nil.
function M.own_pid()
  local stat = M.read("/proc/self/stat")
  return stat and stat:match("^(%d+)")
end

return M
