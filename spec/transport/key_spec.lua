-- The key goes only to base_url. No function reachable from a client sends
-- it anywhere else, whatever URL it is handed; proxy credentials sit in no
-- field a user can print or serialise; a results download cannot be
-- redirected through a planted file.
local files = require("support.files")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

-- The ones that would end the client before the others are tried.
local CLOSERS = { close = true, __close = true, __gc = true }

-- Every function reachable from v through table fields, metatables (their
-- __index tables too) and userdata methods, each with the value it is a
-- method of.
local function functions_of(v, out, seen, self_of)
  out, seen = out or {}, seen or {}
  local t = type(v)
  if (t ~= "table" and t ~= "userdata") or seen[v] then
    return out
  end
  seen[v] = true
  local function visit(k, x, owner)
    if type(x) == "function" then
      if not CLOSERS[k] then
        out[#out + 1] = { fn = x, owner = owner, name = tostring(k) }
      end
    else
      functions_of(x, out, seen)
    end
  end
  if t == "table" then
    for k, x in pairs(v) do
      functions_of(k, out, seen)
      visit(k, x, self_of or v)
    end
  end
  local mt = getmetatable(v)
  if type(mt) == "table" and not seen[mt] then
    seen[mt] = true
    for k, x in pairs(mt) do
      visit(k, x, v)
    end
    if type(mt.__index) == "table" then
      functions_of(mt.__index, out, seen, v)
    end
  end
  return out
end

-- Every string reachable from v (keys, values, tostring of tables and
-- userdata).
local function strings_of(v, out, seen)
  out, seen = out or {}, seen or {}
  local t = type(v)
  if t == "string" then
    out[#out + 1] = v
  elseif (t == "table" or t == "userdata") and not seen[v] then
    seen[v] = true
    out[#out + 1] = tostring(v)
    if t == "table" then
      for k, x in pairs(v) do
        strings_of(k, out, seen)
        strings_of(x, out, seen)
      end
    end
    local mt = getmetatable(v)
    if type(mt) == "table" then
      strings_of(mt, out, seen)
    end
  end
  return out
end

describe("the API key", function()
  local srv = fx.server()

  it("never reaches another host through any function reachable from a client", function()
    local client = fx.client()
    local foreign = srv.redirect_url .. "/elsewhere"
    local found = functions_of(client)
    assert.is_true(#found >= 5, "functions found: " .. #found)
    local before = #srv:requests(function(e) return e.port == srv.redirect_port end)
    local as_table = { url = foreign, signed_url = foreign, results = { signed_url = foreign } }
    for _, f in ipairs(found) do
      for _, first in ipairs { client, f.owner, foreign } do
        pcall(f.fn, first, foreign)
        pcall(f.fn, first, foreign, {})
        pcall(f.fn, first, foreign, foreign)
        pcall(f.fn, first, foreign, foreign, foreign)
        pcall(f.fn, first, "GET", foreign)
        pcall(f.fn, first, as_table)
      end
    end
    client:close()
    local seen = srv:requests(function(e) return e.port == srv.redirect_port end)
    -- The listener does log what reaches it (a results download goes to its
    -- signed URL, without the key): the check below could fail.
    assert.is_true(#seen > before, "nothing reached the foreign listener")
    for i = before + 1, #seen do
      assert.is_nil(seen[i].headers["x-api-key"], seen[i].uri)
    end
  end)

  it("keeps proxy credentials out of every field and string of the client", function()
    local client = fx.client { proxy = "http://user:s3cret-proxy-pass@127.0.0.1:9" }
    for _, s in ipairs(strings_of(client)) do
      assert.is_nil(s:find("s3cret-proxy-pass", 1, true), s)
    end
    assert.is_nil(tostring(client):find("s3cret", 1, true))
    client:close()
  end)
end)

describe("a results download to a file", function()
  local client, dir
  before_each(function()
    client = fx.client()
    dir = files.capture("mktemp -d"):gsub("%s+$", "")
  end)
  after_each(function()
    client:close()
    files.execute("rm -rf " .. files.quote(dir))
  end)

  it("writes into a temporary file of mode 0600 that nobody chose the name of", function()
    -- A watcher outside this process looks at the folder while the body
    -- arrives slowly: the partial file exists only with mode 600.
    local res = assert(client:get_job_run(P, J, fx.id("slow-600-rows")))
    local log = dir .. "/watch.log"
    files.execute(("(for i in $(seq 150); do stat -c '%%a %%n' %s/*.part-* 2>/dev/null;"
      .. " sleep 0.01; done > %s; touch %s.done) &"):format(files.quote(dir), files.quote(log),
      files.quote(log)))
    local path, err = client:download_results(res, { path = dir .. "/results.json" })
    assert.is_nil(err)
    assert.is_true(fx.eventually(function() return files.exists(log .. ".done") end, 5))
    local seen = files.read(log)
    assert.truthy(seen:find("^600 "), "watcher saw: " .. seen)
    for line in seen:gmatch("[^\n]+") do
      assert.truthy(line:find("^600 .*/results%.json%.part%-%w+$"), line)
    end
    assert.truthy(files.read(path):find("Product 1", 1, true))
    assert.are.equal("", files.capture("ls " .. files.quote(dir) .. " | grep part || true"))
  end)

  it("replaces a symlink planted at the target instead of writing through it", function()
    local victim = dir .. "/victim"
    files.write(victim, "keep me")
    files.execute("ln -s " .. files.quote(victim) .. " " .. files.quote(dir .. "/results.json"))
    local res = assert(client:get_job_run(P, J, fx.id("ok")))
    local path, err = client:download_results(res, { path = dir .. "/results.json" })
    assert.is_nil(err)
    assert.are.equal("keep me", files.read(victim))
    assert.are.equal("", files.capture("find " .. files.quote(path) .. " -type l"))
    assert.truthy(files.read(path):find("Product 1", 1, true))
  end)

  it("gives an io error, and leaves nothing behind, where it cannot create the file", function()
    local res = assert(client:get_job_run(P, J, fx.id("ok")))
    local path, err = client:download_results(res, { path = dir .. "/missing/results.json" })
    assert.is_nil(path)
    assert.are.equal("io", err.kind)
    assert.are.equal("", files.capture("ls " .. files.quote(dir)))
  end)
end)
