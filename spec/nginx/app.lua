-- The application of the nginx that spec/transport/nginx_spec.lua starts: handlers
-- that use intuned the way an OpenResty-style site would. Each answers with
-- one JSON object that the spec reads.
local cjson = require("cjson")
local intuned = require("intuned")
local dump = require("dump")

local M = {}

local PROJECT, JOB = "my-project", "my-sample-job"

local config

local function settings()
  if not config then
    config = dofile(ngx.config.prefix() .. "app_config.lua")
  end
  return config
end

-- Clients are made once per worker and option set, like an application
-- would keep one in a module: the requests run in the pool's VMs, which
-- keep the connections.
local clients = {}

local function client(blocking, pool)
  local key = tostring(blocking) .. "/" .. tostring(pool)
  if not clients[key] then
    local c = settings()
    clients[key] = intuned.new {
      base_url = c.base_url, api_key = c.api_key, workspace_id = c.workspace_id,
      blocking = blocking, thread_pool = pool, retry = false,
    }
  end
  return clients[key]
end

-- get_job_run as a JSON-able report: the run (dumped), meta, or the error,
-- or the message of what it raised.
local function report(c, id, opts)
  local ok, res, err, meta = pcall(c.get_job_run, c, PROJECT, JOB, id, opts)
  if not ok then
    return { raised = tostring(res) }
  end
  if not res then
    return { error = tostring(err), kind = err.kind }
  end
  return {
    dump = dump(res),
    status = res.jobRun.status,
    reused = meta.reused,
    connection = meta.headers["x-connection"],
  }
end

local function say(t)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
end

function M.fetch()
  local args = ngx.req.get_uri_args()
  say(report(client(args.blocking == "1", args.pool), args.id,
    args.keep_nulls == "1" and { keep_nulls = true } or nil))
end

function M.guard()
  local c = client()
  local res = c:get_job_run(PROJECT, JOB, ngx.var.arg_id)
  if not (res and intuned.is_terminal(res)) then
    return ngx.exit(ngx.HTTP_FORBIDDEN)
  end
end

function M.timer()
  local id = ngx.var.arg_id
  local dict = ngx.shared.app
  local ok, err = ngx.timer.at(0, function(premature)
    if not premature then
      local r = report(client(), id)
      r.phase = ngx.get_phase()
      dict:set("timer:" .. id, cjson.encode(r))
    end
  end)
  if not ok then
    return say({ raised = "ngx.timer.at: " .. tostring(err) })
  end
  -- The timer runs on this worker's event loop too: wait for it without
  -- blocking that loop.
  for _ = 1, 1000 do
    local done = dict:get("timer:" .. id)
    if done then
      ngx.header["Content-Type"] = "application/json"
      return ngx.say(done)
    end
    ngx.sleep(0.01)
  end
  say({ raised = "the timer did not finish within 10 s" })
end

-- get_job_runs inside nginx: ?ids=a,b,c; each result as status or error
-- kind, plus the connection that served it. Also what download_results
-- says here.
function M.many()
  local c = client()
  local list = {}
  for id in ngx.var.arg_ids:gmatch("[^,]+") do
    list[#list + 1] = { PROJECT, JOB, id }
  end
  local t0 = ngx.now()
  local results = c:get_job_runs(list, { concurrency = tonumber(ngx.var.arg_concurrency) or 16 })
  ngx.update_time()
  local out = { seconds = ngx.now() - t0, results = {} }
  for i, r in ipairs(results) do
    out.results[i] = r.res and { id = r.res.jobRun.id, status = r.res.jobRun.status }
      or { kind = r.err.kind, status = r.err.status }
  end
  local ok, why = pcall(c.download_results, c, { results = { signed_url = "http://127.0.0.1/x", format = "json" } })
  out.download = ok and "ran" or tostring(why)
  say(out)
end

-- The Jobs API inside nginx, through the thread pool: every operation once
-- on a job made for the occasion (?job=...), each step's outcome reported.
function M.jobs()
  local c = client()
  local job_id = ngx.var.arg_job
  local steps = {}
  local function step(name, ok, res, err)
    steps[#steps + 1] = { name = name, ok = ok and res ~= nil, error = not ok and tostring(res)
      or (err and tostring(err)) or nil }
    return res
  end
  local function call(name, fn, ...)
    return step(name, pcall(fn, c, ...))
  end
  call("create_job", c.create_job, PROJECT, { id = job_id, payload = intuned.array(),
    configuration = { maxConcurrentRequests = 2 } })
  call("list_jobs", c.list_jobs, PROJECT)
  local job = call("get_job", c.get_job, PROJECT, job_id)
  if job then
    job.configuration.maxConcurrentRequests = 3
  end
  call("update_job", c.update_job, PROJECT, job_id, job or {})
  call("pause_job", c.pause_job, PROJECT, job_id)
  call("resume_job", c.resume_job, PROJECT, job_id)
  local started = call("trigger_job", c.trigger_job, PROJECT, job_id)
  call("list_job_runs", c.list_job_runs, PROJECT, job_id, { page_size = 1 })
  local n = 0
  for run in c:each_job_run(PROJECT, job_id, { page_size = 1 }) do
    n = n + (run and 1 or 0)
  end
  step("each_job_run", true, n >= 1 or nil, n >= 1 and nil or "no runs")
  call("terminate_job_run", c.terminate_job_run, PROJECT, job_id, started and started.jobRunId or "x")
  call("delete_job", c.delete_job, PROJECT, job_id)
  say({ steps = steps })
end

-- init_worker_by_lua: no pool can be used here, so only blocking = true
-- clients may make requests.
function M.init_worker()
  local dict = ngx.shared.app
  local id = "ok.init-" .. ngx.worker.pid()
  dict:set("init:blocking", cjson.encode(report(client(true), id)))
  dict:set("init:pool", cjson.encode(report(client(), id)))
end

function M.init_worker_report()
  local dict = ngx.shared.app
  say({
    blocking = cjson.decode(dict:get("init:blocking")),
    pool = cjson.decode(dict:get("init:pool")),
  })
end

return M
