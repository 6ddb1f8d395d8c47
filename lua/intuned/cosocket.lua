-- The cosocket transport: inside nginx, each request is HTTP/1.1 on
-- ngx.socket.tcp, with nginx's keepalive pool, in the worker's own Lua
-- state (no thread, no copy between Lua states), the body decoded by the C
-- decoder. A session here has the interface of intuned.core's (request,
-- download, close) and returns what it returns, so errors, meta and
-- retries are the libcurl path's.
--
-- What it needs from nginx.conf: `resolver` to reach a host by name, and
-- `lua_ssl_trusted_certificate` to verify https servers (verification is
-- always on). Cosockets work in the rewrite, access and content phases and
-- in ngx.timer callbacks.
--
-- An idle connection in nginx's pool that gets bytes or a close is dropped
-- by nginx itself, so a stray response never reaches the next request.

local core = require("intuned.core")
local http1 = require("intuned.http1")
local response = require("intuned.response")

local M = {}

local DEFAULT_TIMEOUT = 30
local DEFAULT_CONNECT_TIMEOUT = 10
local DEFAULT_MAX_BYTES = 8 * 1024 * 1024
-- Kept-alive connections: idle time (ms) and how many per pool.
local KEEPALIVE_MS, POOL_SIZE = 60000, 64

-- Phases where cosockets work.
M.PHASES = { rewrite = true, access = true, content = true, timer = true, ssl_cert = true,
  ssl_session_fetch = true }

local KEEP_NULLS = { keep_nulls = true }

local left = http1.left

-- Failure values of session:request: nil, kind, message, curl_code, sent.
local function failure(kind, message, sent)
  return nil, kind, message, 0, sent
end

-- scheme, host, port, path of an absolute URL; nil when it is not one.
local function split_url(url)
  local scheme, authority, path = url:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then
    return nil
  end
  scheme = scheme:lower()
  local host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
  if not host then
    host, port = authority:match("^([^:]+):?(%d*)$")
  end
  if not host or (scheme ~= "http" and scheme ~= "https") then
    return nil
  end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return scheme, host, port, path ~= "" and path or "/"
end

-- Where a session's requests go, worked out once per base URL.
local function endpoint(url)
  local scheme, host, port, path = split_url(url)
  if not scheme then
    return nil
  end
  local default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
  local name = host:find(":", 1, true) and "[" .. host .. "]" or host
  return {
    tls = scheme == "https", host = host, port = port, path = path:gsub("/+$", ""),
    -- "localhost" is the loopback address (RFC 6761), with no resolver.
    address = host:lower() == "localhost" and "127.0.0.1" or host,
    host_header = default and name or (name .. ":" .. port),
    pool = ("intuned:%s:%s:%d"):format(scheme, host, port),
  }
end

local function user_agent(prefix)
  local ua = ("intuned-lua/%s (%s; cosocket)"):format(core.VERSION, jit and jit.version or _VERSION)
  return prefix and (prefix .. " " .. ua) or ua
end

-- The request's bytes: the fixed header lines were built once.
local function request_bytes(s, ep, method, path, body)
  local parts = { method, " ", path, " HTTP/1.1\r\nHost: ", ep.host_header, "\r\n", s.fixed }
  if body then
    parts[#parts + 1] = "Content-Type: application/json\r\nContent-Length: " .. #body .. "\r\n\r\n"
    parts[#parts + 1] = body
  elseif method == "POST" or method == "PUT" then
    parts[#parts + 1] = "Content-Length: 0\r\n\r\n"
  else
    parts[#parts + 1] = "\r\n"
  end
  return table.concat(parts)
end

---------------------------------------------------------------------------
-- Connecting
---------------------------------------------------------------------------

local function connect_error(err, ep)
  if err and err:find("no resolver defined", 1, true) then
    return failure("network", ("cannot resolve %s: nginx.conf has no `resolver` directive"
      .. " (add one, e.g. `resolver 127.0.0.53;`, or use an IP address)"):format(ep.host), false)
  end
  if err == "timeout" then
    return failure("timeout", "timed out connecting to " .. ep.host, false)
  end
  return failure("network", ("cannot connect to %s port %d: %s"):format(ep.host, ep.port, tostring(err)), false)
end

local function tls_error(err, ep)
  local message = ("TLS handshake with %s failed: %s"):format(ep.host, tostring(err))
  if err and (err:find("verify", 1, true) or err:find("certificate", 1, true) or err:find("issuer", 1, true)
    or err:find("nginx's Lua module", 1, true)) then
    message = message .. " (nginx verifies servers with `lua_ssl_trusted_certificate`: set it to the CA"
      .. " bundle, e.g. /etc/ssl/certs/ca-certificates.crt, and `lua_ssl_verify_depth`)"
  end
  return failure("tls", message, false)
end

-- A connected socket (from the pool when one is there) -> sock, reused.
local function connect(ep, limit, connect_limit)
  local sock = ngx.socket.tcp()
  if not left(sock, math.min(limit, connect_limit)) then
    return connect_error("timeout", ep)
  end
  local ok, err = sock:connect(ep.address, ep.port, { pool = ep.pool })
  if not ok then
    return connect_error(err, ep)
  end
  local reused = (sock:getreusedtimes() or 0) > 0
  if ep.tls and not reused then
    if not left(sock, limit) then
      sock:close()
      return failure("timeout", "timed out in the TLS handshake with " .. ep.host, false)
    end
    -- Verification always on, the host name checked (nginx checks names,
    -- not IP addresses: an https API on cosockets needs a name). A session
    -- object is asked for: lua-resty-core 0.1.25 answers `true` without the
    -- verification's verdict when the handshake ends at once and none is
    -- asked for, and raises (an assertion) when it ends at once and fails.
    local called, done, herr = pcall(sock.sslhandshake, sock, nil, ep.host, true)
    if not (called and done) then
      sock:close()
      return tls_error(called and herr or "nginx's Lua module failed in the handshake", ep)
    end
  end
  return sock, reused
end

---------------------------------------------------------------------------
-- Sessions
---------------------------------------------------------------------------

local Session = {}
Session.__index = Session

local function check_phase()
  local phase = ngx.get_phase()
  if not M.PHASES[phase] then
    error(("intuned: cosockets do not work in nginx's %s phase (only in rewrite, access, content"
      .. " and ngx.timer callbacks); make the client with transport = \"pool\" or blocking = true"):format(phase), 0)
  end
end

-- One request and its answer; the values of session:request. When a
-- kept-alive connection turns out closed as the request is sent, the
-- request is sent again once on a fresh one: nothing of it went out.
function Session:request(method, target, body, timeout, keep_nulls, raw)
  if self.closed then
    error("intuned: session is closed", 0)
  end
  check_phase()
  local ep, path = self.ep
  if not ep then
    local scheme, host, port, p = split_url(target)
    if not scheme then
      return failure("url", "not an http(s) URL: " .. tostring(target), false)
    end
    ep = endpoint(scheme .. "://" .. (host:find(":", 1, true) and "[" .. host .. "]" or host) .. ":" .. port)
    path = p
  else
    path = ep.path .. target
  end
  ngx.update_time()
  local started = ngx.now()
  local limit = started + (timeout or self.timeout)
  local bytes = request_bytes(self, ep, method, path, body)
  local sock, reused, status, head, res, keep, ctype
  for attempt = 1, 2 do
    local kind, msg, code, sent
    sock, reused, msg, code, sent = connect(ep, limit, started + self.connect_timeout)
    if not sock then
      return sock, reused, msg, code, sent
    end
    if not left(sock, limit) then
      sock:close()
      return failure("timeout", "timed out before the request was sent", false)
    end
    local ok, err = sock:send(bytes)
    if ok then
      status, kind, msg, keep, ctype = http1.read_response(sock, method, limit, self.max_bytes)
      if not status then
        sock:close()
        return failure(kind, msg, true)
      end
      head, res = kind, msg
      break
    end
    sock:close()
    if not (reused and attempt == 1 and err ~= "timeout") then
      return failure(err == "timeout" and "timeout" or "network",
        "sending the request failed: " .. tostring(err), true)
    end
  end
  if keep then
    sock:setkeepalive(KEEPALIVE_MS, POOL_SIZE)
  else
    sock:close()
  end
  local meta = core.head_meta({ content_type = ctype, reused = reused, bytes = #res }, head)
  if raw or not response.is_json_type(ctype) or res == "" then
    return status, res, meta
  end
  local value, why, offset = core.decode(res, keep_nulls and KEEP_NULLS or nil)
  if value == nil and why then
    meta.decode_error = why
    meta.decode_offset = offset
    return status, res, meta
  end
  return status, value, meta
end

-- session:download(target, path [, timeout]): the body, fetched whole,
-- replaces the file at path (core.replace_file: a fresh temporary file
-- next to it, renamed into place).
function Session:download(target, path, timeout)
  local status, body, meta, code, sent = self:request("GET", target, nil, timeout, nil, true)
  if status and status >= 200 and status < 300 then
    local ok, err = core.replace_file(path, body)
    if not ok then
      return nil, "io", err, 0, false
    end
    return status, nil, meta
  end
  return status, body, meta, code, sent
end

function Session:close()
  self.closed = true
end

-- A session for opts (those of core.session): keyed (api_key and base_url)
-- or keyless (absolute URLs: results files). The key is in the request
-- line prefix, held in the session and never returned.
function M.session(opts)
  local s = setmetatable({
    timeout = opts.timeout or DEFAULT_TIMEOUT,
    connect_timeout = opts.connect_timeout or DEFAULT_CONNECT_TIMEOUT,
    max_bytes = opts.max_response_bytes or DEFAULT_MAX_BYTES,
  }, Session)
  local fixed = { "Accept: application/json\r\nUser-Agent: ", user_agent(opts.user_agent), "\r\n" }
  if opts.api_key then
    s.ep = assert(endpoint(opts.base_url), "intuned: base_url is not an http(s) URL")
    fixed[#fixed + 1] = "x-api-key: " .. opts.api_key .. "\r\n"
  end
  s.fixed = table.concat(fixed)
  return s
end

return M
