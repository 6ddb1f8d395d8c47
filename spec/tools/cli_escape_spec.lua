-- The command line never writes raw control bytes from the server: every
-- string that came from the server is shown with C0, DEL and C1 characters
-- escaped, on a pipe and on a real terminal (tmux), and plain UTF-8 stays
-- readable.
local cli = require("support.cli")
local files = require("support.files")
local fx = require("support.fixtures")

-- Raw bytes a hostile answer carries: ESC, BEL, CR, the UTF-8 of U+009B.
local RAW = { "\27", "\7", "\r", "\194\155" }

local function assert_no_raw(text, what)
  for _, b in ipairs(RAW) do
    assert.is_nil(text:find(b, 1, true), what .. " has a raw " .. ("%q"):format(b) .. ":\n" .. text)
  end
end

describe("intuned shows server strings escaped", function()
  it("in a run's summary", function()
    local out, err, code = cli.run("run get p j " .. fx.id("hostile-text"))
    assert.are.equal(0, code, err)
    assert_no_raw(out, "stdout")
    assert_no_raw(err, "stderr")
    assert.truthy(out:find("PENDING\\e]0;pwned\\x07\\e[2J", 1, true), out)
    assert.truthy(out:find("line one\\r\\nforged: SUCCESS\\u009b31mred", 1, true), out)
  end)

  it("in the JSON output, which stays the same document", function()
    local out, err, code = cli.run("run get p j " .. fx.id("hostile-text") .. " --json")
    assert.are.equal(0, code, err)
    assert_no_raw(out, "stdout")
    local doc = require("intuned.core").decode(out)
    assert.are.equal("PENDING\27]0;pwned\7\27[2J", doc.jobRun.status)
    assert.truthy(doc.jobRun.type:find("\194\155", 1, true))
  end)

  it("in error lines", function()
    local out, err, code = cli.run("run get p j " .. fx.id("hostile-error"))
    assert.are.equal(3, code)
    assert_no_raw(out .. err, "output")
    assert.truthy(err:find("\\u009b", 1, true), err)
  end)

  it("in the lines of a wait", function()
    local _, err, code = cli.run("run wait p j " .. fx.id("hostile-text")
      .. " --interval 0.05 --timeout 0.2 --progress lines --json")
    assert.are.equal(4, code)
    assert_no_raw(err, "stderr")
    assert.truthy(err:find("PENDING\\e]0;pwned", 1, true), err)
  end)

  describe("from the stateful API", function()
    -- ESC ] title BEL, a CSI that clears the screen, DEL, a C1 CSI, a CR
    local EVIL = "evil\\u001b]0;pwned\\u0007\\u001b[2J\\u007f\\u009b31m\\r"
    local SHOWN = "evil\\e]0;pwned\\x07\\e[2J\\x7f\\u009b31m\\r"
    local srv

    before_each(function()
      srv = fx.server()
      srv:reset { run_ms = 0, operation_ms = 0 }
    end)

    lazy_teardown(function()
      fx.server():reset()
    end)

    local function file(text)
      local path = os.tmpname()
      files.write(path, text)
      return path
    end

    it("in tables, still aligned", function()
      local body = file(('{"id": "%s", "parameters": {}}'):format(EVIL))
      assert.are.equal(0, select(3, cli.run("auth-sessions create my-project --wait --interval 0.1", nil, body)))
      os.remove(body)
      local out, err, code = cli.run("auth-sessions list my-project")
      assert.are.equal(0, code, err)
      assert_no_raw(out, "stdout")
      local rows = {}
      for line in out:gmatch("[^\n]+") do rows[#rows + 1] = line end
      local at = rows[1]:find("TYPE", 1, true)
      local found = false
      for i = 2, #rows do
        assert.are.equal("  ", rows[i]:sub(at - 2, at - 1), out)
        found = found or rows[i]:sub(1, #SHOWN) == SHOWN
      end
      assert.is_true(found, out)
    end)

    it("in a job's summary", function()
      local job = file(('{"id": "hostile-job", "payload": [{"apiName": "%s", "parameters": {}}],'
        .. ' "configuration": {}, "sink": {"type": "webhook", "url": "https://example.com/%s"}}'):format(EVIL, EVIL))
      assert.are.equal(0, select(3, cli.run("jobs create my-project -f " .. job)))
      os.remove(job)
      local out, err, code = cli.run("jobs get my-project hostile-job")
      assert.are.equal(0, code, err)
      assert_no_raw(out, "stdout")
      assert.truthy(out:find("Payload       1 entry: " .. SHOWN, 1, true), out)
      assert.truthy(out:find("Sink          webhook https://example.com/" .. SHOWN, 1, true), out)
    end)

    it("in a run's result, and in its JSON (the same document)", function()
      -- NAME:=JSON: the JSON string's escapes become the raw characters
      local out, err, code = cli.run(("runs start my-project details --param 'result:=\"%s\"' --wait"
        .. " --interval 0.1"):format(EVIL))
      assert.are.equal(0, code, err)
      assert_no_raw(out, "stdout")
      assert.truthy(out:find("Result   " .. SHOWN, 1, true), out)
      local json
      json, err, code = cli.run(("runs start my-project details --param 'result:=\"%s\"' --wait --interval 0.1"
        .. " --json"):format(EVIL))
      assert.are.equal(0, code, err)
      assert_no_raw(json, "stdout")
      local doc = require("intuned.core").decode(json)
      assert.are.equal("evil\27]0;pwned\7\27[2J\127\194\155" .. "31m\r", doc.result)
    end)
  end)

  it("in the failures a wait shows, on the bar and on plain lines", function()
    local progress = require("intuned.cli.progress")
    for _, mode in ipairs({ "bar", "lines" }) do
      local written = {}
      local out = { write = function(_, ...) for _, s in ipairs({ ... }) do written[#written + 1] = s end end,
        flush = function() end }
      local d = progress.new(mode, out, { bar = function() return "[bar]" end, line = function() return "line" end,
        fields = { "status" } })
      d:failed("HTTP 503: \27]0;pwned\7 \194\155 down\r\n", 2)
      local text = table.concat(written)
      text = text:gsub("^\r", ""):gsub("\27%[K", "") -- the bar's own redraw codes
      assert_no_raw(text:gsub("\n$", ""), mode)
      assert.truthy(text:find("2 polls failed in a row: HTTP 503: \\e]0;pwned\\x07 \\u009b down\\r\\n", 1, true), text)
    end
  end)

  it("in a results file written to a terminal, its lines kept (tmux)", function()
    local pane = cli.terminal("run results p j " .. fx.id("ok"), nil, { 200, 20 })
    local ok, why = pcall(function()
      assert.are.equal(0, pane:wait(20), pane:screen())
      assert.truthy(pane:screen():find('"title":"Product 1"', 1, true), pane:screen())
    end)
    pane:close()
    assert(ok, why)
  end)

  it("keeps plain UTF-8 readable", function()
    local term = require("intuned.term")
    assert.are.equal("café 日本 ✓", term.escape("café 日本 ✓"))
    assert.are.equal("\\xff\\xc3(", term.escape("\255\195("))
  end)

  it("on a real terminal: the title stays, the screen is not cleared (tmux)", function()
    local pane = cli.terminal_command(("echo MARKER-BEFORE; %s %s bin/intuned run get p j %s")
      :format(cli.env(), fx.lua(), fx.id("hostile-text")), { 120, 30 })
    local done = pane:wait(20) ~= nil
    local screen = pane:screen()
    local _, title = cli.sh(pane.tmux .. " display-message -p '#{pane_title}'")
    pane:close()
    assert.is_true(done, "the command did not finish:\n" .. screen)
    assert.is_nil(title:find("pwned", 1, true), "title: " .. title)
    assert.truthy(screen:find("MARKER-BEFORE", 1, true), screen)
    assert.truthy(screen:find("PENDING\\e]0;pwned", 1, true), screen)
  end)
end)
