-- A small seeded random source for property specs: the same seed gives the
-- same draws on every Lua version (Park-Miller: every product stays below
-- 2^53, so doubles compute it exactly). The seed comes from INTUNED_SEED
-- when set, so a failure printed with its seed can be replayed.
local M = {}

local MODULUS, MULTIPLIER = 2147483647, 16807

function M.seed()
  local env = tonumber(os.getenv("INTUNED_SEED") or "")
  if env then
    return env
  end
  return os.time() % 1000000 + 1
end

--- new(seed) -> rng: rng() a float in [0, 1), rng(n) an integer in [1, n],
-- rng(m, n) an integer in [m, n]; rng.seed is the seed.
function M.new(seed)
  local state = math.floor(seed) % (MODULUS - 1) + 1
  local rng = { seed = seed }
  return setmetatable(rng, { __call = function(_, m, n)
    state = state * MULTIPLIER % MODULUS
    local r = (state - 1) / (MODULUS - 1)
    if m == nil then
      return r
    end
    if n == nil then
      m, n = 1, m
    end
    return m + math.floor(r * (n - m + 1))
  end })
end

return M
