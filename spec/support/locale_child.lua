-- Runs a piece of Lua in a child process that can switch to de_DE.UTF-8, a
-- locale whose decimal separator is a comma and whose collation is not byte
-- order. scripts/run-specs.sh compiles it into build/locale; the child finds
-- it through LOCPATH, so nothing else sees it (the same mechanism as the
-- locale spec of spec/decoder/decode_spec.lua). The child loads this tree's
-- modules from lua/ and $BUILD.
local M = {}

M.LOCALE = "de_DE.UTF-8"

-- Is the compiled locale there? (localedef may be missing.)
function M.available()
  local f = io.open("build/locale/" .. M.LOCALE .. "/LC_NUMERIC", "rb")
  if not f then
    return false
  end
  f:close()
  return true
end

-- Runs `code` in a child of the interpreter the specs run under; returns
-- what it wrote to stdout and stderr.
function M.run(code)
  local child = os.tmpname()
  local out = assert(io.open(child, "w"))
  out:write(code)
  out:close()
  local build = os.getenv("BUILD") or "build/lua5.4"
  -- With LOCPATH set, glibc's newlocale (called by p11-kit as libcurl
  -- loads) leaks the path list it builds; under `make test-asan` the child
  -- keeps ASan's checks but not its leak report.
  local command = ("LOCPATH=\"$PWD/build/locale\" ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:detect_leaks=0\" "
    .. "LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='%s/?.so;;' %s %s 2>&1")
    :format(build, os.getenv("LUA") or "lua5.4", child)
  local p = assert(io.popen(command))
  local said = p:read("*a")
  p:close()
  os.remove(child)
  return said
end

return M
