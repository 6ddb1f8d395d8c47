-- Handlers of the local Intuned API emulator, run by nginx's Lua module.
--
-- Serves GET /api/v1/workspace/{ws}/projects/{project}/jobs/{job}/runs/{run}
-- as the getJobRun contract (openapi get-job-run.yaml) describes it, plus
-- scripted faults picked
-- by the job run id: "<scenario>" or "<scenario>.<nonce>". The whole run id
-- keys the per-run state (request counters, first-seen time), so a fresh
-- nonce gives a fresh sequence. See the scenario table at the end.
--
-- Also serves /storage/<name> (results files behind signed URLs), a redirect
-- target on a second port and /__emulator/ping (readiness probe).
local cjson = require("cjson")

local null = cjson.null

local M = {}

-- Filled by init() from <prefix>/emulator_config.lua, written by the helper.
local config = {}

local PROJECT_ID = "9b2d5c1e-3f4a-4b6c-8d7e-0f1a2b3c4d5e"
local DOC_ERRORS = "https://intunedhq.com/docs/main/support/errors"
local DOC_REASONS = "https://intunedhq.com/docs/main/support/reasons"

function M.init()
  local prefix = ngx.config.prefix()
  config = dofile(prefix .. "emulator_config.lua")
  config.prefix = prefix
  math.randomseed(math.floor(ngx.now() * 1000) % 2147483647)
end

local function dict()
  return ngx.shared.emulator
end

---------------------------------------------------------------------------
-- Small utilities
---------------------------------------------------------------------------

-- Random v4-shaped id: correlation ids only need to look real and differ.
local function uuid()
  local r = math.random
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    r(0, 0xffff), r(0, 0xffff), r(0, 0xffff), r(0, 0xfff),
    r(0x8000, 0xbfff), r(0, 0xffff), r(0, 0xffff), r(0, 0xffff))
end

local function is_uuid(s)
  return s:find("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil
end

-- Own decoder: ngx.unescape_uri turns "+" into a space, which is wrong for
-- path segments. Invalid escapes are kept as they are.
local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(hex)
    return string.char(tonumber(hex, 16))
  end))
end

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- Split "/a/b/" into { "", "a", "b", "" }: empty segments are kept so that
-- "//" or a trailing "/" changes the shape of the path.
local function split_path(path)
  local segments = {}
  for segment in (path .. "/"):gmatch("([^/]*)/") do
    segments[#segments + 1] = segment
  end
  return segments
end

local function origin()
  return ngx.var.scheme .. "://127.0.0.1:" .. ngx.var.server_port
end

-- Number of requests seen so far for this run id, this one included.
local function hit(ctx)
  return (dict():incr("n:" .. ctx.run, 1, 0))
end

-- Time of the first request for this run id.
local function first_seen(ctx)
  local key = "t:" .. ctx.run
  dict():add(key, ngx.now())
  return dict():get(key)
end

---------------------------------------------------------------------------
-- Request log and response helpers
---------------------------------------------------------------------------

-- Written before answering, so a test that got a response can read it.
local function log_request()
  local entry = {
    time = ngx.now(),
    method = ngx.req.get_method(),
    uri = ngx.var.request_uri,
    port = tonumber(ngx.var.server_port),
    scheme = ngx.var.scheme,
    http_version = ngx.req.http_version(),
    connection = tonumber(ngx.var.connection),
    headers = ngx.req.get_headers(0),
  }
  -- HTTP/2 requests have no raw header block to give.
  local ok, raw = pcall(ngx.req.raw_header)
  entry.raw_header = ok and raw or nil
  local file = io.open(config.prefix .. "requests.log", "a")
  if file then
    file:write(cjson.encode(entry), "\n")
    file:close()
  end
end

-- Something the emulator did on its own, for tests to wait for: a log
-- entry whose uri is /__event/<name>.
local function log_event(name)
  local file = io.open(config.prefix .. "requests.log", "a")
  if file then
    file:write(cjson.encode({ time = ngx.now(), method = "EVENT", uri = "/__event/" .. name }), "\n")
    file:close()
  end
end

-- Every response says which connection carried it, so tests can prove reuse.
local function common_headers()
  ngx.header["X-Connection"] = ngx.var.connection
  ngx.header["X-Connection-Requests"] = ngx.var.connection_requests
  ngx.header["X-Request-Uri"] = ngx.var.request_uri
end

local function set_headers(headers)
  for name, value in pairs(headers or {}) do
    ngx.header[name] = value
  end
end

local function send_raw(status, body, content_type, headers)
  ngx.status = status
  if content_type then
    ngx.header["Content-Type"] = content_type
  end
  set_headers(headers)
  ngx.header["Content-Length"] = #body
  ngx.send_headers()
  if #body > 0 then
    ngx.print(body)
  end
  return ngx.exit(ngx.HTTP_OK)
end

local function send_json(status, value, headers)
  return send_raw(status, cjson.encode(value), "application/json", headers)
end

local function send_empty(status, headers)
  return send_raw(status, "", nil, headers)
end

-- Documented error body (400/401/404): retirable is always false there.
local function error_body(code, category, message, details)
  return {
    code = code,
    category = category,
    message = message,
    retirable = false,
    details = details,
    correlationId = uuid(),
  }
end

local function not_found(details)
  return send_json(404, error_body("not-found", "user",
    "The requested resource was not found", details))
end

local function bad_request(details)
  return send_json(400, error_body("bad-request", "user",
    "The request is invalid or malformed", details))
end

local function unauthorized()
  return send_json(401, {
    code = "unauthorized",
    category = "user",
    message = "Invalid or missing API key",
    retirable = false,
    correlationId = uuid(),
  })
end

---------------------------------------------------------------------------
-- Job run documents
---------------------------------------------------------------------------

local function snapshot()
  return {
    configuration = {
      retry = { maximumAttempts = 3 },
      maxConcurrentRequests = 5,
      requestTimeout = 600,
      proxy = "http://username:password@proxy.example.com:8080",
    },
    sink = {
      type = "webhook",
      url = "https://example.com/webhook",
      headers = {
        ["Content-Type"] = "application/json",
        Authorization = "Bearer token",
      },
      skipOnFail = false,
      apisToSend = { "api1", "api2" },
    },
    auth_session = { id = "auth-session-123", checkAttempts = 3, createAttempts = 3 },
    proxy = { version = "v1", url = "http://proxy.example.com:8080" },
    notifications = {
      { type = "webhook", url = "https://example.com/notify",
        headers = { Authorization = "Bearer token" } },
    },
  }
end

-- A complete SUCCESS run carrying every field of the contract.
local function ok_run(ctx)
  return {
    id = ctx.run,
    start_time = "2024-01-01T00:00:00Z",
    end_time = "2024-01-01T00:30:00Z",
    workspace_id = ctx.ws,
    project_id = PROJECT_ID,
    job_id = ctx.job,
    created_at = "2024-01-01T00:00:00Z",
    updated_at = "2024-01-01T00:30:00Z",
    type = "SCHEDULED",
    status = "SUCCESS",
    payloads = 100,
    successful_runs = 95,
    failed_runs = 5,
    error = null,
    reason = null,
    job_configuration_snapshot = snapshot(),
  }
end

local function results(ctx, expired)
  local name = (expired and "expired-" or "") .. ngx.escape_uri(ctx.run) .. ".json"
  return {
    signed_url = origin() .. "/storage/" .. name
      .. "?X-Amz-Expires=3600&X-Amz-Signature=0123456789abcdef",
    signed_url_expiration = iso(ngx.time() + 3600),
    size = 1234.5,
    key = "results/" .. ctx.run .. ".json",
    format = "json",
  }
end

local function run_error()
  return {
    message = "An error occurred while executing the job",
    code = "internal-server-error",
    category = "infrastructure",
    correlationId = uuid(),
    retirable = false,
    doc_url = DOC_ERRORS .. "#internal-server-error",
    details = { step = "execute", attempts = 3 },
  }
end

local function run_reason()
  return {
    type = "terminated",
    message = "The job run was terminated after repeated failures",
    details = { failed_payloads = 5 },
    doc_url = DOC_REASONS .. "#terminated",
  }
end

local function send_run(_, run, res)
  return send_json(200, { jobRun = run, results = res })
end

---------------------------------------------------------------------------
-- Scenarios
---------------------------------------------------------------------------

local function ok(ctx)
  return send_run(ctx, ok_run(ctx), results(ctx))
end

local function results_expired(ctx)
  return send_run(ctx, ok_run(ctx), results(ctx, true))
end

local function running(ctx)
  local run = ok_run(ctx)
  run.status = "PENDING"
  run.end_time = null
  run.payloads, run.successful_runs, run.failed_runs = null, null, null
  return send_run(ctx, run)
end

local function nulls(ctx)
  local run = ok_run(ctx)
  run.payloads, run.successful_runs, run.failed_runs = null, null, null
  run.end_time, run.error, run.reason = null, null, null
  local snap = run.job_configuration_snapshot
  snap.sink, snap.auth_session, snap.proxy, snap.notifications = null, null, null, null
  return send_run(ctx, run)
end

local function failed(ctx)
  local run = ok_run(ctx)
  run.status = "FAILURE"
  run.error = run_error()
  run.reason = run_reason()
  return send_run(ctx, run)
end

local function with_status(ctx, status)
  local run = ok_run(ctx)
  run.status = status
  return send_run(ctx, run, results(ctx))
end

local function scenario_not_found(ctx)
  return not_found({ resource = "jobRun", jobRunId = ctx.run })
end

local function scenario_bad_request()
  return bad_request({ field = "jobRunId", reason = "invalid format" })
end

-- 503 as load balancers send it: no retirable field at all.
local function flaky503(ctx, count)
  if hit(ctx) <= tonumber(count) then
    return send_json(503, {
      code = "service-unavailable",
      category = "infrastructure",
      message = "The service is temporarily unavailable",
      correlationId = uuid(),
    })
  end
  return ok(ctx)
end

local function flaky(ctx, status, count)
  if hit(ctx) <= tonumber(count) then
    return send_empty(tonumber(status))
  end
  return ok(ctx)
end

local function always(_, status)
  return send_empty(tonumber(status))
end

local RETRY_AFTER = {
  date = function() return ngx.http_time(ngx.time() + 2) end,
  huge = function() return "999999" end,
  negative = function() return "-5" end,
  garbage = function() return "soon" end,
}

local function retry_after(ctx, value)
  if hit(ctx) > 1 then
    return ok(ctx)
  end
  local make = RETRY_AFTER[value]
  return send_json(429, {
    code = "too-many-requests",
    category = "user",
    message = "Rate limit exceeded",
    correlationId = uuid(),
  }, { ["Retry-After"] = make and make() or value })
end

local ERROR_CODES = {
  [400] = "bad-request", [401] = "unauthorized", [403] = "forbidden",
  [404] = "not-found", [408] = "request-timeout", [409] = "conflict",
  [429] = "too-many-requests", [500] = "internal-server-error",
  [502] = "bad-gateway", [503] = "service-unavailable", [504] = "gateway-timeout",
}

-- Error body carrying an explicit retry hint, in either spelling:
-- "retirable"/"correlationId" (the contract's) or "retriable"/"correlation_id".
local function hinted_error(spelling, flag, status)
  local body = {
    code = ERROR_CODES[status] or ("error-" .. status),
    category = status >= 500 and "infrastructure" or "user",
    message = "Request failed with status " .. status,
  }
  body[spelling] = flag
  body[spelling == "retirable" and "correlationId" or "correlation_id"] = uuid()
  return body
end

-- <spelling>-true-<status>: fails once then succeeds;
-- <spelling>-false-<status>: always fails.
local function hinted(ctx, spelling, flag, status)
  if flag ~= "true" and flag ~= "false" then
    return ok(ctx)
  end
  local code = tonumber(status)
  if flag == "false" or hit(ctx) <= 1 then
    return send_json(code, hinted_error(spelling, flag == "true", code))
  end
  return ok(ctx)
end

local HTML_502 = table.concat({
  "<html>",
  "<head><title>502 Bad Gateway</title></head>",
  "<body>",
  "<center><h1>502 Bad Gateway</h1></center>",
  "<hr><center>cloudflare</center>",
  "</body>",
  "</html>",
  "",
}, "\r\n")

local function fixed(status, body, content_type)
  return function()
    return send_raw(status, body, content_type)
  end
end

-- Streams head, then `pad` copies of `char`, then tail, chunked, with
-- back-pressure (flush(true)) so memory stays flat and an aborting client
-- stops the loop.
local function stream_padded(head, pad, char, tail, headers)
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json"
  set_headers(headers)
  ngx.send_headers()
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

-- A valid run of about `bytes` bytes: the padding is the first field so a
-- client enforcing a size cap gives up before reaching the rest.
local function big(ctx, bytes)
  local encoded = cjson.encode(ok_run(ctx))
  local head = '{"jobRun":{"pad":"'
  local tail = '",' .. encoded:sub(2) .. '}'
  local pad = math.max(0, tonumber(bytes) - #head - #tail)
  return stream_padded(head, pad, "x", tail)
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
local function big_gzip(_, bytes)
  local size = tonumber(bytes)
  local vary = { Vary = "Accept-Encoding" }
  if accepts_gzip() then
    local data = bomb_file(size)
    if data then
      vary["Content-Encoding"] = "gzip"
      return send_raw(200, data, "application/json", vary)
    end
    ngx.log(ngx.ERR, "could not make the gzip bomb of ", size, " bytes")
  end
  local pad = math.max(0, size - #BOMB_HEAD - #BOMB_TAIL)
  return stream_padded(BOMB_HEAD, pad, " ", BOMB_TAIL, vary)
end

-- Sends the status and headers of the ok answer (with its real
-- Content-Length) at once and returns the body, for the caller to send later.
local function ok_headers_first(ctx)
  local body = cjson.encode({ jobRun = ok_run(ctx), results = results(ctx) })
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = #body
  ngx.send_headers()
  ngx.flush(true)
  return body
end

-- Status and headers now, body later.
local function stall(ctx, seconds)
  local body = ok_headers_first(ctx)
  ngx.sleep(seconds)
  ngx.print(body)
  return ngx.exit(ngx.HTTP_OK)
end

local function stall_headers(ctx, seconds)
  ngx.sleep(seconds)
  return ok(ctx)
end

-- The ok body in 10 pieces, one every ms/10 milliseconds.
local function slow(ctx, ms)
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
  ngx.send_headers()
  if sent > 0 then
    ngx.print(body:sub(1, sent))
  end
  ngx.flush(true)
  return ngx.exit(ngx.ERROR)
end

local function ok_body(ctx)
  return cjson.encode({ jobRun = ok_run(ctx), results = results(ctx) })
end

local function reset()
  return ngx.exit(444)
end

local function reset_after_headers(ctx)
  local body = ok_body(ctx)
  return abort_after(body, #body, 0)
end

local function close_mid_body(ctx)
  local body = ok_body(ctx)
  return abort_after(body, #body, math.floor(#body / 2))
end

local function truncated(ctx)
  local body = ok_body(ctx)
  return abort_after(body, #body + 100, #body)
end

-- Points at the redirect target, another origin (port) that logs requests.
local function redirect(_, status)
  local location = "http://127.0.0.1:" .. config.redirect_port .. "/stolen"
    .. ngx.var.request_uri
  return send_raw(tonumber(status), "Redirecting to " .. location .. "\n",
    "text/plain", { Location = location })
end

-- A run `fraction` of the way through: PENDING with counters grown in
-- proportion, then SUCCESS (or FAILURE) at 1.
local function progress_at(ctx, fraction, first, now, duration, fail)
  local final_ok, final_failed = 18, 2
  if fail then
    final_ok, final_failed = 12, 8
  end
  local run = ok_run(ctx)
  run.start_time, run.created_at, run.updated_at = iso(first), iso(first), iso(now)
  run.payloads = 20
  run.successful_runs = math.floor(final_ok * fraction)
  run.failed_runs = math.floor(final_failed * fraction)
  if fraction < 1 then
    run.status = "PENDING"
    run.end_time = null
    return send_run(ctx, run)
  end
  run.end_time = iso(first + duration)
  if fail then
    run.status = "FAILURE"
    run.error = run_error()
    run.reason = run_reason()
    return send_run(ctx, run)
  end
  return send_run(ctx, run, results(ctx))
end

-- A run that moves: counters growing linearly from the first request on,
-- finished once `duration` seconds have passed.
local function progress(ctx, duration, fail)
  local first = first_seen(ctx)
  local now = ngx.now()
  local fraction = duration > 0 and math.min(1, (now - first) / duration) or 1
  return progress_at(ctx, fraction, first, now, duration, fail)
end

-- A run that moves one step per request, whatever the clock says: request
-- k of `n` sees it (k-1)/(n-1) of the way, the n-th and later ones finished.
local function steps(ctx, n, fail)
  n = tonumber(n)
  local k = hit(ctx)
  local fraction = n > 1 and math.min(1, (k - 1) / (n - 1)) or 1
  local now = ngx.now()
  return progress_at(ctx, fraction, now, now, 0, fail)
end

-- Holds each request `ms` milliseconds and tells in X-Inflight how many
-- requests of the same job id (the group) were in progress when it arrived,
-- itself included: the largest value seen is the client's concurrency.
local function inflight(ctx, ms)
  local key = "inflight:" .. ctx.job
  local count = dict():incr(key, 1, 0)
  ngx.header["X-Inflight"] = count
  ngx.sleep(tonumber(ms) / 1000)
  dict():incr(key, -1)
  return ok(ctx)
end

local function seconds(n) return tonumber(n) end
local function millis(n) return tonumber(n) / 1000 end

-- First matching pattern wins; captures are passed after ctx.
local SCENARIOS = {
  { "^ok$", ok },
  { "^echo$", ok },
  { "^results%-expired$", results_expired },
  { "^running$", running },
  { "^nulls$", nulls },
  { "^failed$", failed },
  { "^unknown%-status$", function(ctx) return with_status(ctx, "FROBNICATING") end },
  { "^status%-(.+)$", with_status },
  { "^notfound$", scenario_not_found },
  { "^badrequest$", scenario_bad_request },
  { "^flaky503$", function(ctx) return flaky503(ctx, 2) end },
  { "^flaky503%-(%d+)$", flaky503 },
  { "^flaky%-(%d%d%d)%-(%d+)$", flaky },
  { "^always%-(%d%d%d)$", always },
  { "^retry%-after%-(.+)$", retry_after },
  { "^(retirable)%-(%a+)%-(%d%d%d)$", hinted },
  { "^(retriable)%-(%a+)%-(%d%d%d)$", hinted },
  { "^invalid%-json$", fixed(200, '{"jobRun": {"id": "x",,}', "application/json") },
  { "^empty%-200$", fixed(200, "", "application/json") },
  { "^text%-200$", fixed(200, "hello", "text/plain") },
  { "^wrong%-shape$", fixed(200, '{"foo":1}', "application/json") },
  { "^jobrun%-not%-object$", fixed(200, '{"jobRun":"nope"}', "application/json") },
  { "^html%-502$", fixed(502, HTML_502, "text/html") },
  { "^big%-gzip%-(%d+)$", big_gzip },
  { "^big%-(%d+)$", big },
  { "^stall%-headers%-ms%-(%d+)$", function(ctx, n) return stall_headers(ctx, millis(n)) end },
  { "^stall%-headers%-(%d+)$", function(ctx, n) return stall_headers(ctx, seconds(n)) end },
  { "^stall%-ms%-(%d+)$", function(ctx, n) return stall(ctx, millis(n)) end },
  { "^stall%-(%d+)$", function(ctx, n) return stall(ctx, seconds(n)) end },
  { "^slow%-(%d+)$", slow },
  { "^reset$", reset },
  { "^reset%-after%-headers$", reset_after_headers },
  { "^close%-mid%-body$", close_mid_body },
  { "^truncated$", truncated },
  { "^redirect%-(3%d%d)$", redirect },
  { "^progress%-fail%-ms%-(%d+)$", function(ctx, n) return progress(ctx, millis(n), true) end },
  { "^progress%-fail%-(%d+)$", function(ctx, n) return progress(ctx, seconds(n), true) end },
  { "^progress%-ms%-(%d+)$", function(ctx, n) return progress(ctx, millis(n), false) end },
  { "^progress%-(%d+)$", function(ctx, n) return progress(ctx, seconds(n), false) end },
  { "^steps%-fail%-(%d+)$", function(ctx, n) return steps(ctx, n, true) end },
  { "^steps%-(%d+)$", function(ctx, n) return steps(ctx, n, false) end },
  { "^inflight%-ms%-(%d+)$", inflight },
}

-- The wrong types and unasked bytes of spec/server/hostile.lua.
local hostile = require("hostile")
local HOSTILE_HELPERS = {
  send_json = send_json, send_raw = send_raw, ok_run = ok_run, results = results,
  ok = ok, ok_body = ok_body, fixed = fixed, set_headers = set_headers, log_event = log_event,
  log_request = log_request,
  count = function(key) return (dict():incr(key, 1, 0)) end,
}
for _, entry in ipairs(hostile.scenarios(HOSTILE_HELPERS)) do
  SCENARIOS[#SCENARIOS + 1] = entry
end

local function run_scenario(ctx)
  for _, entry in ipairs(SCENARIOS) do
    local captures = { ctx.scenario:match(entry[1]) }
    if captures[1] then
      return entry[2](ctx, unpack(captures))
    end
  end
  return ok(ctx)
end

---------------------------------------------------------------------------
-- Routing
---------------------------------------------------------------------------

-- The shape, with nil where a path parameter goes.
local API_SHAPE = { "", "api", "v1", "workspace", nil, "projects", nil, "jobs", nil, "runs", nil }
local API_SEGMENTS = 11

local function api_params(path)
  local segments = split_path(path)
  if #segments ~= API_SEGMENTS then
    return nil
  end
  for i = 1, API_SEGMENTS do
    local want = API_SHAPE[i]
    if (want and segments[i] ~= want) or (not want and segments[i] == "") then
      return nil
    end
  end
  return {
    ws = percent_decode(segments[5]),
    project = percent_decode(segments[7]),
    job = percent_decode(segments[9]),
    run = percent_decode(segments[11]),
  }
end

local function authorized()
  local key = ngx.req.get_headers()["x-api-key"]
  return type(key) == "string" and key == config.api_key
end

-- Order: route shape (404), API key (401), workspace id (400), scenario.
HOSTILE_HELPERS.api_params = api_params

local function api(path)
  local ctx = api_params(path)
  if not ctx then
    return not_found({ path = path })
  end
  -- Lets tests check the decoded project name whatever the body is.
  ngx.header["X-Project"] = ngx.escape_uri(ctx.project)
  if not authorized() then
    return unauthorized()
  end
  if not is_uuid(ctx.ws) then
    return bad_request({ field = "workspaceId", reason = "must be a UUID" })
  end
  ctx.scenario = ctx.run:match("^[^.]*")
  return run_scenario(ctx)
end

local STORAGE_ROWS = {
  { input = { url = "https://example.com/products/1" },
    output = { title = "Product 1", price = 10.5 } },
  { input = { url = "https://example.com/products/2" },
    output = { title = "Product 2", price = 20 } },
  { input = { url = "https://example.com/products/3" }, output = null,
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

-- Results files behind signed URLs: no API key needed (the request log and
-- X-Saw-Api-Key tell whether one was sent anyway). Names starting with
-- "expired-" are refused as an expired signature; "flaky-N-..." fails N
-- times with 503 first; "big-N-..." is a JSON array of about N bytes, sent
-- chunked (no Content-Length, so a size cap trips mid-stream).
local function storage(name)
  local headers = { ["X-Saw-Api-Key"] = ngx.var.http_x_api_key and "yes" or "no" }
  HOSTILE_HELPERS.STORAGE_ROWS = STORAGE_ROWS
  if hostile.storage(name, headers, HOSTILE_HELPERS) then
    return
  end
  if name:find("^expired%-") then
    return send_raw(403, ACCESS_DENIED, "application/xml", headers)
  end
  local failures = name:match("^flaky%-(%d+)%-")
  if failures and dict():incr("s:" .. name, 1, 0) <= tonumber(failures) then
    return send_raw(503, "Service Unavailable\n", "text/plain", headers)
  end
  local size = name:match("^big%-(%d+)%-")
  if size then
    return stream_padded('["', math.max(0, tonumber(size) - 4), "x", '"]', headers)
  end
  return send_json(200, STORAGE_ROWS, headers)
end

function M.handle()
  local raw = ngx.var.request_uri
  if raw == "/__emulator/ping" then
    -- Not logged: the helper polls it while starting. The prefix proves the
    -- answer comes from this instance, not from whatever else holds the port.
    return send_raw(200, config.prefix, "text/plain")
  end
  log_request()
  common_headers()
  local method = ngx.req.get_method()
  if method ~= "GET" and method ~= "HEAD" then
    return send_json(405, error_body("method-not-allowed", "user",
      "Only GET is supported"), { Allow = "GET, HEAD" })
  end
  local path = raw:match("^[^?]*")
  if path:find("^/storage/") then
    return storage(percent_decode(path:sub(#"/storage/" + 1)))
  end
  return api(path)
end

function M.handle_redirect_target()
  log_request()
  common_headers()
  return send_raw(200, '{"jobRun":{"id":"stolen","status":"SUCCESS"}}',
    "application/json")
end

return M
