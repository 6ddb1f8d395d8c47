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

-- A display writing to `out`. bar(state, elapsed) and line(state, elapsed)
-- format the kind's frame and plain line, compact(state, elapsed) a short
-- frame for when a failure must fit beside it; fields name what counts as
-- a change; columns: the terminal's width (the bar is cut to fit).
function M.new(mode, out, spec)
  local started = core.now()
  local d = { mode = mode, shown = false }
  local state, note, fingerprint
  local drawn_at = -math.huge
  local width = spec.columns and math.max(20, spec.columns - 1) or nil

  local function elapsed()
    return core.now() - started
  end

  local function draw()
    local text = spec.bar(state, elapsed())
    if note then
      text = text .. "  ! " .. note
      if width and output.width(text) > width and spec.compact then
        -- too wide: what failed matters more than the bar's drawing
        text = spec.compact(state, elapsed()) .. "  ! " .. note
      end
    end
    if width then
      text = output.truncate(text, width)
    end
    out:write("\r", text, "\27[K")
    out:flush()
    d.shown = true
    drawn_at = core.now()
  end

  local function print_line(text)
    out:write(text, "\n")
    out:flush()
  end

  -- A successful poll's state; `force` prints a plain line even when
  -- nothing changed (the first success after failures).
  function d.seen(st)
    local recovered = note ~= nil
    note = nil
    state = st
    local now_seen = engine.fingerprint(spec, st)
    local changed = now_seen ~= fingerprint
    fingerprint = now_seen
    if mode == "bar" then
      draw()
    elseif mode == "lines" and (changed or recovered) then
      print_line(spec.line(st, elapsed()) .. (recovered and "  (polls answer again)" or ""))
    end
  end

  -- A failed poll: `text` says what failed (server words: escaped here),
  -- `n` how many in a row.
  function d.failed(text, n)
    note = ("%s: %s"):format(n == 1 and "poll failed" or (n .. " polls failed in a row"), output.safe(text))
    if mode == "bar" then
      draw()
    elseif mode == "lines" then
      print_line(("[%6.1fs] %s"):format(elapsed(), note))
    end
  end

  -- Sleeps s seconds, redrawing the bar each TICK; false on Ctrl-C.
  local function tick()
    if d.shown and core.now() - drawn_at >= M.TICK then
      draw()
    end
  end
  function d.sleep(s)
    return M.sleep(s, mode == "bar" and tick or nil)
  end

  -- Leaves the bar's line, writing `text` when the bar is shown.
  local function leave(text)
    if mode == "bar" and d.shown then
      out:write(text)
      out:flush()
      d.shown = false
    end
  end

  -- The wait is over: the bar stays on its line.
  function d.finish()
    leave("\n")
  end

  -- Ctrl-C: the bar's line is cleared for the one line that follows.
  function d.clear()
    leave("\r\27[K")
  end

  function d.elapsed()
    return elapsed()
  end

  return d
end

return M
