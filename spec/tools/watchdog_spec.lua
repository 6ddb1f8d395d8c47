-- spec/server/watchdog.sh and its Lua side (spec/support/watchdog.lua), which
-- every nginx the specs and the benchmark start runs under. A stand-in for
-- nginx (a shell that sleeps) keeps these specs quick and independent of it.
local socket = require("socket")
local files = require("support.files")
local watchdog = require("support.watchdog")

local execute, capture = files.execute, files.capture
local sys = { sleep = socket.sleep, clock = socket.gettime }

-- A process counts as alive while it exists and is not a zombie (an orphan
-- may wait a while for whoever adopted it to reap it).
local function alive(pid)
  local stat = files.read("/proc/" .. pid .. "/stat")
  return stat ~= nil and stat:match("%) (%a)") ~= "Z"
end

-- Waits up to `seconds` for check() to hold; returns whether it did.
local function within(seconds, check)
  local deadline = socket.gettime() + seconds
  repeat
    if check() then
      return true
    end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  return check()
end

-- A prefix holding a fake nginx, run by watchdog.sh for this process.
-- Returns the prefix, the watchdog's pid and the fake nginx's pid.
local function start()
  local prefix = capture("mktemp -d"):gsub("%s+$", "")
  files.write(prefix .. "/fake-nginx", "#!/bin/sh\nexec sleep 60\n")
  assert(execute("chmod +x " .. files.quote(prefix .. "/fake-nginx")))
  local out = capture(("sh spec/server/watchdog.sh %s %s %s </dev/null >/dev/null 2>&1 & echo $!")
    :format(files.own_pid(), files.quote(prefix), files.quote(prefix .. "/fake-nginx")))
  local watchdog_pid = assert(out:match("%d+"))
  local child
  assert(within(5, function()
    child = (files.read(prefix .. "/nginx.child.pid") or ""):match("%d+")
    return child ~= nil and alive(child)
  end), "the watchdog did not start its child")
  return prefix, watchdog_pid, child
end

describe("nginx watchdog", function()
  it("stops the child and removes the prefix when asked through the stop file", function()
    local prefix, watchdog_pid, child = start()
    watchdog.stop(prefix, 5, 0.02, sys)
    assert.is_false(files.exists(prefix))
    assert.is_false(alive(child))
    assert.is_true(within(2, function() return not alive(watchdog_pid) end))
  end)

  it("kills the child and removes the prefix itself when the watchdog is gone", function()
    local prefix, watchdog_pid, child = start()
    assert(execute("kill -KILL " .. watchdog_pid))
    assert.is_true(within(2, function() return not alive(watchdog_pid) end))
    assert.is_true(alive(child))
    watchdog.stop(prefix, 0.3, 0.02, sys)
    assert.is_false(files.exists(prefix))
    assert.is_true(within(2, function() return not alive(child) end))
  end)

  for _, signal in ipairs({ "HUP", "TERM" }) do
    it("stops the child and removes the prefix on SIG" .. signal .. " (a closed terminal, a timeout)", function()
      local prefix, watchdog_pid, child = start()
      assert(execute("kill -" .. signal .. " " .. watchdog_pid))
      assert.is_true(within(5, function() return not files.exists(prefix) end), "the prefix is still there")
      assert.is_false(alive(child))
      assert.is_true(within(2, function() return not alive(watchdog_pid) end))
    end)
  end

  it("does nothing for a prefix that is already gone", function()
    local calls = 0
    local function count() calls = calls + 1 end
    watchdog.stop("/nonexistent/intuned-watchdog-spec", 0.1, 0.02, { sleep = count, clock = count })
    assert.equal(0, calls)
  end)
end)
