-- Reading one HTTP/1.1 response from an nginx cosocket, for the cosocket
-- transport (intuned.cosocket): the header block (capped), then the body
-- as the head frames it (Content-Length, chunked, or up to the close),
-- capped while it is read.
--
-- Reads go through a buffer filled with receiveany, so a small answer
-- (head and body in one segment, the usual case) costs one socket call.
-- Bytes left in the buffer after the response are bytes nobody asked for
-- (a stray response): the connection is then not kept.
--
-- Every socket operation gets what is left of the attempt's time limit
-- (cosocket timeouts are per operation). nginx updates its cached clock
-- each time its event loop wakes, that is after every socket wait; the
-- attempt's start updates it once.

local M = {}

local MAX_HEADER_BYTES = 64 * 1024
local MAX_LINE = 8192 -- a chunk-size or trailer line
local READ_BLOCK = 65536

-- Sets the socket's timeout to what is left before `limit`; false when
-- nothing is.
function M.left(sock, limit)
  local ms = math.floor((limit - ngx.now()) * 1000)
  if ms <= 0 then
    return false
  end
  sock:settimeout(ms)
  return true
end
local left = M.left

-- The head's status and framing, in one pass in C (status, keep, chunked,
-- length, content type).
local parse_head = require("intuned.core").parse_head

---------------------------------------------------------------------------
-- The buffer: r.buf holds what was received, r.pos the first byte not
-- used yet.
---------------------------------------------------------------------------

local function buffered(r)
  return #r.buf - r.pos + 1
end

-- One more read into the buffer -> true | nil, err ("closed", "timeout", ...)
local function fill(r)
  if not left(r.sock, r.limit) then
    return nil, "timeout"
  end
  local data, err = r.sock:receiveany(READ_BLOCK)
  if not data then
    return nil, err
  end
  r.buf = buffered(r) > 0 and (r.buf:sub(r.pos) .. data) or data
  r.pos = 1
  return true
end

-- The failure values for a read that failed with err, `where` being
-- "headers" or "body".
local function read_failed(err, where)
  if err == "timeout" then
    return nil, "timeout", "timed out " .. (where == "headers" and "waiting for" or "reading")
      .. " the response " .. where
  end
  return nil, "network", "the connection closed in the response " .. where .. ": " .. tostring(err)
end

-- The header block up to its blank line (ending with one CRLF), capped
-- -> head | nil, kind, message
local function read_head(r)
  while true do
    local e = r.buf:find("\r\n\r\n", r.pos, true)
    if e then
      local head = r.buf:sub(r.pos, e + 1)
      r.pos = e + 4
      if #head > MAX_HEADER_BYTES then
        break
      end
      return head
    end
    if buffered(r) > MAX_HEADER_BYTES then
      break
    end
    local ok, err = fill(r)
    if not ok then
      if err ~= "timeout" and buffered(r) == 0 then
        return nil, "network", "the server closed the connection without an answer"
      end
      return read_failed(err, "headers")
    end
  end
  return nil, "too_large", ("response headers larger than %d bytes"):format(MAX_HEADER_BYTES)
end

local function too_large(max)
  return nil, "too_large", ("response larger than %d bytes"):format(max)
end

-- The next n bytes. What the buffer lacks is read in one receive(n).
local function read_exactly(r, n)
  local have = buffered(r)
  if have >= n then
    local data = r.buf:sub(r.pos, r.pos + n - 1)
    r.pos = r.pos + n
    return data
  end
  local first = r.buf:sub(r.pos)
  r.buf, r.pos = "", 1
  if not left(r.sock, r.limit) then
    return read_failed("timeout", "body")
  end
  local rest, err = r.sock:receive(n - have)
  if not rest then
    return read_failed(err, "body")
  end
  return first .. rest
end

-- One line of a chunked body (a size line or a trailer), at most
-- MAX_LINE bytes: a hostile server cannot make it grow without end.
local function read_line(r)
  while true do
    local e = r.buf:find("\r\n", r.pos, true)
    if e and e - r.pos <= MAX_LINE then
      local line = r.buf:sub(r.pos, e - 1)
      r.pos = e + 2
      return line
    end
    if e or buffered(r) > MAX_LINE then
      return nil, "network", "malformed chunked body (a line longer than " .. MAX_LINE .. " bytes)"
    end
    local ok, err = fill(r)
    if not ok then
      return read_failed(err, "body")
    end
  end
end

local function read_chunked(r, max)
  local parts, size = {}, 0
  while true do
    local line, kind, msg = read_line(r)
    if not line then
      return nil, kind, msg
    end
    local n = tonumber(line:match("^%s*(%x+)"), 16)
    if not n then
      return nil, "network", "malformed chunked body"
    end
    if n == 0 then
      repeat -- trailers, up to the blank line
        line, kind, msg = read_line(r)
        if not line then
          return nil, kind, msg
        end
      until line == ""
      return table.concat(parts)
    end
    size = size + n
    if size > max then
      return too_large(max)
    end
    local data
    data, kind, msg = read_exactly(r, n)
    if not data then
      return nil, kind, msg
    end
    parts[#parts + 1] = data
    line, kind, msg = read_line(r)
    if not line then
      return nil, kind, msg
    end
  end
end

local function read_until_close(r, max)
  local parts, size = { r.buf:sub(r.pos) }, buffered(r)
  r.buf, r.pos = "", 1
  while size <= max do
    if not left(r.sock, r.limit) then
      return read_failed("timeout", "body")
    end
    local data, err = r.sock:receiveany(READ_BLOCK)
    if not data then
      if err == "closed" then
        return table.concat(parts)
      end
      if err == "timeout" then
        return read_failed(err, "body")
      end
      return nil, "network", "reading the response body failed: " .. tostring(err)
    end
    size = size + #data
    parts[#parts + 1] = data
  end
  return too_large(max)
end

-- The body the head announces -> body, keepalive | nil, kind, message
local function read_body(r, status, method, max, chunked, length)
  if method == "HEAD" or status == 204 or status == 304 then
    return "", true
  end
  if chunked then
    local body, kind, msg = read_chunked(r, max)
    return body, body and true or kind, msg
  end
  if length then
    if length > max then
      return too_large(max)
    end
    local body, kind, msg = read_exactly(r, length)
    return body, body and true or kind, msg
  end
  local body, kind, msg = read_until_close(r, max)
  return body, body and false or kind, msg
end

-- Reads one response on sock before `limit` (ngx.now() time), its body at
-- most `max` bytes; 1xx answers are skipped -> status, head, body,
-- keepalive, content type | nil, kind, message
function M.read_response(sock, method, limit, max)
  local r = { sock = sock, limit = limit, buf = "", pos = 1 }
  while true do
    local head, kind, msg = read_head(r)
    if not head then
      return nil, kind, msg
    end
    local status, keep11, chunked, length, ctype = parse_head(head)
    if not status then
      return nil, "network", "the server's answer is not HTTP"
    end
    if status >= 200 then
      local body, keep, bmsg = read_body(r, status, method, max, chunked, length)
      if not body then
        return nil, keep, bmsg
      end
      return status, head, body, keep and keep11 and buffered(r) == 0, ctype
    end
  end
end

return M
