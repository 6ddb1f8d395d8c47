-- The emulator's answers framed every way HTTP/1.x allows (the
-- "framing-KIND" runs of spec/server/emulator/framing.lua), and what a
-- client must make of each: the run it asked for, and a connection kept
-- for the next request only where the answer allows it. Used for the
-- libcurl path (framing_spec) and for each nginx transport (nginx_spec);
-- later_ids also by the spec application inside nginx (spec/nginx/app.lua),
-- which is why luassert is only loaded by verify.
local M = {}

-- KIND -> whether the connection may carry the next request.
M.KEEPS = {
  chunked = true, ["lower-case"] = true, continue = true,
  ["close-delimited"] = false, http10 = false, ["connection-close"] = false,
}

function M.kinds()
  local list = {}
  for kind in pairs(M.KEEPS) do
    list[#list + 1] = kind
  end
  table.sort(list)
  return list
end

-- The ids of the three calls that follow a call whose connection is then
-- looked at (a framing run's, or a stray response's on /stray).
function M.later_ids(id)
  local nonce = id:gsub("^[^.]*%.", "")
  local ids = {}
  for i = 1, 3 do
    ids[i] = ("ok.%s-next-%d"):format(nonce, i)
  end
  return ids
end

-- Checks one kind: first = { id, status, connection } of the framing
-- run's call, later = the same for the calls of later_ids(id).
function M.verify(kind, id, first, later)
  local assert = require("luassert")
  assert.are.equal(id, first.id, kind .. ": " .. tostring(first.error))
  assert.are.equal("SUCCESS", first.status, kind)
  assert.truthy(first.connection, kind .. ": no X-Connection")
  local kept = false
  for i, want in ipairs(M.later_ids(id)) do
    assert.are.equal(want, later[i].id, kind .. ": " .. tostring(later[i].error))
    kept = kept or later[i].connection == first.connection
  end
  assert.are.equal(M.KEEPS[kind], kept, kind .. (kept and ": the connection was kept" or ": it was not kept"))
end

return M
