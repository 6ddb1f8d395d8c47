-- make emulator (scripts/emulator.sh running scripts/emulator.lua): the
-- local API emulator in the foreground. It prints the export lines to
-- paste, the README's commands work against it as they are, and it stops
-- cleanly (port closed, nginx prefix removed) on Ctrl-C, when its terminal
-- closes, and when it is killed, however.
local cli = require("support.cli")
local fx = require("support.fixtures")
local http = require("support.http")
local core = require("intuned.core")

local STOP = 5 -- seconds a stop may take at most

-- The settings the emulator printed, once it did: base_url, workspace_id,
-- api_key and prefix.
local function settings_of(text)
  local s = {
    base_url = text:match("\nexport INTUNED_BASE_URL=(%S+)\n"),
    workspace_id = text:match("\nexport INTUNED_WORKSPACE_ID=(%S+)\n"),
    api_key = text:match("\nexport INTUNED_API_KEY=(%S+)\n"),
    prefix = text:match("the nginx files are in (%S+) %(removed on exit%)"),
  }
  return s.base_url and s.workspace_id and s.api_key and s.prefix and s or nil
end

local function env_of(s)
  return { INTUNED_BASE_URL = s.base_url, INTUNED_WORKSPACE_ID = s.workspace_id, INTUNED_API_KEY = s.api_key }
end

local function answers(s)
  local ping = s.base_url:match("^(http://[^/]+)") .. "/__emulator/ping"
  return http.request("GET", ping, { timeout = 1 }) ~= nil
end

local function exists(path)
  return (require("support.compat").execute("test -e " .. cli.quote(path)))
end

-- Waits until the emulator has stopped: nothing answers, the prefix is gone.
local function stopped(s)
  return fx.eventually(function() return not answers(s) and not exists(s.prefix) end, STOP)
end

-- The pid of the Lua process the shell script runs.
local function emulator_pid(child)
  local _, pid = cli.sh("pgrep -P " .. child.pid)
  return assert(tonumber(pid:match("%d+")), "no emulator process under " .. child.pid)
end

-- What make runs: the shell script, which runs the Lua one.
local function start()
  local child = cli.start(("LUA_CPATH='%s/?.so;;' LUA=%s sh scripts/emulator.sh"):format(
    os.getenv("BUILD") or "build/lua5.4", os.getenv("LUA") or "lua5.4"))
  local s
  assert.is_true(child:until_output(function(out)
    s = settings_of(out)
    return s ~= nil
  end, 20), "no export lines:\n" .. child:stdout() .. child:stderr())
  return child, s
end

describe("make emulator", function()
  it("prints the export lines; the README's commands work with them; Ctrl-C stops it", function()
    local child, s = start()
    local ok, why = pcall(function()
      assert.are.equal("123e4567-e89b-12d3-a456-426614174000", s.workspace_id)
      assert.truthy(s.base_url:find("^http://127%.0%.0%.1:%d+/api/v1/workspace$"), s.base_url)
      assert.truthy(child:stdout():find("^Intuned API emulator listening on " .. s.base_url:gsub("%p", "%%%0")),
        child:stdout())
      assert.is_true(exists(s.prefix), s.prefix)
      local env = env_of(s)
      -- the seeded project
      local out, err, code = cli.run("jobs list my-project", env)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("\nmy-sample-job ", 1, true) and out:find("\npaused-job ", 1, true), out)
      -- the README's examples, as they are
      out, err, code = cli.run("run get my-project my-sample-job jr_abc123", env)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Status    SUCCESS (finished)", 1, true), out)
      out, err, code = cli.run("run wait my-project my-sample-job jr_abc123 --interval 2 --timeout 600", env)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("SUCCESS: 100/100 payloads done", 1, true), out)
      local dir = cli.tmpdir()
      out, err, code = cli.run("run results my-project my-sample-job jr_abc123 -o " .. dir .. "/results.json", env)
      os.execute("rm -rf " .. cli.quote(dir))
      assert.are.equal(0, code, err)
      assert.are.equal("", out)
      assert.truthy(err:find("^wrote %d+ bytes to "), err)
      -- a triggered run, at the emulator's own pace (a few seconds)
      out, err, code = cli.run("jobs trigger my-project my-sample-job --wait --interval 1", env)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Status    SUCCESS (finished)", 1, true), out)
      -- Ctrl-C: the shell (a background job here, where sh cannot trap
      -- SIGINT) passes it on as this; the tmux spec below presses the keys
      local sent = core.now()
      os.execute("kill -INT " .. emulator_pid(child))
      assert.are.equal(0, child:wait(STOP))
      assert.is_true(stopped(s), "still running after SIGINT")
      assert.is_true(core.now() - sent < STOP)
      assert.truthy(child:stdout():find("\nemulator stopped\n$"), child:stdout())
      assert.are.equal("", child:stderr())
    end)
    child:cleanup()
    assert(ok, why)
  end)

  for _, signal in ipairs({ "TERM", "HUP" }) do
    it("stops cleanly on SIG" .. signal, function()
      local child, s = start()
      local ok, why = pcall(function()
        assert.is_true(answers(s))
        child:signal(signal)
        assert.are.equal(0, child:wait(STOP))
        assert.is_true(stopped(s), "still running after SIG" .. signal)
        assert.truthy(child:stdout():find("\nemulator stopped\n$"), child:stdout())
      end)
      child:cleanup()
      assert(ok, why)
    end)
  end

  it("stops once the shell that ran it is killed", function()
    local child, s = start()
    local ok, why = pcall(function()
      child:signal("KILL")
      assert.are.equal(137, child:wait(STOP))
      assert.is_true(stopped(s), "the emulator outlived its shell")
    end)
    child:cleanup()
    assert(ok, why)
  end)

  it("leaves nothing behind when the emulator itself is killed (its watchdog)", function()
    local child, s = start()
    local ok, why = pcall(function()
      os.execute("kill -KILL " .. emulator_pid(child))
      assert.are.equal(137, child:wait(STOP))
      assert.is_true(stopped(s), "nginx outlived its owner")
    end)
    child:cleanup()
    assert(ok, why)
  end)

  -- make emulator in a tmux pane; -> the pane and the emulator's settings.
  local function make_emulator()
    local pane = cli.terminal_command(("unset LD_PRELOAD; make --no-print-directory emulator LUA=%s"):format(
      os.getenv("LUA") or "lua5.4"), { 200, 40 })
    local s
    local up = pane:until_screen(function(screen)
      s = settings_of(screen:gsub("\n+", "\n"):gsub("^", "\n"))
      return s ~= nil and screen:find("Press Ctrl-C to stop.", 1, true) ~= nil
    end, 60)
    if not up then
      local screen = pane:screen()
      pane:close()
      error("make emulator did not start:\n" .. screen)
    end
    return pane, s
  end

  it("runs in the foreground of a terminal and stops on Ctrl-C (make emulator in tmux)", function()
    local pane, s = make_emulator()
    local ok, why = pcall(function()
      local out, err, code = cli.run("auth-sessions list my-project", env_of(s))
      assert.are.equal(0, code, err)
      assert.truthy(out:find("auth-session-123", 1, true), out)
      pane:keys("C-c")
      assert.is_true(pane:until_screen(function(screen)
        return screen:find("emulator stopped", 1, true) ~= nil
      end, STOP), pane:screen())
      assert.is_true(stopped(s), "still running after Ctrl-C")
      assert.is_nil(pane:screen():find("traceback", 1, true), pane:screen())
    end)
    pane:close()
    assert(ok, why)
  end)

  it("stops when its terminal closes (tmux)", function()
    local pane, s = make_emulator()
    pane:close() -- SIGHUP to everything in the pane
    assert.is_true(stopped(s), "still running after its terminal closed")
  end)
end)
