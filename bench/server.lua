-- The benchmark's server: a plain nginx (no Lua in the request path) that
-- answers every job run GET with the same 200 body after the same x-api-key
-- check as the emulator, over HTTP and HTTPS (a certificate made for the
-- run). support.launcher starts it: it is stopped and its prefix removed
-- once this process is gone, however it ended.
--
--   local server = require("server").start{ body = text, api_key = key }
--   server.base_url, server.tls_base_url, server.ca_file, server:stop()
--
-- With `slow = seconds` (make bench-nginx) the same body is also served
-- under /slow/ after that delay (the echo module's echo_sleep, Debian's
-- libnginx-mod-http-echo): server.slow_base_url.

local files = require("support.files")
local launcher = require("support.launcher")

local M = {}

local read_file, write_file = files.read, files.write

local Server = {}
Server.__index = Server

-- Pins nginx (master and workers) to one CPU, so that where the client
-- runs relative to the server is chosen, not left to the scheduler.
function Server:pin(cpu)
  self.nginx:pin(cpu)
end

function Server:stop()
  self.nginx:stop()
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

local function prepare(opts, prefix, ports)
  launcher.certificates(prefix .. "/tls")
  local values = {
    PREFIX = prefix, PORT = ports[1], TLS_PORT = ports[2], API_KEY = opts.api_key,
    BODY = (opts.body:gsub("\\", "\\\\"):gsub("'", "\\'")),
    USER_LINE = launcher.user_line(),
    SLOW_MODULE = "", SLOW_LOCATION = "",
  }
  if opts.slow then
    values.SLOW_MODULE = "load_module " .. (opts.modules_dir or "/usr/share/nginx/modules")
      .. "/ngx_http_echo_module.so;"
    values.SLOW_LOCATION = slow_location(opts.slow, opts.api_key, values.BODY)
  end
  local template = assert(read_file(launcher.root() .. "/bench/nginx.conf.in"))
  write_file(prefix .. "/nginx.conf", launcher.render(template, values, "bench/nginx.conf.in"))
end

-- opts: body, api_key, nginx (default /usr/sbin/nginx), slow (seconds; see
-- the top of this file), modules_dir (default /usr/share/nginx/modules).
function M.start(opts)
  assert(opts.body and opts.api_key, "bench server: body and api_key are needed")
  local nginx = launcher.start {
    name = "bench server", nginx = opts.nginx, probe = "/__bench/ping", ports = 2, dirs = { "tmp", "tls" },
    prepare = function(prefix, ports) prepare(opts, prefix, ports) end,
  }
  local port, tls_port = nginx.ports[1], nginx.ports[2]
  return setmetatable({
    nginx = nginx, prefix = nginx.prefix, port = port, tls_port = tls_port,
    base_url = "http://127.0.0.1:" .. port .. "/api/v1/workspace",
    tls_base_url = "https://127.0.0.1:" .. tls_port .. "/api/v1/workspace",
    slow_base_url = opts.slow and ("http://127.0.0.1:" .. port .. "/slow/api/v1/workspace") or nil,
    ca_file = nginx.prefix .. "/tls/ca.crt",
  }, Server)
end

return M
