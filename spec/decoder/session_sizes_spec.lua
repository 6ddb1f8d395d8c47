-- A session remembers the table sizes of its last JSON answer, and each
-- batch slot has a memory of its own (src/json_size.c): only ever a size
-- hint. Here the answers change shape from one request to the next, so the
-- memory is wrong every time; each decoded body must still be exactly what
-- core.decode makes of the same bytes.
local core = require("intuned.core")
local fx = require("support.fixtures")
local util = require("luassert.util")

-- Shapes that differ in their number of containers, their member counts
-- and their nesting, answers that are not JSON or do not decode, and the
-- ordinary run between them.
local SCENARIOS = {
  "ok", "nulls", "ok", "running", "wrong-shape", "ok", "big-200000", "ok",
  "jobrun-array", "jobrun-empty-array", "top-array", "ok", "invalid-json", "ok",
  "empty-200", "text-200", "results-expired", "results-array", "top-null", "ok",
  "hostile-text", "failed-object", "ok",
}

local function session_for(srv)
  return core.session { api_key = srv.api_key, base_url = srv.base_url }
end

-- The path of a run id on the emulator, for a keyed session.
local function target(srv, id)
  return srv:url(id):sub(#srv.base_url + 1)
end

-- What core.decode makes of a raw answer, or the raw answer when it is not
-- a JSON one (or does not decode).
local function expected(body, meta)
  if body == "" or not (meta.content_type or ""):find("json", 1, true) then
    return body
  end
  local value = core.decode(body)
  if value == nil then
    return body
  end
  return value
end

-- What core.decode makes of the raw answer to `path` now.
local function fetch_raw(raw, path, scenario)
  local status, body, meta = raw:request("GET", path, nil, nil, false, true)
  assert.are.equal(200, status, scenario)
  return expected(body, meta)
end

-- Some answers carry the time (a signed URL's expiry is an hour after each
-- answer), so the decoded one is compared with the raw answers fetched just
-- before and just after it: it must be exactly one of them.
local function assert_decoded(before, after, got, message)
  if not util.deepcompare(before, got, true) then
    assert.are.same(after, got, message)
  end
end

describe("table sizes remembered by a session", function()
  local srv, raw, session
  before_each(function()
    srv = fx.server()
    raw = session_for(srv)
    session = session_for(srv)
  end)
  after_each(function()
    raw:close()
    session:close()
  end)

  it("never change what a session decodes, whatever shape came before", function()
    for round = 1, 2 do
      for i, scenario in ipairs(SCENARIOS) do
        local path = target(srv, fx.id(scenario))
        local before = fetch_raw(raw, path, scenario)
        local got_status, got = session:request("GET", path)
        assert.are.equal(200, got_status, scenario)
        assert_decoded(before, fetch_raw(raw, path, scenario), got,
          ("round %d, answer %d (%s)"):format(round, i, scenario))
      end
    end
  end)

  it("never change what a batch slot decodes", function()
    local batch = core.batch(session, 2)
    for i, scenario in ipairs(SCENARIOS) do
      local path = target(srv, fx.id(scenario))
      local before = fetch_raw(raw, path, scenario)
      batch:add(i, "GET", path)
      local done = {}
      while #done == 0 do
        done = batch:wait(5)
      end
      assert.are.equal(1, #done)
      local tag, got_status, got = done[1][1], done[1][2], done[1][3]
      assert.are.equal(i, tag)
      assert.are.equal(200, got_status, scenario)
      assert_decoded(before, fetch_raw(raw, path, scenario), got,
        ("answer %d (%s)"):format(i, scenario))
    end
    batch:close()
  end)
end)
