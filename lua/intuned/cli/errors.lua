-- Errors as the command line shows them, and the exit statuses.
--
-- libcurl's messages say things twice ("Couldn't connect to server: Failed
-- to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server");
-- network, timeout and TLS errors are rewritten as one sentence that names
-- the host ("cannot connect to 127.0.0.1 port 1 (connection refused)"),
-- keeping the HTTP status, correlation id and attempts when there are ones.
-- API errors keep the library's own line. The result is plain text: the
-- caller escapes it (it holds server strings).

local unpack = require("intuned.compat").unpack

local M = {}

M.EXIT = {
  ok = 0,          -- success
  failed = 1,      -- the run or operation ended unsuccessfully
  usage = 2,       -- usage error
  error = 3,       -- API, network or file error
  timeout = 4,     -- a wait timed out
  interrupted = 130,
}

-- libcurl's curl_easy_strerror texts that start a message ("<what>: <detail>").
local STRERROR = {
  "Couldn't connect to server", "Couldn't resolve host name", "Couldn't resolve proxy name",
  "Timeout was reached", "Server returned nothing (no headers, no data)",
  "Failure when receiving data from the peer", "Failed sending data to the peer",
  "Transferred a partial file", "SSL peer certificate or SSH remote key was not OK",
  "SSL connect error", "Problem with the local SSL certificate", "SSL crypto engine not found",
  "Problem with the SSL CA cert (path? access rights?)", "Weird server reply",
  "Stream error in the HTTP/2 framing layer", "HTTP/2 stream 0 was not closed cleanly",
}

local function strip_prefix(message)
  for _, what in ipairs(STRERROR) do
    if message:sub(1, #what + 2) == what .. ": " then
      return message:sub(#what + 3), what
    end
  end
  return message
end

local function secs(ms)
  return ("%gs"):format(math.floor(tonumber(ms) / 100 + 0.5) / 10)
end

-- Why a connection failed, from libcurl's words.
local function connect_reason(why)
  local lower = why:lower()
  if lower:find("refused", 1, true) or lower == "couldn't connect to server"
    or lower == "could not connect to server" then
    return "connection refused"
  elseif lower:find("timed out", 1, true) or lower:find("timeout", 1, true) then
    return "timed out"
  end
  return lower
end

-- The sentences that more than one of libcurl's texts turn into.
local function cannot_connect(_, h, p, why)
  return ("cannot connect to %s port %s (%s)"):format(h, p, connect_reason(why))
end

local function no_answer(host, ms)
  return ("no answer from %s within %s"):format(host, secs(ms))
end

local function wrong_name(host)
  return ("the TLS certificate of %s is not for that name"):format(host)
end

-- Rewrites of libcurl's detail texts: { pattern, function(host, captures...) }.
local REWRITES = {
  { "^Failed to connect to (.-) port (%d+) after %d+ ms: (.*)$", cannot_connect },
  { "^Failed to connect to (.-) port (%d+): (.*)$", cannot_connect },
  { "^Could not resolve host: (.*)$", function(_, h) return "cannot resolve host " .. h end },
  { "^Could not resolve proxy: (.*)$", function(_, h) return "cannot resolve proxy " .. h end },
  { "^Resolving timed out after (%d+) milliseconds", function(host, ms)
    return ("cannot resolve %s (no answer within %s)"):format(host, secs(ms))
  end },
  { "^Connection timed out after (%d+) milliseconds", function(host, ms)
    return ("cannot connect to %s (no answer within %s)"):format(host, secs(ms))
  end },
  { "^Operation timed out after (%d+) milliseconds with 0 bytes received", no_answer },
  { "^Operation timed out after (%d+) milliseconds with 0 out of", no_answer },
  { "^Operation timed out after (%d+) milliseconds", function(host, ms)
    return ("the answer from %s did not arrive whole within %s"):format(host, secs(ms))
  end },
  { "^Empty reply from server", function(host)
    return host .. " closed the connection without answering"
  end },
  { "Connection reset by peer", function(host) return host .. " reset the connection" end },
  { "^Send failure", function(host)
    return "the connection to " .. host .. " broke while sending the request"
  end },
  { "^transfer closed with", function(host)
    return host .. " closed the connection before the answer was complete"
  end },
  { "^SSL certificate problem: (.*)$", function(host, why)
    return ("the TLS certificate of %s is not trusted (%s)"):format(host, why)
  end },
  { "^SSL: no alternative certificate subject name matches target host name '(.-)'", wrong_name },
  { "^SSL: certificate subject name .- does not match target host name", wrong_name },
  { "wrong version number", function(host)
    return ("TLS handshake with %s failed (does it speak https?)"):format(host)
  end },
}

-- The one sentence for a transport failure (kinds network, timeout, tls).
local function transport_sentence(err, host)
  local message = tostring(err.message or "")
  local suffix = ""
  if message:sub(-19) == " (deadline reached)" then
    message, suffix = message:sub(1, -20), " (deadline reached)"
  end
  local detail, what = strip_prefix(message)
  for _, rw in ipairs(REWRITES) do
    local caps = { detail:match(rw[1]) }
    if caps[1] ~= nil then
      return rw[2](host or "the server", unpack(caps)) .. suffix
    end
  end
  if err.kind == "tls" then
    detail = detail:gsub("^OpenSSL/[%d.]+: ", ""):gsub("^SSL: ", "")
    return ("TLS handshake with %s failed: %s"):format(host or "the server", detail) .. suffix
  end
  if what and detail == what then
    detail = what
  end
  return detail:sub(1, 1):lower() .. detail:sub(2) .. suffix
end

local TRANSPORT = { network = true, timeout = true, tls = true }

-- The error in one line, without the "intuned: " prefix; `host` names the
-- server the request went to ("127.0.0.1 port 8080").
function M.text(err, host)
  if type(err) ~= "table" then
    return tostring(err)
  end
  if not TRANSPORT[err.kind] then
    return (tostring(err):gsub("^intuned: ", ""))
  end
  local tags = {}
  if err.status then
    tags[#tags + 1] = "HTTP " .. tostring(err.status)
  end
  if err.correlation_id then
    tags[#tags + 1] = "correlation_id=" .. tostring(err.correlation_id)
  end
  if err.attempts and err.attempts > 1 then
    tags[#tags + 1] = "attempts=" .. tostring(err.attempts)
  end
  local line = transport_sentence(err, host)
  if #tags > 0 then
    line = line .. " [" .. table.concat(tags, ", ") .. "]"
  end
  return line
end

-- The short form for the progress line and a wait's messages: the
-- sentence alone (a poll cut short by the end of the wait is not news).
function M.short(err, host)
  if type(err) == "table" and TRANSPORT[err.kind] then
    return (transport_sentence(err, host):gsub(" %(deadline reached%)$", ""))
  end
  if type(err) == "table" and err.status then
    return ("HTTP %s: %s"):format(tostring(err.status), tostring(err.message))
  end
  return (M.text(err, host))
end

-- "host" or "host port N" of a URL, as the messages name it.
function M.host_of(url)
  local authority = type(url) == "string" and url:match("^%a[%w+.-]*://([^/?#]*)")
  if not authority then
    return nil
  end
  local host, port = authority:match("^%[([^%]]*)%]:?(%d*)$")
  if not host then
    host, port = authority:match("^([^:]*):?(%d*)$")
  end
  if not host then
    return authority
  end
  return port ~= "" and (host .. " port " .. port) or host
end

return M
