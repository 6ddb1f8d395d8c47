-- The application of the nginx that spec/transport/nginx_spec.lua starts:
-- handlers that use intuned the way an OpenResty-style site would, on
-- either nginx transport (?transport=cosocket, the default, or pool; or
-- ?blocking=1). Each answers with one JSON object that the spec reads.
local cjson = require("cjson")
local intuned = require("intuned")
local dump = require("dump")
local framing = require("support.framing")

local M = {}

local PROJECT, JOB = "my-project", "my-sample-job"

local config

local function settings()
  if not config then
    config = dofile(ngx.config.prefix() .. "app_config.lua")
  end
  return config
end

local function say(t)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
end

-- The client options a request asks for: its transport and, with
-- ?api=tls|wrong|refused|name, which API it talks to.
local function options(args)
  local c = settings()
  local o = { base_url = c.base_url, api_key = c.api_key, workspace_id = c.workspace_id, retry = false }
  if args.blocking == "1" then
    o.blocking = true
  elseif args.transport then
    o.transport = args.transport
  end
  if o.transport == "pool" then
    -- lua_worker_thread_vm_pool_size in nginx.conf.in, unless ?vms= says
    -- otherwise (a client told more VMs than nginx has).
    o.vm_pool_size = tonumber(args.vms) or 4
  end
  o.thread_pool = args.pool
  if args.api == "tls" or args.api == "wrong" then
    o.base_url = args.api == "tls" and c.tls_base_url or c.wrong_tls_base_url
    if o.transport == "pool" or o.blocking then
      o.ca_file = c.ca_file -- the pool's libcurl has its own trust; cosockets use nginx's
    else
      o.base_url = o.base_url:gsub("127%.0%.0%.1", "localhost") -- nginx checks names, not addresses
    end
  elseif args.api == "name" then
    o.base_url = c.base_url:gsub("127%.0%.0%.1", "intuned-api.internal")
  end
  return o
end

-- Clients are made once per worker and option set, like an application
-- would keep one in a module.
local clients = {}

local function client(args, extra)
  local o = options(args)
  for k, v in pairs(extra or {}) do o[k] = v end
  local parts = {}
  for k, v in pairs(o) do parts[#parts + 1] = k .. "=" .. tostring(v) end
  table.sort(parts)
  local key = table.concat(parts, "&")
  if not clients[key] then
    clients[key] = intuned.new(o)
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
    return { error = tostring(err), kind = err.kind, status = err.status, message = err.message }
  end
  return {
    dump = dump(res), id = res.jobRun.id, status = res.jobRun.status,
    reused = meta.reused, connection = meta.headers["x-connection"],
  }
end

function M.fetch()
  local args = ngx.req.get_uri_args()
  say(report(client(args), args.id, args.keep_nulls == "1" and { keep_nulls = true } or nil))
end

function M.guard()
  local c = client(ngx.req.get_uri_args())
  local res = c:get_job_run(PROJECT, JOB, ngx.var.arg_id)
  if not (res and intuned.is_terminal(res)) then
    return ngx.exit(ngx.HTTP_FORBIDDEN)
  end
end

function M.timer()
  local args = ngx.req.get_uri_args()
  local id = args.id
  local dict = ngx.shared.app
  local ok, err = ngx.timer.at(0, function(premature)
    if not premature then
      local r = report(client(args), id)
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

-- The fault matrix (spec/support/fault_matrix.lua), every row, on this
-- request's transport: each row's verdict.
function M.matrix()
  local args = ngx.req.get_uri_args()
  local matrix = require("support.fault_matrix")
  matrix.tag = (args.transport or "default") .. ngx.now() * 1000 % 100000 .. "-"
  local c = settings()
  local server = { base_url = c.base_url, api_key = c.api_key, workspace_id = c.workspace_id }
  local extra = { transport = args.transport }
  local out = {}
  for i, row in ipairs(matrix.rows) do
    local ok, res, err, meta, time = pcall(matrix.run, row, server, extra)
    local good, why
    if ok then
      good, why = matrix.verify(row, res, err, meta, time)
    else
      good, why = false, "raised: " .. tostring(res)
    end
    out[i] = { name = row.name, ok = good, why = why }
  end
  say({ rows = out })
end

-- Calls a list of steps and reports each: { name, ok, error }.
local function steps_report(list)
  local out = {}
  for i, step in ipairs(list) do
    local ok, res, err = pcall(step[2])
    out[i] = { name = step[1], ok = ok and res ~= nil and res ~= false,
      error = not ok and tostring(res) or (err and tostring(err)) or nil }
  end
  return { steps = out }
end

-- The Jobs API: every operation once on a job made for the occasion.
function M.jobs()
  local args = ngx.req.get_uri_args()
  local c = client(args)
  local job_id = args.job
  local job, started
  say(steps_report {
    { "create_job", function()
      return c:create_job(PROJECT, { id = job_id, payload = intuned.array(),
        configuration = { maxConcurrentRequests = 2 } })
    end },
    { "list_jobs", function() return c:list_jobs(PROJECT) end },
    { "get_job", function()
      local err
      job, err = c:get_job(PROJECT, job_id)
      return job, err
    end },
    { "update_job", function()
      job.configuration.maxConcurrentRequests = 3
      return c:update_job(PROJECT, job_id, job)
    end },
    { "pause_job", function() return c:pause_job(PROJECT, job_id) end },
    { "resume_job", function() return c:resume_job(PROJECT, job_id) end },
    { "trigger_job", function()
      local err
      started, err = c:trigger_job(PROJECT, job_id)
      return started, err
    end },
    { "list_job_runs", function() return c:list_job_runs(PROJECT, job_id, { page_size = 1 }) end },
    { "each_job_run", function()
      local n = 0
      for run in c:each_job_run(PROJECT, job_id, { page_size = 1 }) do
        n = n + (run and 1 or 0)
      end
      return n >= 1 or nil, "no runs"
    end },
    { "terminate_job_run", function() return c:terminate_job_run(PROJECT, job_id, started.jobRunId) end },
    { "run_job", function()
      local res, err = c:run_job(PROJECT, JOB, { interval = 0.05, timeout = 10 })
      return res and intuned.is_terminal(res) or nil, err
    end },
    { "delete_job", function() return c:delete_job(PROJECT, job_id) end },
  })
end

-- The Run API and AuthSessions: every operation and helper once.
function M.runs()
  local c = client(ngx.req.get_uri_args())
  local run, op = nil, nil
  local function request(outcome) return { api = "page", parameters = { outcome = outcome, polls = 2 } } end
  say(steps_report {
    { "start_run", function()
      local err
      run, err = c:start_run(PROJECT, request("completed"))
      return run, err
    end },
    { "get_run_result", function() return c:get_run_result(PROJECT, run.runId) end },
    { "wait_for_run", function() return c:wait_for_run(PROJECT, run.runId, { interval = 0.01 }) end },
    { "run", function()
      local res, err = c:run(PROJECT, request("failed"), { interval = 0.01 })
      return res and res.status == "failed" or nil, err
    end },
    { "wait_for_runs", function()
      local ids = {}
      for i = 1, 6 do ids[i] = assert(c:start_run(PROJECT, request("completed"))).runId end
      local results = c:wait_for_runs(PROJECT, ids, { interval = 0.01, concurrency = 3 })
      for i = 1, 6 do
        if not (results[i].res and results[i].res.status == "completed") then
          return nil, results[i].err
        end
      end
      return true
    end },
    { "list_auth_sessions", function() return c:list_auth_sessions(PROJECT) end },
    { "get_auth_session", function() return c:get_auth_session(PROJECT, "auth-session-123") end },
    { "start_auth_session_create", function()
      local err
      op, err = c:start_auth_session_create(PROJECT, { id = "nginx-made", parameters = { polls = 2 } })
      return op, err
    end },
    { "get_auth_session_create_result", function()
      return c:get_auth_session_create_result(PROJECT, op.operationId)
    end },
    { "create_auth_session", function()
      return c:create_auth_session(PROJECT, { parameters = { polls = 2 } }, { interval = 0.01 })
    end },
    { "validate_auth_session", function()
      return c:validate_auth_session(PROJECT, "auth-session-123", { polls = 2 }, { interval = 0.01 })
    end },
    { "update_auth_session", function()
      return c:update_auth_session(PROJECT, "auth-session-123", { parameters = { polls = 2 } }, { interval = 0.01 })
    end },
    { "delete_auth_session", function() return c:delete_auth_session(PROJECT, "auth-session-789") end },
  })
end

-- get_job_runs inside nginx: ?ids=a,b,c; each result as status or error
-- kind. Also download_results, to memory and to a file.
function M.many()
  local args = ngx.req.get_uri_args()
  local c = client(args)
  local list = {}
  for id in args.ids:gmatch("[^,]+") do
    list[#list + 1] = { PROJECT, JOB, id }
  end
  local t0 = ngx.now()
  local results = c:get_job_runs(list, { concurrency = tonumber(args.concurrency) or 16 })
  ngx.update_time()
  local out = { seconds = ngx.now() - t0, results = {} }
  for i, r in ipairs(results) do
    out.results[i] = r.res and { id = r.res.jobRun.id, status = r.res.jobRun.status }
      or { kind = r.err.kind, status = r.err.status }
  end
  local res = results[1].res
  local rows, derr = c:download_results(res)
  out.download = rows and rows[1] and rows[1].input.url or tostring(derr)
  local path = settings().prefix .. "download-" .. (args.transport or "default") .. ".json"
  local written, ferr = c:download_results(res, { path = path, decode = false })
  local f = written and io.open(written)
  out.file = f and f:read("*a"):find("Product 1", 1, true) ~= nil or tostring(ferr)
  if f then f:close() end
  say(out)
end

-- download_results to a file for each run of ?ids=a,b,c, every download
-- at once in light threads: each result is true (the file has the rows)
-- or the error.
function M.downloads()
  local args = ngx.req.get_uri_args()
  local c = client(args)
  local runs = {}
  for id in args.ids:gmatch("[^,]+") do
    runs[#runs + 1] = assert(c:get_job_run(PROJECT, JOB, id))
  end
  local t0 = ngx.now()
  local threads = {}
  for i, res in ipairs(runs) do
    threads[i] = ngx.thread.spawn(function()
      local path = ("%sdownloads-%d.json"):format(settings().prefix, i)
      local written, err = c:download_results(res, { path = path, decode = false })
      local f = written and io.open(written)
      local rows = f and f:read("*a"):find("Product 1", 1, true) ~= nil
      if f then f:close() end
      return rows or tostring(err)
    end)
  end
  local out = {}
  for i, t in ipairs(threads) do
    local _, r = ngx.thread.wait(t)
    out[i] = r
  end
  ngx.update_time()
  say({ seconds = ngx.now() - t0, results = out })
end

-- A client whose deadline is shorter than the stall of the run asked for.
function M.deadline()
  local args = ngx.req.get_uri_args()
  local c = client(args, { deadline = tonumber(args.deadline), timeout = 10 })
  local t0 = ngx.now()
  local r = report(c, args.id)
  ngx.update_time()
  r.seconds = ngx.now() - t0
  local _, err = c:get_job_run(PROJECT, JOB, args.id)
  r.deadline_reached = err and err.deadline_reached or false
  say(r)
end

-- A call, then three later calls on the same client: after a stray
-- response (the emulator writes it 20 ms after the real one, so these
-- wait ?wait= seconds, 0.2 by default), or after an answer framed by hand
-- (?wait=0).
function M.stray()
  local args = ngx.req.get_uri_args()
  local c = client(args)
  local first = report(c, args.id)
  ngx.sleep(tonumber(args.wait) or 0.2)
  first.log = nil
  local later = {}
  for i, id in ipairs(framing.later_ids(args.id)) do
    later[i] = report(c, id)
  end
  say({ first = first, later = later })
end

-- init_worker_by_lua: no pool and no cosocket can be used here, so only
-- blocking = true clients may make requests.
function M.init_worker()
  local dict = ngx.shared.app
  local id = "ok.init-" .. ngx.worker.pid()
  dict:set("init:blocking", cjson.encode(report(client({ blocking = "1" }), id)))
  dict:set("init:pool", cjson.encode(report(client({ transport = "pool" }), id)))
  dict:set("init:cosocket", cjson.encode(report(client({}), id)))
end

function M.init_worker_report()
  local dict = ngx.shared.app
  say({
    blocking = cjson.decode(dict:get("init:blocking")),
    pool = cjson.decode(dict:get("init:pool")),
    cosocket = cjson.decode(dict:get("init:cosocket")),
  })
end

return M
