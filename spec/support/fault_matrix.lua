-- The fault matrix: every fault the network or the service can produce, what
-- the caller gets and how many attempts it takes. spec/transport/faults_spec.lua runs
-- each row against the emulator; spec/transport/secrets_spec.lua runs them again and
-- looks for the API key in everything the client produced. The README's
-- "Reliability" table lists the same rows.
--
-- Row fields:
--   name      what the fault is
--   scenario  emulator scenario (the job run id before the nonce)
--   refused   true: point the client at a port nothing listens on
--   opts      client options on top of the emulator's (fake time, timeout 5)
--   ok        true: the call must return the run
--   kind, status  otherwise: what err.kind and err.status must be
--   attempts  how many attempts the call must make
--   sleeps    the waits the client must have slept (fake time), or a
--             function(sleeps) -> true | false, why
--   check     optional function(res, err, meta) for more
local intuned = require("intuned")

local M = {}

local P, J = "my-project", "my-sample-job"

-- What fx.client's random source (always 0.5) gives as backoff with the
-- default policy: half of 0.5 * 2^(attempt-1).
local BACKOFF_1, BACKOFF_2 = 0.25, 0.5

local function retried(status, via)
  return { name = ("%d without a body%s"):format(status, via or ""),
    scenario = "always-" .. status, kind = "api", status = status, attempts = 3,
    sleeps = { BACKOFF_1, BACKOFF_2 } }
end

local function hinted(spelling, flag, status)
  local row = { name = ("%d with %s: %s"):format(status, spelling, flag),
    scenario = ("%s-%s-%d"):format(spelling, flag, status) }
  if flag == "true" then
    row.ok, row.attempts, row.sleeps = true, 2, { BACKOFF_1 }
  else
    row.kind, row.status, row.attempts, row.sleeps = "api", status, 1, {}
  end
  row.check = function(_, err)
    if err and err.retirable ~= false then
      return false, "retirable should be false"
    end
    return true
  end
  return row
end

local function sleeps_between(lo, hi)
  return function(sleeps)
    local s = sleeps[1]
    return #sleeps == 1 and s >= lo and s <= hi, ("one wait in [%g, %g]"):format(lo, hi)
  end
end

M.rows = {
  -- Transport faults: no complete response, so retried.
  { name = "connection refused", refused = true, kind = "network", attempts = 3,
    sleeps = { BACKOFF_1, BACKOFF_2 } },
  { name = "connection reset before any response", scenario = "reset",
    kind = "network", attempts = 3, sleeps = { BACKOFF_1, BACKOFF_2 } },
  { name = "connection reset after the headers", scenario = "reset-after-headers",
    kind = "network", attempts = 3 },
  { name = "connection closed mid-body", scenario = "close-mid-body",
    kind = "network", attempts = 3 },
  { name = "truncated body (Content-Length larger than sent)", scenario = "truncated",
    kind = "network", attempts = 3 },
  { name = "stalled body (headers, then nothing)", scenario = "stall-30",
    opts = { timeout = 0.25 }, kind = "timeout", attempts = 3 },
  { name = "stalled headers (connected, then nothing)", scenario = "stall-headers-30",
    opts = { timeout = 0.25 }, kind = "timeout", attempts = 3 },
  { name = "503 without a body twice, then the run", scenario = "flaky-503-2", ok = true, attempts = 3 },

  -- 2xx bodies that are not the promised JSON: never retried.
  { name = "invalid JSON in a 200", scenario = "invalid-json", kind = "decode", status = 200, attempts = 1,
    sleeps = {} },
  { name = "empty 200 body", scenario = "empty-200", kind = "decode", status = 200, attempts = 1 },
  { name = "200 with a non-JSON content type", scenario = "text-200", kind = "decode", status = 200,
    attempts = 1 },
  { name = "200 JSON without jobRun", scenario = "wrong-shape", kind = "decode", status = 200,
    attempts = 1 },
  { name = "200 JSON whose jobRun is not an object", scenario = "jobrun-not-object",
    kind = "decode", status = 200, attempts = 1 },

  -- Gateway and server errors.
  { name = "HTML 502 page from a gateway", scenario = "html-502", kind = "api", status = 502,
    attempts = 3, check = function(_, err)
      return err.message == "Bad Gateway" and type(err.body) == "string", "message Bad Gateway, raw body"
    end },
  retried(500), retried(502), retried(503), retried(504), retried(408),
  { name = "503 twice, then the run", scenario = "flaky503-2", ok = true, attempts = 3,
    sleeps = { BACKOFF_1, BACKOFF_2 } },

  -- Documented 4xx: never retried.
  { name = "404 not found", scenario = "notfound", kind = "api", status = 404, attempts = 1, sleeps = {} },
  { name = "400 bad request", scenario = "badrequest", kind = "api", status = 400, attempts = 1 },
  { name = "401 wrong key", scenario = "ok", opts = { api_key = "not-the-key" }, kind = "api",
    status = 401, attempts = 1 },

  -- Rate limiting.
  { name = "429 with Retry-After in seconds", scenario = "retry-after-2", ok = true, attempts = 2,
    sleeps = { 2 } },
  { name = "429 with Retry-After as an HTTP date", scenario = "retry-after-date", ok = true,
    attempts = 2, sleeps = sleeps_between(0, 3) },
  { name = "429 with a huge Retry-After (capped at max_delay)", scenario = "retry-after-huge",
    ok = true, attempts = 2, sleeps = { 30 } },
  { name = "429 with a negative Retry-After (backoff used)", scenario = "retry-after-negative",
    ok = true, attempts = 2, sleeps = { BACKOFF_1 } },
  { name = "429 with a garbage Retry-After (backoff used)", scenario = "retry-after-garbage",
    ok = true, attempts = 2, sleeps = { BACKOFF_1 } },
  { name = "429 without Retry-After, every time", scenario = "always-429", kind = "api", status = 429,
    attempts = 3, sleeps = { BACKOFF_1, BACKOFF_2 } },

  -- The body's retry hint decides, both ways, in both spellings.
  hinted("retirable", "true", 400), hinted("retirable", "false", 400),
  hinted("retirable", "true", 404), hinted("retirable", "false", 429),
  hinted("retirable", "true", 500), hinted("retirable", "false", 503),
  hinted("retriable", "true", 409), hinted("retriable", "false", 422),
  hinted("retriable", "true", 503), hinted("retriable", "false", 502),

  -- Size limits.
  { name = "body larger than max_response_bytes", scenario = "big-300000",
    opts = { max_response_bytes = 65536 }, kind = "too_large", attempts = 1, sleeps = {} },
  { name = "gzip body inflating past max_response_bytes (bomb)", scenario = "big-gzip-16777216",
    opts = { max_response_bytes = 1048576 }, kind = "too_large", attempts = 1, sleeps = {} },
  { name = "large body within max_response_bytes", scenario = "big-1000000", ok = true, attempts = 1 },

  -- Redirects: never followed, the key never leaves.
  { name = "301 redirect", scenario = "redirect-301", kind = "api", status = 301, attempts = 1 },
  { name = "302 redirect", scenario = "redirect-302", kind = "api", status = 302, attempts = 1 },
  { name = "307 redirect", scenario = "redirect-307", kind = "api", status = 307, attempts = 1 },

  -- Slow but steady: must succeed.
  { name = "slow but steady body within the timeout", scenario = "slow-400",
    opts = { timeout = 3 }, ok = true, attempts = 1, sleeps = {} },
  { name = "late headers within the timeout", scenario = "stall-headers-ms-200",
    opts = { timeout = 3 }, ok = true, attempts = 1 },
}

local fake_time = require("support.fake_time")

local counter = 0

-- Part of every run id this process makes: a caller that runs the matrix
-- more than once at a time (nginx, per transport) makes each run distinct.
M.tag = ""

--- Runs one row against `server` (default: the shared emulator; any table
-- with base_url, api_key and workspace_id will do, e.g. inside nginx).
-- `extra`: more client options (a transport). Returns res, err, meta, time,
-- run_id, client (closed).
function M.run(row, server, extra)
  server = server or require("support.emulator").shared()
  local time = fake_time()
  local o = time.client_options(server, extra, row.opts,
    row.refused and { base_url = "http://127.0.0.1:1/api/v1/workspace" })
  counter = counter + 1
  local run_id = ("%s.m%s%d-%d"):format(row.scenario or "ok", M.tag, os.time(), counter)
  local client = intuned.new(o)
  local res, err, meta = client:get_job_run(P, J, run_id)
  client:close()
  return res, err, meta, time, run_id, client
end

local function same(a, b)
  if #a ~= #b then
    return false
  end
  for i = 1, #a do
    if math.abs(a[i] - b[i]) > 1e-9 then
      return false
    end
  end
  return true
end

local function list(t)
  local out = {}
  for i, v in ipairs(t) do out[i] = ("%g"):format(v) end
  return "{" .. table.concat(out, ", ") .. "}"
end

--- Compares what a row's call gave with what the row expects.
-- Returns true, or false and a description of the difference.
function M.verify(row, res, err, meta, time)
  if row.ok then
    if not res then
      return false, "expected the run, got " .. tostring(err)
    end
    if meta.attempts ~= row.attempts then
      return false, ("expected %d attempts, made %d"):format(row.attempts, meta.attempts)
    end
  else
    if res or not intuned.is_error(err) then
      return false, "expected an error object, got " .. tostring(res)
    end
    if err.kind ~= row.kind then
      return false, ("expected kind %s, got %s"):format(row.kind, tostring(err))
    end
    if err.status ~= row.status then
      return false, ("expected status %s, got %s"):format(tostring(row.status), tostring(err))
    end
    if err.attempts ~= row.attempts then
      return false, ("expected %d attempts, got %s"):format(row.attempts, tostring(err))
    end
  end
  local sleeps = row.sleeps
  if type(sleeps) == "table" and not same(sleeps, time.sleeps) then
    return false, ("expected waits %s, slept %s"):format(list(sleeps), list(time.sleeps))
  elseif type(sleeps) == "function" then
    local good, why = sleeps(time.sleeps)
    if not good then
      return false, ("expected %s, slept %s"):format(why, list(time.sleeps))
    end
  end
  if #time.sleeps ~= (row.attempts - 1) then
    return false, ("%d attempts but %d waits"):format(row.attempts, #time.sleeps)
  end
  if row.check then
    local good, why = row.check(res, err, meta)
    if not good then
      return false, why
    end
  end
  return true
end

return M
