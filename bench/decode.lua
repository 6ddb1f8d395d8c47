-- Decoding benchmark: intuned.core.decode vs lua-cjson vs dkjson.
--
--   lua5.4 bench/decode.lua slice FILE DECODER [SECONDS]
--     decodes FILE once, then again and again for SECONDS (0.05), and prints
--     the MB/s of the timed part
--   lua5.4 bench/decode.lua check FILE
--     fails unless intuned and lua-cjson both decode FILE
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

if mode == "check" then
  -- Both C decoders must give a table for the document before anything is
  -- timed.
  local _, file = ...
  local doc = read_file(file)
  assert(type(decoders.intuned(doc)) == "table", file .. ": intuned did not decode")
  assert(type(decoders.cjson(doc)) == "table", file .. ": cjson did not decode")
  return
end

-- One slice of one decoder on one document, in a process of its own: a
-- decoder never runs in a heap, string table or string cache that another
-- decoder or document has shaped. One untimed decode first, so page faults
-- of the heap's first growth are not counted.
assert(mode == "slice", "usage: decode.lua slice FILE DECODER [SECONDS] | count DECODER FILE N"
  .. " | write JOB_RUN_FILE SIZE OUT | check FILE")
local _, file, name, seconds = ...
local decode = assert(decoders[name], "unknown decoder")
local doc = read_file(file)
decode(doc)
collectgarbage("collect")
print(string.format("%.2f", rate(decode, doc, tonumber(seconds) or 0.05)))
