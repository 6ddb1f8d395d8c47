-- A fake clock that only moves when the client sleeps: what the specs give
-- a client as its clock and sleep, so retries and waits are recorded
-- instead of slept.
--   local t = fake_time()  -- t.clock, t.sleep, t.sleeps (every wait), t.total()
return function()
  local t = { now = 1000, sleeps = {} }
  function t.clock() return t.now end
  function t.sleep(s)
    t.sleeps[#t.sleeps + 1] = s
    t.now = t.now + s
  end
  function t.total()
    local sum = 0
    for _, s in ipairs(t.sleeps) do sum = sum + s end
    return sum
  end
  return t
end
