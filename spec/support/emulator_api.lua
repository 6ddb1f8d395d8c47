-- Calls to the emulator's API for the specs of the emulator itself, over
-- support.http (never the client under test).
--
--   local api = require("support.emulator_api").new(srv)
--   local res = api:call("POST", "/jobs", { body = { id = "..." } })
--   res.status, res.json (decoded, or nil), res.body, res.headers, res.err
--   api:call("GET", "/jobs", { key = false })           -- no x-api-key
--   api:call("GET", "/jobs", { project = "other", workspace = "not-a-uuid" })
--   api:call("PUT", "/jobs/x", { body = '{"payload":[]}' }) -- raw JSON text
-- Paths are below /api/v1/workspace/{ws}/projects/{project}; opts.url
-- replaces the whole URL. api.on_answer, when set, sees every answer.
local cjson = require("cjson")
local http = require("support.http")

local M = {}

local Api = {}
Api.__index = Api

function M.new(srv)
  return setmetatable({ srv = srv }, Api)
end

--- One request; see the header for opts (also: headers, timeout).
function Api:call(method, path, opts)
  opts = opts or {}
  local headers = {}
  for name, value in pairs(opts.headers or {}) do
    headers[name] = value
  end
  local key = opts.key
  if key == nil then
    key = self.srv.api_key
  end
  if key then
    headers["x-api-key"] = key
  end
  local body = opts.body
  if type(body) == "table" then
    body = cjson.encode(body)
  end
  local url = opts.url or self.srv:project_url(path, { project = opts.project, workspace = opts.workspace })
  local res, err = http.request(method, url, { headers = headers, body = body, timeout = opts.timeout or 10 })
  res = res or { body = "" }
  res.err = err
  res.headers = res.headers or {}
  local ok, value = pcall(cjson.decode, res.body)
  res.json = ok and value or nil
  if self.on_answer then
    self.on_answer(method, path, res)
  end
  return res
end

--- The decoded answer; fails the spec unless the status is `status`.
function Api:expect(status, method, path, opts)
  local res = self:call(method, path, opts)
  assert(res.status == status, ("%s %s: expected %d, got %s %s %s"):format(method, path, status,
    tostring(res.status), tostring(res.err or ""), res.body))
  return res.json, res
end

--- Polls `fn` (returns a value or nil) until it gives a value or
-- `seconds` pass; the value, or nil.
function M.eventually(fn, seconds)
  local socket = require("socket")
  local deadline = socket.gettime() + seconds
  while true do
    local value = fn()
    if value ~= nil or socket.gettime() > deadline then
      return value
    end
    socket.sleep(0.05)
  end
end

return M
