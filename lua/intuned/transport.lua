-- Where a client's requests run. Outside nginx: on the caller's thread,
-- through the C core. Inside nginx (OpenResty style): on cosockets by
-- default (intuned.cosocket), or in nginx's thread pool with
-- transport = "pool" (intuned.ngx), which a proxy needs; blocking = true
-- runs the C core in the worker itself (for phases without either).
-- A transport is { name, session(opts), sleep(seconds) }.

local core = require("intuned.core")
local check = require("intuned.check")
local compat = require("intuned.compat")

local M = {}

local CORE = { name = "curl", session = core.session, sleep = core.sleep }

local function cosockets()
  local cosocket = require("intuned.cosocket")
  return {
    name = "cosocket",
    session = cosocket.session,
    sleep = function(seconds)
      if cosocket.PHASES[ngx.get_phase()] then
        return ngx.sleep(seconds)
      end
      return core.sleep(seconds)
    end,
  }
end

-- The transport for the client options opts; misuse raises at the caller
-- of intuned.new (`level` frames above the function calling this).
function M.choose(opts, level)
  level = (level or 1) + 1
  if opts.blocking ~= nil and type(opts.blocking) ~= "boolean" then
    check.fail("option 'blocking' must be a boolean", level)
  end
  local pool = check.string(opts, "thread_pool", level)
  local wanted = check.string(opts, "transport", level)
  if wanted ~= nil and wanted ~= "cosocket" and wanted ~= "pool" then
    check.fail("option 'transport' must be \"cosocket\" or \"pool\" (inside nginx)", level)
  end
  local vms = opts.vm_pool_size
  if vms ~= nil and (type(vms) ~= "number" or vms % 1 ~= 0 or vms < 1) then
    check.fail("option 'vm_pool_size' must be a whole number >= 1", level)
  end
  if opts.blocking or not compat.in_nginx() then
    return CORE
  end
  if wanted == "pool" or (wanted == nil and opts.proxy ~= nil) then
    return require("intuned.ngx").transport(pool, vms)
  end
  for _, name in ipairs({ "proxy", "ca_file", "ca_path" }) do
    if opts[name] ~= nil then
      check.fail(("option '%s' does not work with cosockets: %s, or make the client with"
        .. " transport = \"pool\""):format(name, name == "proxy" and "they cannot go through a proxy"
        or "nginx verifies servers with lua_ssl_trusted_certificate"), level)
    end
  end
  return cosockets()
end

return M
