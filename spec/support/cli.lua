-- Runs the `intuned` command line as a child process against the emulator,
-- for the specs of the tool: to its end (run), in the background with its
-- pid for signals (spawn, start), or on a real terminal, a tmux pane
-- whose screen can be read and which takes keys (terminal).
local compat = require("support.compat")
local files = require("support.files")
local fx = require("support.fixtures")

local M = {}

M.quote = files.quote

-- The environment that points the tool at the emulator (and at this tree);
-- an override of false leaves the variable out.
function M.env(overrides)
  local srv = fx.server()
  local vars = {
    INTUNED_WORKSPACE_ID = srv.workspace_id,
    INTUNED_API_KEY = srv.api_key,
    INTUNED_BASE_URL = srv.base_url,
  }
  for k, v in pairs(overrides or {}) do vars[k] = v end
  local parts = {}
  for k, v in pairs(vars) do
    if v ~= false then parts[#parts + 1] = k .. "=" .. M.quote(v) end
  end
  return table.concat(parts, " ")
end

-- Seconds a command run to its end may take: beyond that it is killed (exit
-- status 124) and the spec fails instead of hanging.
M.RUN_LIMIT = 120

-- Under `make test-asan` the tool is under test and keeps the sanitizer
-- runtime (LD_PRELOAD); the programs around it (timeout, tmux, pgrep: it
-- hangs with it) do not get it. preload(form) is form with the runtime
-- quoted in it, or "" when there is none.
function M.preload(form)
  local runtime = os.getenv("LD_PRELOAD")
  if not runtime or runtime == "" then return "" end
  return form:format(M.quote(runtime))
end
local preload = M.preload

-- Runs `intuned args`; returns stdout, stderr, exit status. Standard input
-- is /dev/null unless `stdin` names a file.
function M.run(args, overrides, stdin)
  local err_file = os.tmpname()
  local cmd = ("unset LD_PRELOAD; %s timeout -k 5 %d env %s%s bin/intuned %s 2>%s <%s"):format(M.env(overrides),
    M.RUN_LIMIT, preload("LD_PRELOAD=%s "), fx.lua(), args, err_file, M.quote(stdin or "/dev/null"))
  local p = io.popen(cmd .. "; echo \"<exit $?>\"")
  local out = p:read("*a")
  p:close()
  local err = assert(files.read(err_file))
  os.remove(err_file)
  local code = tonumber(out:match("<exit (%d+)>\n?$"))
  return out:gsub("<exit %d+>\n?$", ""), err, code
end

-- Runs a shell command (never under the sanitizer runtime); returns
-- whether it exited 0, and its output.
function M.sh(cmd)
  local ok, out = compat.run("unset LD_PRELOAD; " .. cmd, true)
  return ok, out
end

function M.tmpdir()
  local _, dir = M.sh("mktemp -d")
  return (dir:gsub("%s+$", ""))
end

-- The number a file holds (a pid, an exit status), or nil while it is not
-- there yet.
local function number_in(path)
  return tonumber((files.read(path) or ""):match("%d+"))
end

-- The exit status of a background command or of a pane's command, which
-- the shell around it writes to self.dir/exit; nil while it runs.
local function exit_status(self)
  return number_in(self.dir .. "/exit")
end

-- Waits up to `seconds` (default self.WAIT) for the end; -> exit status or nil.
local function wait_exit(self, seconds)
  fx.eventually(function() return exit_status(self) ~= nil end, seconds or self.WAIT)
  return exit_status(self)
end

---------------------------------------------------------------------------
-- A command in the background: its pid, output so far, exit status
---------------------------------------------------------------------------

local Child = { status = exit_status, wait = wait_exit, WAIT = 10 }
Child.__index = Child

-- Starts `command` (a shell command line) in the background, its output in
-- files; stdin is /dev/null. The shell in between only records the exit
-- status, so a signal sent to child.pid reaches the command itself.
function M.start(command)
  local dir = M.tmpdir()
  local function file(name) return M.quote(dir .. "/" .. name) end
  -- Each file is moved into place once written, so it is never read half-written.
  local script = ("%s >%s 2>%s </dev/null & pid=$!; echo $pid >%s; mv %s %s; wait $pid; echo $? >%s; mv %s %s")
    :format(command, file("out"), file("err"), file("pid.tmp"), file("pid.tmp"), file("pid"),
      file("exit.tmp"), file("exit.tmp"), file("exit"))
  os.execute(("(sh -c %s) >/dev/null 2>&1 &"):format(M.quote(script)))
  local child = setmetatable({ dir = dir }, Child)
  assert(fx.eventually(function()
    child.pid = number_in(dir .. "/pid")
    return child.pid ~= nil
  end, 10), "the background command did not start")
  return child
end

-- Starts `intuned args` in the background against the emulator.
function M.spawn(args, overrides)
  return M.start(("%s %s bin/intuned %s"):format(M.env(overrides), fx.lua(), args))
end

function Child:stdout() return files.read(self.dir .. "/out") or "" end
function Child:stderr() return files.read(self.dir .. "/err") or "" end

-- Waits until check(stdout, stderr) is true; -> whether it became so.
function Child:until_output(check, seconds)
  return fx.eventually(function() return check(self:stdout(), self:stderr()) end, seconds or 10)
end

function Child:signal(name)
  os.execute(("kill -%s %d 2>/dev/null"):format(name, self.pid))
end

-- Ends the command if it still runs, and removes its files.
function Child:cleanup()
  if self:status() == nil then
    self:signal("KILL")
    self:wait(5)
  end
  os.execute("rm -rf " .. M.quote(self.dir))
end

---------------------------------------------------------------------------
-- A command on a real terminal (a tmux pane)
---------------------------------------------------------------------------

local Pane = { status = exit_status, wait = wait_exit, WAIT = 20 }
Pane.__index = Pane

local panes = 0

-- Runs the shell command `command` in a fresh tmux server's pane of
-- size = { width, height }; the pane's shell records the exit status and
-- stays open, so the screen can still be read. SIGINT (C-c) reaches the
-- command, not that shell.
function M.terminal_command(command, size)
  panes = panes + 1
  local dir = M.tmpdir()
  local sock = ("intuned-spec-%s-%d"):format(fx.id("pane"):gsub("[^%w]", "-"), panes)
  local pane = setmetatable({ dir = dir, tmux = "tmux -L " .. sock }, Pane)
  local cmd = ("trap true INT; %s%s; echo $? >%s/exit.tmp; mv %s/exit.tmp %s/exit; exec sleep 120")
    :format(preload("export LD_PRELOAD=%s; "), command, dir, dir, dir)
  local ok = M.sh(("cd %s && %s new-session -d -x %d -y %d %s"):format(M.quote(os.getenv("PWD") or "."),
    pane.tmux, size and size[1] or 100, size and size[2] or 15, M.quote(cmd)))
  assert(ok, "tmux did not start")
  return pane
end

-- `intuned args` in a tmux pane, against the emulator.
function M.terminal(args, overrides, size)
  return M.terminal_command(("%s %s bin/intuned %s"):format(M.env(overrides), fx.lua(), args), size)
end

function Pane:screen()
  local _, text = M.sh(self.tmux .. " capture-pane -p")
  return text
end

-- The screen's rows, trailing spaces removed.
function Pane:rows()
  local rows = {}
  for line in (self:screen() .. "\n"):gmatch("([^\n]*)\n") do
    rows[#rows + 1] = (line:gsub("%s+$", ""))
  end
  return rows
end

function Pane:keys(keys)
  M.sh(self.tmux .. " send-keys " .. keys)
end

-- Waits until check(screen) is true; -> whether it became so.
function Pane:until_screen(check, seconds)
  return fx.eventually(function() return check(self:screen()) end, seconds or 10)
end

-- Ends the pane's tmux server and removes its files (the socket too:
-- tmux leaves it behind).
function Pane:close()
  local _, socket = M.sh(self.tmux .. " display-message -p '#{socket_path}'")
  M.sh(self.tmux .. " kill-server")
  socket = socket:match("^(/%S+)")
  if socket then
    os.remove(socket)
  end
  os.execute("rm -rf " .. M.quote(self.dir))
end

return M
