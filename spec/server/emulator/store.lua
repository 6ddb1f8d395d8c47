-- The contract's state (projects, jobs, job runs, Run API runs, auth
-- sessions and their operations, pending faults, timing options), kept as
-- JSON values in the lua_shared_dict `emulator_state`, so it outlives a
-- request and a reset can drop all of it at once. nginx runs one worker and
-- no handler yields between reading and writing a value, so a
-- read-modify-write needs no lock.
local json = require("emulator.json")

local M = {}

local function dict()
  return ngx.shared.emulator_state
end

--- Key from parts, each escaped so that no two part lists share a key.
function M.key(...)
  local parts = { ... }
  for i, part in ipairs(parts) do
    parts[i] = ngx.escape_uri(tostring(part))
  end
  return table.concat(parts, ":")
end

function M.get(key)
  local text = dict():get(key)
  return text and assert(json.decode(text)) or nil
end

function M.set(key, value)
  local ok, err = dict():set(key, json.encode(value))
  if not ok then
    error("emulator state: cannot store " .. key .. ": " .. tostring(err))
  end
  return value
end

function M.delete(key)
  dict():delete(key)
end

function M.flush()
  dict():flush_all()
  dict():flush_expired()
end

---------------------------------------------------------------------------
-- Id lists (creation order)
---------------------------------------------------------------------------

function M.list(key)
  return M.get(key) or json.array()
end

function M.push(key, id)
  local ids = M.list(key)
  ids[#ids + 1] = id
  M.set(key, ids)
end

function M.remove(key, id)
  local ids = M.list(key)
  for i = #ids, 1, -1 do
    if ids[i] == id then
      table.remove(ids, i)
    end
  end
  M.set(key, ids)
end

---------------------------------------------------------------------------
-- Timing options and projects
---------------------------------------------------------------------------

M.DEFAULTS = {
  job_run_ms = 3000,   -- how long a triggered job run takes
  run_ms = 1000,       -- how long a Run API run takes
  operation_ms = 1000, -- how long an auth-session operation takes
  paused_factor = 0.1, -- job runs of a paused job go this much as fast
  page_size = 10,      -- Get Job Runs without pageSize
}

function M.options()
  local stored = M.get("options") or {}
  local out = {}
  for name, default in pairs(M.DEFAULTS) do
    out[name] = stored[name] == nil and default or stored[name]
  end
  return out
end

function M.set_options(options)
  M.set("options", options)
end

function M.project(name)
  return M.get(M.key("project", name))
end

function M.add_project(name, id)
  M.push("projects", name)
  return M.set(M.key("project", name), { name = name, id = id })
end

function M.projects()
  return M.list("projects")
end

return M
