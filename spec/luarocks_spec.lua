local fx = require("support.fixtures")

-- The packaging tools are not under test: they must not inherit the
-- sanitizer runtime of `make test-asan`.
local function sh(cmd)
  local p = io.popen("unset LD_PRELOAD; " .. cmd .. " 2>&1")
  local out = p:read("*a")
  local ok, _, code = p:close()
  if type(ok) == "number" then code = ok end
  return ok == true or code == 0, out
end

describe("luarocks", function()
  it("builds and installs the rockspec offline, and a fresh interpreter loads it", function()
    local ok, home = sh("mktemp -d")
    assert.is_true(ok)
    home = home:gsub("%s+$", "")
    local version = (os.getenv("LUA") or "lua5.4"):match("(%d%.%d)$") or "5.4"
    local lr = ("HOME=%s luarocks --lua-version=%s"):format(home, version)
    local built, out = sh(lr .. " make --local --deps-mode=none intuned-scm-1.rockspec")
    assert.is_true(built, out)
    local srv = fx.server()
    local check = ([[eval "$(%s path)" && cd / && lua%s -e '
      local intuned = require "intuned"
      assert(package.searchpath("intuned.core", package.cpath):find("%s", 1, true))
      local c = intuned.new{ base_url = "%s", api_key = "%s", workspace_id = "%s" }
      local res = assert(c:get_job_run("p", "j", "ok.rock"))
      io.write(res.jobRun.id)']]):format(lr, version, home, srv.base_url, srv.api_key, srv.workspace_id)
    local loaded, got = sh(check)
    sh("rm -rf " .. home)
    assert.is_true(loaded, got)
    assert.are.equal("ok.rock", got)
  end)
end)
