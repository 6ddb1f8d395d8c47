-- Shared spec helpers: a client pointed at the emulator, with time injected
-- so retry waits are recorded instead of slept.
local intuned = require("intuned")
local emulator = require("support.emulator")

local M = {}

M.PROJECT = "my-project"
M.JOB = "my-sample-job"

local counter = 0

-- A job run id for `scenario` that no other spec uses, so the emulator's
-- per-id counters start fresh.
function M.id(scenario)
  counter = counter + 1
  return ("%s.%d-%d"):format(scenario, os.time(), counter)
end

-- The interpreter the specs run under, and the environment that lets a
-- child process of it load this tree's modules.
function M.lua()
  local build = os.getenv("BUILD") or "build/lua5.4"
  return ("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s/?.so;;' %s")
    :format(build, os.getenv("LUA") or "lua5.4")
end

function M.server()
  return emulator.shared()
end

-- A fake clock that only moves when the client sleeps (support.fake_time).
M.fake_time = require("support.fake_time")

-- Polls check() until it returns true, for at most `seconds` (default 3)
-- of real time; returns whether it did. A bounded readiness check, never a
-- fixed sleep.
function M.eventually(check, seconds)
  local core = require("intuned.core")
  local give_up = core.now() + (seconds or 3)
  while not check() do
    if core.now() > give_up then
      return false
    end
    core.sleep(0.005)
  end
  return true
end

-- A client on the real clock and sleep, whose retries wait `delay` seconds
-- (for the specs where a server must act between two attempts).
function M.real_time_client(delay, opts)
  local core = require("intuned.core")
  local o = {
    clock = core.now, sleep = core.sleep, random = math.random,
    retry = { base_delay = delay, min_delay = delay, max_delay = delay },
  }
  for k, v in pairs(opts or {}) do o[k] = v end
  return M.client(o)
end

-- intuned.new with the emulator's settings; `opts` overrides them.
-- Returns the client and its fake time.
function M.client(opts)
  local time = M.fake_time()
  return intuned.new(time.client_options(M.server(), opts)), time
end

return M
