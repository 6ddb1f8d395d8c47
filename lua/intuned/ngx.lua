-- Transport for nginx's Lua module (OpenResty style).
--
-- A libcurl call made in an nginx worker would stall its event loop, and
-- with it every other request of that worker. So inside nginx each HTTP
-- exchange runs in a thread pool through ngx.run_worker_thread:
--
--   thread_pool intuned threads=4;   # main context of nginx.conf
--
-- How ngx.run_worker_thread(pool, module, func, args...) shapes this file:
--   - func runs in one of a pool of separate Lua VMs (lua_worker_thread_vm_pool_size),
--     each used by one task at a time and kept between tasks, with the
--     worker's package.path and package.cpath. Module state survives, so
--     each VM caches its libcurl sessions here and keeps connections alive.
--   - Arguments and results are copied between VMs: nil, booleans, numbers,
--     strings, light userdata (intuned.null) and tables of those. No
--     functions, no full userdata, no metatables: the session is never
--     passed, only its options; error objects are built on the caller's side.
--   - It is allowed in rewrite, access and content handlers and ngx.timer
--     callbacks, where the calling coroutine yields while the pool works.
-- Anywhere else (init_worker, set_by, log, filters), or without a pool, the
-- client raises instead of blocking, unless it was made with blocking = true.

local M = {}

M.DEFAULT_POOL = "intuned"

-- What ngx.run_worker_thread says when all its VMs are busy, and how long
-- to wait between tries then (seconds).
local NO_VM = "no available Lua vm"
local VM_WAIT_FIRST, VM_WAIT_MAX = 0.002, 0.05

-- Phases where ngx.run_worker_thread may be called.
local POOL_PHASES = { rewrite = true, access = true, content = true, timer = true }

local function fail(message)
  error("intuned: " .. message, 0)
end

---------------------------------------------------------------------------
-- Pool side: runs in the Lua VMs of nginx's thread pool
---------------------------------------------------------------------------

-- Sessions of this VM by their options. The cap only guards against a
-- caller that makes endless distinct clients; normal use has one entry.
local MAX_SESSIONS = 16
local sessions, session_count = {}, 0

local function options_key(opts)
  local names = {}
  for name in pairs(opts) do
    names[#names + 1] = name
  end
  table.sort(names)
  local parts = {}
  for i, name in ipairs(names) do
    parts[i] = name .. "=" .. tostring(opts[name])
  end
  return table.concat(parts, "\0")
end

local function pool_session(opts)
  local key = options_key(opts)
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
  session = require("intuned.core").session(opts)
  sessions[key] = session
  session_count = session_count + 1
  return session
end

-- Called by ngx.run_worker_thread: one HTTP exchange on this VM's session
-- for `opts`. Returns what session:request returns.
function M.pool_request(opts, method, path, body, timeout, keep_nulls)
  local status, res, meta, curl_code, sent = pool_session(opts):request(method, path, body, timeout,
    keep_nulls)
  if status then
    -- meta.headers is built on first read through a metatable, and
    -- metatables do not cross to the worker's VM: build it here.
    meta.headers = meta.headers
    setmetatable(meta, nil)
  end
  return status, res, meta, curl_code, sent
end

-- How many sessions this pool VM holds (for tests and diagnostics).
function M.pool_sessions()
  return session_count
end

---------------------------------------------------------------------------
-- Caller side: the nginx worker's own VM
---------------------------------------------------------------------------

local function no_pool(pool)
  fail(("nginx has no thread pool '%s': add `thread_pool %s threads=4;` to the main context"
    .. " of nginx.conf, or make the client with blocking = true to run requests in the"
    .. " worker itself (this stalls its event loop while a request runs)"):format(pool, pool))
end

-- A session with the interface of intuned.core's (request, close) that sends
-- each request to the pool. The options, API key included, stay in this
-- closure: they are not reachable as fields of the client.
local function pool_session_proxy(opts, pool)
  local proxy = {}
  local run_worker_thread = ngx.run_worker_thread
  local closed = false

  function proxy.request(_, method, path, body, timeout, keep_nulls)
    if closed then
      fail("session is closed")
    end
    if not run_worker_thread then
      no_pool(pool)
    end
    local phase = ngx.get_phase()
    if not POOL_PHASES[phase] then
      fail(("cannot use nginx's thread pool in the %s phase (only in rewrite, access, content"
        .. " and ngx.timer callbacks); make the client with blocking = true to run the"
        .. " request in the worker itself"):format(phase))
    end
    -- Every VM busy (more requests at once than lua_worker_thread_vm_pool_size):
    -- wait for one, within the attempt's timeout, rather than fail a burst.
    local give_up = ngx.now() + (timeout or opts.timeout)
    local pause = VM_WAIT_FIRST
    local ok, status, res, meta, curl_code, sent
    while true do
      ok, status, res, meta, curl_code, sent = run_worker_thread(pool, "intuned.ngx", "pool_request",
        opts, method, path, body, timeout, keep_nulls and true or false)
      if ok or status ~= NO_VM or ngx.now() + pause > give_up then
        break
      end
      ngx.sleep(pause)
      ngx.update_time()
      pause = math.min(pause * 2, VM_WAIT_MAX)
    end
    if ok then
      return status, res, meta, curl_code, sent
    end
    local message = tostring(status)
    if message == NO_VM then
      return nil, "timeout", "nginx thread pool: no free Lua VM (lua_worker_thread_vm_pool_size) in time",
        0, false
    end
    if message:find("thread pool", 1, true) and message:find("not found", 1, true) then
      no_pool(pool)
    end
    if message:find("module 'intuned.ngx' not found", 1, true) then
      fail("the thread pool's Lua VMs cannot load intuned.ngx: " .. message)
    end
    -- A full task queue and the like: the request never left, so it is a
    -- network-class failure and may be retried.
    return nil, "network", "nginx thread pool: " .. message, 0, false
  end

  function proxy.close()
    closed = true
  end

  return proxy
end

-- The transport intuned.new uses inside nginx: sessions that run in
-- `pool`, and a sleep that yields to the event loop where it can.
function M.transport(pool)
  pool = pool or M.DEFAULT_POOL
  return {
    session = function(opts)
      return pool_session_proxy(opts, pool)
    end,
    sleep = function(seconds)
      if POOL_PHASES[ngx.get_phase()] then
        return ngx.sleep(seconds)
      end
      return require("intuned.core").sleep(seconds)
    end,
  }
end

return M
