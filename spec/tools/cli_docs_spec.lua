-- docs/cli.md and the help texts cover the whole command line: every
-- command has its section in the docs and its line in `intuned --help`,
-- each of its options is named in its section, and every exit status is
-- documented in both.
local cli = require("support.cli")
local files = require("support.files")

local DOC = assert(files.read("docs/cli.md"))

-- The text of the docs section whose heading starts with `heading`.
local function section(heading)
  local start = DOC:find("\n### `" .. heading, 1, true)
  if not start then
    return nil
  end
  local stop = DOC:find("\n##", start + 1, true) or #DOC
  return DOC:sub(start, stop)
end

describe("the command line's documentation", function()
  local commands = require("intuned.cli").COMMANDS

  it("has a section for every command, naming each of its options", function()
    assert.is_true(#commands >= 24)
    for _, c in ipairs(commands) do
      local text = section("intuned " .. c.key .. " ")
      assert.truthy(text, "docs/cli.md has no section for intuned " .. c.key)
      for _, name in ipairs(c.options) do
        local named = text:find("--" .. name, 1, true)
          or (name ~= "json" and name ~= "wait" and name ~= "file" and text:find("wait options", 1, true))
        assert.truthy(named, "the section of " .. c.key .. " does not name --" .. name)
      end
    end
  end)

  it("lists every command in intuned --help", function()
    local out, err, code = cli.run("--help")
    assert.are.equal(0, code, err)
    for _, c in ipairs(commands) do
      assert.truthy(out:find("\n  " .. c.key .. " " .. table.concat(c.args, " "), 1, true), c.key)
      local help = cli.run(c.key .. " --help")
      assert.truthy(help:find("usage: intuned " .. c.key .. " ", 1, true), c.key .. ":\n" .. help)
      for _, name in ipairs(c.options) do
        assert.truthy(help:find("--" .. name .. " ", 1, true) or help:find("--" .. name .. "\n", 1, true),
          c.key .. " --help does not name --" .. name)
      end
    end
    assert.truthy(out:find("run get|wait|results PROJECT JOB RUN  the same as job-runs get|wait|results", 1, true),
      out)
  end)

  it("documents every exit status the same way in both", function()
    local out = cli.run("--help")
    for _, status in ipairs({ 0, 1, 2, 3, 4, 130 }) do
      assert.truthy(DOC:find("\n| " .. status .. " | ", 1, true), "docs/cli.md: exit status " .. status)
      assert.truthy(out:find("\n  " .. status .. " ", 1, true), "--help: exit status " .. status)
    end
  end)
end)
