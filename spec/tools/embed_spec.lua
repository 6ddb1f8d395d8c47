-- examples/embed: a C program that creates its own Lua state, loads the
-- module through the C API and fetches a run. Built with `make embed` for
-- the interpreter the suite runs on (build/<lua>/embed) and run against the
-- emulator.
local fx = require("support.fixtures")
local compat = require("support.compat")

local lua = os.getenv("LUA") or "lua5.4"
local build = os.getenv("BUILD") or ("build/" .. lua)

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- opts: api_key (instead of the emulator's), wrapper (a command to run the
-- program under, e.g. valgrind).
local function run_embed(run_id, opts)
  opts = opts or {}
  local srv = fx.server()
  local cmd = ("INTUNED_WORKSPACE_ID=%s INTUNED_API_KEY=%s INTUNED_BASE_URL=%s"
    .. " LUA_PATH='lua/?.lua;;' LUA_CPATH=%s %s %s/embed my-project my-job %s")
    :format(quote(srv.workspace_id), quote(opts.api_key or srv.api_key), quote(srv.base_url),
      quote(build .. "/?.so;;"), opts.wrapper or "", build, quote(run_id))
  return compat.run(cmd, true)
end

describe("examples/embed (C host program)", function()
  setup(function()
    local ok, out = compat.run(("unset LD_PRELOAD; make --no-print-directory embed LUA=%s BUILD=%s")
      :format(lua, build), true)
    assert(ok, out)
  end)

  it("creates a Lua state, loads intuned and prints a run", function()
    local id = fx.id("ok")
    local ok, out, code = run_embed(id)
    assert.is_true(ok, out)
    assert.are.equal(0, code)
    assert.are.equal(("job run %s\nstatus SUCCESS\npayloads 100\n"):format(id), out)
  end)

  it("prints the error object and exits 1 when the API says no", function()
    local ok, out, code = run_embed(fx.id("notfound"))
    assert.is_false(ok)
    assert.are.equal(1, code)
    assert.truthy(out:find("intuned: api error (HTTP 404) not-found", 1, true), out)
  end)

  it("reports a misuse raised by intuned.new without printing the key", function()
    local ok, out, code = run_embed(fx.id("ok"), { api_key = "bad key" })
    assert.is_false(ok)
    assert.are.equal(2, code)
    assert.truthy(out:find("api_key must not contain whitespace", 1, true), out)
    assert.is_nil(out:find("bad key", 1, true))
  end)

  -- valgrind is in make test-all's package list; plain make test runs this
  -- when it happens to be installed.
  local has_valgrind = compat.execute("command -v valgrind >/dev/null 2>&1")
  -- valgrind cannot run a program that loads an AddressSanitizer build
  -- (make test-asan): that run checks the same with LeakSanitizer.
  local leak_check = (has_valgrind and os.getenv("INTUNED_SANITIZER") ~= "asan") and it or pending
  leak_check("frees everything it allocated: no leaks, no invalid accesses (valgrind)", function()
    local wrapper = "valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=3"
    for _, scenario in ipairs({ "ok", "notfound" }) do
      local _, out, code = run_embed(fx.id(scenario), { wrapper = wrapper })
      assert.are.equal(scenario == "ok" and 0 or 1, code, out)
      assert.is_nil(out:find("==%d+=="), out)
    end
  end)
end)
