-- Ctrl-C ends the command within moments, even with a request in flight
-- or while the library waits between attempts: the bar's line is cleared,
-- one line says so, the exit status is 130, and no traceback shows.
local cli = require("support.cli")
local fx = require("support.fixtures")
local core = require("intuned.core")

-- Well under the request timeout (30 s) and the stalls below (20 s); the
-- command itself takes about a slice of a sleep (0.1 s) at most.
local PROMPT = 1.0

local function run_path(id)
  return (fx.server():url(id, { project = "p", job = "j" }):match("^https?://[^/]+(/.*)$"))
end

-- Sends C-c to the pane; -> exit status and how long it took to come.
local function interrupt(pane)
  local sent = core.now()
  pane:keys("C-c")
  local code = pane:wait(10)
  return code, core.now() - sent
end

local function assert_clean(screen, what)
  assert.is_nil(screen:find("traceback", 1, true), what .. ":\n" .. screen)
  assert.is_nil(screen:find("lua5", 1, true), what .. ":\n" .. screen)
  assert.is_nil(screen:find("payloads", 1, true), what .. " (the bar is still there):\n" .. screen)
  assert.are.equal(1, select(2, screen:gsub("intuned: interrupted", "")), what .. ":\n" .. screen)
end

describe("intuned on Ctrl-C", function()
  after_each(function()
    fx.server():clear_faults()
  end)

  it("stops a wait mid-request at once, clears the bar and exits 130 (tmux)", function()
    local srv = fx.server()
    local id = fx.id("running")
    local pane = cli.terminal("run wait p j " .. id .. " --interval 0.2 --max-interval 0.2")
    local ok, why = pcall(function()
      assert.is_true(pane:until_screen(function(s) return s:find("PENDING", 1, true) ~= nil end), pane:screen())
      -- from now on each poll hangs: the next one is in flight for 20 s
      srv:fault { fault = "stall-20000", prefix = run_path(id), times = 100 }
      assert.is_true(fx.eventually(function() return #srv:requests { fault = "stall-20000" } > 0 end, 5))
      core.sleep(0.2)
      local code, took = interrupt(pane)
      assert.are.equal(130, code, pane:screen())
      assert.is_true(took < PROMPT, ("took %.2fs"):format(took))
      local rows = pane:rows()
      assert.are.equal("intuned: interrupted", rows[1], pane:screen())
      assert_clean(pane:screen(), "after Ctrl-C mid-request")
    end)
    pane:close()
    assert(ok, why)
  end)

  it("stops a wait between polls at once (tmux)", function()
    local pane = cli.terminal("run wait p j " .. fx.id("running") .. " --interval 30")
    local ok, why = pcall(function()
      assert.is_true(pane:until_screen(function(s) return s:find("PENDING", 1, true) ~= nil end), pane:screen())
      local code, took = interrupt(pane)
      assert.are.equal(130, code, pane:screen())
      assert.is_true(took < PROMPT, ("took %.2fs"):format(took))
      assert.are.equal("intuned: interrupted", pane:rows()[1], pane:screen())
      assert_clean(pane:screen(), "after Ctrl-C between polls")
    end)
    pane:close()
    assert(ok, why)
  end)

  it("stops any command's request in flight (SIGINT to a child process)", function()
    local srv = fx.server()
    srv:fault { fault = "stall-20000", path = "/projects/p/jobs$", times = 10 }
    local child = cli.spawn("jobs list p")
    local ok, why = pcall(function()
      assert.is_true(fx.eventually(function() return #srv:requests { fault = "stall-20000" } > 0 end, 5))
      core.sleep(0.1)
      local sent = core.now()
      child:signal("INT")
      assert.are.equal(130, child:wait(10))
      local took = core.now() - sent
      assert.is_true(took < PROMPT, ("took %.2fs"):format(took))
      assert.are.equal("", child:stdout())
      assert.are.equal("intuned: interrupted\n", child:stderr())
    end)
    child:cleanup()
    assert(ok, why)
  end)

  it("stops the library's wait between attempts (a 30 s Retry-After)", function()
    local srv = fx.server()
    srv:fault { fault = "429-30", path = "/projects/p/jobs$", times = 10 }
    local child = cli.spawn("jobs list p")
    local ok, why = pcall(function()
      assert.is_true(fx.eventually(function() return #srv:requests { fault = "429-30" } > 0 end, 5))
      core.sleep(0.2)
      local sent = core.now()
      child:signal("INT")
      assert.are.equal(130, child:wait(10))
      assert.is_true(core.now() - sent < PROMPT, ("took %.2fs"):format(core.now() - sent))
      assert.are.equal("intuned: interrupted\n", child:stderr())
    end)
    child:cleanup()
    assert(ok, why)
  end)
end)
