-- Ctrl-C in a program that asked for it (core.catch_interrupts): SIGINT
-- sets a flag instead of ending the process, a request in progress ends
-- with kind "interrupted", a sleep returns early, and the flag stays set
-- until it is cleared on purpose. Each case runs in a child process that
-- sends SIGINT to itself.
local compat = require("support.compat")
local fx = require("support.fixtures")

-- Runs `code` in a child interpreter (from a file: no shell sees it);
-- returns its output lines.
local function child(code)
  local srv = fx.server()
  local file = os.tmpname()
  local f = assert(io.open(file, "w"))
  f:write(code)
  f:close()
  local env = ("BASE_URL='%s' API_KEY='%s' WORKSPACE='%s' "):format(srv.base_url, srv.api_key, srv.workspace_id)
  local ok, out = compat.run(env .. fx.lua() .. " " .. file, true)
  os.remove(file)
  assert.is_true(ok, out)
  local lines = {}
  for line in out:gmatch("[^\n]+") do
    lines[#lines + 1] = line
  end
  return lines
end

-- Sends SIGINT to the child interpreter after `seconds` (sh's $PPID is it;
-- in the background, as os.execute ignores SIGINT while its command runs).
local SIGNAL_LATER = [[
local function signal_later(seconds)
  os.execute(("(sleep %s; kill -INT $PPID) &"):format(seconds))
end
]]

describe("core.interrupted", function()
  it("reports SIGINT on every look until it is cleared", function()
    local lines = child(SIGNAL_LATER .. [[
      local core = require("intuned.core")
      core.catch_interrupts()
      print(core.interrupted())
      signal_later(0.1)
      core.sleep(3)
      print(core.interrupted(), core.interrupted(), core.interrupted(false))
      print(core.interrupted(true), core.interrupted())
    ]])
    assert.are.same({ "false", "true\ttrue\ttrue", "true\tfalse" }, lines)
  end)

  it("cuts a sleep short", function()
    local lines = child(SIGNAL_LATER .. [[
      local core = require("intuned.core")
      core.catch_interrupts()
      local t0 = core.now()
      signal_later(0.2)
      core.sleep(5)
      print(core.now() - t0 < 2, core.interrupted())
    ]])
    assert.are.same({ "true\ttrue" }, lines)
  end)

  it("ends a request in progress with kind \"interrupted\", the key in no message", function()
    local lines = child(SIGNAL_LATER .. [[
      local core = require("intuned.core")
      local intuned = require("intuned")
      core.catch_interrupts()
      local client = intuned.new { base_url = os.getenv("BASE_URL"), api_key = os.getenv("API_KEY"),
        workspace_id = os.getenv("WORKSPACE"), timeout = 10, retry = false }
      local t0 = core.now()
      signal_later(0.3)
      local res, err = client:get_job_run("my-project", "my-sample-job", "stall-headers-5." .. os.time())
      print(res, err and err.kind, core.now() - t0 < 3)
      print(tostring(err):find(os.getenv("API_KEY"), 1, true))
    ]])
    assert.are.same({ "nil\tinterrupted\ttrue", "nil" }, lines)
  end)
end)
