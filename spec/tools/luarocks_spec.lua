-- `luarocks make` on the rockspec, offline, into a throwaway tree; then a
-- fresh interpreter that only knows that tree's paths loads the module from
-- there and fetches a run from the emulator. Covered for Lua 5.1 and 5.4 on
-- every run of the suite, and for LuaJIT (which loads the 5.1 tree) when the
-- suite itself runs on LuaJIT.
local fx = require("support.fixtures")
local compat = require("support.compat")

-- The packaging tools are not under test: they must not inherit the
-- sanitizer runtime of `make test-asan`.
local function sh(cmd)
  local ok, out = compat.run("unset LD_PRELOAD; " .. cmd, true)
  return ok, out
end

local CHECK = [[
  local intuned = require "intuned"
  local where
  for t in package.cpath:gmatch("[^;]+") do
    local f = t:gsub("%%?", "intuned/core")
    local h = io.open(f)
    if h then h:close() where = where or f end
  end
  assert(where:find(%q, 1, true), "intuned.core loaded from " .. where)
  local c = intuned.new{ base_url = %q, api_key = %q, workspace_id = %q }
  local res = assert(c:get_job_run("p", "j", %q))
  io.write(res.jobRun.id, " ", tostring(res.jobRun.payloads))]]

local function install_and_fetch(version, interpreter)
  local ok, home = sh("mktemp -d")
  assert.is_true(ok)
  home = home:gsub("%s+$", "")
  local lr = ("HOME=%s luarocks --lua-version=%s"):format(home, version)
  local built, out = sh(lr .. " make --local --deps-mode=none intuned-scm-1.rockspec")
  if not built then
    sh("rm -rf " .. home)
  end
  assert.is_true(built, out)
  local srv = fx.server()
  local id = fx.id("ok")
  local code = CHECK:format(home .. "/.luarocks/lib/lua/" .. version .. "/intuned/core.so",
    srv.base_url, srv.api_key, srv.workspace_id, id):gsub("\n", " ")
  -- cd /: nothing of this tree can be found through "./?.lua"
  local loaded, got = sh(('eval "$(%s path)" && cd / && %s -e \'%s\''):format(lr, interpreter, code))
  sh("rm -rf " .. home)
  assert.is_true(loaded, got)
  -- payloads: an integer on 5.3+, a float printed without a fraction elsewhere
  assert.are.equal(id .. " 100", got)
end

describe("luarocks", function()
  it("names every C file and Lua module of the tree in the rockspec", function()
    local rockspec = assert(io.open("intuned-scm-1.rockspec")):read("*a")
    local _, list = compat.run("ls src/*.c lua/intuned/*.lua lua/intuned/*/*.lua")
    for path in list:gmatch("[^\n]+") do
      assert.truthy(rockspec:find('"' .. path .. '"', 1, true), path .. " is not in the rockspec")
    end
  end)

  it("builds and installs the rockspec for Lua 5.1 offline, and lua5.1 loads it", function()
    install_and_fetch("5.1", "lua5.1")
  end)

  it("builds and installs the rockspec for Lua 5.4 offline, and lua5.4 loads it", function()
    install_and_fetch("5.4", "lua5.4")
  end)

  if jit then
    it("LuaJIT loads the module built by luarocks for 5.1", function()
      install_and_fetch("5.1", "luajit")
    end)
  end
end)
