-- The `intuned` command line, run as a child process against the emulator.
local fx = require("support.fixtures")
local has_cjson, cjson = pcall(require, "cjson")

local cli = require("support.cli")
local quote, intuned, sh, tmpdir = cli.quote, cli.run, cli.sh, cli.tmpdir

describe("intuned command line", function()
  describe("run get", function()
    it("prints a readable summary and exits 0 for a successful run", function()
      local id = fx.id("ok")
      local out, err, code = intuned("run get my-project my-job " .. id)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Job run   " .. id .. " (project my-project, job my-job)", 1, true), out)
      assert.truthy(out:find("Status    SUCCESS (finished)", 1, true), out)
      assert.truthy(out:find("Payloads  100/100 done, 95 succeeded, 5 failed", 1, true), out)
      assert.truthy(out:find("Started   2024-01-01T00:00:00Z", 1, true), out)
      assert.truthy(out:find("Ended     2024-01-01T00:30:00Z", 1, true), out)
      assert.truthy(out:find("Results   json file", 1, true), out)
      assert.are.equal("", err)
    end)

    it("shows the error and reason of a failed run and exits 1", function()
      local out, _, code = intuned("run get p j " .. fx.id("failed"))
      assert.are.equal(1, code)
      assert.truthy(out:find("Status    FAILURE (finished)", 1, true), out)
      assert.truthy(out:find("Error     internal-server-error: An error occurred", 1, true), out)
      assert.truthy(out:find("Reason    terminated: The job run was terminated", 1, true), out)
    end)

    it("exits 0 for a run still going", function()
      local out, _, code = intuned("run get p j " .. fx.id("running"))
      assert.are.equal(0, code)
      assert.truthy(out:find("PENDING (not finished)", 1, true), out)
    end)

    it("prints the decoded body as JSON with --json, nulls kept", function()
      local id = fx.id("failed")
      local out, _, code = intuned("run get p j " .. id .. " --json")
      assert.are.equal(1, code)
      assert.are.equal(1, select(2, out:gsub("\n", "")))
      if has_cjson then
        local doc = cjson.decode(out)
        assert.are.equal(id, doc.jobRun.id)
        assert.are.equal("FAILURE", doc.jobRun.status)
        assert.are.equal(100, doc.jobRun.payloads)
        assert.are.equal("execute", doc.jobRun.error.details.step)
      end
      local nulls = intuned("run get p j " .. fx.id("nulls") .. " --json")
      assert.truthy(nulls:find('"end_time":null', 1, true), nulls)
      local ok = intuned("run get p j " .. fx.id("ok") .. " --json")
      assert.truthy(ok:find('"signed_url":"http://127.0.0.1', 1, true), ok)
    end)

    it("exits 3 with the error on stderr for an API error", function()
      local out, err, code = intuned("run get p j " .. fx.id("notfound"))
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.truthy(err:find("api error (HTTP 404) not-found", 1, true), err)
    end)

    it("exits 3 when the service cannot be reached, saying so once", function()
      local _, err, code = intuned("run get p j ok", { INTUNED_BASE_URL = "http://127.0.0.1:9/api" })
      assert.are.equal(3, code)
      assert.are.equal("intuned: cannot connect to 127.0.0.1 port 9 (connection refused) [attempts=3]\n", err)
    end)

    it("takes its settings from flags over the environment, and never prints the key", function()
      local srv = fx.server()
      local _, err, code = intuned("run get p j ok", { INTUNED_API_KEY = "wrong-secret-key" })
      assert.are.equal(3, code)
      assert.truthy(err:find("HTTP 401", 1, true), err)
      assert.falsy(err:find("wrong-secret-key", 1, true), err)
      local out
      out, err, code = intuned(("--api-key %s --workspace-id %s --base-url %s run get p j ok"):format(
        srv.api_key, srv.workspace_id, srv.base_url),
        { INTUNED_API_KEY = "wrong-secret-key", INTUNED_WORKSPACE_ID = false, INTUNED_BASE_URL = false })
      assert.are.equal(0, code, err)
      assert.truthy(out:find("SUCCESS", 1, true))
      assert.falsy((out .. err):find(srv.api_key, 1, true))
    end)
  end)

  describe("run wait", function()
    it("prints a line per change when stdout is not a terminal", function()
      local out, err, code = intuned("run wait p j " .. fx.id("progress-ms-600")
        .. " --interval 0.1 --max-interval 0.1")
      assert.are.equal(0, code, err)
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.is_true(#lines >= 3, out)
      assert.truthy(lines[1]:find("PENDING: 0/20 payloads done (0 ok, 0 failed)", 1, true), out)
      -- the last progress line, then the summary
      local last = 0
      for i, line in ipairs(lines) do
        if line:find("^%[ *%d+%.%ds%]") then last = i end
      end
      assert.truthy(lines[last]:find("SUCCESS: 20/20 payloads done (18 ok, 2 failed)", 1, true), out)
      assert.truthy(lines[last + 1]:find("^Job run   progress%-ms%-600"), out)
      assert.truthy(out:find("Status    SUCCESS (finished)", 1, true), out)
      assert.falsy(out:find("\r", 1, true))
      assert.falsy(out:find("\27", 1, true))
    end)

    it("exits 1 when the run ends in failure", function()
      local out, _, code = intuned("run wait p j " .. fx.id("progress-fail-ms-200") .. " --interval 0.1")
      assert.are.equal(1, code)
      assert.truthy(out:find("FAILURE: 20/20", 1, true), out)
    end)

    it("exits 4 on timeout, with the last status", function()
      local _, err, code = intuned("run wait p j " .. fx.id("running") .. " --interval 0.1 --timeout 0.3")
      assert.are.equal(4, code)
      assert.truthy(err:find("did not finish within 0.3s (last status PENDING)", 1, true), err)
    end)

    it("exits 3 at once on a permanent API error", function()
      local _, err, code = intuned("run wait p j " .. fx.id("notfound") .. " --interval 0.1")
      assert.are.equal(3, code)
      assert.truthy(err:find("HTTP 404", 1, true), err)
    end)

    it("prints the final JSON with --json, progress going to stderr", function()
      local out, err, code = intuned("run wait p j " .. fx.id("steps-2") .. " --interval 0.05 --json")
      assert.are.equal(0, code, err)
      assert.truthy(out:find('^{"'), out)
      assert.truthy(err:find("SUCCESS: 20/20", 1, true), err)
    end)

    it("draws a live progress bar on a terminal, redrawn in place (tmux screen)", function()
      local pane = cli.terminal("run wait p j " .. fx.id("progress-ms-1500") .. " --interval 0.2 --max-interval 0.2")
      -- Watch the screen until the run ends (bounded: the run takes 1.5 s).
      local seen_pending = false
      fx.eventually(function()
        if pane:screen():find("%[#*%-+%] %d+/20 payloads .* PENDING") then
          seen_pending = true
        end
        return pane:status() ~= nil
      end, 20)
      local final = { code = pane:status(), text = pane:screen() }
      pane:close()
      assert.is_truthy(final.code, "the command did not finish")
      assert.are.equal(0, final.code, final.text)
      assert.is_true(seen_pending, "no PENDING bar was ever on screen")
      local rows = {}
      for line in final.text:gmatch("[^\n]*") do rows[#rows + 1] = line end
      -- One bar line, at the top, now full: earlier frames were overwritten.
      assert.are.equal("[########################] 20/20 payloads  18 ok  2 failed",
        rows[1]:match("^(%[.-failed)"), final.text)
      assert.truthy(rows[1]:find("%d:%d%d  SUCCESS$"), final.text)
      local bars = select(2, final.text:gsub("payloads  ", ""))
      assert.are.equal(1, bars, final.text)
      assert.truthy(final.text:find("Status    SUCCESS (finished)", 1, true), final.text)
    end)
  end)

  describe("run results", function()
    it("writes the results file to stdout", function()
      local out, err, code = intuned("run results p j " .. fx.id("ok"))
      assert.are.equal(0, code, err)
      assert.truthy(out:find('"title":"Product 1"', 1, true), out)
    end)

    it("writes to -o FILE, without sending the API key to storage", function()
      local dir = tmpdir()
      local id = fx.id("ok")
      local out, err, code = intuned("run results p j " .. id .. " -o " .. dir .. "/r.json")
      assert.are.equal(0, code, err)
      assert.are.equal("", out)
      assert.truthy(err:find("wrote %d+ bytes to " .. dir .. "/r.json"), err)
      local f = io.open(dir .. "/r.json")
      local data = f:read("*a")
      f:close()
      sh("rm -rf " .. quote(dir))
      assert.truthy(data:find("Product 2", 1, true))
      local seen = fx.server():requests("/storage/" .. id)
      assert.are.equal(1, #seen)
      assert.is_nil(seen[1].headers["x-api-key"])
    end)

    it("exits 3 and says to fetch again when the URL expired", function()
      local _, err, code = intuned("run results p j " .. fx.id("results-expired"))
      assert.are.equal(3, code)
      assert.truthy(err:find("fetch the job run again", 1, true), err)
    end)

    it("exits 3 when the run has no results yet", function()
      local _, err, code = intuned("run results p j " .. fx.id("running"))
      assert.are.equal(3, code)
      assert.truthy(err:find("no results file (status PENDING)", 1, true), err)
    end)
  end)

  describe("usage", function()
    it("has --help for the tool and for each command", function()
      for args, want in pairs {
        ["--help"] = "usage: intuned [OPTIONS] <group> <command> ARGS [OPTIONS]",
        ["run --help"] = "usage: intuned run <get|wait|results>",
        ["run get --help"] = "usage: intuned run get PROJECT JOB RUN [OPTIONS]",
        ["run wait -h"] = "usage: intuned run wait PROJECT JOB RUN [OPTIONS]",
        ["run results --help"] = "usage: intuned run results PROJECT JOB RUN [OPTIONS]",
      } do
        local out, err, code = intuned(args, { INTUNED_API_KEY = false })
        assert.are.equal(0, code, err)
        assert.truthy(out:find(want, 1, true), args .. ": " .. out)
      end
    end)

    it("exits 2 on a usage error, with a hint", function()
      for args, want in pairs {
        [""] = "usage: intuned",
        ["frob"] = "unknown command 'frob'",
        ["run"] = "missing command after 'run'",
        ["run get p j"] = "'run get' takes PROJECT JOB RUN (2 given)",
        ["run get p j r --bogus"] = "unknown option '--bogus' for 'run get'",
        ["run get p j r -o x"] = "unknown option '-o' for 'run get'",
        ["run wait p j r --interval"] = "option '--interval' needs a value",
        ["run wait p j r --interval=-1"] = "option '--interval' must be a positive number of seconds",
        ["run wait p j r --progress=fancy"] = "option '--progress' must be auto, bar, lines or none",
        ["run get p j .."] = "job_run_id must not be empty, '.' or '..'",
        ["--workspace-id nope run get p j r"] = "--workspace-id must be a UUID",
      } do
        local out, err, code = intuned(args)
        assert.are.equal(2, code, args .. ": " .. err)
        assert.are.equal("", out, args)
        assert.truthy(err:find(want, 1, true), args .. ": " .. err)
      end
      local _, err, code = intuned("run get p j r", { INTUNED_API_KEY = false })
      assert.are.equal(2, code)
      assert.truthy(err:find("no API key: set INTUNED_API_KEY (or give --api-key KEY)", 1, true), err)
    end)

    it("is installed by make install", function()
      local dir = tmpdir()
      local lua = os.getenv("LUA") or "lua5.4"
      local version = lua:match("(%d%.%d)$") or (lua:find("luajit", 1, true) and "5.1") or "5.4"
      -- make and sed are not under test: no sanitizer runtime for them
      local ok, out = sh(("unset LD_PRELOAD; make install DESTDIR=%s PREFIX=/usr LUA_VERSION=%s")
        :format(quote(dir), version))
      assert.is_true(ok, out)
      local ran, got = sh(("LUA_PATH=%s/usr/share/lua/%s/?.lua LUA_CPATH=%s/usr/lib/lua/%s/?.so"
        .. " %s/usr/bin/intuned --version"):format(dir, version, dir, version, dir))
      sh("rm -rf " .. quote(dir))
      assert.is_true(ran, got)
      assert.truthy(got:find("^intuned %d"), got)
    end)
  end)
end)
