-- One contender of the sequential benchmark, run in its own process so that
-- contenders never share a heap or a connection.
--
--   lua5.4 bench/seq.lua CONTENDER BASE_URL API_KEY COUNT [CA_FILE]
--
-- Fetches and decodes the same job run COUNT times after one warm-up request
-- and prints "<requests per second> 0 <connections opened>" (the same shape
-- as raw_curl's output, which has the body size in the middle).
-- Contenders:
--   intuned    client:get_job_run on one client (keep-alive, decoding included)
--   luasocket  socket.http.request + cjson.decode (socket.http closes after
--              each request); with an https BASE_URL LuaSec's ssl.https
--   curl-cli   io.popen("curl ...") per request + cjson.decode
--
-- Extra modes used by bench/run.lua:
--   memory  BASE_URL API_KEY COUNT   RSS and Lua heap before/after COUNT calls
--   alloc   BASE_URL API_KEY COUNT   bytes allocated per call (GC stopped),
--                                    for intuned and luasocket+cjson

local contender, base_url, key, count, ca_file = ...
count = tonumber(count)
assert(contender and base_url and key and count,
  "usage: seq.lua CONTENDER BASE_URL API_KEY COUNT [CA_FILE]")

local WORKSPACE = "123e4567-e89b-12d3-a456-426614174000"
local PROJECT, JOB, RUN = "my-project", "my-sample-job", "jr_2f8c1d4e9a7b"
local url = base_url .. "/" .. WORKSPACE .. "/projects/" .. PROJECT .. "/jobs/" .. JOB .. "/runs/" .. RUN

local now
do
  local ok, core = pcall(require, "intuned.core")
  if ok then
    now = core.now
  else
    now = require("socket").gettime
  end
end

local function check(doc)
  if type(doc) ~= "table" or type(doc.jobRun) ~= "table" or doc.jobRun.status ~= "SUCCESS" then
    error("unexpected response", 2)
  end
end

-- Each maker returns fetch() -> decoded body, and a function giving the
-- number of connections opened so far.
local makers = {}

function makers.intuned()
  local intuned = require("intuned")
  local client = intuned.new {
    workspace_id = WORKSPACE, api_key = key, base_url = base_url, ca_file = ca_file,
  }
  local connects = 0
  return function()
    local res, err, meta = client:get_job_run(PROJECT, JOB, RUN)
    if not res then
      error(tostring(err))
    end
    if not meta.reused then
      connects = connects + 1
    end
    return res
  end, function() return connects end
end

function makers.luasocket()
  local cjson = require("cjson")
  local ltn12 = require("ltn12")
  local headers = { ["x-api-key"] = key, accept = "application/json" }
  local request
  if base_url:match("^https:") then
    local https = require("ssl.https")
    request = function(chunks)
      return https.request {
        url = url, headers = headers, sink = ltn12.sink.table(chunks),
        verify = "peer", cafile = ca_file, protocol = "any",
        options = { "all", "no_sslv2", "no_sslv3", "no_tlsv1" },
      }
    end
  else
    local http = require("socket.http")
    request = function(chunks)
      return http.request { url = url, headers = headers, sink = ltn12.sink.table(chunks) }
    end
  end
  local connects = 0
  return function()
    local chunks = {}
    local ok, code = request(chunks)
    if not ok or code ~= 200 then
      error("request failed: " .. tostring(code))
    end
    connects = connects + 1 -- socket.http sends Connection: close
    return cjson.decode(table.concat(chunks))
  end, function() return connects end
end

makers["curl-cli"] = function()
  local cjson = require("cjson")
  local command = "curl -sf -H 'x-api-key: " .. key .. "' -H 'Accept: application/json' "
    .. (ca_file and ("--cacert '" .. ca_file .. "' ") or "") .. "'" .. url .. "'"
  local connects = 0
  return function()
    local pipe = assert(io.popen(command, "r"))
    local text = pipe:read("*a")
    pipe:close()
    connects = connects + 1
    return cjson.decode(text)
  end, function() return connects end
end

local function rss_kib()
  local f = assert(io.open("/proc/self/statm", "r"))
  local pages = f:read("*n") and f:read("*n")
  f:close()
  return pages * 4
end

if contender == "memory" then
  local fetch = makers.intuned()
  for _ = 1, 1000 do
    check(fetch())
  end
  collectgarbage("collect")
  collectgarbage("collect")
  local rss0, heap0 = rss_kib(), collectgarbage("count")
  for _ = 1, count do
    check(fetch())
  end
  collectgarbage("collect")
  collectgarbage("collect")
  local rss1, heap1 = rss_kib(), collectgarbage("count")
  print(string.format("%d %d %.1f %.1f", rss0, rss1, heap0, heap1))
  return
end

if contender == "alloc" then
  local out = {}
  for _, name in ipairs({ "intuned", "luasocket" }) do
    local fetch = makers[name]()
    for _ = 1, 100 do
      check(fetch())
    end
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    for _ = 1, count do
      check(fetch())
    end
    local after = collectgarbage("count")
    collectgarbage("restart")
    collectgarbage("collect")
    out[#out + 1] = string.format("%.0f", (after - before) * 1024 / count)
  end
  print(table.concat(out, " "))
  return
end

local make = makers[contender]
if not make then
  error("unknown contender " .. contender)
end
local fetch, connections = make()
local doc = fetch()
check(doc)
local t0 = now()
for _ = 1, count do
  check(fetch())
end
local t1 = now()
print(string.format("%.1f 0 %d", count / (t1 - t0), connections()))
