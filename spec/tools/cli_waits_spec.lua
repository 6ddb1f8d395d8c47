-- Waits whose polls fail: each failed poll shows as it happens (what
-- failed, how many in a row), a wait that never had a successful poll
-- gives up after 5 of them instead of waiting out its timeout, and one
-- whose API goes away mid-wait keeps showing it until the API is back.
local cli = require("support.cli")
local fx = require("support.fixtures")
local core = require("intuned.core")

local CLOSED = { INTUNED_BASE_URL = "http://127.0.0.1:1/api/v1/workspace" }

local function lines_of(text)
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

-- The raw path of a legacy run's Get Job Run, as faults match it.
local function run_path(id)
  return (fx.server():url(id, { project = "p", job = "j" }):match("^https?://[^/]+(/.*)$"))
end

describe("intuned waits whose polls fail", function()
  after_each(function()
    fx.server():clear_faults()
  end)

  it("show each failed poll and give up after 5 when none ever succeeded (exit 3, in seconds)", function()
    local started = core.now()
    local out, err, code = cli.run("run wait p j ok --progress lines", CLOSED)
    local took = core.now() - started
    assert.are.equal(3, code, err)
    local lines = lines_of(out)
    assert.are.equal(5, #lines, out)
    assert.truthy(lines[1]:find(
      "^%[ *%d+%.%ds%] poll failed: cannot connect to 127%.0%.0%.1 port 1 %(connection refused%)$"), out)
    for n = 2, 5 do
      local want = ("] %d polls failed in a row: cannot connect to 127.0.0.1 port 1"):format(n)
      assert.truthy(lines[n]:find(want, 1, true), out)
    end
    assert.are.equal("intuned: gave up waiting for job run ok: 5 polls failed and none succeeded; the last:"
      .. " cannot connect to 127.0.0.1 port 1 (connection refused)\n", err)
    -- the default timeout is an hour; five single attempts a second apart
    assert.is_true(took < 15, ("took %.1fs"):format(took))
  end)

  it("time out with exit 4 when the timeout comes first, also without any successful poll", function()
    local out, err, code = cli.run("run wait p j ok --progress lines --timeout 1.5", CLOSED)
    assert.are.equal(4, code, err)
    assert.truthy(out:find("poll failed: cannot connect", 1, true), out)
    assert.truthy(err:find("job run ok did not finish within 1.5s (no poll succeeded; the last failed:"
      .. " cannot connect to 127.0.0.1 port 1 (connection refused))", 1, true), err)
  end)

  it("go on through failures once a poll succeeded, and say when polls answer again", function()
    local srv = fx.server()
    srv:clear_faults()
    local id = fx.id("running")
    local child = cli.spawn("run wait p j " .. id .. " --interval 0.1 --max-interval 0.1 --timeout 60"
      .. " --progress lines")
    local ok, why = pcall(function()
      assert.is_true(child:until_output(function(out) return out:find("PENDING", 1, true) ~= nil end),
        "no first line: " .. child:stdout() .. child:stderr())
      -- the API goes away: every request for the run gets its connection dropped
      srv:fault { fault = "reset-before", prefix = run_path(id), times = 100000 }
      assert.is_true(child:until_output(function(out)
        return out:find("3 polls failed in a row: 127.0.0.1 port " .. srv.port
          .. " closed the connection without answering", 1, true) ~= nil
      end), "failures not shown: " .. child:stdout() .. child:stderr())
      assert.is_nil(child:status(), "the wait ended: " .. child:stderr())
      srv:clear_faults()
      assert.is_true(child:until_output(function(out)
        return out:find("PENDING: 0/? payloads done (? ok, ? failed)  (polls answer again)", 1, true) ~= nil
      end), "no recovery: " .. child:stdout())
      child:signal("INT")
      assert.are.equal(130, child:wait(5))
      assert.are.equal("intuned: interrupted\n", child:stderr())
    end)
    child:cleanup()
    assert(ok, why)
  end)

  it("say on the bar's line what failed and how many times (tmux)", function()
    local pane = cli.terminal("run wait p j ok --interval 0.3", CLOSED, { 150, 10 })
    local ok, why = pcall(function()
      assert.is_true(pane:until_screen(function(screen)
        return screen:find("%d polls failed in a row: cannot connect to 127%.0%.0%.1 port 1 %(connection refused%)")
          ~= nil
      end), pane:screen())
      assert.are.equal(3, pane:wait(20), pane:screen())
      local rows = pane:rows()
      assert.truthy(rows[1]:find("^%[%-+%] %?/%? payloads  0:0%d  ! 5 polls failed in a row: cannot connect to"
        .. " 127%.0%.0%.1 port 1 %(connection refused%)$"), pane:screen())
      assert.truthy(rows[2]:find("^intuned: gave up waiting for job run ok: 5 polls failed"), pane:screen())
      -- redrawn in place: one frame on the screen
      assert.are.equal(1, select(2, pane:screen():gsub("polls failed in a row", "")), pane:screen())
    end)
    pane:close()
    assert(ok, why)
  end)

  it("keep the bar within a narrow terminal, the failure first (tmux)", function()
    local pane = cli.terminal("run wait p j ok --interval 0.3 --timeout 1", CLOSED, { 90, 10 })
    local ok, why = pcall(function()
      assert.are.equal(4, pane:wait(20), pane:screen())
      local rows = pane:rows()
      assert.truthy(rows[1]:find("^0:0%d  ! %d polls failed in a row: cannot connect to 127%.0%.0%.1 port 1"),
        pane:screen())
      assert.is_true(#rows[1] < 90, pane:screen())
      assert.truthy(rows[2]:find("^intuned: job run ok did not finish within 1s"), pane:screen())
    end)
    pane:close()
    assert(ok, why)
  end)

  it("retry a failing first poll quickly and go on once one succeeds", function()
    local out, err, code = cli.run("run wait p j " .. fx.id("flaky503-3") .. " --progress lines --interval 0.1")
    assert.are.equal(0, code, err)
    assert.truthy(out:find("3 polls failed in a row: HTTP 503: The service is temporarily unavailable", 1, true), out)
    assert.truthy(out:find("SUCCESS: 100/100 payloads done (95 ok, 5 failed)  (polls answer again)", 1, true), out)
    assert.truthy(out:find("Status    SUCCESS (finished)", 1, true), out)
  end)
end)
