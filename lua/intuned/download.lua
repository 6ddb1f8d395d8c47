-- client:download_results: fetch the results file of a job run from its
-- pre-signed storage URL. The URL carries its own signature, usually for
-- another host, so the API key is never sent: the download runs on a
-- session made without one.

local core = require("intuned.core")
local check = require("intuned.check")
local errors = require("intuned.errors")
local request = require("intuned.request")
local response = require("intuned.response")
local retry = require("intuned.retry")
local state = require("intuned.state")

local M = {}

M.DEFAULT_MAX_BYTES = 256 * 1024 * 1024
local MAX_MAX_BYTES = 1024 * 1024 * 1024 -- what the C core accepts

local DOWNLOAD_OPTIONS = {
  path = true, max_bytes = true, timeout = true, deadline = true, retry = true, decode = true,
  keep_nulls = true,
}

local function options(self, opts)
  local o = request.options(self, opts, DOWNLOAD_OPTIONS, "download_results", 2)
  opts = opts or {}
  o.path = check.string(opts, "path", 2)
  o.max_bytes = opts.max_bytes or M.DEFAULT_MAX_BYTES
  o.decode = opts.decode
  local m = o.max_bytes
  if type(m) ~= "number" or m % 1 ~= 0 or m < 1 or m > MAX_MAX_BYTES then
    check.fail("option 'max_bytes' must be an integer from 1 to 1 GiB", 2)
  end
  if o.path == "" then
    check.fail("option 'path' must not be empty", 2)
  end
  return o
end

local function no_results(message)
  return nil, errors.new { kind = "no_results", message = message }
end

-- The results table of a get_job_run result, or that table itself ->
-- results | nil, err. What the caller passes is checked (misuse raises);
-- what the server sent inside it is data (never raises).
local function results_of(v)
  if type(v) ~= "table" then
    check.fail("download_results expects a get_job_run result or its results table, got " .. type(v), 2)
  end
  if v.signed_url ~= nil then
    return v
  end
  local results = v.results
  if results == nil or results == core.null then
    if v.jobRun == nil then
      check.fail("download_results expects a get_job_run result or its results table", 2)
    end
    local status = type(v.jobRun) == "table" and v.jobRun.status
    return no_results(("job run has no results file (status %s)"):format(
      type(status) == "string" and status or "unknown"))
  end
  if not response.is_object(results) then
    return nil, errors.decode(nil, "results is not a JSON object", results)
  end
  return results
end

-- The signed URL, checked as the core and libcurl would read it.
local function signed_url_of(results)
  local url = results.signed_url
  if url == nil or url == core.null then
    return no_results("the job run's results have no signed_url")
  end
  if type(url) ~= "string" or not url:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]")
    or url:find("[%c%s]") or not core.check_url(url) then
    return nil, errors.decode(nil, "results.signed_url is not an http(s) URL", url)
  end
  return url
end

-- A failed answer from storage. 403 is what an expired signature gives.
local function storage_error(status, body, meta)
  local err = errors.from_response(status, body, meta)
  if type(body) == "string" then
    err.code = err.code or body:match("<Code>([^<]*)</Code>")
  end
  if status == 403 then
    err.expired = true
    err.message = "results URL refused by storage (HTTP 403): it has probably expired;"
      .. " fetch the job run again for a fresh signed_url"
  else
    err.message = "results download failed: " .. err.message
  end
  return err
end

local function interpret(status, body, meta, curl_code, sent)
  if not status then
    return nil, errors.transport(body, meta, curl_code, sent)
  end
  if status >= 200 and status < 300 then
    meta.status = status
    return body or true, meta
  end
  return nil, storage_error(status, body, meta)
end

-- One download with the retry policy, within the deadline; each attempt
-- to a file starts it afresh (the core replaces the file only when a
-- whole body arrived).
local function fetch(self, url, o, session)
  return retry.run(request.context(self, o), function(timeout)
    if o.path then
      return interpret(session:download(url, o.path, timeout))
    end
    return interpret(session:request("GET", url, nil, timeout, nil, true))
  end)
end

local function decode_body(body, results, o, meta)
  local decode = o.decode
  if decode == nil then
    decode = results.format == "json"
  end
  if not decode then
    return body, nil, meta
  end
  local value, why = core.decode(body, { keep_nulls = o.keep_nulls })
  if value == nil and why then
    return nil, errors.decode(meta and meta.status, "results file is not valid JSON: " .. why, body)
  end
  return value, nil, meta
end

-- client:download_results(res_or_results [, opts])
--   -> body | path, nil, meta | nil, err
-- opts: path (stream to this file), max_bytes, timeout, deadline, retry,
-- decode (default: when results.format is "json"), keep_nulls.
function M.download_results(self, res_or_results, opts)
  local st = state.check(self, "download_results")
  local results, err = results_of(res_or_results)
  local o = options(self, opts)
  if not results then
    return nil, err
  end
  local url, bad = signed_url_of(results)
  if not url then
    return nil, bad
  end
  local so = st.storage
  -- A session of the client's transport (cosockets or the thread pool
  -- inside nginx), made without the key.
  local session = st.transport.session {
    timeout = o.timeout, connect_timeout = so.connect_timeout, max_response_bytes = o.max_bytes,
    ca_file = so.ca_file, ca_path = so.ca_path, proxy = so.proxy, user_agent = so.user_agent,
  }
  local ok, body, ferr, meta = pcall(fetch, self, url, o, session)
  session:close()
  if not ok then
    error(body, 0)
  end
  if not body then
    return nil, ferr
  end
  if o.path then
    return o.path, nil, meta
  end
  return decode_body(body, results, o, meta)
end

return M
