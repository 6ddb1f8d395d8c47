-- The thread-pool transport for nginx's Lua module: the fallback for what
-- cosockets cannot do (an HTTP proxy, private CAs, HTTP/2). Requests run
-- on the C core's engine (src/engine.c): one libcurl thread per nginx
-- worker process that drives every transfer of that worker on one multi
-- handle. nginx's thread pool is only used to bring results back:
--
--   thread_pool intuned threads=4;   # main context of nginx.conf
--
--   - A request submits its job to the engine from the worker's own Lua
--     state (core.engine_submit never waits beyond a mutex) and waits on a
--     semaphore of its own, within its attempt's timeout.
--   - One collector per worker, an ngx.timer.at loop that runs while any
--     request waits, calls engine_collect in the thread pool through
--     ngx.run_worker_thread: it blocks there until some jobs have ended
--     and brings their raw bodies and header blocks back as strings (the
--     only values nginx copies between Lua VMs), then posts each waiting
--     request's semaphore. The worker decodes.
--   - So slow calls hold no thread and no VM: however many are in flight,
--     the others go on. The pool needs one thread and one VM per worker
--     for the collector.
--   - Downloads to a file still run whole in the pool (a blocking libcurl
--     transfer in one of its Lua VMs, which keep their sessions here),
--     queued on a semaphore sized to the VM limit less the collector's VM
--     (see gate_for).

local compat = require("intuned.compat")
local core = require("intuned.core")
local response = require("intuned.response")

local M = {}

M.DEFAULT_POOL = "intuned"

---------------------------------------------------------------------------
-- Pool side: runs in the Lua VMs of nginx's thread pool
---------------------------------------------------------------------------

-- Sessions of this VM by the key the worker gave them. The cap only guards
-- against a caller that makes endless distinct clients.
local MAX_SESSIONS = 16
local sessions, session_count = {}, 0

local function pool_session(key, opts)
  local session = sessions[key]
  if session then
    return session
  end
  if session_count >= MAX_SESSIONS then
    for _, s in pairs(sessions) do
      s:close()
    end
    sessions, session_count = {}, 0
  end
  session = core.session(opts)
  sessions[key] = session
  session_count = session_count + 1
  return session
end

-- What a download sends back to the worker: status, body, header block,
-- content type, reused, bytes; or nil, kind, message, curl_code, sent.
local function flat(status, body, meta, code, sent)
  if not status then
    return nil, body, meta, code, sent
  end
  return status, body, getmetatable(meta)[1], meta.content_type, meta.reused, meta.bytes
end

-- Called by ngx.run_worker_thread: the collector's task. Waits up to
-- max_wait seconds for ended jobs of this process's engine.
function M.engine_collect(max_wait)
  return core.engine_collect(max_wait)
end

-- Called by ngx.run_worker_thread once per worker and pool: proves that
-- the pool exists and that its VMs load this module.
function M.engine_ready()
  return true
end

-- Called by ngx.run_worker_thread: one download to a file, in the thread.
function M.pool_download(key, opts, target, path, timeout)
  return flat(pool_session(key, opts):download(target, path, timeout))
end

---------------------------------------------------------------------------
-- Worker side: the nginx worker's own VM
---------------------------------------------------------------------------

-- Phases where ngx.run_worker_thread may be called.
local POOL_PHASES = { rewrite = true, access = true, content = true, timer = true }

local KEEP_NULLS = { keep_nulls = true }

local function fail(message)
  error("intuned: " .. message, 0)
end

local function no_pool(pool)
  fail(("nginx has no thread pool '%s': add `thread_pool %s threads=4;` to the main context"
    .. " of nginx.conf, or make the client with blocking = true to run requests in the"
    .. " worker itself (this stalls its event loop while a request runs)"):format(pool, pool))
end

-- The VM limit of this lua-nginx-module, when the client does not say.
local function default_vms()
  local v = ngx.config and ngx.config.ngx_lua_version or 0
  return v >= 10027 and 10 or 100
end

-- One gate per worker for downloads (the VMs are the worker's, whatever
-- thread pool a download runs in; the first pool client sizes it): a
-- semaphore of `capacity` tokens, `held` of them by downloads in the pool.
-- One VM is left to the collector, so that requests never wait for
-- downloads (nor, with as many threads as VMs, for a thread).
-- When nginx has fewer VMs than the client was told (or than the module's
-- default), ngx.run_worker_thread answers "no available Lua vm" before any
-- work is done; the gate then shrinks to what was running, without loss:
-- `debt` tokens are kept back as they are posted.
local the_gate

local function gate_for(vms)
  if not the_gate then
    local capacity = math.max(1, vms - 1)
    the_gate = { sem = require("ngx.semaphore").new(capacity), capacity = capacity, held = 0, debt = 0 }
  end
  return the_gate
end

local function enter(gate, timeout)
  local got = gate.sem:wait(timeout)
  if got then
    gate.held = gate.held + 1
  end
  return got
end

local function leave(gate)
  gate.held = gate.held - 1
  if gate.debt > 0 then
    gate.debt = gate.debt - 1
  else
    gate.sem:post(1)
  end
end

-- Called holding a token when nginx had no VM: the other requests running
-- are what nginx can take at once. Free tokens beyond that are taken back.
local function shrink(gate)
  local fits = math.max(1, gate.held - 1)
  if fits >= gate.capacity then
    return false
  end
  gate.debt = gate.debt + gate.capacity - fits
  gate.capacity = fits
  while gate.debt > 0 and gate.sem:count() > 0 and gate.sem:wait(0) do
    gate.debt = gate.debt - 1
  end
  return true
end

-- A stable name for a session's options, made once per session; without
-- the option `skip`.
local function options_key(opts, skip)
  local names = {}
  for name in pairs(opts) do
    if name ~= skip then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  for i, name in ipairs(names) do
    names[i] = name .. "=" .. tostring(opts[name])
  end
  return table.concat(names, "\0")
end

-- Raises unless this phase may use nginx's thread pool.
local function check_phase(p)
  if not ngx.run_worker_thread then
    no_pool(p.pool)
  end
  local phase = ngx.get_phase()
  if not POOL_PHASES[phase] then
    fail(("cannot use nginx's thread pool in the %s phase (only in rewrite, access, content"
      .. " and ngx.timer callbacks); make the client with blocking = true to run the"
      .. " request in the worker itself"):format(phase))
  end
end

-- What the thread pool's own failure `message` means for a request:
-- raised when it is the configuration's (no such pool, a VM that cannot
-- load this module), else a network error (a full task queue and the
-- like). sent: whether the request may have gone out meanwhile.
local function pool_failure(p, message, sent)
  if message:find("thread pool", 1, true) and message:find("not found", 1, true) then
    no_pool(p.pool)
  end
  if message:find("module 'intuned.ngx' not found", 1, true) then
    fail("the thread pool's Lua VMs cannot load intuned.ngx: " .. message)
  end
  return nil, "network", "nginx thread pool: " .. message, 0, sent
end

-- Runs func in the pool, waiting (within `timeout`) for a free VM.
local function in_pool(p, func, timeout, ...)
  check_phase(p)
  local gate = gate_for(p.vms)
  local deadline = ngx.now() + timeout
  local pause = 0.001
  while true do
    if not enter(gate, math.max(0, deadline - ngx.now())) then
      return false, "no free Lua VM"
    end
    local results = { pcall(ngx.run_worker_thread, p.pool, "intuned.ngx", func, p.key, p.opts, ...) }
    local no_vm = results[1] and results[2] == false and results[3] == "no available Lua vm"
    local shrunk = no_vm and shrink(gate)
    leave(gate)
    if not results[1] then
      error(results[2], 0)
    end
    if not no_vm then
      return compat.unpack(results, 2, 8)
    end
    ngx.update_time()
    if not shrunk then
      -- Every VM busy with other work of this worker: a pause, then again.
      if ngx.now() + pause > deadline then
        return false, "no free Lua VM"
      end
      ngx.sleep(pause)
      pause = math.min(pause * 2, 0.05)
    end
  end
end

-- The values of session:request from what the engine or a download sent
-- back: status, raw body, header block, content type, reused, bytes.
local function decoded(status, body, head, ctype, reused, bytes, keep_nulls, raw)
  local meta = core.head_meta({ content_type = ctype, reused = reused, bytes = bytes }, head)
  if raw or body == nil or body == "" or not response.is_json_type(ctype) then
    return status, body, meta
  end
  local value, why, offset = core.decode(body, keep_nulls and KEEP_NULLS or nil)
  if value == nil and why then
    meta.decode_error, meta.decode_offset = why, offset
    return status, body, meta
  end
  return status, value, meta
end

-- The worker's view of what a download in the pool sent back -> the
-- values of session:download.
local function answer(p, ok, status, body, head, ctype, reused, bytes)
  if not ok then
    local message = tostring(status)
    if message == "no free Lua VM" then
      return nil, "timeout", "nginx thread pool: no free Lua VM (lua_worker_thread_vm_pool_size) in time",
        0, false
    end
    return pool_failure(p, message, false)
  end
  if not status then
    return nil, body, head, ctype, reused -- nil, kind, message, curl_code, sent
  end
  return decoded(status, body, head, ctype, reused, bytes, nil, true)
end

---------------------------------------------------------------------------
-- Requests on the engine
---------------------------------------------------------------------------

-- How long a collector task waits in the pool for ended jobs before it
-- comes back to look whether anything still waits.
local COLLECT_WAIT = 0.5
-- A request gives up on the engine this long after its own timeout (by
-- then libcurl has ended the transfer: only a collector that cannot run
-- gets here).
local MARGIN = 1
-- Entries of requests that are gone without taking their answer (an
-- aborted request) are dropped this long after their deadline.
local STALE = 5
-- How long the collector goes on once no request waits.
local LINGER = 1

-- Per worker: the requests waiting, by job id ({ sem, deadline }); the
-- items the collector brought for them; whether the collector runs; the
-- pools known to work; the engine profiles by settings.
local waiting, nwaiting, results = {}, 0, {}
local collecting = false
local pool_ready = {}
local profiles = {}

local new_semaphore
-- Semaphores of requests that took their answer, for the next ones.
local spare = {}

local function semaphore()
  new_semaphore = new_semaphore or require("ngx.semaphore").new
  local n = #spare
  if n == 0 then
    return new_semaphore(0)
  end
  local sem = spare[n]
  spare[n] = nil
  return sem
end

-- Hands each item to the request waiting for it (none: it gave up).
-- Returns whether it woke any.
local function deliver(items)
  local woke = false
  for _, item in ipairs(items) do
    local w = waiting[item.id]
    if w then
      results[item.id] = item
      w.sem:post(1)
      woke = true
    end
  end
  return woke
end

-- Every waiting request gets the pool's failure instead of an answer.
local function fail_waiting(message)
  for id, w in pairs(waiting) do
    if not results[id] then
      results[id] = { pool_error = message }
      w.sem:post(1)
    end
  end
end

-- Drops the entries of requests that went away without their answer.
local function sweep(now)
  for id, w in pairs(waiting) do
    if now > w.deadline + STALE then
      waiting[id], results[id] = nil, nil
      nwaiting = nwaiting - 1
      core.engine_cancel(id)
    end
  end
end

-- The collector: one task at a time in the pool brings back what has
-- ended, while any request waits and for LINGER seconds after the last
-- one (a task already waiting in the pool answers the next request
-- sooner than a new one, and a new timer per request costs more). A worker
-- that is exiting still has its requests in flight answered.
local function collect(pool)
  local pause, next_sweep = 0.001, ngx.now() + STALE
  local linger_until = ngx.now() + LINGER
  while true do
    local now = ngx.now()
    if nwaiting > 0 then
      linger_until = now + LINGER
    elseif now >= linger_until or ngx.worker.exiting() then
      break
    end
    local wait = ngx.worker.exiting() and 0.05 or math.min(COLLECT_WAIT, linger_until - now)
    local called, ok, items = pcall(ngx.run_worker_thread, pool, "intuned.ngx", "engine_collect", wait)
    if called and ok then
      pause = 0.001
      if deliver(items) then
        -- The requests just woken answer before the next task is handed
        -- to the pool (its thread would take the CPU from them).
        ngx.sleep(0)
      end
    elseif called and items == "no available Lua vm" then
      -- Every VM taken by downloads of this worker: soon one is free.
      ngx.sleep(pause)
      pause = math.min(pause * 2, 0.02)
    else
      fail_waiting(tostring(called and items or ok))
      ngx.sleep(pause)
    end
    ngx.update_time()
    if ngx.now() > next_sweep then
      sweep(ngx.now())
      next_sweep = ngx.now() + STALE
    end
  end
  collecting = false
end

local function start_collector(pool)
  if collecting then
    return
  end
  collecting = true
  local ok = ngx.timer.at(0, function()
    collect(pool)
  end)
  if not ok then
    -- No timer now (too many, or the worker is exiting): this request
    -- collects, for every request waiting.
    collect(pool)
  end
end

-- Once per worker and pool: the pool exists and its VMs load this module
-- (raises as pool_failure says otherwise), before any request goes out.
local function check_pool(p)
  if pool_ready[p.pool] then
    return
  end
  local called, ok, err = pcall(ngx.run_worker_thread, p.pool, "intuned.ngx", "engine_ready")
  if not called then
    error(ok, 0)
  end
  if not ok and err ~= "no available Lua vm" then
    local _, kind, message = pool_failure(p, tostring(err), false)
    error(("intuned: %s: %s"):format(kind, message), 0)
  end
  pool_ready[p.pool] = true
end

-- The engine profile of p's settings, made once per worker and settings.
-- Every request names its timeout, so the session's default is no part of
-- them (a download's session has the call's timeout).
local function profile_of(p)
  if not p.profile then
    local key = options_key(p.opts, "timeout")
    local id = profiles[key]
    if not id then
      local session = core.session(p.opts)
      local ok, made = pcall(core.engine_profile, session)
      session:close()
      if not ok then
        error(made, 0)
      end
      id = made
      profiles[key] = id
    end
    p.profile = id
  end
  return p.profile
end

-- One request on the engine -> the values of session:request.
local function on_engine(p, method, target, body, timeout, keep_nulls, raw)
  check_phase(p)
  check_pool(p)
  local id = core.engine_submit(profile_of(p), method, target, body, timeout)
  local w = { sem = semaphore(), deadline = ngx.now() + timeout + MARGIN }
  waiting[id] = w
  nwaiting = nwaiting + 1
  start_collector(p.pool)
  if not results[id] then
    w.sem:wait(timeout + MARGIN)
  end
  local item = results[id]
  if waiting[id] then
    waiting[id], results[id] = nil, nil
    nwaiting = nwaiting - 1
    if w.sem:count() == 0 then
      spare[#spare + 1] = w.sem
    end
  end
  if not item or item.pool_error then
    core.engine_cancel(id)
  end
  if not item then
    return nil, "timeout", "nginx thread pool: no answer from the engine in time", 0, true
  elseif item.pool_error then
    return pool_failure(p, item.pool_error, true)
  elseif item.out_of_memory then
    error("intuned.core: out of memory", 0)
  elseif not item.status then
    return nil, item.kind, item.message, item.code, item.sent
  end
  return decoded(item.status, item.body, item.head, item.ctype, item.reused, item.bytes, keep_nulls, raw)
end

local Proxy = {}
Proxy.__index = Proxy

function Proxy:request(method, target, body, timeout, keep_nulls, raw)
  if self.closed then
    fail("session is closed")
  end
  return on_engine(self, method, target, body, timeout or self.opts.timeout or 30, keep_nulls, raw)
end

function Proxy:download(target, path, timeout)
  if self.closed then
    fail("session is closed")
  end
  local t = timeout or self.opts.timeout or 30
  local ok, status, a, b, c, d, e = in_pool(self, "pool_download", t, target, path, timeout)
  return answer(self, ok, status, a, b, c, d, e)
end

function Proxy:close()
  self.closed = true
end

-- The transport intuned.new uses for transport = "pool": sessions that run
-- in `pool`, at most `vms` requests at once, and a sleep that yields to the
-- event loop where it can.
function M.transport(pool, vms)
  pool = pool or M.DEFAULT_POOL
  vms = vms or default_vms()
  return {
    name = "pool",
    session = function(opts)
      return setmetatable({ opts = opts, key = options_key(opts), pool = pool, vms = vms }, Proxy)
    end,
    sleep = function(seconds)
      if POOL_PHASES[ngx.get_phase()] then
        return ngx.sleep(seconds)
      end
      return core.sleep(seconds)
    end,
  }
end

return M
