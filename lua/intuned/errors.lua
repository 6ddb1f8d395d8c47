-- Error objects: what every run-time failure of the client returns as `err`.
-- One table per failure with a metatable, so `tostring(err)` is one line and
-- `intuned.is_error(err)` can tell them apart from other values.

local M = {}

local Error = {}
Error.__index = Error
Error.__name = "intuned.error"

-- Statuses retried when the body does not say otherwise: for idempotent
-- requests, and for those that may not be sent twice (a POST: only what
-- says it was not processed).
local RETRY_STATUS = {
  [408] = true, [429] = true, [500] = true, [502] = true, [503] = true, [504] = true,
}
local RETRY_STATUS_ONCE = { [429] = true, [503] = true }

-- Transport failures where no complete response arrived are retried;
-- TLS failures, oversized and undecodable responses are not.
local RETRY_KIND = { network = true, timeout = true }

local REASON = {
  [301] = "Moved Permanently", [302] = "Found", [303] = "See Other",
  [307] = "Temporary Redirect", [308] = "Permanent Redirect",
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout",
  [409] = "Conflict", [410] = "Gone", [413] = "Payload Too Large",
  [422] = "Unprocessable Entity", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local function one_line(s)
  return (tostring(s):gsub("[%c]+", " "))
end

function Error:__tostring()
  local parts = { "intuned: ", self.kind, " error" }
  if self.status then
    parts[#parts + 1] = " (HTTP " .. self.status .. ")"
  end
  if self.code then
    parts[#parts + 1] = " " .. one_line(self.code)
    if self.category then
      parts[#parts + 1] = "/" .. one_line(self.category)
    end
  end
  parts[#parts + 1] = ": " .. one_line(self.message or "no message")
  local extra = {}
  if self.correlation_id then
    extra[#extra + 1] = "correlation_id=" .. one_line(self.correlation_id)
  end
  if self.attempts then
    extra[#extra + 1] = "attempts=" .. self.attempts
  end
  if #extra > 0 then
    parts[#parts + 1] = " [" .. table.concat(extra, ", ") .. "]"
  end
  return table.concat(parts)
end

function M.new(fields)
  if fields.retirable == nil then
    fields.retirable = false
  end
  return setmetatable(fields, Error)
end

function M.is_error(v)
  return getmetatable(v) == Error
end

-- A failure where no usable HTTP response arrived. `sent` is false when
-- the request certainly never reached the server (no connection was made,
-- or it was refused before sending). A request that may not be sent twice
-- (not idempotent: a POST) is retried only then.
function M.transport(kind, message, curl_code, sent, idempotent)
  local retirable = RETRY_KIND[kind] or false
  if idempotent == false and sent ~= false then
    retirable = false
  end
  return M.new {
    kind = kind,
    message = message,
    retirable = retirable,
    curl_code = curl_code,
    sent = sent,
  }
end

local function field(body, a, b)
  local v = body[a]
  if v == nil and b then
    v = body[b]
  end
  return v
end

local function as_string(v)
  if type(v) == "string" then
    return v
  end
  return nil
end

-- An HTTP response that is not a success: documented error bodies and
-- whatever a gateway may send instead (HTML, empty, plain text).
-- `idempotent` false: the request may not be sent twice (a POST).
function M.from_response(status, body, meta, idempotent)
  local err = { kind = "api", status = status }
  local flag
  if type(body) == "table" then
    err.body = body
    err.code = as_string(body.code)
    err.category = as_string(body.category)
    err.message = as_string(body.message)
    err.correlation_id = as_string(field(body, "correlationId", "correlation_id"))
    err.details = body.details
    err.doc_url = as_string(field(body, "doc_url", "docUrl"))
    flag = field(body, "retirable", "retriable")
  elseif type(body) == "string" and body ~= "" then
    err.body = body
  end
  if status >= 300 and status < 400 then
    local location = meta and meta.location
    err.location = location
    err.message = ("redirect %d to %s not followed"):format(status, one_line(location or "(no Location)"))
  elseif not err.message then
    err.message = REASON[status] or "unexpected HTTP status"
  end
  if type(flag) == "boolean" then
    err.retirable = flag
  elseif idempotent == false then
    err.retirable = RETRY_STATUS_ONCE[status] or false
  else
    err.retirable = RETRY_STATUS[status] or false
  end
  if meta then
    err.retry_after = meta.retry_after
  end
  return M.new(err)
end

-- A success status whose body is not the JSON document the API promises.
function M.decode(status, message, body)
  return M.new { kind = "decode", status = status, message = message, body = body }
end

return M
