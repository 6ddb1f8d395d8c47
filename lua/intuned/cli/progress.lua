-- The progress display of a wait. Mode "bar": one line redrawn in place
-- (on a terminal), its clock moving while the wait sleeps; "lines": one
-- plain line per change and per failed poll; "none": nothing. A failed
-- poll shows on the bar line as it happens, with how many failed in a row,
-- until a poll succeeds again.

local core = require("intuned.core")
local engine = require("intuned.wait") -- the library's polling engine
local output = require("intuned.cli.output")

local M = {}

M.TICK = 1     -- seconds between redraws of the bar while sleeping
M.SLICE = 0.1  -- longest single sleep: Ctrl-C is seen within this

-- Whether Ctrl-C was pressed (after core.catch_interrupts). Once seen it
-- stays seen here, whatever else reads or clears the core's flag.
local seen = false
function M.interrupted()
  if not seen and core.interrupted(false) then
    seen = true
  end
  return seen
end

-- Sleeps s seconds in short slices, calling tick() after each; returns
-- early (false) once Ctrl-C was pressed.
function M.sleep(s, tick)
  local until_ = core.now() + s
  while not M.interrupted() do
    local now = core.now()
    if now >= until_ then
      return true
    end
    core.sleep(math.min(M.SLICE, until_ - now))
    if tick and not M.interrupted() then
      tick()
    end
  end
  return false
end

local Display = {}
Display.__index = Display

-- A display writing to `out`. bar(state, elapsed) and line(state, elapsed)
-- format the kind's frame and plain line, compact(state, elapsed) a short
-- frame for when a failure must fit beside it; fields name what counts as
-- a change; columns: the terminal's width (the bar is cut to fit).
function M.new(mode, out, spec)
  return setmetatable({
    mode = mode, out = out, spec = spec, shown = false, started = core.now(), drawn_at = -math.huge,
    width = spec.columns and math.max(20, spec.columns - 1) or nil,
    -- state: the last poll's; note: the failure shown; fingerprint: the
    -- fields of the last state, to tell a change
  }, Display)
end

function Display:elapsed()
  return core.now() - self.started
end

function Display:draw()
  local spec, width, note = self.spec, self.width, self.note
  local text = spec.bar(self.state, self:elapsed())
  if note then
    text = text .. "  ! " .. note
    if width and output.width(text) > width and spec.compact then
      -- too wide: what failed matters more than the bar's drawing
      text = spec.compact(self.state, self:elapsed()) .. "  ! " .. note
    end
  end
  if width then
    text = output.truncate(text, width)
  end
  self.out:write("\r", text, "\27[K")
  self.out:flush()
  self.shown = true
  self.drawn_at = core.now()
end

function Display:print_line(text)
  self.out:write(text, "\n")
  self.out:flush()
end

-- A successful poll's state. In lines mode a plain line when it changed,
-- or when it is the first success after failures.
function Display:seen(st)
  local recovered = self.note ~= nil
  self.note, self.state = nil, st
  local now_seen = engine.fingerprint(self.spec, st)
  local changed = now_seen ~= self.fingerprint
  self.fingerprint = now_seen
  if self.mode == "bar" then
    self:draw()
  elseif self.mode == "lines" and (changed or recovered) then
    self:print_line(self.spec.line(st, self:elapsed()) .. (recovered and "  (polls answer again)" or ""))
  end
end

-- A failed poll: `text` says what failed (server words: escaped here),
-- `n` how many in a row.
function Display:failed(text, n)
  self.note = ("%s: %s"):format(n == 1 and "poll failed" or (n .. " polls failed in a row"), output.safe(text))
  if self.mode == "bar" then
    self:draw()
  elseif self.mode == "lines" then
    self:print_line(("[%6.1fs] %s"):format(self:elapsed(), self.note))
  end
end

-- Sleeps s seconds, redrawing the bar each TICK; false on Ctrl-C.
function Display:sleep(s)
  if self.mode ~= "bar" then
    return M.sleep(s)
  end
  return M.sleep(s, function()
    if self.shown and core.now() - self.drawn_at >= M.TICK then
      self:draw()
    end
  end)
end

-- Leaves the bar's line, writing `text` when the bar is shown.
function Display:leave(text)
  if self.mode == "bar" and self.shown then
    self.out:write(text)
    self.out:flush()
    self.shown = false
  end
end

-- The wait is over: the bar stays on its line.
function Display:finish()
  self:leave("\n")
end

-- Ctrl-C: the bar's line is cleared for the one line that follows.
function Display:clear()
  self:leave("\r\27[K")
end

return M
