-- Decoding benchmark: intuned.core.decode vs lua-cjson vs dkjson.
--
--   lua5.4 bench/decode.lua speed JOB_RUN_FILE [SECONDS]
--     prints one line per document and decoder: "doc decoder MB/s"
--   lua5.4 bench/decode.lua count DECODER JOB_RUN_FILE N
--     decodes the job run body N times (for instruction counts under
--     callgrind: run twice with different N and subtract)
--   lua5.4 bench/decode.lua write JOB_RUN_FILE SIZE OUT
--     writes the generated document of SIZE bytes to OUT
--
-- The generated documents are many job runs in an array, with long strings
-- full of escapes (\n, \", \u00e9, surrogate pairs), numbers of every kind and
-- nesting several levels deep; the same bytes on every run.

local mode = ...

local decoders = {
  intuned = require("intuned.core").decode,
  cjson = require("cjson").decode,
  dkjson = require("dkjson").decode,
}
local ORDER = { "intuned", "cjson", "dkjson" }

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return (data:gsub("%s+$", ""))
end

-- A fixed Park-Miller sequence, so every run decodes the same document.
local seed = 12345
local function rand(n)
  seed = seed * 16807 % 2147483647
  return seed % n
end

local WORDS = { "alpha", "beta", "gamma", "delta", "payload", "scrape", "retry", "proxy",
  "session", "result" }

local function text(min_len)
  local parts, len = {}, 0
  while len < min_len do
    local piece
    local r = rand(10)
    if r == 0 then
      piece = "line\\nbreak"
    elseif r == 1 then
      piece = "\\\"quoted\\\""
    elseif r == 2 then
      piece = "caf\\u00e9"
    elseif r == 3 then
      piece = "\\ud83d\\ude00"
    elseif r == 4 then
      piece = "tab\\tsep\\/slash"
    else
      piece = WORDS[rand(#WORDS) + 1]
    end
    parts[#parts + 1] = piece
    len = len + #piece + 1
  end
  return table.concat(parts, " ")
end

local function run_doc(i, template)
  local extra = string.format(
    ',"log":"%s","metrics":{"latency_ms":%d.%03d,"ratio":%de-%d,"big":%d,"neg":-%d,'
      .. '"flags":[true,false,null,%d],"nested":{"a":{"b":{"c":{"d":["%s",%d]}}}}},'
      .. '"tags":["%s","%s","%s"]',
    text(200 + rand(600)), rand(5000), rand(1000), rand(9) + 1, rand(9) + 1,
    rand(2 ^ 31) * 1000003, rand(100000), i, text(10), i,
    WORDS[rand(#WORDS) + 1], WORDS[rand(#WORDS) + 1], text(20))
  return template:gsub("}$", "") .. extra .. "}"
end

-- An array of job runs (each the sample jobRun plus a log, metrics and
-- tags) of at least `size` bytes.
local function generate(size, job_run_body)
  local template = job_run_body:match('^{"jobRun":(%b{})')
  assert(template, "job run body has no jobRun")
  local parts, len, i = {}, 2, 0
  while len < size do
    i = i + 1
    local doc = run_doc(i, template)
    parts[#parts + 1] = doc
    len = len + #doc + 1
  end
  return '{"runs":[' .. table.concat(parts, ",") .. '],"count":' .. i .. "}"
end

local now = require("intuned.core").now

-- Decodes `doc` repeatedly for about `budget` seconds (at least once).
local function rate(decode, doc, budget)
  local n, t0 = 0, now()
  local t
  repeat
    decode(doc)
    n = n + 1
    t = now() - t0
  until t >= budget
  return #doc * n / t / 1e6
end

if mode == "write" then
  local _, file, size, out = ...
  local f = assert(io.open(out, "wb"))
  f:write(generate(tonumber(size), read_file(file)))
  f:close()
  return
end

if mode == "count" then
  local _, name, file, n = ...
  local decode = assert(decoders[name], "unknown decoder")
  local doc = read_file(file)
  for _ = 1, tonumber(n) do
    decode(doc)
  end
  return
end

assert(mode == "speed", "usage: decode.lua speed JOB_RUN_FILE [SECONDS] | count DECODER FILE N")
local _, file, seconds = ...
seconds = tonumber(seconds) or 0.05
local body = read_file(file)
local docs = {
  { "job run body", body },
  { "1 MiB document", generate(1024 * 1024, body) },
  { "16 MiB document", generate(16 * 1024 * 1024, body) },
}
-- Every decoder must agree on the documents before anything is timed.
for _, d in ipairs(docs) do
  local a, b = decoders.intuned(d[2]), decoders.cjson(d[2])
  assert(type(a) == "table" and type(b) == "table", d[1] .. " did not decode")
end
-- Short slices, interleaved, many rounds: load from other processes only
-- ever slows a slice down, so the best slice of each decoder counts.
local ROUNDS = 7
for _, d in ipairs(docs) do
  local best = {}
  for round = 1, ROUNDS do
    for _, name in ipairs(ORDER) do
      local slow = name == "dkjson" and #d[2] > 4 * 1024 * 1024
      if not slow or round <= 2 then -- one dkjson decode of 16 MiB takes seconds
        collectgarbage("collect")
        local r = rate(decoders[name], d[2], seconds)
        best[name] = math.max(best[name] or 0, r)
      end
    end
  end
  for _, name in ipairs(ORDER) do
    print(string.format("%s\t%s\t%.2f\t%d", d[1], name, best[name], #d[2]))
  end
end
