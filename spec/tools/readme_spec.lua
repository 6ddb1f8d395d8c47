-- The README is a front door that stays true: short, and its command lines
-- and Lua snippets run as they are against the emulator (what `make
-- emulator` serves), in a fresh folder where they may write their files.
local cli = require("support.cli")
local files = require("support.files")
local fx = require("support.fixtures")

local README = assert(files.read("README.md"))

-- The text of the section under the heading `title` (up to the next one).
local function section(title)
  local start = assert(README:find("\n## " .. title .. "\n", 1, true), "no section " .. title)
  local stop = README:find("\n## ", start + 1, true) or #README
  return README:sub(start, stop)
end

-- The bodies of the fenced blocks of language `lang` in `text`.
local function blocks(text, lang)
  local out = {}
  for body in text:gmatch("\n```" .. lang .. "\n(.-)\n```") do
    out[#out + 1] = body
  end
  return out
end

describe("the README", function()
  local dir
  setup(function()
    fx.server():reset()
    dir = cli.tmpdir()
  end)
  teardown(function()
    os.execute("rm -rf " .. cli.quote(dir))
    fx.server():reset()
  end)

  it("is at most about 200 lines", function()
    local _, lines = README:gsub("\n", "")
    assert.is_true(lines <= 200, lines .. " lines")
  end)

  it("has command lines that work against the emulator as they are", function()
    local commands = blocks(section("The command line"), "sh")
    assert.are.equal(1, #commands)
    local ran = 0
    for line in commands[1]:gmatch("[^\n]+") do
      local args = assert(line:match("^intuned (.+)$"), line)
      -- written files land in the fresh folder
      args = args:gsub("%-o (%S+)", function(name) return "-o " .. cli.quote(dir .. "/" .. name) end)
      -- (a wait polls faster than its 5 s default here)
      local out, err, code = cli.run(line:find("--wait", 1, true) and args .. " --interval 0.2" or args)
      assert.are.equal(0, code, line .. "\n" .. out .. err)
      ran = ran + 1
    end
    assert.is_true(ran >= 4, ran)
    assert.is_true(files.exists(dir .. "/results.json"))
  end)

  it("has Lua snippets that run as they are, one after the other", function()
    local code = table.concat(blocks(section("Example"), "lua"), "\n")
      .. "\n" .. table.concat(blocks(section("Three workflows"), "lua"), "\n")
    -- The example closes its client; the workflows go on with one, so the
    -- close comes last.
    code = code:gsub("\nclient:close%(%)\n", "\n", 1) .. "\nclient:close()\nprint('snippets done')\n"
    files.write(dir .. "/snippets.lua", code)
    local root = os.getenv("PWD") or "."
    local build = os.getenv("BUILD") or "build/lua5.4"
    -- Under `make test-asan` the snippets' interpreter loads the sanitized
    -- module, so it keeps the runtime (cli.sh gives it to nothing else).
    local preload = cli.preload("LD_PRELOAD=%s ")
    local command = ("cd %s && %s LUA_PATH='%s/lua/?.lua;;' LUA_CPATH='%s/%s/?.so;;' timeout 300 env %s%s"
      .. " snippets.lua 2>&1"):format(cli.quote(dir), cli.env(), root, root, build, preload,
      os.getenv("LUA") or "lua5.4")
    local ok, out = cli.sh(command)
    assert.is_true(ok, out)
    assert.truthy(out:find("snippets done", 1, true), out)
    assert.truthy(out:find("SUCCESS", 1, true), out)
    assert.is_true(files.exists(dir .. "/results.json"))
  end)
end)
