-- A fake clock that only moves when the client sleeps: what the specs give
-- a client as its clock and sleep, so retries and waits are recorded
-- instead of slept.
--   local t = fake_time()  -- t.clock, t.sleep, t.sleeps (every wait), t.total()
--   intuned.new(t.client_options(server, overrides...))
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
  -- Options of a client of `server` (base_url, api_key, workspace_id) on
  -- this clock, no jitter, a 5 s timeout; each later table overrides them.
  function t.client_options(server, ...)
    local o = {
      base_url = server.base_url, api_key = server.api_key, workspace_id = server.workspace_id,
      clock = t.clock, sleep = t.sleep, random = function() return 0.5 end, timeout = 5,
    }
    for i = 1, select("#", ...) do
      for k, v in pairs(select(i, ...) or {}) do o[k] = v end
    end
    return o
  end
  return t
end
