-- The request log: <prefix>/requests.log, one JSON line per request, written
-- before the answer so a test that got a response can read it right away.
-- Control routes (/__emulator/...) are not logged.
local cjson = require("cjson")
local config = require("emulator.config")

local M = {}

local function append(entry)
  local file = io.open(config.prefix .. "requests.log", "a")
  if file then
    file:write(cjson.encode(entry), "\n")
    file:close()
  end
end

--- Logs the current request. `extra` adds fields: body (the raw request
-- body of a POST/PUT/...), operation (the contract's operationId of the
-- route), fault (the fault this request got).
function M.request(extra)
  local entry = {
    time = ngx.now(),
    method = ngx.req.get_method(),
    uri = ngx.var.request_uri,
    port = tonumber(ngx.var.server_port),
    scheme = ngx.var.scheme,
    http_version = ngx.req.http_version(),
    connection = tonumber(ngx.var.connection),
    headers = ngx.req.get_headers(0),
  }
  -- HTTP/2 requests have no raw header block to give.
  local ok, raw = pcall(ngx.req.raw_header)
  entry.raw_header = ok and raw or nil
  for name, value in pairs(extra or {}) do
    entry[name] = value
  end
  append(entry)
end

--- Something the emulator did on its own, for tests to wait for: a log
-- entry whose uri is /__event/<name>.
function M.event(name)
  append({ time = ngx.now(), method = "EVENT", uri = "/__event/" .. name })
end

return M
