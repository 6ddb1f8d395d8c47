-- A deterministic text form of a decoded value (sorted keys, numbers with
-- 17 significant digits, JSON null as `null`), so a result decoded inside
-- nginx and one decoded in plain Lua can be compared as strings.
local null = require("intuned.core").null

local function dump(v, out)
  local t = type(v)
  if v == null then
    out[#out + 1] = "null"
  elseif t == "table" then
    local keys = {}
    for k in pairs(v) do
      keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b)
      if type(a) == type(b) then
        return a < b
      end
      return type(a) == "number"
    end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      out[#out + 1] = type(k) == "number" and ("[%.17g]="):format(k) or ("%q="):format(k)
      dump(v[k], out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif t == "number" then
    out[#out + 1] = ("%.17g"):format(v)
  elseif t == "string" then
    out[#out + 1] = ("%q"):format(v)
  else
    out[#out + 1] = tostring(v)
  end
  return out
end

return function(v)
  return table.concat(dump(v, {}))
end
