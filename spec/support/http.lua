-- A small HTTP/1.1 client for spec code that must not depend on the client
-- under test: the emulator helper's control calls and the specs of the
-- emulator itself. One request per connection, http:// only. Uses
-- LuaSocket when present, else the curl command line.
--
--   local http = require("support.http")
--   local res, err = http.request("POST", url, { headers = { ["x-api-key"] = "k" },
--     body = '{"a":1}', timeout = 5 })
--   res.status, res.headers (lower-case names), res.body, res.seconds
--   err: "closed" (the connection ended before a complete answer),
--        "timeout", or another message; res then holds what did arrive
-- Works on Lua 5.1 to 5.4 and LuaJIT.
local files = require("support.files")

local has_socket, socket = pcall(require, "socket")

local M = {}

local function parse_url(url)
  local host, port, path = url:match("^http://([^/:]+):?(%d*)(.*)$")
  assert(host, "support.http: only http:// URLs: " .. tostring(url))
  return host, tonumber(port) or 80, path ~= "" and path or "/"
end

local function parse_head(head)
  local status = tonumber(head:match("^HTTP/%d%.%d (%d%d%d)"))
  local headers = {}
  for name, value in head:gmatch("\r\n([^:\r\n]+):[ \t]*([^\r\n]*)") do
    name = name:lower()
    headers[name] = headers[name] and headers[name] .. ", " .. value or value
  end
  return status, headers
end

-- Body of a chunked answer, and whether it was complete.
local function dechunk(data)
  local out, i = {}, 1
  while true do
    local size_end = data:find("\r\n", i, true)
    local size = size_end and tonumber(data:sub(i, size_end - 1):match("^%x+"), 16)
    if not size then
      return table.concat(out), false
    end
    if size == 0 then
      return table.concat(out), true
    end
    local chunk = data:sub(size_end + 2, size_end + 1 + size)
    out[#out + 1] = chunk
    if #chunk < size then
      return table.concat(out), false
    end
    i = size_end + 2 + size + 2
  end
end

-- Splits a raw answer; err "closed" when it is not complete.
local function parse_answer(data, method)
  local head_end = data:find("\r\n\r\n", 1, true)
  if not head_end then
    return { body = "" }, "closed"
  end
  local status, headers = parse_head(data:sub(1, head_end + 1))
  local res = { status = status, headers = headers, body = data:sub(head_end + 4) }
  if method == "HEAD" or status == 204 or status == 304 then
    res.body = ""
    return res
  end
  if (headers["transfer-encoding"] or ""):lower():find("chunked", 1, true) then
    local complete
    res.body, complete = dechunk(res.body)
    return res, not complete and "closed" or nil
  end
  local length = tonumber(headers["content-length"])
  if length and #res.body < length then
    return res, "closed"
  end
  return res
end

local function request_line(method, host, port, path, opts)
  local lines = { ("%s %s HTTP/1.1"):format(method, path), ("Host: %s:%d"):format(host, port),
    "Connection: close" }
  for name, value in pairs(opts.headers or {}) do
    lines[#lines + 1] = name .. ": " .. value
  end
  if opts.body then
    lines[#lines + 1] = "Content-Length: " .. #opts.body
    if not (opts.headers and (opts.headers["Content-Type"] or opts.headers["content-type"])) then
      lines[#lines + 1] = "Content-Type: application/json"
    end
  end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. (opts.body or "")
end

local function with_socket(method, url, opts)
  local host, port, path = parse_url(url)
  local started = socket.gettime()
  local conn = socket.tcp()
  conn:settimeout(opts.timeout or 10)
  local ok, err = conn:connect(host, port)
  if not ok then
    conn:close()
    return nil, err
  end
  conn:send(request_line(method, host, port, path, opts))
  local data, rerr, partial = conn:receive("*a")
  conn:close()
  data = data or partial or ""
  local res, perr = parse_answer(data, method)
  res.seconds = socket.gettime() - started
  if rerr == "timeout" then
    return res, "timeout"
  end
  return res, perr
end

local tmpname = files.tmpname

local function with_curl(method, url, opts)
  local head_file, body_file, data_file = tmpname(), tmpname(), tmpname()
  local parts = { "curl -s -X", files.quote(method), "-D", files.quote(head_file), "-o", files.quote(body_file),
    "-m", tostring(opts.timeout or 10), "-w", "'%{time_total}'" }
  if method == "HEAD" then
    parts[#parts + 1] = "-I"
  end
  for name, value in pairs(opts.headers or {}) do
    parts[#parts + 1] = "-H " .. files.quote(name .. ": " .. value)
  end
  if opts.body then
    files.write(data_file, opts.body)
    parts[#parts + 1] = "-H 'Content-Type: application/json' --data-binary @" .. files.quote(data_file)
  end
  parts[#parts + 1] = files.quote(url) .. "; echo \" $?\""
  local out = files.capture(table.concat(parts, " "))
  local seconds, rc = out:match("^([%d.,]*)%s+(%d+)")
  local head = (files.read(head_file) or ""):gsub("\r?\n", "\r\n")
  local last = head:match(".*(HTTP/%d.-)$") or head
  local status, headers = parse_head(last)
  local res = { status = status, headers = headers, body = files.read(body_file) or "",
    seconds = tonumber(((seconds or ""):gsub(",", "."))) }
  os.remove(head_file)
  os.remove(body_file)
  os.remove(data_file)
  rc = tonumber(rc)
  if rc == 28 then
    return res, "timeout"
  elseif rc == 52 or rc == 18 or rc == 56 then
    return res, "closed"
  elseif rc ~= 0 then
    return nil, "curl exited with " .. tostring(rc)
  end
  return res
end

--- One request; see the header for opts, the answer and the errors.
function M.request(method, url, opts)
  opts = opts or {}
  if has_socket then
    return with_socket(method, url, opts)
  end
  return with_curl(method, url, opts)
end

return M
