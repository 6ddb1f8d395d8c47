-- Every difference between Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT that the
-- library cares about lives here (the C side has src/compat.h; the specs'
-- own, about running commands, are in spec/support/compat.lua).
--
-- What differs, and what this module makes of it:
--   numbers      5.3/5.4 have an integer subtype (math.type); 5.1, 5.2 and
--                LuaJIT only have doubles, so every number is a "float".
--   unpack       a global on 5.1/LuaJIT, table.unpack on 5.2+.
--   nginx        the worker's VM has ngx.get_phase; other Lua states do not.
--   <close>      5.4 only; clients keep __close and an explicit close().

local M = {}

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

-- True in the Lua VM of an nginx worker (the Lua module's main VM, where
-- requests, timers and phases exist). The VMs of nginx's worker-thread pool
-- also have an `ngx` table, but without get_phase: they count as plain Lua.
function M.in_nginx()
  return type(ngx) == "table" and type(ngx.get_phase) == "function" -- luacheck: ignore 113
end

return M
