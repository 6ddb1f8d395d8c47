-- Retry policy (DESIGN §5): which failures are retried, how long to wait
-- before the next attempt, and when to give up. Time, sleep and randomness
-- come from the caller so specs can drive the policy without real waiting.

local M = {}

M.DEFAULTS = { max_attempts = 3, base_delay = 0.5, max_delay = 30 }

-- Exponential backoff with full jitter: a uniform draw between 0 and
-- base_delay * 2^(attempt-1), capped at max_delay. A Retry-After the server
-- sent wins, up to max_delay.
function M.delay(policy, attempt, err, random)
  local retry_after = err.retry_after
  if type(retry_after) == "number" and retry_after >= 0 then
    return math.min(retry_after, policy.max_delay)
  end
  local ceiling = math.min(policy.max_delay, policy.base_delay * 2 ^ (attempt - 1))
  return random() * ceiling
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
  local n = 0
  while true do
    n = n + 1
    local timeout = ctx.timeout
    if deadline_at then
      local left = deadline_at - clock()
      if timeout == nil or left < timeout then
        timeout = left
      end
    end
    local res, err = attempt(timeout)
    if res ~= nil then
      err.attempts = n -- `err` is the meta table on success
      return res, nil, err
    end
    err.attempts = n
    if not err.retirable or n >= max_attempts then
      return nil, err
    end
    local delay = M.delay(policy, n, err, ctx.random)
    if deadline_at and clock() + delay >= deadline_at then
      err.deadline_reached = true
      err.message = err.message .. " (deadline reached)"
      return nil, err
    end
    if delay > 0 then
      ctx.sleep(delay)
    end
  end
end

return M
