-- Property specs of the backoff policy over many seeded random draws: every
-- wait within its bounds, never more than max_attempts attempts, no wait
-- that ends past the deadline and no attempt started after it. A failure
-- names its seed: rerun with INTUNED_SEED=<seed> to replay it.
local retry = require("intuned.retry")
local errors = require("intuned.errors")
local prng = require("support.prng")
local fx = require("support.fixtures")

local DELAY_DRAWS = 20000
local RUNS = 3000
local CLIENT_RUNS = 25
local EPS = 1e-9

-- A random policy in the shape check.retry gives.
local function random_policy(rng)
  local max_delay = ({ 0, 0.01, 1, 5, 30, 120 })[rng(6)]
  return {
    max_attempts = rng(1, 8),
    base_delay = ({ 0, 0.001, 0.1, 0.5, 2 })[rng(5)],
    max_delay = max_delay,
    min_delay = rng() < 0.5 and 0 or rng() * max_delay,
  }
end

local function describe_policy(p)
  return ("{max_attempts=%d, base_delay=%g, max_delay=%g, min_delay=%g}")
    :format(p.max_attempts, p.base_delay, p.max_delay, p.min_delay)
end

describe("backoff policy (property)", function()
  local seed = prng.seed()

  it("keeps every wait between its floor and its cap", function()
    local rng = prng.new(seed)
    for i = 1, DELAY_DRAWS do
      local p = random_policy(rng)
      local attempt = rng(1, 40)
      local floor, ceiling = retry.bounds(p, attempt)
      -- Edges of the random source as well as ordinary draws.
      local r = ({ 0, 1, 0.999999 })[i % 50] or rng()
      local d = retry.delay(p, attempt, {}, function() return r end)
      local where = ("seed %d, draw %d: %s attempt %d r=%g -> %g"):format(
        seed, i, describe_policy(p), attempt, r, d)
      assert(floor >= p.min_delay - EPS or floor == ceiling, where)
      assert(ceiling <= p.max_delay + EPS, where)
      assert(ceiling <= p.base_delay * 2 ^ (attempt - 1) + EPS, where)
      assert(d >= floor - EPS and d <= ceiling + EPS, where)
    end
  end)

  it("spreads the waits over the whole range (full jitter)", function()
    local rng = prng.new(seed)
    local p = { max_attempts = 3, base_delay = 1, max_delay = 30, min_delay = 0.2 }
    local low, high = math.huge, -math.huge
    for _ = 1, 2000 do
      local d = retry.delay(p, 4, {}, rng)
      low, high = math.min(low, d), math.max(high, d)
    end
    -- Bounds for attempt 4: [0.2, 8]; 2000 uniform draws reach both ends.
    assert(low < 0.3 and high > 7.9, ("seed %d: waits spanned [%g, %g]"):format(seed, low, high))
  end)

  it("honours Retry-After up to max_delay whatever the policy", function()
    local rng = prng.new(seed)
    for i = 1, DELAY_DRAWS do
      local p = random_policy(rng)
      local after = ({ 0, 1, 1e9 })[i % 20] or rng() * 200
      local d = retry.delay(p, rng(1, 10), { retry_after = after }, rng)
      assert(math.abs(d - math.min(after, p.max_delay)) < EPS,
        ("seed %d, draw %d: Retry-After %g under %s gave %g"):format(seed, i, after, describe_policy(p), d))
    end
  end)

  it("never exceeds max_attempts nor sleeps or attempts past the deadline", function()
    local rng = prng.new(seed)
    local stats = { deadline = 0, exhausted = 0, success = 0, final = 0 }
    for run = 1, RUNS do
      local p = rng() < 0.1 and false or random_policy(rng)
      local timeout = ({ 0.05, 0.5, 2, 30 })[rng(4)]
      local deadline = rng() < 0.7 and rng() * 10 + 0.01 or nil
      local now = 500 + rng() * 1000
      local start = now
      local deadline_at = deadline and start + deadline
      local calls, last = 0, nil
      local where = ("seed %d, run %d: policy %s, timeout %g, deadline %s"):format(
        seed, run, p and describe_policy(p) or "false", timeout, tostring(deadline))
      local sleeps = {}
      local ctx = {
        policy = p, timeout = timeout, deadline = deadline,
        clock = function() return now end,
        random = rng,
        sleep = function(s)
          sleeps[#sleeps + 1] = s
          assert(s > 0, where .. ": asked to sleep " .. s)
          assert(not deadline_at or now + s < deadline_at, where .. ": a sleep would end past the deadline")
          assert(last.retry_after or (s >= select(1, retry.bounds(p, calls)) - EPS
            and s <= select(2, retry.bounds(p, calls)) + EPS), where .. ": wait out of bounds")
          -- Real sleeps overrun a little, sometimes a lot.
          now = now + s + (rng() < 0.1 and rng() * 0.5 or 0)
        end,
      }
      local res, err, meta = retry.run(ctx, function(t)
        calls = calls + 1
        assert(t > 0 and t <= timeout + EPS, where .. ": attempt timeout " .. t)
        if deadline_at then
          assert(now < deadline_at, where .. ": attempt started after the deadline")
          assert(now + t <= deadline_at + EPS, where .. ": attempt may run past the deadline")
        end
        local roll = rng()
        if roll < 0.15 then
          now = now + rng() * t
          return { ok = true }, {}
        elseif roll < 0.25 then
          now = now + rng() * t
          last = errors.new { kind = "api", status = 404, message = "Not Found" }
        elseif roll < 0.5 then
          now = now + t
          last = errors.transport("timeout", "Timeout was reached", 28)
        else
          now = now + rng() * t
          last = errors.from_response(({ 429, 503 })[rng(2)], "", {
            retry_after = rng() < 0.3 and ({ 0, rng() * 5, 1e6 })[rng(3)] or nil,
          })
        end
        return nil, last
      end)
      local max_attempts = p and p.max_attempts or 1
      assert(calls <= max_attempts, where .. ": " .. calls .. " attempts")
      -- A zero wait (Retry-After: 0, base_delay 0) is skipped, not slept;
      -- a wait that overran into the deadline is followed by no attempt.
      assert(#sleeps <= calls - 1 or (#sleeps == calls and err and err.deadline_reached),
        where .. ": more waits than retries")
      if res then
        stats.success = stats.success + 1
        assert(meta.attempts == calls, where)
      else
        assert(err == last, where .. ": the error returned is not the last failure")
        assert(err.attempts == calls, where .. ": err.attempts")
        if err.deadline_reached then
          stats.deadline = stats.deadline + 1
          assert(deadline_at, where .. ": deadline_reached without a deadline")
          assert(err.message:find("(deadline reached)", 1, true), where)
          assert(select(2, err.message:gsub("deadline reached", "")) == 1, where .. ": said twice")
        elseif not err.retirable then
          stats.final = stats.final + 1
        else
          stats.exhausted = stats.exhausted + 1
          assert(calls == max_attempts, where .. ": gave up early")
        end
      end
    end
    -- Every way out was exercised, or the property says little.
    for outcome, count in pairs(stats) do
      assert(count > RUNS / 50, ("seed %d: only %d runs ended by %s"):format(seed, count, outcome))
    end
  end)

  it("holds against the emulator: attempts, waits within bounds, retry = false", function()
    local rng = prng.new(seed)
    for run = 1, CLIENT_RUNS do
      local p = random_policy(rng)
      p.max_attempts = rng(1, 4)
      local policy = rng() < 0.2 and false or p
      local client, time = fx.client { retry = policy, random = function() return rng() end }
      local _, err = client:get_job_run(fx.PROJECT, fx.JOB, fx.id("always-503"))
      client:close()
      local where = ("seed %d, run %d: %s"):format(seed, run, policy and describe_policy(p) or "retry = false")
      local want = policy and p.max_attempts or 1
      assert(err.status == 503 and err.attempts == want, where .. ": " .. tostring(err))
      assert(#time.sleeps <= want - 1, where)
      for i, s in ipairs(time.sleeps) do
        local floor, ceiling = retry.bounds(p, i)
        assert(s >= floor - EPS and s <= ceiling + EPS, where .. (": wait %d = %g"):format(i, s))
      end
    end
  end)

  it("rejects a floor above the cap or below zero", function()
    local intuned = require("intuned")
    local srv = fx.server()
    for _, bad in ipairs { { min_delay = -1 }, { min_delay = 5, max_delay = 1 }, { min_delay = "1" } } do
      assert.has_error(function()
        intuned.new { base_url = srv.base_url, api_key = srv.api_key, workspace_id = srv.workspace_id,
          retry = bad }
      end)
    end
  end)
end)
