-- HTTP plumbing shared by every route: path and id helpers, the response
-- senders, the documented error bodies and the streaming helper.
--
-- Every response goes out through M.send_headers(), which first runs the
-- request's ngx.ctx.before_send hook, if any: that is where faults that act
-- after the request was handled (stall, reset-after, status-NNN with after)
-- take over, whatever route produced the answer.
local config = require("emulator.config")
local json = require("emulator.json")

local M = {}

---------------------------------------------------------------------------
-- Small utilities
---------------------------------------------------------------------------

-- Random v4-shaped id: correlation ids only need to look real and differ.
function M.uuid()
  local r = math.random
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    r(0, 0xffff), r(0, 0xffff), r(0, 0xffff), r(0, 0xfff),
    r(0x8000, 0xbfff), r(0, 0xffff), r(0, 0xffff), r(0, 0xffff))
end

local ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

--- Random id of `n` characters from `alphabet` (default: nanoid's).
function M.random_id(n, alphabet)
  alphabet = alphabet or ID_CHARS
  local out = {}
  for i = 1, n do
    local k = math.random(1, #alphabet)
    out[i] = alphabet:sub(k, k)
  end
  return table.concat(out)
end

function M.is_uuid(s)
  return s:find("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil
end

-- Own decoder: ngx.unescape_uri turns "+" into a space, which is wrong for
-- path segments. Invalid escapes are kept as they are.
function M.percent_decode(s)
  return (s:gsub("%%(%x%x)", function(hex)
    return string.char(tonumber(hex, 16))
  end))
end

function M.iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- Split "/a/b/" into { "", "a", "b", "" }: empty segments are kept so that
-- "//" or a trailing "/" changes the shape of the path.
function M.split_path(path)
  local segments = {}
  for segment in (path .. "/"):gmatch("([^/]*)/") do
    segments[#segments + 1] = segment
  end
  return segments
end

function M.origin()
  return ngx.var.scheme .. "://127.0.0.1:" .. ngx.var.server_port
end

--- True when the request carries the expected x-api-key.
function M.authorized()
  local key = ngx.req.get_headers()["x-api-key"]
  return type(key) == "string" and key == config.api_key
end

--- The request body (nil when there is none), read into memory.
function M.read_body()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then
    return data
  end
  local name = ngx.req.get_body_file()
  local file = name and io.open(name, "rb")
  if file then
    data = file:read("*a")
    file:close()
  end
  return data
end

--- The JSON object a request body holds: the table, or nil and the details
-- of a 400 answer. With `optional`, no body at all is {}.
function M.json_object(text, optional)
  if not text or text:find("^%s*$") then
    if optional then
      return {}
    end
    return nil, { field = "body", reason = "a JSON body is required" }
  end
  local value, err = json.decode(text)
  if value == nil then
    return nil, { field = "body", reason = err }
  end
  if type(value) ~= "table" or json.is_array(value) then
    return nil, { field = "body", reason = "must be a JSON object" }
  end
  return value
end

---------------------------------------------------------------------------
-- Responses
---------------------------------------------------------------------------

-- Every response says which connection carried it, so tests can prove reuse.
function M.common_headers()
  ngx.header["X-Connection"] = ngx.var.connection
  ngx.header["X-Connection-Requests"] = ngx.var.connection_requests
  ngx.header["X-Request-Uri"] = ngx.var.request_uri
end

function M.set_headers(headers)
  for name, value in pairs(headers or {}) do
    ngx.header[name] = value
  end
end

--- Sends the status line and headers set so far, after the request's
-- before_send hook (which may sleep, answer instead, or drop the connection).
function M.send_headers()
  local hook = ngx.ctx.before_send
  if hook then
    ngx.ctx.before_send = nil
    hook()
  end
  return ngx.send_headers()
end

function M.send_raw(status, body, content_type, headers)
  ngx.status = status
  -- Also clears the type of an answer a fault replaces (nil: nginx's default).
  ngx.header["Content-Type"] = content_type
  M.set_headers(headers)
  ngx.header["Content-Length"] = #body
  M.send_headers()
  if #body > 0 then
    ngx.print(body)
  end
  return ngx.exit(ngx.HTTP_OK)
end

function M.send_json(status, value, headers)
  return M.send_raw(status, json.encode(value), "application/json", headers)
end

function M.send_empty(status, headers)
  return M.send_raw(status, "", nil, headers)
end

-- Streams head, then `pad` copies of `char`, then tail, chunked, with
-- back-pressure (flush(true)) so memory stays flat and an aborting client
-- stops the loop.
function M.stream_padded(head, pad, char, tail, headers)
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json"
  M.set_headers(headers)
  M.send_headers()
  ngx.print(head)
  local block = string.rep(char, 65536)
  local left = pad
  while left > 0 do
    local n = math.min(left, #block)
    ngx.print(n == #block and block or block:sub(1, n))
    if not ngx.flush(true) then
      return ngx.exit(ngx.ERROR)
    end
    left = left - n
  end
  ngx.print(tail)
  return ngx.exit(ngx.HTTP_OK)
end

---------------------------------------------------------------------------
-- Error bodies
---------------------------------------------------------------------------

M.ERROR_CODES = {
  [400] = "bad-request", [401] = "unauthorized", [403] = "forbidden",
  [404] = "not-found", [405] = "method-not-allowed", [408] = "request-timeout", [409] = "conflict",
  [429] = "too-many-requests", [500] = "internal-server-error",
  [502] = "bad-gateway", [503] = "service-unavailable", [504] = "gateway-timeout",
}

local DOCUMENTED = {
  [400] = "The request is invalid or malformed",
  [401] = "Invalid or missing API key",
  [404] = "The requested resource was not found",
  [405] = "The method is not allowed on this path",
}

--- Status and documented error body (the contract's 400/401/404 shape:
-- retirable false, camelCase correlationId). `details` is optional; the
-- 401 body has none.
function M.error(status, details, message)
  return status, {
    code = M.ERROR_CODES[status],
    category = "user",
    message = message or DOCUMENTED[status],
    retirable = false,
    details = status ~= 401 and details or nil,
    correlationId = M.uuid(),
  }
end

function M.send_error(status, details, message, headers)
  local _, body = M.error(status, details, message)
  return M.send_json(status, body, headers)
end

--- Error body as other statuses come: a retry hint only when `flag` is not
-- nil, in the contract's spelling ("retirable", "correlationId") or the other
-- one the service uses ("retriable", "correlation_id").
function M.status_error(status, flag, spelling, message)
  spelling = spelling or "retirable"
  local body = {
    code = M.ERROR_CODES[status] or ("error-" .. status),
    category = status >= 500 and "infrastructure" or "user",
    message = message or ("Request failed with status " .. status),
  }
  body[spelling] = flag
  body[spelling == "retirable" and "correlationId" or "correlation_id"] = M.uuid()
  return body
end

return M
