-- make bench: every contender against the same local nginx, side by side,
-- and one table of ratios. See bench/README.md for what each contender does.
--
--   lua5.4 bench/run.lua [--quick]
--
-- Environment (set by the Makefile): BUILD (build/lua5.4), LUA (lua5.4),
-- RAW_CURL (the compiled bench/raw_curl.c). Every figure is a ratio measured
-- in the same run; contenders run interleaved, one process each, several
-- rounds, and the best round of each counts.

local quick = arg[1] == "--quick"
local LUA = os.getenv("LUA") or "lua5.4"
local BUILD = os.getenv("BUILD") or "build/lua5.4"
local RAW_CURL = os.getenv("RAW_CURL") or "build/raw_curl"
local NOGUARD_BUILD = os.getenv("NOGUARD_BUILD")
-- "FLAG=folder ...": the module built with -DINTUNED_NO_<FLAG>, one build
-- for each of the decoder's speed tricks (see TRICKS below).
local TRICK_BUILDS = os.getenv("TRICK_BUILDS") or ""
local API_KEY = "bench-key"

package.path = "bench/?.lua;spec/?.lua;" .. package.path
local server_mod = require("server")

local function env_for(build)
  return "env LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='" .. build .. "/?.so;;' "
end
local ENV = env_for(BUILD)

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local function capture(command)
  local pipe = assert(io.popen(command .. " 2>&1", "r"))
  local out = pipe:read("*a")
  local ok, _, code = pipe:close()
  if not ok then
    error("command failed (" .. tostring(code) .. "): " .. command .. "\n" .. out, 2)
  end
  return out
end

-- Load from other processes only ever slows a round down, so the best
-- round is the closest to what the contender can do.
local function best(list)
  return math.max(table.unpack(list))
end

local rows = {}
local function row(...)
  rows[#rows + 1] = { ... }
end
local function section(title)
  rows[#rows + 1] = { title = title }
end

-- How many times a contender's rate intuned must reach, by row name.
local GOALS = { ["LuaSocket + cjson"] = 1.2, ["LuaSec + cjson"] = 10 }

-- A row's note for a target: what it is, and whether this run met it.
local function target(text, met)
  return text .. (met and "  met" or "  MISSED")
end

local function fmt(v, digits)
  if v == nil then
    return "-"
  end
  return string.format("%." .. (digits or 0) .. "f", v)
end

local function print_table()
  local widths = { 0, 0, 0, 0 }
  for _, r in ipairs(rows) do
    if not r.title then
      for i = 1, 4 do
        widths[i] = math.max(widths[i], #(r[i] or ""))
      end
    end
  end
  local line = string.rep("-", widths[1] + widths[2] + widths[3] + widths[4] + 9)
  print(line)
  for _, r in ipairs(rows) do
    if r.title then
      print(r.title)
    else
      print(string.format("  %-" .. widths[1] .. "s  %" .. widths[2] .. "s  %" .. widths[3] .. "s  %-"
        .. widths[4] .. "s", r[1], r[2] or "", r[3] or "", r[4] or ""))
    end
  end
  print(line)
end

local started = os.time()
local body = read_file("bench/job_run.json"):gsub("%s+$", "")
local server = server_mod.start { body = body, api_key = API_KEY }

local ok, err = pcall(function()
  ---------------------------------------------------------------------------
  -- Sequential requests
  ---------------------------------------------------------------------------
  -- Where the client runs relative to nginx decides the result more than
  -- anything else: on one CPU a request is a switch between two processes,
  -- on two CPUs it is two cross-CPU wake-ups, and left to the scheduler a
  -- process lands on either and its rounds jump between the two figures.
  -- So nginx is pinned to the last CPU and every contender runs pinned, on
  -- that CPU and then on another one; both placements are reported.
  local ROUNDS = quick and 3 or 5
  local ncpu = tonumber(capture("nproc"):match("%d+")) or 1
  local server_cpu = ncpu - 1
  server:pin(server_cpu)
  local placements = { { name = "client and server on one CPU", cpu = server_cpu } }
  if ncpu > 1 then
    placements[2] = { name = "client and server on separate CPUs", cpu = 0 }
  end
  local contenders = {
    { name = "raw libcurl (C, no decode)", run = function(base, n, pin)
      local url = base .. "/123e4567-e89b-12d3-a456-426614174000/projects/my-project/jobs/"
        .. "my-sample-job/runs/jr_2f8c1d4e9a7b"
      return capture(pin .. RAW_CURL .. " '" .. url .. "' " .. API_KEY .. " " .. n .. " " .. server.ca_file)
    end, n = 1500 },
    { name = "intuned get_job_run", lua = "intuned", n = 1500 },
    { name = "LuaSocket + cjson", lua = "luasocket", n = 300, tls_name = "LuaSec + cjson", tls_n = 10 },
    { name = "curl CLI per request + cjson", lua = "curl-cli", n = 20, tls_n = 15 },
  }
  -- The stale-bytes guard's cost: the same client built without it.
  local GUARDLESS = #contenders + 1
  if NOGUARD_BUILD then
    contenders[GUARDLESS] = { name = "intuned without the stale-bytes guard", lua = "intuned",
      env = env_for(NOGUARD_BUILD), n = 1500 }
  end
  if quick then
    for _, c in ipairs(contenders) do
      c.n = math.max(10, math.floor(c.n / 3))
    end
  end
  for _, proto in ipairs({ "http", "https" }) do
    local base = proto == "http" and server.base_url or server.tls_base_url
    for _, place in ipairs(placements) do
      local pin = "taskset -c " .. place.cpu .. " "
      local rates = {}
      for _ = 1, ROUNDS do
        for i, c in ipairs(contenders) do
          local n = (proto == "https" and c.tls_n) or c.n
          local out
          if c.run then
            out = c.run(base, n, pin)
          else
            out = capture((c.env or ENV) .. pin .. LUA .. " bench/seq.lua " .. c.lua .. " " .. base .. " "
              .. API_KEY .. " " .. n .. " " .. server.ca_file)
          end
          local rps = tonumber(out:match("^([%d.]+)"))
          assert(rps, "no rate from " .. c.name .. ": " .. out)
          rates[i] = rates[i] or {}
          table.insert(rates[i], rps)
        end
      end
      section(string.format("Sequential GET + decode of one job run, %s, %s, keep-alive where possible "
        .. "(requests/s, best of %d interleaved rounds)", proto:upper(), place.name, ROUNDS))
      local limit = best(rates[1])
      local ours = best(rates[2])
      for i, c in ipairs(contenders) do
        local r = best(rates[i])
        local name = (proto == "https" and c.tls_name) or c.name
        local note = ""
        if i == 2 then
          note = target("target >= 0.90x", r / limit >= 0.90)
        elseif i == GUARDLESS then
          note = string.format("the guard costs %.1f%% of intuned's rate", (r - ours) / r * 100)
        elseif i > 2 then
          note = string.format("intuned is %.1fx this", ours / r)
          local goal = GOALS[name]
          if goal then
            note = note .. target(string.format("; target >= %gx", goal), ours / r >= goal)
          end
        end
        row(name, fmt(r), string.format(r / limit < 0.1 and "%.4fx" or "%.2fx", r / limit), note)
      end
    end
  end

  ---------------------------------------------------------------------------
  -- Instructions per request (callgrind)
  ---------------------------------------------------------------------------
  local function instructions(command, env)
    local out = capture((env or ENV) .. "valgrind --tool=callgrind --callgrind-out-file=/dev/null " .. command)
    return tonumber(out:match("Collected : (%d+)"))
  end
  local function per_call(make, n1, n2, env)
    local a, b = instructions(make(n1), env), instructions(make(n2), env)
    return (b - a) / (n2 - n1)
  end
  local ci = quick and { 50, 150 } or { 100, 400 }
  section("User-space instructions per request, HTTP, callgrind (difference of two run lengths)")
  local url = server.base_url .. "/123e4567-e89b-12d3-a456-426614174000/projects/my-project/jobs/"
    .. "my-sample-job/runs/jr_2f8c1d4e9a7b"
  local raw_ir = per_call(function(n)
    return RAW_CURL .. " '" .. url .. "' " .. API_KEY .. " " .. n
  end, ci[1], ci[2])
  local ours_ir = per_call(function(n)
    return LUA .. " bench/seq.lua intuned " .. server.base_url .. " " .. API_KEY .. " " .. n
  end, ci[1], ci[2])
  -- The same loop sending the two header lines intuned adds to every
  -- request, to show what they cost inside libcurl.
  local ua = capture(ENV .. LUA .. [[ -e 'local c = require("intuned.core")
    io.write(("intuned-lua/%s (%s; libcurl/%s)"):format(c.VERSION, _VERSION, c.curl_version))']])
  local raw_h_ir = per_call(function(n)
    return RAW_CURL .. " '" .. url .. "' " .. API_KEY .. " " .. n .. " '' 'User-Agent: " .. ua
      .. "' 'Accept-Encoding: gzip, deflate'"
  end, ci[1], ci[2])
  row("raw libcurl (C, no decode)", fmt(raw_ir), "1.00x", "")
  row("raw libcurl + intuned's User-Agent, Accept-Encoding", fmt(raw_h_ir),
    string.format("%.2fx", raw_h_ir / raw_ir), "")
  row("intuned get_job_run (decode included)", fmt(ours_ir), string.format("%.2fx", ours_ir / raw_ir),
    target("target <= 1.5x", ours_ir / raw_ir <= 1.5))
  if NOGUARD_BUILD then
    local noguard_ir = per_call(function(n)
      return LUA .. " bench/seq.lua intuned " .. server.base_url .. " " .. API_KEY .. " " .. n
    end, ci[1], ci[2], env_for(NOGUARD_BUILD))
    row("intuned without the stale-bytes guard", fmt(noguard_ir), string.format("%.2fx", noguard_ir / raw_ir),
      string.format("the guard adds %.0f instructions", ours_ir - noguard_ir))
  end

  section("User-space instructions per decode of the job run body (" .. #body .. " bytes), callgrind")
  local dec_ir = {}
  for _, name in ipairs({ "intuned", "cjson", "dkjson" }) do
    dec_ir[name] = per_call(function(n)
      return LUA .. " bench/decode.lua count " .. name .. " bench/job_run.json " .. n
    end, ci[1], ci[2])
  end
  for _, name in ipairs({ "intuned", "cjson", "dkjson" }) do
    row(name == "intuned" and "intuned.core.decode" or name .. ".decode", fmt(dec_ir[name]),
      string.format("%.2fx", dec_ir[name] / dec_ir.intuned),
      name == "intuned" and "" or string.format("intuned is %.1fx fewer", dec_ir[name] / dec_ir.intuned))
  end

  -- The 1 MiB document too: its wall-clock figures move most between runs.
  section("User-space instructions per decode of the 1 MiB document, callgrind (1 and 3 decodes)")
  local mib_dir = capture("mktemp -d"):gsub("%s+$", "")
  local mib = mib_dir .. "/1mib.json"
  local mib_ok, mib_err = pcall(function()
    capture(ENV .. LUA .. " bench/decode.lua write bench/job_run.json " .. 1024 * 1024 .. " " .. mib)
    for _, name in ipairs({ "intuned", "cjson" }) do
      dec_ir[name] = per_call(function(n)
        return LUA .. " bench/decode.lua count " .. name .. " " .. mib .. " " .. n
      end, 1, 3)
    end
  end)
  capture("rm -rf '" .. mib_dir .. "'")
  assert(mib_ok, mib_err)
  row("intuned.core.decode", fmt(dec_ir.intuned), "1.00x", "")
  row("cjson.decode", fmt(dec_ir.cjson), string.format("%.2fx", dec_ir.cjson / dec_ir.intuned),
    string.format("intuned is %.1fx fewer", dec_ir.cjson / dec_ir.intuned))

  ---------------------------------------------------------------------------
  -- The decoder's speed tricks, each one switched off alone (callgrind)
  ---------------------------------------------------------------------------
  -- Every build is measured from one and the same folder, its core.so
  -- copied there first: the length of LUA_CPATH alone moves Lua's and the
  -- allocator's instruction counts by up to 4%, as much as a trick. The
  -- median of several interleaved rounds; builds with the same code agree
  -- within 1% that way. The size memory only works in a session, so it is
  -- measured per request (difference of two run lengths, like the rows
  -- above) and given as a share of decoding the job run body.
  local TRICKS = {
    STRING_CACHE = "the string cache",
    SSE2 = "the SSE2 string scan",
    SIZE_MEMORY = "the session's size memory",
    SIZE_SCAN = "the size pre-scan",
    KEY_HINTS = "sizes by member key",
    SIBLING_HINTS = "sizes by sibling",
    FAST_PATHS = "the common case's fast paths",
  }
  local tricks = {}
  for flag, build in TRICK_BUILDS:gmatch("(%u[%w_]*)=(%S+)") do
    tricks[#tricks + 1] = { flag = flag, build = build, name = TRICKS[flag] or flag }
  end
  if #tricks > 0 then
    local TRICK_ROUNDS = quick and 1 or 3
    local tdir = capture("mktemp -d"):gsub("%s+$", "")
    local tmib = tdir .. "/1mib.json"
    local same = tdir .. "/lib"
    local function median(list)
      table.sort(list)
      local n = #list
      return n % 2 == 1 and list[(n + 1) / 2] or (list[n / 2] + list[n / 2 + 1]) / 2
    end
    local function from_same_folder(build)
      capture("mkdir -p '" .. same .. "/intuned' && cp '" .. build .. "/intuned/core.so' '" .. same
        .. "/intuned/core.so'")
      return env_for(same)
    end
    local measured = { body = {}, mib = {}, request = {} }
    local tricks_ok, tricks_err = pcall(function()
      capture(ENV .. LUA .. " bench/decode.lua write bench/job_run.json " .. 1024 * 1024 .. " " .. tmib)
      local all = { { flag = "", build = BUILD } }
      for _, t in ipairs(tricks) do
        all[#all + 1] = t
      end
      for _ = 1, TRICK_ROUNDS do
        for _, t in ipairs(all) do
          local env = from_same_folder(t.build)
          for _, what in ipairs({ "body", "mib", "request" }) do
            local v
            if what == "request" then
              if t.flag == "" or t.flag == "SIZE_MEMORY" then
                v = per_call(function(n)
                  return LUA .. " bench/seq.lua intuned " .. server.base_url .. " " .. API_KEY .. " " .. n
                end, ci[1], ci[2], env)
              end
            elseif t.flag ~= "SIZE_MEMORY" then
              local file, n = "bench/job_run.json", ci
              if what == "mib" then
                file, n = tmib, { 1, 3 }
              end
              v = per_call(function(k)
                return LUA .. " bench/decode.lua count intuned " .. file .. " " .. k
              end, n[1], n[2], env)
            end
            if v then
              measured[what][t.flag] = measured[what][t.flag] or {}
              table.insert(measured[what][t.flag], v)
            end
          end
        end
      end
    end)
    capture("rm -rf '" .. tdir .. "'")
    assert(tricks_ok, tricks_err)
    local function gain(what, flag)
      local with, without = median(measured[what][""]), median(measured[what][flag])
      return without, (without - with) / with * 100
    end
    for _, what in ipairs({ "body", "mib" }) do
      section(string.format("Instructions per decode of the %s without each speed trick, callgrind (median of %d "
        .. "rounds, one folder)", what == "body" and "job run body" or "1 MiB document", TRICK_ROUNDS))
      local with = median(measured[what][""])
      row("intuned.core.decode, every trick", fmt(with), "1.00x", "")
      for _, t in ipairs(tricks) do
        if measured[what][t.flag] then
          local without, pct = gain(what, t.flag)
          row("without " .. t.name, fmt(without), string.format("%.2fx", without / with),
            string.format("%+.1f%%", pct))
        elseif what == "body" then
          local without = gain("request", t.flag)
          local extra = without - median(measured.request[""])
          row("without " .. t.name .. " (per request)", fmt(without),
            string.format("%.2fx", without / median(measured.request[""])),
            string.format("%+.0f per request: %+.1f%% of a decode", extra, extra / with * 100))
        end
      end
    end
  end

  ---------------------------------------------------------------------------
  -- Decoding speed
  ---------------------------------------------------------------------------
  -- Every slice runs in a fresh process (see decode.lua), interleaved:
  -- round after round, each document, each decoder.
  local ROUNDS_D = quick and 3 or 7
  local slice = quick and 0.02 or 0.05
  local tmp = capture("mktemp -d"):gsub("%s+$", "")
  local docs = {
    { name = "job run body", file = "bench/job_run.json", size = #body },
    { name = "1 MiB document", file = tmp .. "/1mib.json", size = 1024 * 1024 },
    { name = "16 MiB document", file = tmp .. "/16mib.json", size = 16 * 1024 * 1024 },
  }
  local DECODERS = { "intuned", "cjson", "dkjson" }
  local speeds = {}
  local decode_ok, decode_err = pcall(function()
    for i = 2, #docs do
      capture(ENV .. LUA .. " bench/decode.lua write bench/job_run.json " .. docs[i].size .. " " .. docs[i].file)
    end
    for _, d in ipairs(docs) do
      capture(ENV .. LUA .. " bench/decode.lua check " .. d.file)
      speeds[d.name] = {}
    end
    for round = 1, ROUNDS_D do
      for _, d in ipairs(docs) do
        for _, name in ipairs(DECODERS) do
          -- one dkjson decode of 16 MiB takes seconds: two rounds of it
          if name ~= "dkjson" or d.size <= 4 * 1024 * 1024 or round <= 2 then
            local out = capture(ENV .. LUA .. " bench/decode.lua slice " .. d.file .. " " .. name .. " " .. slice)
            local mbs = assert(tonumber(out:match("^([%d.]+)")), "no rate from " .. name .. ": " .. out)
            speeds[d.name][name] = math.max(speeds[d.name][name] or 0, mbs)
          end
        end
      end
    end
  end)
  capture("rm -rf '" .. tmp .. "'")
  assert(decode_ok, decode_err)
  section(string.format("Decoding speed (MB/s, best of %d interleaved rounds, a fresh process each)", ROUNDS_D))
  for _, d in ipairs(docs) do
    local s = speeds[d.name]
    for _, name in ipairs(DECODERS) do
      local note = name == "intuned" and "" or string.format("intuned is %.1fx faster", s.intuned / s[name])
      if name == "cjson" and d.size <= 1024 * 1024 then
        note = note .. target("; target >= 2x", s.intuned / s[name] >= 2)
      end
      row(d.name .. ": " .. (name == "intuned" and "intuned.core.decode" or name .. ".decode"), fmt(s[name], 1),
        string.format("%.2fx", s[name] / s.intuned), note)
    end
  end

  ---------------------------------------------------------------------------
  -- Memory
  ---------------------------------------------------------------------------
  local count = quick and 20000 or 100000
  local mem = capture(ENV .. LUA .. " bench/seq.lua memory " .. server.base_url .. " " .. API_KEY .. " " .. count)
  local rss0, rss1, heap0, heap1 = mem:match("(%d+) (%d+) ([%d.]+) ([%d.]+)")
  rss0, rss1, heap0, heap1 = tonumber(rss0), tonumber(rss1), tonumber(heap0), tonumber(heap1)
  section(string.format("Memory over %d requests on one client (after a full collection)", count))
  row("resident size (KiB) before / after", string.format("%d / %d", rss0, rss1),
    string.format("%+d KiB", rss1 - rss0), target("target: growth < 1024 KiB", rss1 - rss0 < 1024))
  row("collectgarbage('count') (KiB) before / after", string.format("%.0f / %.0f", heap0, heap1),
    string.format("%+.0f KiB", heap1 - heap0), "")
  local alloc = capture(ENV .. LUA .. " bench/seq.lua alloc " .. server.base_url .. " " .. API_KEY .. " 2000")
  local a_ours, a_sock = alloc:match("(%d+) (%d+)")
  row("Lua bytes allocated per request: intuned", a_ours, "", "GC stopped, 2000 requests")
  row("Lua bytes allocated per request: LuaSocket + cjson", a_sock, "", "")
end)

server:stop()
if not ok then
  io.stderr:write("bench: ", tostring(err), "\n")
  os.exit(1)
end
print_table()
print(string.format("(%d s; %s; %d cores)", os.time() - started,
  capture("uname -sr"):gsub("%s+$", ""), tonumber(capture("nproc")) or 0))
