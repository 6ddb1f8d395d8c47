-- Runs the `intuned` command line as a child process against the emulator,
-- for the specs of the tool.
local fx = require("support.fixtures")

local M = {}

function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The environment that points the tool at the emulator (and at this tree);
-- an override of false leaves the variable out.
function M.env(overrides)
  local srv = fx.server()
  local vars = {
    INTUNED_WORKSPACE_ID = srv.workspace_id,
    INTUNED_API_KEY = srv.api_key,
    INTUNED_BASE_URL = srv.base_url,
  }
  for k, v in pairs(overrides or {}) do vars[k] = v end
  local parts = {}
  for k, v in pairs(vars) do
    if v ~= false then parts[#parts + 1] = k .. "=" .. M.quote(v) end
  end
  return table.concat(parts, " ")
end

-- Runs `intuned args`; returns stdout, stderr, exit status.
function M.run(args, overrides)
  local err_file = os.tmpname()
  local cmd = ("%s %s bin/intuned %s 2>%s"):format(M.env(overrides), fx.lua(), args, err_file)
  local p = io.popen(cmd .. "; echo \"<exit $?>\"")
  local out = p:read("*a")
  p:close()
  local f = io.open(err_file)
  local err = f:read("*a")
  f:close()
  os.remove(err_file)
  local code = tonumber(out:match("<exit (%d+)>\n?$"))
  return out:gsub("<exit %d+>\n?$", ""), err, code
end

-- Runs a shell command; returns whether it exited 0, and its output.
function M.sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local ok, _, code = p:close()
  if type(ok) == "number" then code = ok end
  return ok == true or code == 0, out
end

function M.tmpdir()
  local _, dir = M.sh("mktemp -d")
  return (dir:gsub("%s+$", ""))
end

return M
