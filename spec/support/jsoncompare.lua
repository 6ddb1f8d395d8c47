-- Deep comparison of decoded JSON values, shared by the conformance and the
-- differential specs. Numbers compare by value: lua-cjson 2.1.0 returns
-- floats for every number on Lua 5.3+, while core.decode keeps integers, and
-- beyond 2^53 cjson's double is the rounded value of our exact integer.
local M = {}

local function number_equal(a, b)
  if a == b then return true end
  -- An integer that a double cannot hold exactly rounds like strtod does.
  return (a + 0.0) == (b + 0.0) or (a ~= a and b ~= b)
end

-- Returns nil when a and b are equal, else a path and a reason.
function M.diff(a, b, path)
  path = path or "$"
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    return path, ("type %s vs %s"):format(ta, tb)
  end
  if ta == "number" then
    if not number_equal(a, b) then
      return path, ("%.17g vs %.17g"):format(a, b)
    end
  elseif ta == "table" then
    for k, v in pairs(a) do
      local p, why = M.diff(v, b[k], path .. "." .. tostring(k))
      if p then return p, why end
    end
    for k in pairs(b) do
      if a[k] == nil then
        return path .. "." .. tostring(k), "missing on the left"
      end
    end
  elseif a ~= b then
    return path, ("%q vs %q"):format(tostring(a), tostring(b))
  end
  return nil
end

-- A readable, bounded rendering of a document for failure messages.
function M.show(s, limit)
  limit = limit or 300
  local shown = s:sub(1, limit):gsub("[%c\128-\255]", function(c)
    return ("\\x%02X"):format(c:byte())
  end)
  if #s > limit then
    shown = shown .. ("... (%d bytes)"):format(#s)
  end
  return shown
end

return M
