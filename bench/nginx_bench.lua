-- make bench-nginx: the client inside a real nginx (one worker, the
-- application of bench/nginx/) against the nginx-native ways of making the
-- same call, driven by wrk, side by side in one run. See bench/README.md.
--
--   lua5.4 bench/nginx_bench.lua [--quick]
--
-- Environment (set by the Makefile):
--   LUAJIT_BUILD    build folder of this tree's module for nginx's LuaJIT
--                   (build/luajit)
--   BASELINE_DIR    the older tree of "today's pool" (build/bench-baseline:
--                   lua/, src/ and build/luajit/); when BASELINE_DIR.skip
--                   exists instead, it holds why that row is skipped
--   BASELINE_REV    the revision it was made from, for the output
--   NGINX_BASELINE  the revision asked for (shown when BASELINE_REV is empty)
--
-- Every figure is measured in the same run: rows run interleaved, round
-- after round, and each figure is the best of its rounds (load from other
-- processes only ever makes one worse).

package.path = "bench/?.lua;spec/?.lua;lua/?.lua;" .. package.path
local socket = require("socket")
local files = require("support.files")
local launcher = require("support.launcher")
local server_mod = require("server")

-- Options: --quick (fewer, shorter rounds), --only KEY,KEY (these rows
-- and the capture row: cosocket, pool, today, floor, resty).
local quick, only = false, nil
do
  local i = 1
  while arg[i] do
    if arg[i] == "--quick" then
      quick = true
    elseif arg[i] == "--only" and arg[i + 1] then
      only = { capture = true }
      for key in arg[i + 1]:gmatch("[^,]+") do
        only[key] = true
      end
      i = i + 1
    else
      error("usage: nginx_bench.lua [--quick] [--only KEY,KEY]")
    end
    i = i + 1
  end
end
local ROUNDS = quick and 2 or 3
local STALL_ROUNDS = quick and 1 or 2
local SECONDS = quick and 2 or 3         -- one wrk measurement
local CONCURRENCY = { 1, 10, 50, 100 }
local STALL_CALLS, STALL_SECONDS, STALL_FAST = 32, 2, 50
-- As many pool VMs as threads: more (32) gave today's pool about a fifth
-- less throughput in trials here (more states and sessions to keep warm),
-- for a shorter p99 (a request waits in the thread pool's queue instead of
-- polling for a free VM). NGINX_VM_POOL overrides it.
local VM_POOL = tonumber(os.getenv("NGINX_VM_POOL")) or 4
local API_KEY = "bench-key"
local WORKSPACE = "123e4567-e89b-12d3-a456-426614174000"

-- The targets of the issue.
local COSOCKET_TARGET = 0.90   -- x the capture row, every concurrency
local STALL_TARGET = 0.80      -- x the same row's rate without the stall
local POOL_TARGET = 1.4        -- x today's pool, every concurrency

local quote, read_file, write_file, exists = files.quote, files.read, files.write, files.exists

local function capture(command)
  return files.capture(command .. " 2>&1")
end

local function trim(s)
  return (tostring(s or ""):gsub("^%s+", ""):gsub("%s+$", ""))
end

local ROOT = trim(capture("pwd"))
local LUAJIT_BUILD = os.getenv("LUAJIT_BUILD") or "build/luajit"
local BASELINE_DIR = os.getenv("BASELINE_DIR") or "build/bench-baseline"
local BASELINE_REV = trim(os.getenv("BASELINE_REV")) ~= "" and trim(os.getenv("BASELINE_REV"))
  or os.getenv("NGINX_BASELINE") or "?"
local function absolute(path)
  return path:sub(1, 1) == "/" and path or (ROOT .. "/" .. path)
end

---------------------------------------------------------------------------
-- Placement: the application nginx (worker, master, thread pool) on one
-- CPU, wrk and the API server on another.
---------------------------------------------------------------------------
local NCPU = tonumber(capture("nproc"):match("%d+")) or 1
local APP_CPU = NCPU - 1
local LOAD_CPU = 0
local PLACEMENT = NCPU > 1
  and string.format("application nginx (worker, thread pool) on CPU %d; wrk and the API server on CPU %d",
    APP_CPU, LOAD_CPU)
  or "one CPU: application nginx, wrk and the API server share CPU 0"
local LOAD_PIN = "taskset -c " .. LOAD_CPU .. " "
local CLK_TCK = tonumber(capture("getconf CLK_TCK"):match("%d+")) or 100
-- BENCH_VERBOSE=1: every measurement on stderr as it is made.
local VERBOSE = os.getenv("BENCH_VERBOSE") == "1"
local function trace(row, what, r)
  if VERBOSE then
    io.stderr:write(string.format("%-44s %-10s %8.0f req/s  p50 %s  p99 %s  cpu %s\n", row.name, what,
      r.rps, r.p50 and string.format("%.2f ms", r.p50) or "-", r.p99 and string.format("%.2f ms", r.p99) or "-",
      r.cpu and string.format("%.0f us", r.cpu) or "-"))
  end
end

---------------------------------------------------------------------------
-- HTTP from here (probes; LuaSocket)
---------------------------------------------------------------------------
local function http_get(port, path, timeout)
  local conn = socket.tcp()
  conn:settimeout(timeout or 10)
  local ok, err = conn:connect("127.0.0.1", port)
  if not ok then
    conn:close()
    return nil, err
  end
  conn:send("GET " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
  local data, rerr, partial = conn:receive("*a")
  conn:close()
  data = data or partial
  if not data or data == "" then
    return nil, rerr
  end
  return tonumber(data:match("^HTTP/%d%.%d (%d+)")), data:match("\r\n\r\n(.*)$") or ""
end

---------------------------------------------------------------------------
-- The application nginx
---------------------------------------------------------------------------
local App = {}
App.__index = App

function App:worker()
  return self.nginx:worker()
end

function App:stop()
  self.nginx:stop()
end

-- Waits until no request of the application is running (the stall's slow
-- calls drain after wrk is gone). Returns false after `timeout` seconds.
function App:wait_idle(timeout)
  local deadline = socket.gettime() + (timeout or 60)
  while true do
    local status, body = http_get(self.port, "/inflight", 5)
    if status == 200 and tonumber(body) == 0 then
      return true
    end
    if socket.gettime() > deadline then
      return false
    end
    socket.sleep(0.1)
  end
end

-- opts: name, lua_dir, cpath_dir (absolute), api (the started API server).
local function start_app(opts)
  local template = assert(read_file(ROOT .. "/bench/nginx/nginx.conf.in"))
  local nginx = launcher.start {
    name = "bench-nginx: the " .. opts.name .. " nginx", nginx = "/usr/sbin/nginx", probe = "/ping",
    dirs = { "tmp" }, start_timeout = 10,
    prepare = function(prefix, ports)
      write_file(prefix .. "/app_config.lua", ("return { base_url = %q, slow_base_url = %q, api_key = %q,"
        .. " workspace_id = %q, vm_pool_size = %d }\n"):format(opts.api.base_url, opts.api.slow_base_url,
        API_KEY, WORKSPACE, VM_POOL))
      write_file(prefix .. "/nginx.conf", launcher.render(template, {
        PREFIX = prefix, LUA_DIR = opts.lua_dir, CPATH_DIR = opts.cpath_dir, APP_DIR = ROOT .. "/bench/nginx",
        MODULES_DIR = "/usr/share/nginx/modules", PORT = ports[1], API_PORT = opts.api.port, API_KEY = API_KEY,
        USER_LINE = launcher.user_line(), VM_POOL = VM_POOL,
      }, "bench/nginx/nginx.conf.in"))
    end,
  }
  nginx:pin(APP_CPU)
  return setmetatable({ name = opts.name, nginx = nginx, prefix = nginx.prefix, port = nginx.ports[1] }, App)
end

---------------------------------------------------------------------------
-- wrk
---------------------------------------------------------------------------
local UNIT = { us = 1e-3, ms = 1, s = 1e3, m = 6e4 }

local function parse_wrk(out)
  local r = {}
  r.requests = tonumber(out:match("(%d+) requests in"))
  r.rps = tonumber(out:match("Requests/sec:%s*([%d.]+)"))
  for _, p in ipairs({ "50", "99" }) do
    local v, u = out:match("\n%s*" .. p .. "%%%s+([%d.]+)(%a+)")
    r["p" .. p] = v and UNIT[u] and tonumber(v) * UNIT[u] -- ms
  end
  r.non2xx = tonumber(out:match("Non%-2xx or 3xx responses: (%d+)")) or 0
  local c, rd, w, t = out:match("Socket errors: connect (%d+), read (%d+), write (%d+), timeout (%d+)")
  r.socket_errors = c and (tonumber(c) + tonumber(rd) + tonumber(w) + tonumber(t)) or 0
  if not (r.requests and r.rps) then
    return nil, "wrk: " .. trim(out):sub(1, 200)
  end
  if r.requests == 0 then
    r.p50, r.p99 = nil, nil -- wrk prints 0.00us
  end
  return r
end

local function wrk_command(url, conns, seconds, latency)
  return LOAD_PIN .. "wrk -t1 -c" .. conns .. " -d" .. seconds .. "s --timeout 60s"
    .. (latency and " --latency " or " ") .. quote(url)
end

local function cpu_ticks(pid)
  local stat = pid and read_file("/proc/" .. pid .. "/stat")
  if not stat then
    return nil
  end
  -- Fields after the command name "(...)": state is 3, utime 14, stime 15.
  local fields = {}
  for f in stat:gsub("^.*%) ", ""):gmatch("%S+") do
    fields[#fields + 1] = f
  end
  return tonumber(fields[12]) + tonumber(fields[13])
end

-- One wrk run against the row, with the CPU the application's worker (all
-- its threads) used meanwhile. Returns the parsed figures or nil, why.
local function measure(row, conns, seconds)
  if not row.app:wait_idle(60) then
    return nil, "the application did not become idle"
  end
  local pid = row.app:worker()
  local t0 = cpu_ticks(pid)
  local r, err = parse_wrk(capture(wrk_command(row.url, conns, seconds, true)))
  local t1 = cpu_ticks(pid)
  if not r then
    return nil, err
  end
  if t0 and t1 and row.app:worker() == pid and r.requests > 0 then
    r.cpu = (t1 - t0) / CLK_TCK / r.requests * 1e6 -- microseconds
  else
    r.note = "worker restarted"
  end
  return r
end

-- The stall: STALL_CALLS connections calling the slow location (each call
-- 2 s) from before the fast wrk starts until it ends. Right before it, the
-- same fast wrk alone (`calm`): the rate to compare with. Returns calm,
-- stalled (or nil, why).
local function measure_stall(row, seconds)
  if not row.app:wait_idle(60) then
    return nil, "the application did not become idle"
  end
  local calm, calm_err = parse_wrk(capture(wrk_command(row.url, STALL_FAST, seconds, true)))
  if not calm then
    return nil, calm_err
  end
  local script = table.concat({
    "slow=$(mktemp)",
    wrk_command(row.slow_url, STALL_CALLS, 600, true) .. " >\"$slow\" 2>&1 & p=$!",
    "sleep 0.5",
    wrk_command(row.url, STALL_FAST, seconds, true),
    "kill -INT $p; wait $p",
    "echo '@@slow@@'; cat \"$slow\"; rm -f \"$slow\"",
  }, "\n")
  local out = capture("sh -c " .. quote(script))
  local fast_out, slow_out = out:match("^(.*)@@slow@@(.*)$")
  local r, err = parse_wrk(fast_out or out)
  if not r then
    return nil, err
  end
  local slow = parse_wrk(slow_out or "")
  if not slow then
    r.note = "no figures from the slow calls' wrk"
  elseif slow.non2xx > 0 then
    r.note = slow.non2xx .. " slow calls failed"
  elseif slow.requests > 0 and slow.p50 and slow.p50 < STALL_SECONDS * 1e3 * 0.95 then
    r.note = string.format("slow calls took only %.0f ms", slow.p50)
  end
  -- The slow calls still running drain before the next measurement.
  if not row.app:wait_idle(120) then
    r.note = "the slow calls did not drain within 120 s"
  end
  return calm, r
end

---------------------------------------------------------------------------
-- The table
---------------------------------------------------------------------------
local out_rows = {}
local function section(title)
  out_rows[#out_rows + 1] = { title = title }
end
local function line(cells)
  out_rows[#out_rows + 1] = cells
end

local function print_table()
  local widths = {}
  for _, r in ipairs(out_rows) do
    if not (r.title or r.text) then
      for i = 1, #r - 1 do
        widths[i] = math.max(widths[i] or 0, #r[i])
      end
    end
  end
  local lines, rule_width = {}, 0
  for _, r in ipairs(out_rows) do
    local text
    if r.title then
      text = r.title
    elseif r.text then
      text = "  " .. r.text
    else
      local parts = {}
      for i = 1, #r - 1 do
        parts[i] = string.format("%" .. (i == 1 and "-" or "") .. widths[i] .. "s", r[i])
      end
      parts[#r] = r[#r] -- the note
      text = (("  " .. table.concat(parts, "  ")):gsub("%s+$", ""))
      rule_width = math.max(rule_width, #text)
    end
    lines[#lines + 1] = text
  end
  local rule = string.rep("-", math.min(rule_width, 160))
  print(rule)
  for _, text in ipairs(lines) do
    print(text)
  end
  print(rule)
end

local function fmt(v, pattern)
  return v and string.format(pattern, v) or "-"
end

local function ratio(a, b)
  if not (a and b) or b == 0 then
    return "-"
  end
  return string.format("%.2fx", a / b)
end

local function mark(ok)
  return ok and "met" or "missed"
end

-- Best of each figure over the rounds: highest rate, lowest latencies and CPU.
local function best(list)
  if not list or #list == 0 then
    return nil
  end
  local b = { non2xx = 0, notes = {} }
  for _, r in ipairs(list) do
    if not b.rps or r.rps > b.rps then
      -- How busy the application's CPU was in the fastest round.
      b.busy = r.cpu and r.cpu * r.rps / 1e6
    end
    b.rps = math.max(b.rps or 0, r.rps)
    for _, k in ipairs({ "p50", "p99", "cpu" }) do
      if r[k] then
        b[k] = math.min(b[k] or math.huge, r[k])
      end
    end
    b.non2xx = math.max(b.non2xx, r.non2xx + r.socket_errors)
    if r.note then
      b.notes[r.note] = true
    end
  end
  local notes = {}
  for n in pairs(b.notes) do
    notes[#notes + 1] = n
  end
  table.sort(notes)
  if b.non2xx > 0 then
    notes[#notes + 1] = b.non2xx .. " failed answers in a round"
  end
  b.note = table.concat(notes, "; ")
  return b
end

---------------------------------------------------------------------------
-- The run
---------------------------------------------------------------------------
local started = os.time()
local body = assert(read_file("bench/job_run.json")):gsub("%s+$", "")
local api = server_mod.start { body = body, api_key = API_KEY, slow = STALL_SECONDS }
local apps = {}

local ok, err = pcall(function()
  api:pin(LOAD_CPU)
  local app = start_app { name = "application", lua_dir = ROOT .. "/lua", cpath_dir = absolute(LUAJIT_BUILD),
    api = api }
  apps[#apps + 1] = app

  local baseline, baseline_skip
  local skip_file = BASELINE_DIR .. ".skip"
  if exists(skip_file) then
    baseline_skip = "skipped: " .. trim(read_file(skip_file))
  elseif not exists(BASELINE_DIR .. "/" .. LUAJIT_BUILD .. "/intuned/core.so") then
    baseline_skip = "skipped: no module built in " .. BASELINE_DIR .. " (run it through make bench-nginx)"
  else
    local dir = absolute(BASELINE_DIR)
    baseline = start_app { name = "baseline", lua_dir = dir .. "/lua", cpath_dir = dir .. "/" .. LUAJIT_BUILD,
      api = api }
    apps[#apps + 1] = baseline
  end

  local rows = {
    { key = "capture", name = "ngx.location.capture + proxy_pass + cjson", app = app, path = "/capture",
      stall = true },
    { key = "cosocket", name = "intuned, cosocket transport", app = app, path = "/intuned?transport=cosocket",
      stall = true },
    { key = "pool", name = "intuned, pool transport", app = app, path = "/intuned?transport=pool", stall = true },
    { key = "today", name = "intuned, today's pool (" .. BASELINE_REV:sub(1, 7) .. ")", app = baseline,
      path = "/intuned?transport=pool", stall = true, failed = baseline_skip },
    -- The least a hand-over to a thread costs (bench/nginx/app.lua): at one
    -- connection, where a request is bound by its latency. Not measured
    -- with more: its empty tasks would need a VM each.
    { key = "floor", name = "one empty thread-pool task + cosocket", app = app, path = "/floor", max_conns = 1 },
    { key = "resty", name = "lua-resty-http + cjson", app = app, path = "/resty_http" },
  }
  if only then
    for i = #rows, 1, -1 do
      if not only[rows[i].key] then
        table.remove(rows, i)
      end
    end
  end
  local by_key = {}
  for _, row in ipairs(rows) do
    by_key[row.key] = row
    row.results, row.stall_results, row.calm_results = {}, {}, {}
    if row.app then
      row.url = "http://127.0.0.1:" .. row.app.port .. row.path
      row.slow_url = row.url .. (row.path:find("?", 1, true) and "&" or "?") .. "slow=1"
    end
  end

  for _, key in ipairs({ "capture", "cosocket", "pool", "today", "floor", "resty" }) do
    by_key[key] = by_key[key] or { results = {}, stall_results = {}, calm_results = {}, failed = "not run (--only)" }
  end

  -- Probes: a row that does not answer 200 is reported failed with what it
  -- said, and left out of the rounds.
  for _, row in ipairs(rows) do
    if not row.failed then
      local status, text = http_get(row.app.port, row.path, 30)
      if status == 501 then
        row.failed = "skipped: " .. trim(text)
      elseif status ~= 200 then
        row.failed = "failed: " .. (status and ("HTTP " .. status .. ": ") or "") .. trim(text):sub(1, 160)
      end
    end
  end
  -- The slow location, through each stall row at once (each call 2 s).
  local slow_rows = {}
  for _, row in ipairs(rows) do
    if row.stall and not row.failed then
      slow_rows[#slow_rows + 1] = row
    end
  end
  local script = {}
  for i, row in ipairs(slow_rows) do
    script[#script + 1] = "(curl -s -o /dev/null -m 30 -w '" .. i .. " %{http_code}\\n' "
      .. quote(row.slow_url) .. ") &"
  end
  script[#script + 1] = "wait"
  for i, code in capture(table.concat(script, "\n")):gmatch("(%d+) (%d+)") do
    local row = slow_rows[tonumber(i)]
    if code ~= "200" then
      row.stall_failed = "failed: the slow call answered HTTP " .. code
    end
  end
  -- Whether a row is measured at this many connections (the floor row: at
  -- its max_conns and fewer).
  local function measured_at(row, conns)
    return conns <= (row.max_conns or conns)
  end
  -- Warm-up: JIT, pool VMs, connections.
  for _, row in ipairs(rows) do
    if not row.failed then
      capture(wrk_command(row.url, math.min(100, row.max_conns or 100), 1))
    end
  end

  -- NGINX_PROFILE=KEY[:MODE]: only LuaJIT's profile of that row at 50
  -- connections for SECONDS (jit.p mode, default "F": by function; "l" by
  -- line, "Fl" both), printed instead of the table.
  local profile = os.getenv("NGINX_PROFILE")
  if profile and profile ~= "" then
    local key, mode = profile:match("^([^:]+):?(.*)$")
    local row = assert(by_key[key] and by_key[key].url and by_key[key], "bench-nginx: no row " .. key)
    assert(http_get(row.app.port, "/profile?action=start&mode=" .. (mode ~= "" and mode or "F"), 5) == 200)
    capture(wrk_command(row.url, 50, SECONDS))
    assert(http_get(row.app.port, "/profile?action=stop", 5) == 200)
    io.write(read_file(row.app.prefix .. "/profile.txt") or "no profile written\n")
    do return end
  end

  -- Every other round runs the rows in the opposite order, so that no row
  -- always follows the same one.
  local function in_order(round)
    local list = {}
    for i = 1, #rows do
      list[i] = rows[round % 2 == 1 and i or #rows + 1 - i]
    end
    return list
  end
  for round = 1, ROUNDS do
    for _, conns in ipairs(CONCURRENCY) do
      for _, row in ipairs(in_order(round)) do
        if not row.failed and measured_at(row, conns) then
          local r, why = measure(row, conns, SECONDS)
          row.results[conns] = row.results[conns] or {}
          if r then
            trace(row, "-c " .. conns, r)
            table.insert(row.results[conns], r)
          else
            row.errors = why
          end
        end
      end
    end
    if round <= STALL_ROUNDS then
      for _, row in ipairs(in_order(round)) do
        if row.stall and not row.failed and not row.stall_failed then
          local calm, r = measure_stall(row, SECONDS)
          if calm then
            trace(row, "calm", calm)
            trace(row, "stalled", r)
            table.insert(row.calm_results, calm)
            table.insert(row.stall_results, r)
          else
            row.stall_errors = r
          end
        end
      end
    end
  end

  -- Sections, one per concurrency. `ratios` collects each target's ratios
  -- (or why it could not be measured) for the summary.
  local ratios = setmetatable({}, { __index = function(t, key)
    t[key] = {}
    return t[key]
  end })
  local function note_ratio(key, value, why)
    local t = ratios[key]
    if value then
      t[#t + 1] = value
    elseif why and not t.why then
      t.why = why
    end
  end
  local lead = {} -- conns -> { capture =, floor = }: those rows' rates / today's pool's
  local header = { "", "requests/s", "x cap", "p50", "x cap", "p99", "x cap", "CPU/request", "x cap",
    "app CPU", "" }
  for _, conns in ipairs(CONCURRENCY) do
    section(string.format("GET + decode of one job run from an nginx handler, wrk -c %d (best of %d interleaved"
      .. " rounds of %d s; ratios to the capture row)", conns, ROUNDS, SECONDS))
    line(header)
    local cap = best(by_key.capture.results[conns])
    local today = best(by_key.today.results[conns])
    lead[conns] = {}
    for _, row in ipairs(rows) do
      local b = best(row.results[conns])
      if not measured_at(row, conns) then -- luacheck: ignore 542
        -- no line for it at this concurrency
      elseif row.failed or not b then
        local why = row.failed or row.errors or "no result"
        line({ row.name, "-", "", "-", "", "-", "", "-", "", "", why })
        note_ratio(row.key, nil, why)
        if row.key == "today" then
          note_ratio("pool", nil, "today's pool: " .. why)
        end
      else
        local notes = {}
        if row.key == "capture" then
          notes[#notes + 1] = "the nginx-native limit"
        elseif row.key == "cosocket" then
          local x = cap and b.rps / cap.rps
          note_ratio("cosocket", x, "no capture figures")
          notes[#notes + 1] = string.format("target >= %.2fx capture: %s", COSOCKET_TARGET,
            mark(x and x >= COSOCKET_TARGET))
        elseif row.key == "pool" and today then
          local x = b.rps / today.rps
          note_ratio("pool", x)
          notes[#notes + 1] = string.format("%.2fx today's pool; target >= %.1fx: %s", x, POOL_TARGET,
            mark(x >= POOL_TARGET))
        elseif row.key == "today" then
          notes[#notes + 1] = "revision " .. BASELINE_REV:sub(1, 12)
          if cap then
            -- What the pool's target means here: the nginx-native row's
            -- own lead over today's pool.
            lead[conns].capture = cap.rps / b.rps
            notes[#notes + 1] = string.format("capture: %.2fx this", lead[conns].capture)
          end
        elseif row.key == "floor" and today then
          lead[conns].floor = b.rps / today.rps
          notes[#notes + 1] = string.format("%.2fx today's pool: a hand-over to a thread and back, on the"
            .. " cosocket's transfer", lead[conns].floor)
        end
        if b.note ~= "" then
          notes[#notes + 1] = b.note
        end
        line({ row.name, fmt(b.rps, "%.0f"), ratio(b.rps, cap and cap.rps),
          fmt(b.p50, "%.2f ms"), ratio(b.p50, cap and cap.p50),
          fmt(b.p99, "%.2f ms"), ratio(b.p99, cap and cap.p99),
          fmt(b.cpu, "%.0f us"), ratio(b.cpu, cap and cap.cpu),
          fmt(b.busy and b.busy * 100, "%.0f%%"), table.concat(notes, "; ") })
      end
    end
  end

  section(string.format("The stall: %d calls to a location that answers after %d s kept in flight, while %d"
    .. " connections make fast calls (best of %d rounds of %d s; ratios to the same fast calls without the"
    .. " stall, measured right before it)", STALL_CALLS, STALL_SECONDS, STALL_FAST, STALL_ROUNDS, SECONDS))
  line({ "", "requests/s", "x without", "p50", "x without", "p99", "x without", "without: req/s", "", "", "" })
  for _, row in ipairs(rows) do
    if row.stall then
      local b = best(row.stall_results)
      local without = best(row.calm_results)
      local why = row.failed or row.stall_failed or (not b and (row.stall_errors or "no result"))
      if why then
        line({ row.name, "-", "", "-", "", "-", "", "", "", "", why })
        note_ratio("stall_" .. row.key, nil, why)
      else
        local x = without and without.rps > 0 and b.rps / without.rps
        note_ratio("stall_" .. row.key, x, "no rate without the stall")
        local note = string.format("target >= %.2fx: %s", STALL_TARGET, mark(x and x >= STALL_TARGET))
        if b.note ~= "" then
          note = note .. "; " .. b.note
        end
        line({ row.name, fmt(b.rps, "%.0f"), ratio(b.rps, without and without.rps),
          fmt(b.p50, "%.2f ms"), ratio(b.p50, without and without.p50),
          fmt(b.p99, "%.2f ms"), ratio(b.p99, without and without.p99), fmt(without and without.rps, "%.0f"), "",
          "", note })
      end
    end
  end

  -- Each target: the range of its ratios and whether the worst meets it.
  section("Targets")
  local function verdict(label, key, target, want)
    local t = ratios[key]
    local text
    if #t == 0 or (t.why and want == "every") then
      text = "not measured: " .. tostring(t.why or "no result")
    else
      local lo, hi = math.min(table.unpack(t)), math.max(table.unpack(t))
      text = (lo == hi and string.format("%.2fx", lo) or string.format("%.2fx to %.2fx", lo, hi))
        .. ": " .. mark(lo >= target)
    end
    out_rows[#out_rows + 1] = { text = label .. ": " .. text }
  end
  verdict(string.format("cosocket >= %.2fx capture at every concurrency", COSOCKET_TARGET), "cosocket",
    COSOCKET_TARGET, "every")
  verdict(string.format("pool >= %.1fx today's pool at every concurrency", POOL_TARGET), "pool", POOL_TARGET,
    "every")
  local first = lead[CONCURRENCY[1]]
  if first.capture then
    out_rows[#out_rows + 1] = { text = string.format(
      "    (at %d connection the capture row itself: %.2fx today's pool%s)", CONCURRENCY[1], first.capture,
      first.floor and string.format("; one empty thread-pool task + cosocket: %.2fx", first.floor) or "") }
  end
  verdict(string.format("fast calls during the stall >= %.2fx without it, cosocket", STALL_TARGET),
    "stall_cosocket", STALL_TARGET)
  verdict(string.format("fast calls during the stall >= %.2fx without it, pool", STALL_TARGET),
    "stall_pool", STALL_TARGET)
end)

-- Why answers failed, from the applications' logs (bench/nginx/app.lua
-- logs the first few of each message), before the prefixes go.
local failures = {}
for _, a in ipairs(apps) do
  for text in (read_file(a.prefix .. "/error.log") or ""):gmatch("bench failure: ([^\n]-), client:") do
    if not failures[text] then
      failures[text] = true
      failures[#failures + 1] = a.name .. ": " .. text
    end
  end
  a:stop()
end
api:stop()
if not ok then
  io.stderr:write("bench-nginx: ", tostring(err), "\n")
  os.exit(1)
end
print_table()
for _, text in ipairs(failures) do
  print("Failed answer seen: " .. text)
end
print("Placement: " .. PLACEMENT)
print(string.format("(%d s; nginx %s, %s; %s; %d cores)", os.time() - started,
  trim(capture("/usr/sbin/nginx -v"):match("nginx/(%S+)") or "?"),
  "lua_worker_thread_vm_pool_size " .. VM_POOL .. ", thread_pool intuned threads=4",
  trim(capture("uname -sr")), NCPU))
