-- How far along something that moves by itself is (a job run, a Run API
-- run, an auth-session operation): a fraction from 0 to 1, either by time
-- (`seconds` to go from 0 to 1, at a speed that can change: a paused job's
-- runs go slower) or by reads (`polls`: the k-th read of its status sees it
-- (k-1)/(polls-1) of the way, the polls-th and later ones finished).
-- A progress record is plain data, stored inside the thing it belongs to:
--   created  when it started (epoch seconds)
--   done   fraction reached at `mark` (epoch seconds)
--   rate   fraction per second from `mark` on (time mode)
--   base   rate at full speed
--   polls, reads   (read mode)
--   ended  when it reached 1, or was stopped (epoch seconds)
--   stopped  true once stopped short of 1 (terminated)
local M = {}

function M.new(now, seconds, polls)
  local rec = { created = now, done = 0, mark = now, reads = 0 }
  if polls then
    rec.polls = polls
  elseif seconds > 0 then
    rec.base = 1 / seconds
    rec.rate = rec.base
  else
    rec.done, rec.ended = 1, now
  end
  return rec
end

--- A record for what a request asked in `asks` (duration_ms, or polls),
-- taking `default_ms` when it asked for neither.
function M.asked(now, asks, default_ms)
  return M.new(now, (asks.duration_ms or default_ms) / 1000, asks.polls)
end

--- "pending" for the first quarter of the way, "running" until the end,
-- then "final" (Run API runs and auth-session operations).
function M.phase(fraction)
  if fraction >= 1 then
    return "final"
  end
  return fraction < 0.25 and "pending" or "running"
end

function M.fraction(rec, now)
  if rec.done >= 1 or rec.stopped then
    return rec.done
  end
  if rec.polls then
    if rec.polls <= 1 then
      return rec.reads > 0 and 1 or 0
    end
    return math.min(1, math.max(0, rec.reads - 1) / (rec.polls - 1))
  end
  return math.min(1, rec.done + rec.rate * (now - rec.mark))
end

--- Folds the progress made until `now` into the record (sets `ended` once
-- it reaches 1). Returns the fraction.
function M.settle(rec, now)
  if rec.done >= 1 or rec.stopped then
    return rec.done
  end
  local f = M.fraction(rec, now)
  if f >= 1 then
    rec.ended = rec.polls and now or rec.mark + (1 - rec.done) / rec.rate
  end
  rec.done, rec.mark = f, now
  return f
end

--- One read of its status (read mode counts it). Returns the fraction.
function M.read(rec, now)
  if rec.polls and rec.done < 1 and not rec.stopped then
    rec.reads = rec.reads + 1
  end
  return M.settle(rec, now)
end

--- From `now` on, goes at `factor` times full speed (time mode only).
function M.set_speed(rec, now, factor)
  M.settle(rec, now)
  if rec.base then
    rec.rate = rec.base * factor
  end
end

--- Stops it where it is (terminated, canceled): it never reaches 1.
function M.stop(rec, now)
  M.settle(rec, now)
  if rec.done < 1 then
    rec.stopped, rec.ended = true, now
  end
end

function M.finished(rec, now)
  return rec.stopped or M.fraction(rec, now) >= 1
end

return M
