-- Legacy scenarios about the wire rather than the document: big and
-- compressed bodies, stalls, trickles, broken connections, redirects, stray
-- bytes on a kept-alive connection, huge and many headers, concurrency.
-- Each is function(ctx, captures...) as emulator/legacy.lua's table calls it.
local config = require("emulator.config")
local docs = require("emulator.legacy_docs")
local http = require("emulator.http")
local json = require("emulator.json")

local M = {}

-- A valid run of about `bytes` bytes: the padding is the first field so a
-- client enforcing a size cap gives up before reaching the rest.
function M.big(ctx, bytes)
  local encoded = json.encode(docs.ok_run(ctx))
  local head = '{"jobRun":{"pad":"'
  local tail = '",' .. encoded:sub(2) .. '}'
  local pad = math.max(0, tonumber(bytes) - #head - #tail)
  return http.stream_padded(head, pad, "x", tail)
end

local BOMB_HEAD = '{"jobRun":{"id":"x","pad":"'
local BOMB_TAIL = '"}}'

-- gzip of a `bytes`-long document, made once with the gzip command line
-- (nginx's LuaJIT has no zlib binding) and kept in the prefix.
local function bomb_file(bytes)
  local path = config.prefix .. "bomb-" .. bytes .. ".gz"
  local file = io.open(path, "rb")
  if not file then
    local pad = math.max(0, bytes - #BOMB_HEAD - #BOMB_TAIL)
    os.execute(string.format(
      "{ printf '%%s' '%s'; head -c %d /dev/zero | tr '\\0' ' '; printf '%%s' '%s'; }"
        .. " | gzip -9 >'%s.tmp' && mv '%s.tmp' '%s'",
      BOMB_HEAD, pad, BOMB_TAIL, path, path, path))
    file = io.open(path, "rb")
  end
  if not file then
    return nil
  end
  local data = file:read("*a")
  file:close()
  return data
end

local function accepts_gzip()
  local accept = ngx.var.http_accept_encoding or ""
  for token in accept:lower():gmatch("[^,]+") do
    local name, q = token:match("^%s*([^;%s]+)%s*;?%s*q?=?([%d.]*)")
    if (name == "gzip" or name == "*") and (q == "" or tonumber(q) ~= 0) then
      return true
    end
  end
  return false
end

-- Decompression bomb: small on the wire, `bytes` once inflated. Sent gzip'd
-- only to clients that asked for gzip; others get the same document plain.
function M.big_gzip(_, bytes)
  local size = tonumber(bytes)
  local vary = { Vary = "Accept-Encoding" }
  if accepts_gzip() then
    local data = bomb_file(size)
    if data then
      vary["Content-Encoding"] = "gzip"
      return http.send_raw(200, data, "application/json", vary)
    end
    ngx.log(ngx.ERR, "could not make the gzip bomb of ", size, " bytes")
  end
  local pad = math.max(0, size - #BOMB_HEAD - #BOMB_TAIL)
  return http.stream_padded(BOMB_HEAD, pad, " ", BOMB_TAIL, vary)
end

-- Sends the status and headers of the ok answer (with its real
-- Content-Length) at once and returns the body, for the caller to send later.
local function ok_headers_first(ctx)
  local body = docs.ok_body(ctx)
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = #body
  http.send_headers()
  ngx.flush(true)
  return body
end

-- Status and headers now, body later.
function M.stall(ctx, seconds)
  local body = ok_headers_first(ctx)
  ngx.sleep(seconds)
  ngx.print(body)
  return ngx.exit(ngx.HTTP_OK)
end

function M.stall_headers(ctx, seconds)
  ngx.sleep(seconds)
  return docs.ok(ctx)
end

-- The ok body in 10 pieces, one every ms/10 milliseconds.
function M.slow(ctx, ms)
  local body = ok_headers_first(ctx)
  local step = math.ceil(#body / 10)
  for i = 1, 10 do
    ngx.sleep(tonumber(ms) / 10000)
    ngx.print(body:sub((i - 1) * step + 1, i * step))
    if not ngx.flush(true) then
      return ngx.exit(ngx.ERROR)
    end
  end
  return ngx.exit(ngx.HTTP_OK)
end

-- Sends status, headers announcing `length` bytes and `sent` of the body,
-- then drops the connection.
local function abort_after(body, length, sent)
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = length
  http.send_headers()
  if sent > 0 then
    ngx.print(body:sub(1, sent))
  end
  ngx.flush(true)
  return ngx.exit(ngx.ERROR)
end

function M.reset()
  return ngx.exit(444)
end

function M.reset_after_headers(ctx)
  local body = docs.ok_body(ctx)
  return abort_after(body, #body, 0)
end

function M.close_mid_body(ctx)
  local body = docs.ok_body(ctx)
  return abort_after(body, #body, math.floor(#body / 2))
end

function M.truncated(ctx)
  local body = docs.ok_body(ctx)
  return abort_after(body, #body + 100, #body)
end

-- Points at the redirect target, another origin (port) that logs requests.
function M.redirect(_, status)
  local location = "http://127.0.0.1:" .. config.redirect_port .. "/stolen"
    .. ngx.var.request_uri
  return http.send_raw(tonumber(status), "Redirecting to " .. location .. "\n",
    "text/plain", { Location = location })
end

-- Holds each request `ms` milliseconds and tells in X-Inflight how many
-- requests of the same job id (the group) were in progress when it arrived,
-- itself included: the largest value seen is the client's concurrency.
function M.inflight(ctx, ms)
  local key = "inflight:" .. ctx.job
  local count = ngx.shared.emulator:incr(key, 1, 0)
  ngx.header["X-Inflight"] = count
  ngx.sleep(tonumber(ms) / 1000)
  ngx.shared.emulator:incr(key, -1)
  return docs.ok(ctx)
end

return M
