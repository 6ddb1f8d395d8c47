-- The specs' side of the differences between Lua 5.1, 5.2, 5.3, 5.4 and
-- LuaJIT (the library's are in lua/intuned/compat.lua, which this extends):
--   os.execute   a status number on 5.1/LuaJIT, true|nil, "exit", code on 5.2+.
--   io.popen     pipe:close() gives the exit status on 5.2+ only; on 5.1 and
--                LuaJIT the status is read from a marker line instead.
--   searchpath   package.searchpath is missing on 5.1 (LuaJIT has it).

local M = {}
for k, v in pairs(require("intuned.compat")) do
  M[k] = v
end

M.LUA = jit and jit.version or _VERSION

function M.pack(...)
  return { n = select("#", ...), ... }
end

-- os.execute(command) -> ok, exit code on every Lua.
function M.execute(command)
  local a, _, code = os.execute(command)
  if type(a) == "number" then
    -- 5.1 gives the wait status: the exit code sits in the high byte.
    local exit = a >= 256 and math.floor(a / 256) or a
    return exit == 0, exit
  end
  code = code or (a and 0 or 1)
  return a == true, code
end

local MARKER = "\n__intuned_exit__="
local MARKER_PRINTF = "printf '\\n__intuned_exit__=%d\\n' $?"

-- Runs a shell command and returns ok, its stdout (stderr too when
-- `with_stderr`), exit code. The exit code is echoed after the output so
-- that 5.1's pipe:close(), which loses it, does not matter.
function M.run(command, with_stderr)
  local redirect = with_stderr and " 2>&1" or ""
  local pipe = assert(io.popen("( " .. command .. "\n)" .. redirect .. "; " .. MARKER_PRINTF, "r"))
  local out = pipe:read("*a")
  pipe:close()
  local body, code = out:match("^(.*)" .. MARKER .. "(%d+)\n$")
  if not body then
    return false, out, -1
  end
  code = tonumber(code)
  return code == 0, body, code
end

-- package.searchpath for 5.1, same contract: the file name or nil, message.
local function searchpath(name, path, sep, rep)
  sep, rep = sep or ".", rep or "/"
  if sep ~= "" then
    name = name:gsub("%" .. sep, rep)
  end
  local tried = {}
  for template in path:gmatch("[^;]+") do
    local file = template:gsub("%?", name)
    local handle = io.open(file, "rb")
    if handle then
      handle:close()
      return file
    end
    tried[#tried + 1] = "\n\tno file '" .. file .. "'"
  end
  return nil, table.concat(tried)
end

M.searchpath = package.searchpath or searchpath

return M
