-- make emulator: the local API emulator in the foreground, to try the
-- command line and the examples by hand. Prints its base URL and the three
-- export lines to paste into another shell, seeds project my-project (three
-- jobs with finished runs, three auth sessions; a trigger's run takes a few
-- seconds), then serves until Ctrl-C (or SIGTERM, or its terminal closing).
--
-- nginx runs under spec/server/watchdog.sh, which stops it and removes its
-- prefix folder as soon as this process is gone, however it ended; on
-- Ctrl-C this script stops it at once itself and says so. `make emulator`
-- runs it through scripts/emulator.sh (its own session, signals turned into
-- one SIGINT), whose pid is EMULATOR_PARENT: once that is gone, this stops
-- too.
package.path = "lua/?.lua;spec/?.lua;" .. package.path
local core = require("intuned.core")
local emulator = require("support.emulator")

-- From here on SIGINT only sets a flag: the loop below sees it.
core.catch_interrupts()

local srv = emulator.start()
srv:reset()

local lua = os.getenv("LUA") or "lua5.4"
local build = os.getenv("BUILD") or ("build/" .. lua)

local out = io.stdout
out:write(("Intuned API emulator listening on %s\n\n"):format(srv.base_url))
out:write("Paste into another shell:\n\n")
out:write(("export INTUNED_BASE_URL=%s\n"):format(srv.base_url))
out:write(("export INTUNED_WORKSPACE_ID=%s\n"):format(srv.workspace_id))
out:write(("export INTUNED_API_KEY=%s\n\n"):format(srv.api_key))
out:write("Then, for example (from this folder, without installing):\n\n")
local here = ("LUA_PATH='lua/?.lua;;' LUA_CPATH='%s/?.so;;' %s bin/intuned"):format(build, lua)
for _, args in ipairs({
  "jobs list my-project",
  "job-runs list my-project my-sample-job",
  "jobs trigger my-project my-sample-job --wait",
  "runs start my-project details --param url=https://example.com/1 --wait",
  "auth-sessions list my-project",
}) do
  out:write(("  %s %s\n"):format(here, args))
end
out:write(("\nProject my-project is seeded; the nginx files are in %s (removed on exit).\n"):format(srv.prefix))
out:write("Press Ctrl-C to stop.\n")
out:flush()

-- Whether the shell that started this (EMULATOR_PARENT) still runs; a
-- zombie counts as gone.
local parent = tonumber(os.getenv("EMULATOR_PARENT") or "")
local function parent_alive()
  if not parent then
    return true
  end
  local f = io.open("/proc/" .. parent .. "/stat")
  if f then
    local stat = f:read("*l") or ""
    f:close()
    return stat:match("^%d+ %(.*%) (%a)") ~= "Z"
  end
  local r = os.execute("kill -0 " .. parent .. " 2>/dev/null")
  return r == true or r == 0
end

while not core.interrupted() and parent_alive() do
  core.sleep(0.5)
end
srv:stop()
out:write("\nemulator stopped\n")
out:flush()
os.exit(0)
