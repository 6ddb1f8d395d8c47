-- The one way the specs, the demo and the benchmarks run an nginx: a fresh
-- prefix folder, free ports, certificates when asked, the configuration
-- rendered from a template, nginx under spec/server/watchdog.sh (which
-- stops it and removes the prefix once this Lua process is gone, however
-- it ended), and a readiness probe: a path whose answer holds the prefix,
-- proof that this very nginx is up and not some other process on the port.
--
--   local launcher = require("support.launcher")
--   local nginx = launcher.start {
--     name = "emulator", ports = 2, probe = "/__emulator/ping",
--     prepare = function(prefix, ports) ... write prefix .. "/nginx.conf" ... end,
--   }
--   nginx.prefix, nginx.ports, nginx:pid(), nginx:worker(), nginx:pin(cpu),
--   nginx:error_log(), nginx:stop()
--
-- Works on Lua 5.1 to 5.4 and LuaJIT; uses LuaSocket when present (ports,
-- sleeps) and the shell otherwise (support.http falls back to curl).
local files = require("support.files")
local http = require("support.http")
local watchdog = require("support.watchdog")

local has_socket, socket = pcall(require, "socket")
if not has_socket then
  socket = nil
end

local M = {}

M.POLL = 0.02          -- seconds between readiness and stop checks
local STOP_TIMEOUT = 5 -- seconds to wait for the watchdog to clean up

local quote, read_file, exists = files.quote, files.read, files.exists

---------------------------------------------------------------------------
-- Time, also while the interpreter closes (C libraries may be gone then)
---------------------------------------------------------------------------

local closing = false

function M.sleep(seconds)
  if socket and not closing then
    socket.sleep(seconds)
  else
    files.execute("sleep " .. seconds)
  end
end

function M.clock()
  if socket and not closing then
    return socket.gettime()
  end
  return os.time()
end

local SYS = { sleep = M.sleep, clock = M.clock }

M.PID = files.own_pid() or files.capture("echo $PPID"):match("%d+")

---------------------------------------------------------------------------
-- Places
---------------------------------------------------------------------------

function M.absolute(path)
  if path:sub(1, 1) == "/" then
    return path
  end
  return files.capture("pwd"):gsub("%s+$", "") .. "/" .. path
end

-- The top of the tree, found from where this file was loaded.
function M.root()
  local source = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = source:match("^(.*)/[^/]*$") or "."
  return M.absolute(dir .. "/../..")
end

function M.nginx(wanted)
  local env = os.getenv("EMULATOR_NGINX")
  if wanted then
    return wanted
  elseif env and env ~= "" then
    return env
  end
  return exists("/usr/sbin/nginx") and "/usr/sbin/nginx" or "nginx"
end

-- As root nginx would run its workers as nobody; keep them root so they
-- can write in the prefix.
function M.user_line()
  return files.capture("id -u"):match("^0%s*$") and "user root;" or ""
end

---------------------------------------------------------------------------
-- Ports: an own Park-Miller generator, as seeding math.random here would
-- change the random sequence of the specs (busted --shuffle and the like).
---------------------------------------------------------------------------

local seed = (os.time() * 7919 + tonumber(M.PID or 1) * 104729) % 2147483647
if seed == 0 then
  seed = 1
end

function M.random_below(n)
  seed = seed * 16807 % 2147483647
  return seed % n
end

local function port_free(port)
  if not socket then
    return true -- nginx says "Address already in use" and start tries again
  end
  local probe = socket.tcp()
  local ok = probe:bind("127.0.0.1", port)
  probe:close()
  return ok ~= nil
end

-- `count` distinct free ports.
function M.free_ports(count)
  local ports, taken = {}, {}
  while #ports < count do
    local port = 20000 + M.random_below(40001)
    if not taken[port] and port_free(port) then
      taken[port] = true
      ports[#ports + 1] = port
    end
  end
  return ports
end

---------------------------------------------------------------------------
-- Contents of a prefix
---------------------------------------------------------------------------

local function tail(text, lines)
  local all = {}
  for line in (text or ""):gmatch("[^\n]+") do
    all[#all + 1] = line
  end
  return table.concat(all, "\n", math.max(1, #all - lines + 1))
end
M.tail = tail

-- A fresh prefix folder that nginx workers (nobody when not told
-- otherwise) can reach, with the folders named in `dirs`.
local function make_prefix(dirs)
  local prefix = files.capture("mktemp -d 2>/dev/null || mktemp -d -t intuned-nginx"):gsub("%s+$", "")
  assert(prefix ~= "" and exists(prefix), "nginx launcher: mktemp -d failed")
  local mkdir = { "chmod 755 " .. quote(prefix) }
  for _, dir in ipairs(dirs or {}) do
    mkdir[#mkdir + 1] = "mkdir -p " .. quote(prefix .. "/" .. dir)
  end
  assert(files.execute(table.concat(mkdir, " && ")), "nginx launcher: cannot prepare " .. prefix)
  return prefix
end

-- A throwaway CA, a certificate for localhost / 127.0.0.1 and one for
-- wrong.example, all signed by that CA. EC keys: much faster than RSA.
local CERT_SCRIPT = [[
set -e
cd "$1"
key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
openssl req -x509 $key -keyout ca.key -out ca.crt -days 2 \
  -subj '/CN=intuned-lua test CA' \
  -addext 'basicConstraints=critical,CA:TRUE' \
  -addext 'keyUsage=critical,keyCertSign,cRLSign'
leaf() {
  openssl req $key -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  printf '%s\n' 'basicConstraints=CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth' "subjectAltName=$3" \
    'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$1.crt" -days 2 -extfile "$1.ext"
}
leaf server localhost 'DNS:localhost,IP:127.0.0.1'
leaf wrong wrong.example 'DNS:wrong.example'
]]

-- Writes ca.crt, server.crt/.key and wrong.crt/.key into dir.
function M.certificates(dir)
  files.write(dir .. "/make-certs.sh", CERT_SCRIPT)
  if not files.execute("sh " .. quote(dir .. "/make-certs.sh") .. " " .. quote(dir)
      .. " >" .. quote(dir .. "/openssl.log") .. " 2>&1") then
    error("nginx launcher: certificate generation failed:\n" .. tail(read_file(dir .. "/openssl.log"), 20), 0)
  end
end

-- The template with every @NAME@ replaced by values.NAME (one missing is an
-- error). Its leading comment lines document the placeholders: rendered,
-- they become one line naming the template.
function M.render(template, values, source)
  local start = 1
  while template:sub(start, start) == "#" do
    start = (template:find("\n", start, true) or #template) + 1
  end
  local body = template:sub(start)
  return "# Rendered from " .. source .. "\n" .. body:gsub("@([%u_]+)@", function(name)
    local value = values[name]
    assert(value ~= nil, "nginx launcher: no value for @" .. name .. "@ in " .. source)
    return tostring(value)
  end)
end

---------------------------------------------------------------------------
-- Running nginx
---------------------------------------------------------------------------

local Nginx = {}
Nginx.__index = Nginx

-- Started by this process and not stopped yet.
local live = {}

-- The master's pid (written before nginx runs).
function Nginx:pid()
  return (read_file(self.prefix .. "/nginx.child.pid") or ""):match("%d+")
end

-- The (one) worker's pid.
function Nginx:worker()
  local master = self:pid()
  return master and files.capture("pgrep -P " .. master):match("%d+")
end

-- Pins master and workers (every thread: the thread pool's too) to one
-- CPU, so that where the client runs relative to the server is chosen.
function Nginx:pin(cpu)
  local master = assert(self:pid(), "nginx launcher: no nginx pid")
  assert(files.execute("for p in " .. master .. " $(pgrep -P " .. master .. "); do taskset -a -pc " .. cpu
    .. " $p >/dev/null || exit 1; done"), "nginx launcher: taskset failed")
end

function Nginx:error_log()
  return read_file(self.prefix .. "/error.log") or ""
end

-- Through the watchdog; if it is gone, nginx is killed and the prefix
-- removed here. Safe to call more than once.
function Nginx:stop()
  if not self.stopped then
    self.stopped = true
    live[self] = nil
    watchdog.stop(self.prefix, STOP_TIMEOUT, M.POLL, SYS)
  end
end

-- Finalizer run when the interpreter closes its state (normal end, or
-- os.exit(code, true) as busted does). The watchdog covers every other end.
local function sentinel(fn)
  if newproxy then -- Lua 5.1 / LuaJIT: tables have no __gc
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = fn
    return proxy
  end
  return setmetatable({}, { __gc = fn })
end

M._sentinel = sentinel(function()
  closing = true
  for nginx in pairs(live) do
    nginx:stop()
  end
end)

-- "ready", "busy" (a port was taken: try elsewhere) or "failed".
local function wait_ready(nginx, probe, seconds)
  local deadline = M.clock() + seconds
  local url = "http://127.0.0.1:" .. nginx.ports[1] .. probe
  while true do
    local reply = http.request("GET", url, { timeout = 1 })
    if reply and reply.status == 200 and reply.body:find(nginx.prefix, 1, true) then
      return "ready"
    end
    if nginx:error_log():find("Address already in use", 1, true) then
      return "busy"
    end
    if exists(nginx.prefix .. "/nginx.exit") or M.clock() > deadline then
      return "failed"
    end
    M.sleep(M.POLL)
  end
end

-- Environment words for nginx's command: env -u LD_PRELOAD NAME=value...
-- (nginx is not under test: it never gets a sanitizer runtime).
local function environment(env)
  local words = { "env -u LD_PRELOAD" }
  local names = {}
  for name in pairs(env or {}) do
    names[#names + 1] = name
  end
  table.sort(names)
  for _, name in ipairs(names) do
    words[#words + 1] = name .. "=" .. quote(env[name])
  end
  return table.concat(words, " ")
end

local function attempt(o)
  local prefix = make_prefix(o.dirs)
  local nginx = setmetatable({ prefix = prefix, ports = M.free_ports(o.ports or 1), name = o.name }, Nginx)
  local ok, err = pcall(o.prepare, prefix, nginx.ports)
  if not ok then
    files.execute("rm -rf " .. quote(prefix)) -- no watchdog yet: nobody else would
    error(err, 0)
  end
  files.execute(environment(o.env) .. " sh " .. quote(M.root() .. "/spec/server/watchdog.sh") .. " " .. M.PID
    .. " " .. quote(prefix) .. " " .. quote(M.nginx(o.nginx)) .. " </dev/null >/dev/null 2>&1 &")
  local state = wait_ready(nginx, o.probe, o.start_timeout or 5)
  if state == "ready" then
    live[nginx] = true
    return nginx
  end
  local message = ("%s: nginx exited or did not answer %s within %d s; prefix %s\n--- error.log (tail) ---\n%s"
    .. "\n--- nginx output (tail) ---\n%s"):format(o.name, o.probe, o.start_timeout or 5, prefix,
    tail(nginx:error_log(), 20), tail(read_file(prefix .. "/nginx.out"), 20))
  nginx:stop()
  return nil, state == "busy" and "busy" or message
end

--- Starts an nginx. opts:
--   name           for messages
--   prepare        function(prefix, ports): writes prefix/nginx.conf and
--                  whatever else it needs (may raise)
--   probe          path that answers 200 with the prefix in its body
--   ports          how many free ports to pick (default 1): ports[1] is the
--                  probe's
--   dirs           folders to make in the prefix (e.g. { "tmp", "tls" })
--   env            environment variables for nginx ({ NAME = value })
--   nginx          the binary (default $EMULATOR_NGINX, /usr/sbin/nginx)
--   start_timeout  seconds (default 5); attempts: fresh ports tried when a
--                  port is taken (default 6)
function M.start(opts)
  assert(M.PID, "nginx launcher: cannot find the pid of this process")
  local last
  for _ = 1, opts.attempts or 6 do
    local nginx, err = attempt(opts)
    if nginx then
      return nginx
    end
    last = err
    if err ~= "busy" then
      break
    end
  end
  error(last == "busy" and (opts.name .. ": no free port found") or last, 2)
end

return M
