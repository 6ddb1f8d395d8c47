-- Control routes for the specs, under /__emulator/ (never logged, never
-- faulted, no API key):
--   GET|any /__emulator/ping   readiness probe: answers the prefix folder
--   POST /__emulator/reset     JSON options (or no body): emulator/seed.lua
--   POST /__emulator/faults    arms a fault (emulator/faults.lua): 201 it
--   GET /__emulator/faults     the armed faults, with what is left of each
--   DELETE /__emulator/faults  disarms them all: { cleared = n }
local config = require("emulator.config")
local faults = require("emulator.faults")
local http = require("emulator.http")
local seed = require("emulator.seed")

local M = {}

-- The JSON body as a table ({} when there is none), or nil after answering 400.
local function body_object()
  local value, problem = http.json_object(http.read_body(), true)
  if not value then
    http.send_error(400, problem)
  end
  return value
end

local function reset()
  local options = body_object()
  local summary, problem = seed.reset(options)
  if not summary then
    return http.send_error(400, problem)
  end
  return http.send_json(200, summary)
end

local function fault_routes(method)
  if method == "GET" then
    return http.send_json(200, faults.list())
  elseif method == "DELETE" then
    return http.send_json(200, { cleared = faults.clear() })
  end
  local fault, problem = faults.add(body_object())
  if not fault then
    return http.send_error(400, problem)
  end
  return http.send_json(201, fault)
end

local ROUTES = {
  ["/__emulator/ping"] = { any = function()
    -- The prefix proves the answer comes from this instance, not from
    -- whatever else holds the port.
    return http.send_raw(200, config.prefix, "text/plain")
  end },
  ["/__emulator/reset"] = { POST = reset },
  ["/__emulator/faults"] = { GET = fault_routes, POST = fault_routes, DELETE = fault_routes },
}

--- Answers a control path (and ends the request); false for other paths.
function M.handle(path)
  if path:sub(1, #"/__emulator/") ~= "/__emulator/" then
    return false
  end
  local route = ROUTES[path]
  local method = ngx.req.get_method()
  if not route then
    return http.send_error(404, { path = path })
  end
  local handler = route.any or route[method]
  if not handler then
    return http.send_error(405, { path = path })
  end
  return handler(method)
end

return M
