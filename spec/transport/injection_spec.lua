-- Injection property specs over seeded random ids: every id reaches the
-- emulator as exactly one path segment equal to the input (checked in the
-- emulator's request log, which holds the raw request line), or the call
-- raises before any request. A failure names its seed: rerun with
-- INTUNED_SEED=<seed> to replay it.
local intuned = require("intuned")
local prng = require("support.prng")
local fx = require("support.fixtures")

local RANDOM_IDS = 400
local CONTROL_IDS = 300
local BAD_SETTINGS = 300

-- Pieces that mean something in a URL or a path.
local TOKENS = { "/", "?", "#", "%", ".", "..", "../", "/..", "%2F", "%2e%2E", "%00", "%25", "?a=b&c",
  "#x", "+", ";", "@", ":", "\\", " ", "~", "//" }

local utf8_char = require("support.utf8_char")

-- Any byte but the control bytes (0-31, 127).
local function any_byte(rng)
  local b = rng(0, 255 - 33)
  b = b + 32
  if b >= 127 then b = b + 1 end
  return string.char(b)
end

local function unicode(rng)
  local ranges = { { 0x20, 0x7E }, { 0xA0, 0x7FF }, { 0x800, 0xD7FF }, { 0xE000, 0xFFFD }, { 0x10000, 0x10FFFF } }
  local r = ranges[rng(#ranges)]
  return utf8_char(rng(r[1], r[2]))
end

-- A random id: a mix of single bytes, code points and URL tokens.
local function random_id(rng)
  local parts = {}
  local style = rng(3)
  for i = 1, rng(1, 12) do
    local pick = style == 1 and rng(3) or style
    if pick == 1 then
      parts[i] = any_byte(rng)
    elseif pick == 2 then
      parts[i] = unicode(rng)
    else
      parts[i] = TOKENS[rng(#TOKENS)]
    end
  end
  return table.concat(parts)
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- The raw path the emulator logged, split at "/" (empty pieces kept).
local function raw_segments(uri)
  local out = {}
  for seg in (uri:match("^[^?]*") .. "/"):gmatch("([^/]*)/") do out[#out + 1] = seg end
  return out
end

local function refused(id)
  return id == "" or id == "." or id == ".."
end

-- nginx (the emulator's front end) decodes %2F while it normalises a path
-- and answers 400 itself when "/.." then climbs above the root: such a
-- request never reaches the emulator's handler or log. Only ids that decode
-- to a climbing path may end that way.
local function climbs(...)
  for _, id in ipairs { ... } do
    if id:find("/..", 1, true) or id:find("../", 1, true) or id == ".." then
      return true
    end
  end
  return false
end

describe("injection (property)", function()
  local seed = prng.seed()
  local srv = fx.server()
  local client

  before_each(function() client = fx.client { retry = false } end)
  after_each(function() client:close() end)

  it("sends every random id as exactly one path segment equal to the input", function()
    local rng = prng.new(seed)
    local counts = { sent = 0, raised = 0, nginx = 0, echoed = 0 }
    for i = 1, RANDOM_IDS do
      local ids = { random_id(rng), random_id(rng), random_id(rng) }
      -- Now and then the exact values that must raise.
      if i % 40 == 0 then ids[rng(3)] = ({ "", ".", ".." })[rng(3)] end
      local where = ("seed %d, case %d: %q %q %q"):format(seed, i, ids[1], ids[2], ids[3])
      srv:clear_log()
      local ok, res, err = pcall(client.get_job_run, client, ids[1], ids[2], ids[3])
      local seen = srv:requests()
      if refused(ids[1]) or refused(ids[2]) or refused(ids[3]) then
        assert(not ok, where .. ": did not raise")
        assert(res:find("must not be empty, '.' or '..'", 1, true), where .. ": " .. tostring(res))
        assert(#seen == 0, where .. ": a request was sent")
        counts.raised = counts.raised + 1
      else
        assert(ok, where .. ": raised " .. tostring(res))
        if #seen == 0 then
          assert(err and err.status == 400 and err.code == nil and climbs(ids[1], ids[2], ids[3]),
            where .. ": no request logged, got " .. tostring(res or err))
          counts.nginx = counts.nginx + 1
        else
          assert(#seen == 1, where .. ": " .. #seen .. " requests")
          local segs = raw_segments(seen[1].uri)
          assert(#segs == 11, where .. ": path has " .. #segs .. " pieces: " .. seen[1].uri)
          assert(segs[5] == srv.workspace_id and segs[6] == "projects" and segs[8] == "jobs"
            and segs[10] == "runs", where .. ": " .. seen[1].uri)
          assert(unescape(segs[7]) == ids[1], where .. ": project arrived as " .. segs[7])
          assert(unescape(segs[9]) == ids[2], where .. ": job_id arrived as " .. segs[9])
          assert(unescape(segs[11]) == ids[3], where .. ": job_run_id arrived as " .. segs[11])
          assert(seen[1].headers["x-api-key"] == srv.api_key, where)
          counts.sent = counts.sent + 1
          -- The emulator echoes ids into JSON; bytes that are not UTF-8
          -- come back as a decode error, valid ones as the run.
          if res then
            assert(res.jobRun.id == ids[3] and res.jobRun.job_id == ids[2], where)
            counts.echoed = counts.echoed + 1
          end
        end
      end
    end
    assert(counts.sent > RANDOM_IDS * 0.7, ("seed %d: only %d ids sent"):format(seed, counts.sent))
    assert(counts.raised > 0 and counts.echoed > RANDOM_IDS / 4,
      ("seed %d: raised %d, echoed %d"):format(seed, counts.raised, counts.echoed))
  end)

  it("raises before any request for ids with control bytes", function()
    local rng = prng.new(seed + 1)
    local names = { "project", "job_id", "job_run_id" }
    srv:clear_log()
    for i = 1, CONTROL_IDS do
      local ids = { random_id(rng), random_id(rng), "echo." .. random_id(rng) }
      for k = 1, 3 do
        if refused(ids[k]) then ids[k] = "x" .. ids[k] end
      end
      local which = rng(3)
      local id = ids[which]
      local at = rng(0, #id)
      local control = i % 10 == 0 and "\r\n" or string.char(rng() < 0.2 and 127 or rng(0, 31))
      ids[which] = id:sub(1, at) .. control .. id:sub(at + 1)
      local ok, msg = pcall(client.get_job_run, client, ids[1], ids[2], ids[3])
      local where = ("seed %d, case %d: %q"):format(seed, i, ids[which])
      assert(not ok, where .. ": did not raise")
      assert(msg:find(names[which], 1, true), where .. ": " .. msg)
    end
    assert.are.same({}, srv:requests())
  end)

  describe("settings", function()
    local function new(overrides)
      local o = { base_url = srv.base_url, api_key = srv.api_key, workspace_id = srv.workspace_id }
      for k, v in pairs(overrides) do o[k] = v end
      return intuned.new(o)
    end

    it("refuses keys with control bytes or whitespace, naming the option", function()
      local rng = prng.new(seed + 2)
      for i = 1, BAD_SETTINGS do
        local key = ("k"):rep(rng(0, 20))
        local at = rng(0, #key)
        local bad = ({ "\r\n", "\n", "\r", "\0", " ", "\t", "\127", string.char(rng(0, 31)) })[rng(8)]
        key = key:sub(1, at) .. bad .. key:sub(at + 1)
        local ok, msg = pcall(new, { api_key = key })
        assert(not ok, ("seed %d, case %d: key %q accepted"):format(seed, i, key))
        assert(msg:find("api_key", 1, true), msg)
      end
    end)

    it("requires workspace_id to be a UUID", function()
      local rng = prng.new(seed + 3)
      local uuid = srv.workspace_id
      for i = 1, BAD_SETTINGS do
        local bad
        local style = rng(3)
        if style == 1 then
          bad = random_id(rng)
        elseif style == 2 then
          -- One character of a real UUID replaced by a non-hex one.
          local at = rng(#uuid)
          bad = uuid:sub(1, at - 1) .. ({ "g", "/", ".", "%", "-", "?", "Z", " " })[rng(8)] .. uuid:sub(at + 1)
        else
          bad = uuid .. ({ "/..", "/", "x", "%2F", "?a", "\n" })[rng(6)]
        end
        if bad ~= uuid then
          local ok, msg = pcall(new, { workspace_id = bad })
          assert(not ok, ("seed %d, case %d: workspace_id %q accepted"):format(seed, i, bad))
          assert(msg:find("workspace_id", 1, true), msg)
        end
      end
      assert(pcall(new, { workspace_id = uuid:upper() }))
    end)

    it("requires base_url to be http(s) with a host", function()
      for _, bad in ipairs {
        "ftp://127.0.0.1/api", "file:///etc/passwd", "gopher://x", "dict://127.0.0.1:11211/", "//127.0.0.1/api",
        "127.0.0.1/api", "http://", "https:///path", "http://user:pw@127.0.0.1/api", "http://@127.0.0.1",
        "http://127.0.0.1/api?x=1", "http://127.0.0.1/api#frag", "http://127.0.0.1/a\r\nX-Evil: 1",
        "http://127.0.0.1/a b", "", "javascript:alert(1)", "HTTP//127.0.0.1",
      } do
        local ok, msg = pcall(new, { base_url = bad })
        assert(not ok, ("base_url %q accepted"):format(bad))
        assert(msg:find("base_url", 1, true), msg)
      end
      for _, good in ipairs { "http://127.0.0.1:1/x", "HTTPS://example.com", "https://[::1]:8443/api/" } do
        assert(pcall(new, { base_url = good }), good)
      end
    end)
  end)
end)
