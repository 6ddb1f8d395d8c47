-- Answers a hostile or broken server gives: legacy Get Job Run scenarios
-- and results files whose fields have the wrong JSON type, whose strings
-- carry terminal control sequences, or whose bytes come when nobody asked.
-- legacy.lua adds M.scenarios() to its table and storage.lua asks
-- M.storage() first.
local cjson = require("cjson")
local docs = require("emulator.legacy_docs")
local http = require("emulator.http")
local log = require("emulator.log")
local routes = require("emulator.routes")

local M = {}

-- What the scenarios below use, in one place.
local h = {
  send_json = http.send_json, send_raw = http.send_raw, set_headers = http.set_headers,
  ok_run = docs.ok_run, results = docs.results, ok = docs.ok, ok_body = docs.ok_body,
  log_event = log.event,
  log_request = function() log.request({ operation = "getJobRun" }) end,
  count = function(key) return (ngx.shared.emulator:incr(key, 1, 0)) end,
  fixed = function(status, body, content_type)
    return function() return http.send_raw(status, body, content_type) end
  end,
  api_params = function(path)
    local route = routes.match("GET", path)
    if not route or route.operation ~= "getJobRun" then
      return nil
    end
    return { ws = route.ws, project = route.project, job = route.params.jobId, run = route.params.jobRunId }
  end,
}

-- A status and texts that would drive a terminal if written raw: OSC
-- (set the title), CSI (clear the screen), CR/LF (forge a line), and the
-- one-byte C1 CSI U+009B, as UTF-8.
M.HOSTILE_STATUS = "PENDING\27]0;pwned\7\27[2J"
M.HOSTILE_TEXT = "line one\r\nforged: SUCCESS\194\155" .. "31mred"

-- A run whose `field` is replaced by `value` (cjson.null for null).
local function run_with(field, value)
  return function(ctx)
    local run = h.ok_run(ctx)
    run[field] = value
    return h.send_json(200, { jobRun = run, results = h.results(ctx) })
  end
end

-- A run whose results field is `value`.
local function results_with(value)
  return function(ctx)
    return h.send_json(200, { jobRun = h.ok_run(ctx), results = value })
  end
end

local function signed_url_with(value)
  return function(ctx)
    local res = h.results(ctx)
    res.signed_url = value
    return h.send_json(200, { jobRun = h.ok_run(ctx), results = res })
  end
end

local function hostile_run()
  return function(ctx)
    local run = h.ok_run(ctx)
    run.status = M.HOSTILE_STATUS
    run.type = M.HOSTILE_TEXT
    run.error = { code = M.HOSTILE_TEXT, message = M.HOSTILE_TEXT }
    run.id = ctx.run .. "\27[1m"
    return h.send_json(200, { jobRun = run })
  end
end

-- An error body whose texts would drive a terminal.
local function hostile_error()
  return function()
    return h.send_json(400, {
      code = "bad\27[2J", category = "user\r\nforged", message = M.HOSTILE_TEXT,
      retirable = false, correlationId = "\27]0;pwned\7",
    })
  end
end

-- An error body whose every field has the wrong type.
local function error_types()
  return function()
    return h.send_json(400, {
      code = 5, category = { "user" }, message = { text = "x" }, retirable = "yes",
      correlationId = 7, details = "not an object", doc_url = false,
    })
  end
end

-- The raw bytes of a complete response.
function M.raw_response(status, body, content_type, extra)
  return ("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nX-Connection: %s%s\r\n\r\n%s")
    :format(status, content_type, #body, ngx.var.connection, extra or "", body)
end

-- Takes over the connection: sends `first` (the answer to this request),
-- then, `ms` later, the unasked `stray` response, and serves each later
-- request on the connection by hand with serve(request_line) -> raw
-- response, as a broken middlebox or a hostile server would. A client that
-- reuses the connection without noticing the waiting bytes reads every
-- later answer one request late. Logs /__event/stray-sent/<name> once the
-- stray bytes are out.
local function stray_connection(name, first, ms, stray, serve)
  local sock = assert(ngx.req.socket(true))
  sock:send(first)
  ngx.sleep(ms / 1000)
  sock:send(stray)
  h.log_event("stray-sent/" .. name)
  return M.serve_by_hand(sock, serve)
end

-- Serves each later request on the taken-over connection sock with
-- serve(request_line) -> raw response, last, until the client closes it,
-- serve answers nil or says it was the last, then ends the request (and
-- the connection).
function M.serve_by_hand(sock, serve)
  sock:settimeout(5000)
  while true do
    local line = sock:receive("*l")
    local header = line
    while header and header ~= "" do
      header = sock:receive("*l")
    end
    local answer, last = nil, false
    if line then
      answer, last = serve(line)
    end
    if not answer then
      break
    end
    h.log_request()
    sock:send(answer)
    if last then
      break
    end
  end
  return ngx.exit(ngx.OK)
end

-- The raw answer the emulator gives to a job run request line; `extra`
-- header lines (each after a CRLF) added.
function M.run_answer(line, extra)
  local path = line:match("^%u+ (%S+) HTTP/1%.%d$")
  local ctx = path and h.api_params(path:match("^[^?]*"))
  if not ctx then
    return nil
  end
  return M.raw_response("200 OK", cjson.encode({ jobRun = h.ok_run(ctx), results = h.results(ctx) }),
    "application/json", extra)
end

local function stray_run(ctx)
  local run = h.ok_run(ctx)
  run.id = "stray-" .. ctx.run
  return M.raw_response("200 OK", cjson.encode({ jobRun = run }), "application/json", "\r\nX-Stray: yes")
end

-- "stray": the ok run, then an unasked run 20 ms later.
local function stray()
  return function(ctx)
    return stray_connection(ctx.run, M.raw_response("200 OK", h.ok_body(ctx), "application/json"),
      20, stray_run(ctx), function(line) return M.run_answer(line) end)
  end
end

-- "stray-after-503-MS": 503 (retried), then an unasked run MS later; a
-- later request for it on a fresh connection gets the ok run.
local function stray_after_503()
  return function(ctx, ms)
    if h.count("n:" .. ctx.run) > 1 then
      return h.ok(ctx)
    end
    local busy = "Service Unavailable\n"
    return stray_connection(ctx.run, M.raw_response("503 Service Unavailable", busy, "text/plain"),
      tonumber(ms), stray_run(ctx), function(line) return M.run_answer(line) end)
  end
end

-- The ok run behind one header line of `bytes` bytes.
local function huge_header()
  return function(ctx, bytes)
    ngx.header["X-Huge"] = string.rep("h", tonumber(bytes))
    return h.ok(ctx)
  end
end

-- The ok run behind `count` short header lines.
local function many_headers()
  return function(ctx, count)
    for i = 1, tonumber(count) do
      ngx.header["X-Many-" .. i] = "v"
    end
    return h.ok(ctx)
  end
end

-- The first request gets `first(ctx)`; every later one is held S seconds
-- before its headers (a stalled server), then answered ok.
local function first_then_stall(first)
  return function(ctx, seconds)
    if h.count("n:" .. ctx.run) == 1 then
      return first(ctx)
    end
    ngx.sleep(tonumber(seconds))
    return h.ok(ctx)
  end
end

local function running()
  return function(ctx)
    local run = h.ok_run(ctx)
    run.status = "PENDING"
    return h.send_json(200, { jobRun = run })
  end
end

local function busy()
  return function()
    return h.send_raw(503, "", nil)
  end
end

function M.scenarios()
  return {
    { "^first%-503%-then%-stall%-(%d+)$", first_then_stall(busy()) },
    { "^first%-running%-then%-stall%-(%d+)$", first_then_stall(running()) },
    { "^stray$", stray() },
    { "^stray%-after%-503%-(%d+)$", stray_after_503() },
    { "^huge%-header%-(%d+)$", huge_header() },
    { "^many%-headers%-(%d+)$", many_headers() },
    { "^jobrun%-array$", h.fixed(200, '{"jobRun":[1,2,3]}', "application/json") },
    { "^jobrun%-empty%-array$", h.fixed(200, '{"jobRun":[]}', "application/json") },
    { "^top%-null$", h.fixed(200, "null", "application/json") },
    { "^top%-number$", h.fixed(200, "5", "application/json") },
    { "^top%-string$", h.fixed(200, '"run"', "application/json") },
    { "^top%-array$", h.fixed(200, "[]", "application/json") },
    { "^jobrun%-status%-number$", run_with("status", 5) },
    { "^jobrun%-status%-null$", run_with("status", cjson.null) },
    { "^payloads%-string$", run_with("payloads", "many") },
    { "^failed%-object$", run_with("failed_runs", { n = 1 }) },
    { "^results%-null$", results_with(cjson.null) },
    { "^results%-number$", results_with(5) },
    { "^results%-string$", results_with("results") },
    { "^results%-array$", results_with({ 1, 2 }) },
    { "^signed%-url%-number$", signed_url_with(7) },
    { "^signed%-url%-null$", signed_url_with(cjson.null) },
    { "^signed%-url%-malformed$", signed_url_with("http://[::1/x") },
    { "^hostile%-text$", hostile_run() },
    { "^error%-types$", error_types() },
    { "^hostile%-error$", hostile_error() },
  }
end

-- Results files: "stray-MS-..." answers 503, then, MS later, an unasked
-- 200 on the same connection, and serves the next request on it by hand
-- (the real rows); "wait-N-..." answers 429 with Retry-After: N
-- once; "slow-MS-..." sends the rows in ten pieces over MS milliseconds.
-- Returns true when it answered.
function M.storage(name, headers, rows)
  local stray_ms = name:match("^stray%-(%d+)%-")
  if stray_ms and h.count("s:" .. name) == 1 then
    local real = M.raw_response("200 OK", cjson.encode(rows), "application/json")
    stray_connection(name, M.raw_response("503 Service Unavailable", "busy\n", "text/plain"),
      tonumber(stray_ms), M.raw_response("200 OK", '["stray"]', "application/json"),
      function() return real end)
    return true
  end
  local retry_after = name:match("^wait%-(%d+)%-")
  if retry_after and h.count("s:" .. name) == 1 then
    h.send_raw(429, "Slow down\n", "text/plain", { ["Retry-After"] = retry_after })
    return true
  end
  local slow_ms = name:match("^slow%-(%d+)%-")
  if slow_ms then
    local body = cjson.encode(rows) .. string.rep(" ", 2000)
    ngx.status = 200
    ngx.header["Content-Type"] = "application/json"
    h.set_headers(headers)
    ngx.send_headers()
    local step = math.ceil(#body / 10)
    for i = 1, 10 do
      ngx.print(body:sub((i - 1) * step + 1, i * step))
      ngx.flush(true)
      ngx.sleep(tonumber(slow_ms) / 10000)
    end
    ngx.exit(ngx.HTTP_OK)
    return true
  end
  return false
end

return M
