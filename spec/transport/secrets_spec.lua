-- The API key goes to the API's x-api-key header and nowhere else. A private
-- emulator with a key no other string could contain by chance runs the whole
-- fault matrix; every string the client produced (errors, tostring of every
-- object, bodies, headers, misuse messages, a child process's whole output)
-- is searched for the key, and so is everything the emulator saw.
local intuned = require("intuned")
local emulator = require("support.emulator")
local matrix = require("support.fault_matrix")
local fx = require("support.fixtures")

local unpack = table.unpack or unpack

local function random_hex(n)
  local out = {}
  for i = 1, n do out[i] = ("%x"):format(math.random(0, 15)) end
  return table.concat(out)
end

-- Every string reachable from `v` (keys and values, metatables' __tostring
-- results included), appended to `out`.
local function strings_of(v, out, seen)
  seen = seen or {}
  local t = type(v)
  if t == "string" then
    out[#out + 1] = v
  elseif t == "number" or t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "userdata" or t == "function" then
    out[#out + 1] = tostring(v)
  elseif t == "table" and not seen[v] then
    seen[v] = true
    out[#out + 1] = tostring(v)
    for k, x in pairs(v) do
      strings_of(k, out, seen)
      strings_of(x, out, seen)
    end
  end
  return out
end

local function leaks(texts, key)
  for i, s in ipairs(texts) do
    if s:find(key, 1, true) then
      return i, s
    end
  end
end

describe("the API key", function()
  local key = "sk_live_" .. random_hex(32)
  local srv

  lazy_setup(function()
    srv = emulator.start { api_key = key }
  end)

  lazy_teardown(function()
    if srv then srv:stop() end
  end)

  it("appears in nothing the client produced during the whole fault matrix", function()
    local texts = {}
    for _, row in ipairs(matrix.rows) do
      local res, err, meta, time, run_id, client = matrix.run(row, srv)
      -- The row behaves here as in faults_spec, so its strings are the real ones.
      assert(matrix.verify(row, res, err, meta, time))
      strings_of(res, texts)
      strings_of(err, texts)
      strings_of(meta, texts)
      strings_of(run_id, texts)
      texts[#texts + 1] = tostring(client)
      if err then
        texts[#texts + 1] = tostring(err)
        texts[#texts + 1] = err.message
        if type(err.body) == "string" then texts[#texts + 1] = err.body end
      end
    end
    -- A live client, its session and every field it holds.
    local client = intuned.new { base_url = srv.base_url, api_key = key, workspace_id = srv.workspace_id }
    texts[#texts + 1] = tostring(client)
    texts[#texts + 1] = tostring(client.session)
    strings_of(client, texts)
    strings_of(getmetatable(client), texts)
    client:close()
    texts[#texts + 1] = tostring(client)
    assert(#texts > 500, "too few strings collected: " .. #texts)
    local i, s = leaks(texts, key)
    assert(not i, ("string %d of %d holds the key: %s"):format(i or 0, #texts, tostring(s)))
  end)

  it("appears in no misuse error, even when the key itself is the mistake", function()
    local base = { base_url = srv.base_url, api_key = key, workspace_id = srv.workspace_id }
    local function with(k, v)
      local o = {}
      for name, x in pairs(base) do o[name] = x end
      o[k] = v
      return o
    end
    local cases = {
      with("api_key", key .. "\r\nX-Evil: 1"), with("api_key", " " .. key), with("api_key", key .. "\0"),
      with("workspace_id", key), with("base_url", "ftp://" .. key), with("timout", 3),
      with("retry", { max_attempts = 0 }), with("proxy", 42),
    }
    local texts = {}
    for _, opts in ipairs(cases) do
      local ok, msg = pcall(intuned.new, opts)
      assert(not ok)
      texts[#texts + 1] = tostring(msg)
    end
    local client = intuned.new(base)
    local calls = { { "p", "j", "a\nb" }, { "", "j", "r" }, { "p", "j", 42 }, { "p", "j", "r", { bad = 1 } } }
    for _, args in ipairs(calls) do
      local ok, msg = pcall(client.get_job_run, client, unpack(args))
      assert(not ok)
      texts[#texts + 1] = tostring(msg)
    end
    client:close()
    local ok, msg = pcall(client.get_job_run, client, "p", "j", "r")
    assert(not ok)
    texts[#texts + 1] = tostring(msg)
    local i, s = leaks(texts, key)
    assert(not i, ("message %d holds the key: %s"):format(i or 0, tostring(s)))
  end)

  it("appears nowhere in a child process's output that prints every result", function()
    local script = srv.prefix .. "/tmp/print-matrix.lua"
    local f = assert(io.open(script, "w"))
    f:write([[
local intuned = require("intuned")
local matrix = require("support.fault_matrix")
local server = { base_url = os.getenv("INTUNED_BASE_URL"), api_key = os.getenv("INTUNED_API_KEY"),
  workspace_id = os.getenv("INTUNED_WORKSPACE_ID") }
local client = intuned.new{}
print(client)
for _, row in ipairs(matrix.rows) do
  local res, err, meta = matrix.run(row, server)
  print(row.name, res and res.jobRun.id, err, err and err.message, err and type(err.body) == "string" and err.body)
  for k, v in pairs(meta or {}) do print(k, v) end
end
client:close()
print(client)
io.stderr:write("done\n")
]])
    f:close()
    local out_file = srv.prefix .. "/tmp/print-matrix.out"
    local command = ("INTUNED_API_KEY='%s' INTUNED_BASE_URL='%s' INTUNED_WORKSPACE_ID='%s' "
      .. "LUA_PATH='lua/?.lua;spec/?.lua;;' %s '%s' >'%s' 2>&1"):format(key, srv.base_url, srv.workspace_id,
      fx.lua():gsub("LUA_PATH='[^']*' ", ""), script, out_file)
    assert(os.execute(command))
    local out = assert(io.open(out_file)):read("*a")
    assert.truthy(out:find("done\n", 1, true), out)
    assert.truthy(out:find("HTTP 502", 1, true), out)
    assert.is_nil(out:find(key, 1, true), "the child's output holds the key")
  end)

  it("reached the emulator only as the x-api-key header, and never the redirect target", function()
    local seen = srv:requests()
    assert(#seen > 50, "too few requests logged: " .. #seen)
    for _, e in ipairs(seen) do
      local where = e.uri
      assert.are_not.equal(srv.redirect_port, e.port, "the redirect target got a request")
      assert.is_nil(e.uri:find(key, 1, true), where)
      for name, value in pairs(e.headers) do
        if name ~= "x-api-key" then
          assert.is_nil(tostring(name):find(key, 1, true), where)
          assert.is_nil(tostring(value):find(key, 1, true), where .. ": header " .. name)
        end
      end
      local api_key = e.headers["x-api-key"]
      assert(api_key == key or api_key == "not-the-key", where .. ": x-api-key " .. tostring(api_key))
      local rest, lines = e.raw_header:gsub("\r\n[Xx]%-[Aa]pi%-[Kk]ey: [^\r\n]*", "")
      assert.are.equal(1, lines, where)
      assert.is_nil(rest:find(key, 1, true), where)
    end
    local log = io.open(srv.prefix .. "/error.log")
    if log then
      assert.is_nil(log:read("*a"):find(key, 1, true), "nginx's error.log holds the key")
      log:close()
    end
  end)
end)
