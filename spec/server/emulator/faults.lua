-- Scripted faults on any route but the control ones: POST /__emulator/faults
-- with { fault, method, path, prefix, times, after, retirable, retry_after }
-- arms one; the next `times` (default 1) requests whose method (any when
-- absent) and raw path (before percent-decoding, without the query) match
-- get it. `path` is a Lua pattern (string.find), `prefix` a plain prefix;
-- with neither, every path matches. Faults are tried in the order they were
-- armed; one request gets at most one.
--
-- Faults (instead of handling the request, unless said otherwise):
--   status-NNN    NNN with an error body like the documented ones; it has
--                 "retirable" only when the fault gives one
--   503           503 without a body
--   empty-2NN     2NN with an empty body and no Content-Type
--   429, 429-S    429 with Retry-After: S seconds (or retry_after, default 1)
--   invalid-json  200 whose body is not JSON
--   json          the fault's `status` (a 2xx, default 200) with its `body`
--                 (any JSON value): an answer the emulator never makes on
--                 its own (an unknown status, a field of the wrong type)
--   big-N         200 with a JSON object of about N bytes, chunked
--   stall-MS      handles the request, then holds the answer MS milliseconds
--   reset-before  drops the connection without handling the request
--   reset-after   handles the request fully (a trigger really creates the
--                 run), then drops the connection without answering
-- `after = true` makes any of the answering ones (status-NNN, 503, 429,
-- invalid-json, big-N) come after the request was handled, instead of its
-- answer.
local check = require("emulator.check")
local http = require("emulator.http")
local json = require("emulator.json")
local store = require("emulator.store")

local M = {}

local KEY = "faults"

local function drop()
  return ngx.exit(444)
end

-- { pattern, act(fault, capture), timing }: timing "after" (always after
-- the request was handled) or "answer" (before, or after with `after`).
local KINDS = {
  { "^status%-(%d%d%d)$", function(fault, status)
    status = tonumber(status)
    return http.send_json(status, http.status_error(status, fault.retirable))
  end, "answer" },
  { "^503$", function() return http.send_empty(503) end, "answer" },
  { "^empty%-(2%d%d)$", function(_, status) return http.send_empty(tonumber(status)) end, "answer" },
  { "^429%-?(%d*)$", function(fault, seconds)
    local wait = seconds ~= "" and seconds or tostring(fault.retry_after or 1)
    return http.send_json(429, http.status_error(429, fault.retirable, nil, "Rate limit exceeded"),
      { ["Retry-After"] = wait })
  end, "answer" },
  { "^invalid%-json$", function()
    return http.send_raw(200, '{"id": "x",,}', "application/json")
  end, "answer" },
  { "^json$", function(fault)
    return http.send_json(fault.status or 200, fault.body)
  end, "answer" },
  { "^big%-(%d+)$", function(_, bytes)
    return http.stream_padded('{"pad":"', math.max(0, tonumber(bytes) - 10), "x", '"}')
  end, "answer" },
  { "^stall%-(%d+)$", function(_, ms) ngx.sleep(tonumber(ms) / 1000) end, "after" },
  { "^reset%-before$", drop, "before" },
  { "^reset%-after$", drop, "after" },
}

local function kind_of(name)
  for _, kind in ipairs(KINDS) do
    local capture = type(name) == "string" and name:match(kind[1])
    if capture then
      return kind, capture
    end
  end
  return nil
end

local SHAPE = {
  type = "object", closed = true, required = { "fault" },
  fields = {
    fault = { type = "string", check = function(name)
      return not kind_of(name) and "is not a known fault" or nil
    end },
    method = { type = "string" },
    path = { type = "string", check = function(pattern)
      return not pcall(string.find, "", pattern) and "is not a valid Lua pattern" or nil
    end },
    prefix = { type = "string" },
    times = { type = "integer", min = 1 },
    after = { type = "boolean" },
    retirable = { type = "boolean" },
    retry_after = { type = "string" },
    body = { type = "any" },
    status = { type = "integer", min = 200, max = 299 },
  },
}

--- Arms a fault; returns it (with its id and `left`), or nil and the
-- details of a 400 answer.
function M.add(spec)
  local problem = check.details(spec, SHAPE)
  if problem then
    return nil, problem
  end
  local fault = json.copy(spec)
  fault.method = fault.method and fault.method:upper()
  fault.times = fault.times or 1
  fault.left = fault.times
  fault.id = http.random_id(8, "abcdefghijklmnopqrstuvwxyz0123456789")
  local all = store.list(KEY)
  all[#all + 1] = fault
  store.set(KEY, all)
  return fault
end

function M.list()
  return store.list(KEY)
end

function M.clear()
  local count = #store.list(KEY)
  store.delete(KEY)
  return count
end

local function matches(fault, method, path)
  if fault.method and fault.method ~= method then
    return false
  end
  if fault.prefix and path:sub(1, #fault.prefix) ~= fault.prefix then
    return false
  end
  return not fault.path or path:find(fault.path) ~= nil
end

--- The fault the request (method, raw path) gets, counted, or nil.
function M.take(method, path)
  local all = store.list(KEY)
  for i, fault in ipairs(all) do
    if matches(fault, method, path) then
      fault.left = fault.left - 1
      if fault.left <= 0 then
        table.remove(all, i)
      end
      store.set(KEY, all)
      return fault
    end
  end
  return nil
end

--- Applies a fault taken by M.take: answers (and ends the request) now, or
-- arms the hook that acts once the request was handled (http.send_headers).
function M.apply(fault)
  local kind, capture = kind_of(fault.fault)
  local act = kind[2]
  if kind[3] == "after" or (kind[3] == "answer" and fault.after) then
    ngx.ctx.before_send = function()
      return act(fault, capture)
    end
    return
  end
  return act(fault, capture)
end

return M
