-- Get Job Run answers framed every way HTTP/1.x allows, written on the
-- connection by hand (nginx itself frames its answers one way only): the
-- ok run, chunked (chunk extensions, sizes in both cases, a trailer), with
-- lower-case header names, after a 100 Continue, delimited by the close,
-- from an HTTP/1.0 server, or with Connection: close. After an answer that
-- allows it the connection stays open and its later requests are served
-- by hand with their X-Connection (three of them, the last one closing
-- it), so a client that keeps a connection it must drop, or misreads where
-- an answer ends, shows it.
-- legacy.lua adds M.scenarios() to its table: "framing-KIND".
local docs = require("emulator.legacy_docs")
local hostile = require("emulator.hostile")

local M = {}

local LATER = 3 -- calls after the framed one

local function head(status_line, lines)
  return status_line .. "\r\n" .. table.concat(lines, "\r\n") .. "\r\n\r\n"
end

-- The body in three chunks, then the last chunk and a trailer.
local function chunks(body)
  local a, b = math.floor(#body / 3), math.floor(2 * #body / 3)
  local pieces = { body:sub(1, a), body:sub(a + 1, b), body:sub(b + 1) }
  return ("%x;note=one\r\n%s\r\n%X\r\n%s\r\n%X ; note=\"three\"\r\n%s\r\n0\r\nX-Trailer: done\r\n\r\n")
    :format(#pieces[1], pieces[1], #pieces[2], pieces[2], #pieces[3], pieces[3])
end

-- KIND -> function(body, connection) -> the raw answer, and whether the
-- connection stays open after it.
local KINDS = {
  chunked = function(body, c)
    return head("HTTP/1.1 200 OK", { "Content-Type: application/json", "TRANSFER-ENCODING: Chunked",
      "X-Connection: " .. c }) .. chunks(body), true
  end,
  ["lower-case"] = function(body, c)
    return head("HTTP/1.1 200 OK", { "content-type: application/json", "content-length: " .. #body,
      "x-connection: " .. c }) .. body, true
  end,
  continue = function(body, c)
    return "HTTP/1.1 100 Continue\r\n\r\n" .. head("HTTP/1.1 200 OK", { "Content-Type: application/json",
      "Content-Length: " .. #body, "X-Connection: " .. c }) .. body, true
  end,
  ["close-delimited"] = function(body, c)
    return head("HTTP/1.1 200 OK", { "Content-Type: application/json", "X-Connection: " .. c }) .. body, false
  end,
  ["http10"] = function(body, c)
    return head("HTTP/1.0 200 OK", { "Content-Type: application/json", "Content-Length: " .. #body,
      "X-Connection: " .. c }) .. body, true
  end,
  ["connection-close"] = function(body, c)
    return head("HTTP/1.1 200 OK", { "Content-Type: application/json", "Content-Length: " .. #body,
      "Connection: close", "X-Connection: " .. c }) .. body, true
  end,
}

local function framed(ctx, kind)
  local answer, stays_open = KINDS[kind](docs.ok_body(ctx), ngx.var.connection)
  local sock = assert(ngx.req.socket(true))
  sock:send(answer)
  if not stays_open then
    return ngx.exit(ngx.OK) -- a raw request socket is never kept: the close ends the body
  end
  -- The three later calls of the spec (spec/support/framing.lua), the
  -- last answer with Connection: close: no other spec's request may find
  -- this connection.
  local served = 0
  return hostile.serve_by_hand(sock, function(line)
    served = served + 1
    return hostile.run_answer(line, served >= LATER and "\r\nConnection: close" or nil), served >= LATER
  end)
end

function M.scenarios()
  return { { "^framing%-([%l%d-]+)$", function(ctx, kind)
    if not KINDS[kind] then
      return docs.ok(ctx)
    end
    return framed(ctx, kind)
  end } }
end

return M
