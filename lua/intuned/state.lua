-- What a client keeps out of reach of the code that holds it: its session
-- (which sends the API key), the transport settings of results downloads
-- (which may carry proxy credentials), and the transport. One entry per
-- client, collected with it. Internal: only the library's modules use it.

local check = require("intuned.check")

local M = {}

local private = setmetatable({}, { __mode = "k" })

function M.set(client, st)
  private[client] = st
end

-- The private state of `client` (nil once it is closed is not possible:
-- a closed client keeps its state without a session).
function M.get(client)
  return private[client]
end

-- The state of a live client, for a method called on it; misuse raises at
-- the caller of that method (`level` frames above the method, default 1).
function M.check(client, method, level)
  local st = private[client]
  if st == nil then
    check.fail(("use client:%s(...), not client.%s(...)"):format(method, method), (level or 1) + 1)
  end
  if not st.session then
    check.fail("client is closed", (level or 1) + 1)
  end
  return st
end

return M
