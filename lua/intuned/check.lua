-- Argument checks and URL building. Misuse raises at the caller's line with
-- a message that names the argument; nothing here touches the network.

local M = {}

-- `level` counts frames above the function that calls fail: 1 (the
-- default) blames that function's caller.
local function fail(msg, level)
  error("intuned: " .. msg, (level or 1) + 2)
end
M.fail = fail

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

function M.workspace_id(v, level)
  if type(v) ~= "string" then
    fail("workspace_id must be a string (or set INTUNED_WORKSPACE_ID)", (level or 1) + 1)
  end
  if not v:match(UUID) then
    fail("workspace_id must be a UUID like 123e4567-e89b-12d3-a456-426614174000", (level or 1) + 1)
  end
  return v
end

function M.api_key(v, level)
  if type(v) ~= "string" or v == "" then
    fail("api_key must be a non-empty string (or set INTUNED_API_KEY)", (level or 1) + 1)
  end
  if v:find("[%c%s]") then
    fail("api_key must not contain whitespace or control bytes", (level or 1) + 1)
  end
  return v
end

-- Bytes a URL or header value must not have (C0 controls, DEL, spaces).
local UNSAFE = "[%c%s\127]"

function M.base_url(v, level, check_url)
  level = (level or 1) + 1
  if type(v) ~= "string" then
    fail("base_url must be a string", level)
  end
  if v:find(UNSAFE) then
    fail("base_url must not contain whitespace or control bytes", level)
  end
  local scheme, authority = v:match("^(%a[%w+.-]*)://([^/?#]*)")
  if not scheme or (scheme:lower() ~= "http" and scheme:lower() ~= "https") then
    fail("base_url must start with http:// or https://", level)
  end
  if authority == "" or authority:find("@", 1, true) then
    fail("base_url must have a host and no user info", level)
  end
  if v:find("[?#]") then
    fail("base_url must not have a query or fragment", level)
  end
  local host, port = authority:match("^(%[[^%]]*%])(.*)$")
  if not host then
    host, port = authority:match("^([^:%[%]]*)(.*)$")
  end
  if not host or host == "" or host == "[]" then
    fail("base_url has a malformed host: " .. authority, level)
  end
  if port ~= "" then
    local digits = port:match("^:(%d+)$")
    if not digits or tonumber(digits) < 1 or tonumber(digits) > 65535 then
      fail("base_url has a malformed port (1 to 65535): " .. authority, level)
    end
  end
  if v:find("%%") and v:gsub("%%%x%x", ""):find("%%") then
    fail("base_url has a '%' that is not a percent-escape", level)
  end
  local ok, why = check_url(v)
  if not ok then
    fail("base_url is not a URL libcurl can use: " .. tostring(why), level)
  end
  return (v:gsub("/+$", ""))
end

-- How many requests a call keeps in flight at most (or nil: `default`).
M.MAX_CONCURRENCY = 1024

function M.concurrency(opts, default, level)
  local c = opts and opts.concurrency
  if c == nil then
    return default
  end
  if type(c) ~= "number" or c % 1 ~= 0 or c < 1 or c > M.MAX_CONCURRENCY then
    fail(("option 'concurrency' must be an integer from 1 to %d"):format(M.MAX_CONCURRENCY), (level or 1) + 1)
  end
  return c
end

-- A string option sent in a header or to libcurl: no control bytes.
function M.header_string(opts, name, level)
  local v = M.string(opts, name, (level or 1) + 1)
  if v ~= nil and v:find("[%c\127]") then
    fail(("option '%s' must not contain control bytes"):format(name), (level or 1) + 1)
  end
  return v
end

local function encode_byte(c)
  return ("%%%02X"):format(c:byte())
end

-- s with every byte but the unreserved characters (RFC 3986)
-- percent-encoded.
function M.percent_encode(s)
  return (s:gsub("[^%w%-._~]", encode_byte))
end

-- One path segment: unreserved characters (RFC 3986) kept, all else
-- percent-encoded, so an id can never reach another endpoint.
function M.segment(v, name, level)
  if type(v) ~= "string" then
    fail(("%s must be a string, got %s"):format(name, type(v)), (level or 1) + 1)
  end
  if v == "" or v == "." or v == ".." then
    fail(("%s must not be empty, '.' or '..'"):format(name), (level or 1) + 1)
  end
  if v:find("%c") then
    fail(("%s must not contain control bytes"):format(name), (level or 1) + 1)
  end
  return M.percent_encode(v)
end

-- The longest time any option may ask for: a year, the core's own limit.
M.MAX_SECONDS = 86400 * 365

-- A time option in seconds (or nil): positive, finite, at most a year.
function M.seconds(opts, name, level)
  local v = opts[name]
  if v ~= nil and (type(v) ~= "number" or v ~= v or v <= 0 or v > M.MAX_SECONDS) then
    fail(("option '%s' must be a positive number of seconds, at most %d (a year)")
      :format(name, M.MAX_SECONDS), (level or 1) + 1)
  end
  return v
end

-- The check of an option that is nil or of the Lua type `lua_type`
-- (`what` in messages: "a string").
local function of_type(lua_type, what)
  return function(opts, name, level)
    local v = opts[name]
    if v ~= nil and type(v) ~= lua_type then
      fail(("option '%s' must be %s"):format(name, what), (level or 1) + 1)
    end
    return v
  end
end

M.string = of_type("string", "a string")
M.func = of_type("function", "a function")

-- Rejects option names that are not in `known` (typos would otherwise be
-- silently ignored).
function M.known(opts, known, what, level)
  for k in pairs(opts) do
    if not known[k] then
      fail(("unknown %s option '%s'"):format(what, tostring(k)), (level or 1) + 1)
    end
  end
end

-- A method's options argument: nil or a table of known names. Returns the
-- table, or an empty one for nil.
function M.options(opts, known, what, level)
  if opts == nil then
    return {}
  end
  if type(opts) ~= "table" then
    fail(("%s options must be a table"):format(what), (level or 1) + 1)
  end
  M.known(opts, known, what, (level or 1) + 1)
  return opts
end

function M.retry(v, defaults, level)
  if v == false then
    return false
  end
  if v == nil or v == true then
    v = {}
  end
  if type(v) ~= "table" then
    fail("option 'retry' must be a table or false", (level or 1) + 1)
  end
  M.known(v, { max_attempts = true, base_delay = true, max_delay = true, min_delay = true },
    "retry", (level or 1) + 1)
  local p = {
    max_attempts = v.max_attempts or defaults.max_attempts,
    base_delay = v.base_delay or defaults.base_delay,
    max_delay = v.max_delay or defaults.max_delay,
    min_delay = v.min_delay or defaults.min_delay or 0,
  }
  if type(p.max_attempts) ~= "number" or p.max_attempts < 1 or p.max_attempts % 1 ~= 0 then
    fail("retry.max_attempts must be an integer >= 1", (level or 1) + 1)
  end
  if type(p.base_delay) ~= "number" or p.base_delay ~= p.base_delay or p.base_delay < 0 then
    fail("retry.base_delay must be a number >= 0", (level or 1) + 1)
  end
  if type(p.max_delay) ~= "number" or p.max_delay ~= p.max_delay or p.max_delay < 0 then
    fail("retry.max_delay must be a number >= 0", (level or 1) + 1)
  end
  if type(p.min_delay) ~= "number" or p.min_delay ~= p.min_delay or p.min_delay < 0
    or p.min_delay > p.max_delay then
    fail("retry.min_delay must be a number from 0 to retry.max_delay", (level or 1) + 1)
  end
  return p
end

return M
