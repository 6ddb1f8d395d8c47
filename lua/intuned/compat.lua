-- Every difference between Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT that the Lua
-- side of the project cares about lives here (the C side has src/compat.h).
--
-- What differs, and what this module makes of it:
--   numbers      5.3/5.4 have an integer subtype (math.type); 5.1, 5.2 and
--                LuaJIT only have doubles, so every number is a "float".
--   unpack       a global on 5.1/LuaJIT, table.unpack on 5.2+.
--   os.execute   a status number on 5.1/LuaJIT, true|nil, "exit", code on 5.2+.
--   io.popen     pipe:close() gives the exit status on 5.2+ only; on 5.1 and
--                LuaJIT the status is read from a marker line instead.
--   searchpath   package.searchpath is missing on 5.1 (LuaJIT has it).
--   <close>      5.4 only; clients keep __close and an explicit close().

local M = {}

M.LUA = jit and jit.version or _VERSION

M.HAS_INTEGERS = math.type ~= nil

-- "integer" or "float" for numbers, nil for anything else, on every Lua.
function M.number_type(v)
  if type(v) ~= "number" then
    return nil
  end
  if math.type then
    return math.type(v)
  end
  return "float"
end

M.unpack = table.unpack or unpack -- luacheck: ignore 143 (5.1 global)

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

-- True in the Lua VM of an nginx worker (the Lua module's main VM, where
-- requests, timers and phases exist). The VMs of nginx's worker-thread pool
-- also have an `ngx` table, but without get_phase: they count as plain Lua.
function M.in_nginx()
  return type(ngx) == "table" and type(ngx.get_phase) == "function" -- luacheck: ignore 113
end

return M
