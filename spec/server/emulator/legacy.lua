-- The legacy scenarios of Get Job Run, for every job run id the stateful
-- part (emulator/job_runs.lua) did not hand out: the id is
-- "<scenario>" or "<scenario>.<nonce>", and the whole id keys the per-run
-- state (request counters, first-seen time) in the `emulator` shared dict,
-- so a fresh nonce gives a fresh sequence. Unknown scenarios answer the ok
-- run. Order of checks: API key (401), workspace id (400), scenario.
local docs = require("emulator.legacy_docs")
local http = require("emulator.http")
local wire = require("emulator.legacy_wire")

local null = require("emulator.json").null

local M = {}

local ok, send_run = docs.ok, docs.send_run

local function results_expired(ctx)
  return send_run(docs.ok_run(ctx), docs.results(ctx, true))
end

local function running(ctx)
  local run = docs.ok_run(ctx)
  run.status = "PENDING"
  run.end_time = null
  run.payloads, run.successful_runs, run.failed_runs = null, null, null
  return send_run(run)
end

local function nulls(ctx)
  local run = docs.ok_run(ctx)
  run.payloads, run.successful_runs, run.failed_runs = null, null, null
  run.end_time, run.error, run.reason = null, null, null
  local snap = run.job_configuration_snapshot
  snap.sink, snap.auth_session, snap.proxy, snap.notifications = null, null, null, null
  return send_run(run)
end

local function failed(ctx)
  return send_run(docs.failed_run(ctx))
end

local function with_status(ctx, status)
  local run = docs.ok_run(ctx)
  run.status = status
  return send_run(run, docs.results(ctx))
end

local function scenario_not_found(ctx)
  return http.send_error(404, { resource = "jobRun", jobRunId = ctx.run })
end

local function scenario_bad_request()
  return http.send_error(400, { field = "jobRunId", reason = "invalid format" })
end

-- 503 as load balancers send it: no retirable field at all.
local function flaky503(ctx, count)
  if docs.hit(ctx) <= tonumber(count) then
    return http.send_json(503, http.status_error(503, nil, nil, "The service is temporarily unavailable"))
  end
  return ok(ctx)
end

local function flaky(ctx, status, count)
  if docs.hit(ctx) <= tonumber(count) then
    return http.send_empty(tonumber(status))
  end
  return ok(ctx)
end

local function always(_, status)
  return http.send_empty(tonumber(status))
end

local RETRY_AFTER = {
  date = function() return ngx.http_time(ngx.time() + 2) end,
  huge = function() return "999999" end,
  negative = function() return "-5" end,
  garbage = function() return "soon" end,
}

local function retry_after(ctx, value)
  if docs.hit(ctx) > 1 then
    return ok(ctx)
  end
  local make = RETRY_AFTER[value]
  return http.send_json(429, http.status_error(429, nil, nil, "Rate limit exceeded"),
    { ["Retry-After"] = make and make() or value })
end

-- <spelling>-true-<status>: fails once then succeeds;
-- <spelling>-false-<status>: always fails. Spelling: "retirable" (with
-- "correlationId", the contract's) or "retriable" (with "correlation_id").
local function hinted(ctx, spelling, flag, status)
  if flag ~= "true" and flag ~= "false" then
    return ok(ctx)
  end
  local code = tonumber(status)
  if flag == "false" or docs.hit(ctx) <= 1 then
    return http.send_json(code, http.status_error(code, flag == "true", spelling))
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
    return http.send_raw(status, body, content_type)
  end
end

-- A run `fraction` of the way through: PENDING with counters grown in
-- proportion, then SUCCESS (or FAILURE) at 1.
local function progress_at(ctx, fraction, first, now, duration, fail)
  local final_ok, final_failed = 18, 2
  if fail then
    final_ok, final_failed = 12, 8
  end
  local run = fail and fraction >= 1 and docs.failed_run(ctx) or docs.ok_run(ctx)
  run.start_time, run.created_at, run.updated_at = http.iso(first), http.iso(first), http.iso(now)
  run.payloads = 20
  run.successful_runs = math.floor(final_ok * fraction)
  run.failed_runs = math.floor(final_failed * fraction)
  if fraction < 1 then
    run.status = "PENDING"
    run.end_time = null
    return send_run(run)
  end
  run.end_time = http.iso(first + duration)
  return send_run(run, not fail and docs.results(ctx) or nil)
end

-- A run that moves: counters growing linearly from the first request on,
-- finished once `duration` seconds have passed.
local function progress(ctx, duration, fail)
  local first = docs.first_seen(ctx)
  local now = ngx.now()
  local fraction = duration > 0 and math.min(1, (now - first) / duration) or 1
  return progress_at(ctx, fraction, first, now, duration, fail)
end

-- A run that moves one step per request, whatever the clock says: request
-- k of `n` sees it (k-1)/(n-1) of the way, the n-th and later ones finished.
local function steps(ctx, n, fail)
  n = tonumber(n)
  local k = docs.hit(ctx)
  local fraction = n > 1 and math.min(1, (k - 1) / (n - 1)) or 1
  local now = ngx.now()
  return progress_at(ctx, fraction, now, now, 0, fail)
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
  { "^big%-gzip%-(%d+)$", wire.big_gzip },
  { "^big%-(%d+)$", wire.big },
  { "^stall%-headers%-ms%-(%d+)$", function(ctx, n) return wire.stall_headers(ctx, millis(n)) end },
  { "^stall%-headers%-(%d+)$", function(ctx, n) return wire.stall_headers(ctx, seconds(n)) end },
  { "^stall%-ms%-(%d+)$", function(ctx, n) return wire.stall(ctx, millis(n)) end },
  { "^stall%-(%d+)$", function(ctx, n) return wire.stall(ctx, seconds(n)) end },
  { "^slow%-(%d+)$", wire.slow },
  { "^reset$", wire.reset },
  { "^reset%-after%-headers$", wire.reset_after_headers },
  { "^close%-mid%-body$", wire.close_mid_body },
  { "^truncated$", wire.truncated },
  { "^redirect%-(3%d%d)$", wire.redirect },
  { "^progress%-fail%-ms%-(%d+)$", function(ctx, n) return progress(ctx, millis(n), true) end },
  { "^progress%-fail%-(%d+)$", function(ctx, n) return progress(ctx, seconds(n), true) end },
  { "^progress%-ms%-(%d+)$", function(ctx, n) return progress(ctx, millis(n), false) end },
  { "^progress%-(%d+)$", function(ctx, n) return progress(ctx, seconds(n), false) end },
  { "^steps%-fail%-(%d+)$", function(ctx, n) return steps(ctx, n, true) end },
  { "^steps%-(%d+)$", function(ctx, n) return steps(ctx, n, false) end },
  { "^inflight%-ms%-(%d+)$", wire.inflight },
}
-- Wrong types, terminal control sequences and unasked bytes (hostile.lua).
-- Answers framed every way HTTP/1.x allows (framing.lua).
for _, module in ipairs { "emulator.hostile", "emulator.framing" } do
  for _, entry in ipairs(require(module).scenarios()) do
    SCENARIOS[#SCENARIOS + 1] = entry
  end
end

--- Answers Get Job Run for ctx (ws, project, job, run).
function M.handle(ctx)
  if not http.authorized() then
    return http.send_error(401)
  end
  if not http.is_uuid(ctx.ws) then
    return http.send_error(400, { field = "workspaceId", reason = "must be a UUID" })
  end
  ctx.scenario = ctx.run:match("^[^.]*")
  for _, entry in ipairs(SCENARIOS) do
    local captures = { ctx.scenario:match(entry[1]) }
    if captures[1] then
      return entry[2](ctx, unpack(captures))
    end
  end
  return ok(ctx)
end

return M
