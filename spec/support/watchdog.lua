-- The Lua side of spec/server/watchdog.sh, shared by the emulator's helper
-- and the benchmark's server: how to stop an nginx the watchdog runs.
local files = require("support.files")

local M = {}

-- Asks the watchdog to stop nginx (the file PREFIX/stop) and waits until it
-- has removed the prefix. If the watchdog is gone, does its job here: kills
-- nginx and removes the prefix.
-- sys: sleep(seconds) and clock() -> seconds, so each caller keeps its own
-- (the emulator's work without LuaSocket and while the interpreter closes).
function M.stop(prefix, timeout, poll, sys)
  if not files.exists(prefix) then
    return
  end
  files.write(prefix .. "/stop", "")
  local deadline = sys.clock() + timeout
  while files.exists(prefix) and sys.clock() <= deadline do
    sys.sleep(poll)
  end
  if files.exists(prefix) then
    local pid = (files.read(prefix .. "/nginx.child.pid") or ""):match("%d+")
    if pid and not files.exists(prefix .. "/nginx.exit") then
      files.execute("kill -KILL " .. pid .. " $(pgrep -P " .. pid .. ") 2>/dev/null")
    end
    -- The killed child's shell writes nginx.exit as it goes, which can race
    -- one removal: try again until the prefix is gone (bounded).
    for _ = 1, 50 do
      files.execute("rm -rf " .. files.quote(prefix) .. " 2>/dev/null")
      if not files.exists(prefix) then
        break
      end
      sys.sleep(poll)
    end
  end
end

return M
