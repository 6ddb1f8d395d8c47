-- The thread-pool transport for nginx's Lua module: the fallback for what
-- cosockets cannot do (an HTTP proxy, phases without cosockets). Each
-- exchange runs the C core in nginx's thread pool through
-- ngx.run_worker_thread:
--
--   thread_pool intuned threads=4;   # main context of nginx.conf
--
-- How ngx.run_worker_thread(pool, module, func, args...) shapes this file:
--   - func runs in one of a pool of separate Lua VMs (at most
--     lua_worker_thread_vm_pool_size: 100 up to lua-nginx-module 0.10.26,
--     10 from 0.10.27), each used by one task at a time and kept between
--     tasks. Module state survives, so each VM keeps its libcurl sessions
--     here, and with them their connections.
--   - Arguments and results are copied between VMs: nil, booleans,
--     numbers, strings and tables of those. So the pool returns the raw
--     body and header block as strings, and the worker decodes them (no
--     copy of a decoded table, no metatable lost on the way).
--   - A semaphore sized to the VM limit queues the callers, first come
--     first served, when every VM is busy; it shrinks to nginx's real
--     limit when the client was told more (see gate_for).

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

-- What crosses back to the worker: status, body, header block,
-- content type, reused, bytes; or nil, kind, message, curl_code, sent.
local function flat(status, body, meta, code, sent)
  if not status then
    return nil, body, meta, code, sent
  end
  return status, body, getmetatable(meta)[1], meta.content_type, meta.reused, meta.bytes
end

-- Called by ngx.run_worker_thread: one request on this VM's session.
function M.pool_request(key, opts, method, target, body, timeout)
  return flat(pool_session(key, opts):request(method, target, body, timeout, nil, true))
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

-- One gate per worker (the VMs are the worker's, whatever thread pool a
-- request runs in; the first pool client sizes it): a semaphore of
-- `capacity` tokens, `held` of them by requests in the pool.
-- When nginx has fewer VMs than the client was told (or than the module's
-- default), ngx.run_worker_thread answers "no available Lua vm" before any
-- work is done; the gate then shrinks to what was running, without loss:
-- `debt` tokens are kept back as they are posted.
local the_gate

local function gate_for(vms)
  if not the_gate then
    the_gate = { sem = require("ngx.semaphore").new(vms), capacity = vms, held = 0, debt = 0 }
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

-- A stable name for a session's options, made once per session.
local function options_key(opts)
  local names = {}
  for name in pairs(opts) do
    names[#names + 1] = name
  end
  table.sort(names)
  for i, name in ipairs(names) do
    names[i] = name .. "=" .. tostring(opts[name])
  end
  return table.concat(names, "\0")
end

-- Runs func in the pool, waiting (within `timeout`) for a free VM.
local function in_pool(p, func, timeout, ...)
  if not ngx.run_worker_thread then
    no_pool(p.pool)
  end
  local phase = ngx.get_phase()
  if not POOL_PHASES[phase] then
    fail(("cannot use nginx's thread pool in the %s phase (only in rewrite, access, content"
      .. " and ngx.timer callbacks); make the client with blocking = true to run the"
      .. " request in the worker itself"):format(phase))
  end
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
      return (table.unpack or unpack)(results, 2, 8) -- luacheck: ignore 143
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

-- The worker's view of what the pool sent back -> the values of
-- session:request.
local function answer(p, ok, status, body, head, ctype, reused, bytes, keep_nulls, raw)
  if not ok then
    local message = tostring(status)
    if message == "no free Lua VM" then
      return nil, "timeout", "nginx thread pool: no free Lua VM (lua_worker_thread_vm_pool_size) in time",
        0, false
    end
    if message:find("thread pool", 1, true) and message:find("not found", 1, true) then
      no_pool(p.pool)
    end
    if message:find("module 'intuned.ngx' not found", 1, true) then
      fail("the thread pool's Lua VMs cannot load intuned.ngx: " .. message)
    end
    -- A full task queue and the like: the request never left.
    return nil, "network", "nginx thread pool: " .. message, 0, false
  end
  if not status then
    return nil, body, head, ctype, reused -- nil, kind, message, curl_code, sent
  end
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

local Proxy = {}
Proxy.__index = Proxy

function Proxy:request(method, target, body, timeout, keep_nulls, raw)
  if self.closed then
    fail("session is closed")
  end
  local t = timeout or self.opts.timeout or 30
  local ok, status, a, b, c, d, e = in_pool(self, "pool_request", t, method, target, body, timeout)
  return answer(self, ok, status, a, b, c, d, e, keep_nulls, raw)
end

function Proxy:download(target, path, timeout)
  if self.closed then
    fail("session is closed")
  end
  local t = timeout or self.opts.timeout or 30
  local ok, status, a, b, c, d, e = in_pool(self, "pool_download", t, target, path, timeout)
  return answer(self, ok, status, a, b, c, d, e, nil, true)
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
