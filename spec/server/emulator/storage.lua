-- Results files behind signed URLs (/storage/<name>), and the JobRunResults
-- object that points at them.
--
-- No API key needed (the request log and X-Saw-Api-Key tell whether one was
-- sent anyway). Names starting with "expired-" are refused as an expired
-- signature; "flaky-N-..." fails N times with 503 first; "big-N-..." is a
-- JSON array of about N bytes, sent chunked (no Content-Length, so a size
-- cap trips mid-stream); emulator/hostile.lua answers "stray-", "wait-" and
-- "slow-" names. Any other name is the same three rows.
local http = require("emulator.http")
local json = require("emulator.json")

local M = {}

local ROWS = {
  { input = { url = "https://example.com/products/1" },
    output = { title = "Product 1", price = 10.5 } },
  { input = { url = "https://example.com/products/2" },
    output = { title = "Product 2", price = 20 } },
  { input = { url = "https://example.com/products/3" }, output = json.null,
    error = { message = "Page not found" } },
}

local ACCESS_DENIED = table.concat({
  '<?xml version="1.0" encoding="UTF-8"?>',
  "<Error><Code>AccessDenied</Code>",
  "<Message>Request has expired</Message>",
  "<X-Amz-Expires>3600</X-Amz-Expires>",
  "<RequestId>4442587FB7D0A2F9</RequestId>",
  "<HostId>emulator</HostId></Error>",
  "",
}, "\n")

--- Size in bytes of an ordinary results file.
M.SIZE = #json.encode(ROWS)

--- JobRunResults for the file `name` (already a URL path segment), stored
-- under `key`, of `size` bytes.
function M.results(name, key, size)
  return {
    signed_url = http.origin() .. "/storage/" .. name
      .. "?X-Amz-Expires=3600&X-Amz-Signature=0123456789abcdef",
    signed_url_expiration = http.iso(ngx.time() + 3600),
    size = size,
    key = key,
    format = "json",
  }
end

function M.handle(path)
  if ngx.req.get_method() ~= "GET" and ngx.req.get_method() ~= "HEAD" then
    return http.send_error(405, nil, "Results files are only read", { Allow = "GET, HEAD" })
  end
  local name = http.percent_decode(path:sub(#"/storage/" + 1))
  local headers = { ["X-Saw-Api-Key"] = ngx.var.http_x_api_key and "yes" or "no" }
  if require("emulator.hostile").storage(name, headers, ROWS) then
    return
  end
  if name:find("^expired%-") then
    return http.send_raw(403, ACCESS_DENIED, "application/xml", headers)
  end
  local failures = name:match("^flaky%-(%d+)%-")
  if failures and ngx.shared.emulator:incr("s:" .. name, 1, 0) <= tonumber(failures) then
    return http.send_raw(503, "Service Unavailable\n", "text/plain", headers)
  end
  local size = name:match("^big%-(%d+)%-")
  if size then
    return http.stream_padded('["', math.max(0, tonumber(size) - 4), "x", '"]', headers)
  end
  return http.send_json(200, ROWS, headers)
end

return M
