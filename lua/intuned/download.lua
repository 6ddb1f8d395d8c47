-- client:download_results: fetch the results file of a job run from its
-- pre-signed storage URL. The URL carries its own signature, usually for
-- another host, so the API key is never sent: the download runs on a
-- session made without one.

local core = require("intuned.core")
local check = require("intuned.check")
local errors = require("intuned.errors")
local retry = require("intuned.retry")

local M = {}

M.DEFAULT_MAX_BYTES = 256 * 1024 * 1024
local MAX_MAX_BYTES = 1024 * 1024 * 1024 -- what the C core accepts

local DOWNLOAD_OPTIONS = {
  path = true, max_bytes = true, timeout = true, retry = true, decode = true, keep_nulls = true,
}

local function options(self, opts)
  opts = check.options(opts, DOWNLOAD_OPTIONS, "download_results", 2)
  local o = {
    path = check.string(opts, "path", 2),
    timeout = check.positive(opts, "timeout", 2) or self.timeout,
    max_bytes = opts.max_bytes or M.DEFAULT_MAX_BYTES,
    decode = opts.decode,
    keep_nulls = opts.keep_nulls and true or nil,
    policy = self.retry,
  }
  local m = o.max_bytes
  if type(m) ~= "number" or m % 1 ~= 0 or m < 1 or m > MAX_MAX_BYTES then
    check.fail("option 'max_bytes' must be an integer from 1 to 1 GiB", 2)
  end
  if o.path == "" then
    check.fail("option 'path' must not be empty", 2)
  end
  if opts.retry ~= nil then
    o.policy = check.retry(opts.retry, retry.DEFAULTS, 2)
  end
  return o
end

-- The results table of a get_job_run result, or that table itself.
local function results_of(v)
  if type(v) ~= "table" then
    check.fail("download_results expects a get_job_run result or its results table, got " .. type(v), 2)
  end
  if v.signed_url ~= nil then
    return v
  end
  if v.results ~= nil then
    return v.results
  end
  if v.jobRun ~= nil then
    return nil, ("job run has no results file (status %s)"):format(tostring(v.jobRun.status))
  end
  check.fail("download_results expects a get_job_run result or its results table", 2)
end

local function signed_url_of(results)
  local url = results.signed_url
  if type(url) ~= "string" or not url:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]") or url:find("[%c ]") then
    return nil
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

local function interpret(status, body, meta, curl_code)
  if not status then
    return nil, errors.transport(body, meta, curl_code)
  end
  if status >= 200 and status < 300 then
    meta.status = status
    return body or true, meta
  end
  return nil, storage_error(status, body, meta)
end

local function temp_path(path)
  return ("%s.part-%d-%d"):format(path, os.time(), math.floor(core.now() * 1e6) % 1e9)
end

-- One download with the retry policy; each attempt starts the file afresh.
local function fetch(self, url, o, session, tmp)
  return retry.run({
    policy = o.policy, timeout = o.timeout, clock = self.clock, sleep = self.sleep,
    random = self.random,
  }, function(timeout)
    if tmp then
      return interpret(core.download(session, url, tmp, timeout))
    end
    return interpret(session:get(url, timeout, nil, true))
  end)
end

local function to_file(self, url, o, session)
  local tmp = temp_path(o.path)
  local ok, res, err, meta = pcall(fetch, self, url, o, session, tmp)
  if not ok or not res then
    os.remove(tmp)
    if not ok then
      error(res, 0)
    end
    return nil, err
  end
  local renamed, why = os.rename(tmp, o.path)
  if not renamed then
    os.remove(tmp)
    return nil, errors.new { kind = "io", message = "cannot move the download into place: " .. tostring(why) }
  end
  return o.path, nil, meta
end

function M.install(Client, _, internal)
  -- client:download_results(res_or_results [, opts])
  --   -> body | path, nil, meta | nil, err
  -- opts: path (stream to this file), max_bytes, timeout, retry, decode
  -- (default: when results.format is "json"), keep_nulls.
  function Client:download_results(res_or_results, opts)
    internal.check_client(self, "download_results")
    if type(self.session) ~= "userdata" then
      -- The client sends its requests through nginx's thread pool; a
      -- download here would block the worker's event loop instead.
      check.fail("download_results would block nginx's event loop: fetch results.signed_url with"
        .. " nginx's own HTTP facilities, or make the client with blocking = true")
    end
    local results, missing = results_of(res_or_results)
    local o = options(self, opts)
    if not results then
      return nil, errors.new { kind = "no_results", message = missing }
    end
    local url = signed_url_of(results)
    if not url then
      return nil, errors.decode(nil, "results.signed_url is not an http(s) URL", results.signed_url)
    end
    local so = self.storage_options
    local session = core.session {
      timeout = o.timeout, connect_timeout = so.connect_timeout, max_response_bytes = o.max_bytes,
      ca_file = so.ca_file, ca_path = so.ca_path, proxy = so.proxy, user_agent = so.user_agent,
    }
    local ok, body, err, meta
    if o.path then
      ok, body, err, meta = pcall(to_file, self, url, o, session)
    else
      ok, body, err, meta = pcall(fetch, self, url, o, session)
    end
    session:close()
    if not ok then
      error(body, 0)
    end
    if not body or o.path then
      return body, err, meta
    end
    local decode = o.decode
    if decode == nil then
      decode = results.format == "json"
    end
    if decode then
      local value, why = core.decode(body, { keep_nulls = o.keep_nulls })
      if value == nil and why then
        return nil, errors.decode(meta and meta.status, "results file is not valid JSON: " .. why, body)
      end
      body = value
    end
    return body, nil, meta
  end
end

return M
