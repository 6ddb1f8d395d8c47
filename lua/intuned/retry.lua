-- Retry policy (docs/errors.md): which failures are retried, how long to wait
-- before the next attempt, and when to give up. Time, sleep and randomness
-- come from the caller so specs can drive the policy without real waiting.

local M = {}

-- min_delay is the floor of every backoff wait: 0 keeps the classic full
-- jitter (a retry may follow at once); raise it to space retries out.
M.DEFAULTS = { max_attempts = 3, base_delay = 0.5, max_delay = 30, min_delay = 0 }

-- The bounds of the backoff wait after failed attempt `attempt`:
-- ceiling = min(max_delay, base_delay * 2^(attempt-1)), floor = min_delay
-- (but never above the ceiling).
function M.bounds(policy, attempt)
  local ceiling = math.min(policy.max_delay, policy.base_delay * 2 ^ (attempt - 1))
  local floor = math.min(policy.min_delay or 0, ceiling)
  return floor, ceiling
end

-- Exponential backoff with full jitter: a uniform draw between the floor and
-- the ceiling of M.bounds. A Retry-After the server sent wins, up to
-- max_delay; a negative or unreadable one (nil) is ignored.
function M.delay(policy, attempt, err, random)
  local retry_after = err.retry_after
  if type(retry_after) == "number" and retry_after >= 0 then
    return math.min(retry_after, policy.max_delay)
  end
  local floor, ceiling = M.bounds(policy, attempt)
  local r = random()
  -- A source that strays outside [0, 1] (or gives NaN) must not break the
  -- bounds.
  if r ~= r or r < 0 then
    r = 0
  elseif r > 1 then
    r = 1
  end
  return floor + r * (ceiling - floor)
end

-- Marks `err` as stopped by the deadline, once.
local function deadline_reached(err)
  if not err.deadline_reached then
    err.deadline_reached = true
    err.message = err.message .. " (deadline reached)"
  end
  return nil, err
end

-- Runs `attempt(timeout)` until it succeeds, fails for good, runs out of
-- attempts or would pass the deadline. `attempt` returns (result, meta) or
-- (nil, err). Returns what the last attempt returned, with `attempts` set.
--   ctx: policy (table or false), timeout, deadline (seconds or nil),
--        clock, sleep, random
function M.run(ctx, attempt)
  local policy = ctx.policy
  local max_attempts = policy and policy.max_attempts or 1
  local clock, deadline_at = ctx.clock, nil
  if ctx.deadline then
    deadline_at = clock() + ctx.deadline
  end
  local n, last = 0, nil
  while true do
    local timeout, clipped = ctx.timeout, false
    if deadline_at then
      local left = deadline_at - clock()
      if last and left <= 0 then
        -- A sleep overran (real clocks do): no time left for an attempt.
        return deadline_reached(last)
      end
      if timeout == nil or left < timeout then
        timeout, clipped = left, true
      end
    end
    n = n + 1
    local res, err = attempt(timeout)
    if res ~= nil then
      err.attempts = n -- `err` is the meta table on success
      return res, nil, err
    end
    err.attempts = n
    last = err
    if clipped and err.kind == "timeout" then
      -- The deadline, not the per-attempt timeout, cut this attempt short.
      return deadline_reached(err)
    end
    if not err.retirable or n >= max_attempts then
      return nil, err
    end
    local delay = M.delay(policy, n, err, ctx.random)
    if deadline_at and clock() + delay >= deadline_at then
      return deadline_reached(err)
    end
    if delay > 0 then
      ctx.sleep(delay)
    end
  end
end

return M
