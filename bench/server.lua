-- The benchmark's server: a plain nginx (no Lua in the request path) that
-- answers every job run GET with the same 200 body after the same x-api-key
-- check as the emulator, over HTTP and HTTPS (a certificate made for the
-- run). It runs under spec/server/watchdog.sh, which stops it and removes its
-- prefix once this process is gone, however it ended.
--
--   local server = require("server").start{ body = text, api_key = key }
--   server.base_url, server.tls_base_url, server.ca_file, server:stop()
--
-- With `slow = seconds` (make bench-nginx) the same body is also served
-- under /slow/ after that delay (the echo module's echo_sleep, Debian's
-- libnginx-mod-http-echo): server.slow_base_url.

local socket = require("socket")
local files = require("support.files")

local M = {}

local START_TIMEOUT = 5 -- seconds
local STOP_TIMEOUT = 5
local START_ATTEMPTS = 6 -- fresh ports tried when a port is taken
local POLL = 0.02

local quote = files.quote

local execute = files.execute

local read_file, write_file, exists = files.read, files.write, files.exists

local function capture(command)
  return (files.capture(command):gsub("%s+$", ""))
end

local function here()
  local source = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = source:match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then
    dir = capture("pwd") .. "/" .. dir
  end
  return dir
end

local PID = files.own_pid()

local function free_port(taken)
  while true do
    local port = math.random(20000, 60000)
    local probe = socket.tcp()
    local ok = probe:bind("127.0.0.1", port)
    probe:close()
    if ok and not taken[port] then
      taken[port] = true
      return port
    end
  end
end

-- A throwaway CA and a certificate for 127.0.0.1 / localhost signed by it.
local CERT_SCRIPT = [[
set -e
cd "$1"
key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
openssl req -x509 $key -keyout ca.key -out ca.crt -days 2 -subj '/CN=intuned-lua bench CA' \
  -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'
openssl req $key -keyout server.key -out server.csr -subj '/CN=localhost'
printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature' \
  'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:localhost,IP:127.0.0.1' >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -out server.crt -days 2 -extfile server.ext
]]

local function answers(port, prefix)
  local conn = socket.tcp()
  conn:settimeout(1)
  if not conn:connect("127.0.0.1", port) then
    conn:close()
    return false
  end
  conn:send("GET /__bench/ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
  local data, _, partial = conn:receive("*a")
  conn:close()
  data = data or partial
  return data ~= nil and data:find(prefix, 1, true) ~= nil
end

local Server = {}
Server.__index = Server

local watchdog = require("support.watchdog")
local SYS = { sleep = socket.sleep, clock = socket.gettime }

local function stop_prefix(prefix)
  watchdog.stop(prefix, STOP_TIMEOUT, POLL, SYS)
end

-- Pins nginx (master and workers) to one CPU, so that where the client
-- runs relative to the server is chosen, not left to the scheduler.
function Server:pin(cpu)
  local pid = (read_file(self.prefix .. "/nginx.child.pid") or ""):match("%d+")
  assert(pid, "bench server: no nginx pid")
  assert(execute("for p in " .. pid .. " $(pgrep -P " .. pid .. "); do taskset -pc " .. cpu
    .. " $p >/dev/null || exit 1; done"), "bench server: taskset failed")
end

function Server:stop()
  if not self.stopped then
    self.stopped = true
    stop_prefix(self.prefix)
  end
end

-- The location of `slow`: the same key check and body, after a delay that
-- does not hold up the worker (echo_sleep is a timer).
-- body: already escaped for nginx's parser.
local function slow_location(seconds, api_key, body)
  return ([[
        location /slow/api/v1/workspace/ {
            if ($http_x_api_key != "%s") {
                return 401 '{"code":"unauthorized"}';
            }
            echo_sleep %s;
            echo -n '%s';
        }
]]):format(api_key, tostring(seconds), body)
end

local function attempt(opts, template)
  local prefix = capture("mktemp -d")
  assert(prefix ~= "", "bench server: mktemp -d failed")
  assert(execute("chmod 755 " .. quote(prefix) .. " && mkdir -p " .. quote(prefix .. "/tmp")
    .. " " .. quote(prefix .. "/tls")))
  write_file(prefix .. "/tls/make-certs.sh", CERT_SCRIPT)
  if not execute("sh " .. quote(prefix .. "/tls/make-certs.sh") .. " " .. quote(prefix .. "/tls")
      .. " >" .. quote(prefix .. "/tls/openssl.log") .. " 2>&1") then
    local log = read_file(prefix .. "/tls/openssl.log") or ""
    execute("rm -rf " .. quote(prefix))
    error("bench server: certificate generation failed:\n" .. log)
  end
  local taken = {}
  local port, tls_port = free_port(taken), free_port(taken)
  local values = {
    PREFIX = prefix, PORT = port, TLS_PORT = tls_port, API_KEY = opts.api_key,
    BODY = (opts.body:gsub("\\", "\\\\"):gsub("'", "\\'")),
    USER_LINE = capture("id -u") == "0" and "user root;" or "",
    SLOW_MODULE = "", SLOW_LOCATION = "",
  }
  if opts.slow then
    values.SLOW_MODULE = "load_module " .. opts.modules_dir .. "/ngx_http_echo_module.so;"
    values.SLOW_LOCATION = slow_location(opts.slow, opts.api_key, values.BODY)
  end
  write_file(prefix .. "/nginx.conf", (template:gsub("@([%u_]+)@", function(name)
    return tostring(assert(values[name], name))
  end)))
  execute("sh " .. quote(opts.watchdog) .. " " .. PID .. " " .. quote(prefix) .. " "
    .. quote(opts.nginx) .. " </dev/null >/dev/null 2>&1 &")
  local deadline = socket.gettime() + START_TIMEOUT
  while true do
    if answers(port, prefix) then
      return setmetatable({
        prefix = prefix, port = port, tls_port = tls_port,
        base_url = "http://127.0.0.1:" .. port .. "/api/v1/workspace",
        tls_base_url = "https://127.0.0.1:" .. tls_port .. "/api/v1/workspace",
        slow_base_url = opts.slow and ("http://127.0.0.1:" .. port .. "/slow/api/v1/workspace") or nil,
        ca_file = prefix .. "/tls/ca.crt",
      }, Server)
    end
    local log = read_file(prefix .. "/error.log") or ""
    local busy = log:find("Address already in use", 1, true)
    if busy or exists(prefix .. "/nginx.exit") or socket.gettime() > deadline then
      local out = (read_file(prefix .. "/nginx.out") or "") .. log
      stop_prefix(prefix)
      return nil, busy and "busy" or ("bench server: nginx did not start:\n" .. out)
    end
    socket.sleep(POLL)
  end
end

-- opts: body, api_key, nginx (default /usr/sbin/nginx), slow (seconds; see
-- the top of this file), modules_dir (default /usr/share/nginx/modules).
function M.start(opts)
  assert(PID, "bench server: cannot find the pid of this process")
  local dir = here()
  opts = {
    body = assert(opts.body), api_key = assert(opts.api_key),
    nginx = opts.nginx or (exists("/usr/sbin/nginx") and "/usr/sbin/nginx" or "nginx"),
    watchdog = dir .. "/../spec/server/watchdog.sh",
    slow = opts.slow, modules_dir = opts.modules_dir or "/usr/share/nginx/modules",
  }
  local template = assert(read_file(dir .. "/nginx.conf.in"))
  local err
  for _ = 1, START_ATTEMPTS do
    local server
    server, err = attempt(opts, template)
    if server then
      return server
    end
    if err ~= "busy" then
      break
    end
  end
  error(err == "busy" and "bench server: no free port found" or err, 2)
end

return M
