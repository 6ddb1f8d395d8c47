-- Every command of the `intuned` command line against the stateful
-- emulator (project my-project as a reset seeds it): what it prints, the
-- requests it makes, and its exit status.
local cli = require("support.cli")
local files = require("support.files")
local fx = require("support.fixtures")
local core = require("intuned.core")

local intuned = cli.run

-- Every row of a table starts each column where its title starts, two
-- spaces after the previous one.
local function assert_aligned(out)
  local rows = {}
  for line in out:gmatch("[^\n]+") do rows[#rows + 1] = line end
  local header = rows[1]
  local starts = {}
  for pos in header:gmatch("()%S+") do
    if pos == 1 or header:sub(pos - 2, pos - 1) == "  " then
      starts[#starts + 1] = pos
    end
  end
  assert.is_true(#starts >= 2, "no columns in:\n" .. out)
  local n = 0
  for i = 2, #rows do
    local row = rows[i]
    if #row >= starts[#starts] then -- a table row (not the last line's sentence)
      n = n + 1
      for k = 2, #starts do
        local p = starts[k]
        assert.are.equal("  ", row:sub(p - 2, p - 1), "column " .. k .. " of row " .. i .. ":\n" .. out)
        assert.are_not.equal(" ", row:sub(p, p), "column " .. k .. " of row " .. i .. ":\n" .. out)
      end
    end
  end
  return n
end

local function write_tmp(text)
  local path = os.tmpname()
  files.write(path, text)
  return path
end

local function decode(out)
  local doc, why = core.decode(out, { keep_nulls = true })
  assert(doc ~= nil, "not one JSON document (" .. tostring(why) .. "):\n" .. out)
  return doc
end

local JOB = [[{"id": "%s", "payload": [{"apiName": "list-products", "parameters": %s}],
  "configuration": {"maxConcurrentRequests": 3}}]]

describe("intuned commands", function()
  local srv

  before_each(function()
    srv = fx.server()
    srv:reset { job_run_ms = 300, run_ms = 300, operation_ms = 300 }
    srv:clear_log()
  end)

  lazy_teardown(function()
    fx.server():reset()
  end)

  describe("jobs", function()
    it("list prints an aligned table of the project's jobs", function()
      local out, err, code = intuned("jobs list my-project")
      assert.are.equal(0, code, err)
      assert.truthy(out:find("^ID%s+STATE%s+PAYLOADS%s+SCHEDULE%s+LAST RUN%s+NEXT RUN\n"), out)
      assert.are.equal(3, assert_aligned(out))
      assert.truthy(out:find("\nmy%-sample%-job +ACTIVE +1 +no +2024%-01%-05T01:30:00Z +%-\n"), out)
      assert.truthy(out:find("\npaused%-job +PAUSED +0 +yes ", 1), out)
    end)

    it("get prints the job's definition, without the proxy's password", function()
      local out, err, code = intuned("jobs get my-project my-sample-job")
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Job           my-sample-job (project my-project)\n", 1, true), out)
      assert.truthy(out:find("State         ACTIVE\n", 1, true), out)
      assert.truthy(out:find("Payload       1 entry: my-awesome-api\n", 1, true), out)
      assert.truthy(out:find("Concurrency   5 requests at a time\n", 1, true), out)
      assert.truthy(out:find("Sink          webhook https://example.com/webhook\n", 1, true), out)
      assert.truthy(out:find("Proxy         http://username:***@proxy.example.com:8080\n", 1, true), out)
      assert.falsy(out:find("password@", 1, true), out)
      out = intuned("jobs get my-project nightly-scrape")
      assert.truthy(out:find("Schedule      Every night at 02:00; jitter 60 s\n", 1, true), out)
    end)

    it("create takes the job from --file or standard input; get shows it", function()
      local file = write_tmp(JOB:format("cli-from-file", "{}"))
      local out, err, code = intuned("jobs create my-project --file " .. file)
      assert.are.equal(0, code, err)
      assert.are.equal("created job cli-from-file in project my-project\n", out)
      out, err, code = intuned("jobs create my-project", nil, write_tmp(JOB:format("cli-from-stdin", "{}")))
      assert.are.equal(0, code, err)
      assert.are.equal("created job cli-from-stdin in project my-project\n", out)
      local seen = srv:requests { operation = "createJob" }
      assert.are.equal(2, #seen)
      assert.are.equal("cli-from-stdin", seen[2].json.id)
      assert.are.equal(3, seen[2].json.configuration.maxConcurrentRequests)
      out = intuned("jobs get my-project cli-from-file")
      assert.truthy(out:find("Payload       1 entry: list-products", 1, true), out)
      -- a second create of the same id is the API's 400
      out, err, code = intuned("jobs create my-project --file " .. file)
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.truthy(err:find("HTTP 400", 1, true) and err:find("already exists", 1, true), err)
      os.remove(file)
    end)

    it("create refuses a body that is not a job, before sending it (exit 2), and a missing file (exit 3)", function()
      for body, want in pairs {
        ['{"id": "abcdefgh", "payload": []}'] = "job.configuration is required",
        ['{"id": "abcdefgh", "payload": [{"apiName": 5, "parameters": {}}], "configuration": {}}'] =
          "job.payload[1].apiName must be string, got number",
        ['{"id": "abc'] = "is not JSON",
        ['[1, 2]'] = "the job must be a JSON object",
        [''] = "standard input is empty",
      } do
        local out, err, code = intuned("jobs create my-project", nil, write_tmp(body))
        assert.are.equal(2, code, body .. ": " .. err)
        assert.are.equal("", out)
        assert.truthy(err:find(want, 1, true), body .. ": " .. err)
        assert.truthy(err:find("Try 'intuned jobs create --help'.", 1, true), err)
      end
      local _, err, code = intuned("jobs create my-project --file /nonexistent/job.json")
      assert.are.equal(3, code)
      assert.truthy(err:find("cannot read /nonexistent/job.json", 1, true), err)
      assert.are.equal(0, #srv:requests { operation = "createJob" })
    end)

    it("update takes what get --json printed, edited", function()
      local doc = decode((intuned("jobs get my-project my-sample-job --json")))
      assert.are.equal("my-sample-job", doc.id)
      local text = intuned("jobs get my-project my-sample-job --json")
      local file = write_tmp((text:gsub('"maxConcurrentRequests":5', '"maxConcurrentRequests":7')))
      local out, err, code = intuned("jobs update my-project my-sample-job -f " .. file)
      assert.are.equal(0, code, err)
      assert.are.equal("updated job my-sample-job\n", out)
      out = intuned("jobs get my-project my-sample-job")
      assert.truthy(out:find("Concurrency   7 requests at a time", 1, true), out)
      os.remove(file)
    end)

    it("pause, resume and delete say what they did; a paused job cannot be triggered", function()
      assert.are.equal("paused job nightly-scrape\n", (intuned("jobs pause my-project nightly-scrape")))
      assert.truthy(intuned("jobs get my-project nightly-scrape"):find("State         PAUSED", 1, true))
      local _, err, code = intuned("jobs trigger my-project nightly-scrape")
      assert.are.equal(3, code)
      assert.truthy(err:find("(HTTP 400)", 1, true), err)
      assert.are.equal("resumed job nightly-scrape\n", (intuned("jobs resume my-project nightly-scrape")))
      local out
      out, err, code = intuned("jobs delete my-project nightly-scrape")
      assert.are.equal(0, code, err)
      assert.are.equal("deleted job nightly-scrape\n", out)
      _, err, code = intuned("jobs get my-project nightly-scrape")
      assert.are.equal(3, code)
      assert.truthy(err:find("(HTTP 404)", 1, true), err)
    end)

    it("trigger prints the new run's id; with --wait it waits and exits as the run ended", function()
      local out, err, code = intuned("jobs trigger my-project my-sample-job")
      assert.are.equal(0, code, err)
      local id = out:match("^triggered job my%-sample%-job: job run (jr_%w+)\n$")
      assert.truthy(id, out)
      out, err, code = intuned("jobs trigger my-project my-sample-job --wait --interval 0.1 --max-interval 0.1")
      assert.are.equal(0, code, err)
      assert.truthy(out:find("^triggered job my%-sample%-job: job run jr_%w+\n"), out)
      assert.truthy(out:find("SUCCESS: 1/1 payloads done (1 ok, 0 failed)", 1, true), out)
      assert.truthy(out:find("Status    SUCCESS (finished)", 1, true), out)
      -- a job whose runs fail
      local file = write_tmp(JOB:format("cli-failing", '{"outcome": "FAILURE", "payloads": 4}'))
      assert.are.equal(0, select(3, intuned("jobs create my-project -f " .. file)))
      out, err, code = intuned("jobs trigger my-project cli-failing --wait --interval 0.1 --max-interval 0.1")
      assert.are.equal(1, code, err)
      assert.truthy(out:find("Status    FAILURE (finished)", 1, true), out)
      assert.truthy(out:find("Error     internal-server-error: ", 1, true), out)
      os.remove(file)
    end)
  end)

  describe("job-runs", function()
    it("list prints one page as a table, and says how many there are", function()
      local out, err, code = intuned("job-runs list my-project my-sample-job")
      assert.are.equal(0, code, err)
      assert.truthy(out:find("^ID +STATUS +TYPE +PAYLOADS +OK +FAILED +STARTED +ENDED\n"), out)
      assert.are.equal(5, assert_aligned(out))
      assert.truthy(out:find("\njr_sample_002  FAILURE     SCHEDULED  20/20     10  10      ", 1, true), out)
      assert.truthy(out:find("\n5 runs of job my%-sample%-job\n$"), out)
      out = intuned("job-runs list my-project my-sample-job --page-size 2 --page 1 --sort start_time,asc")
      assert.truthy(out:find("\njr_sample_003 ", 1, true) and out:find("\njr_sample_004 ", 1, true), out)
      assert.truthy(out:find("page 1: 2 of 5 runs of job my-sample-job (--page 2 for the next", 1, true), out)
      local seen = srv:requests { operation = "getJobRuns" }
      assert.truthy(seen[#seen].uri:find("pageSize=2", 1, true), seen[#seen].uri)
      assert.truthy(seen[#seen].uri:find("pageNumber=1", 1, true), seen[#seen].uri)
      assert.truthy(seen[#seen].uri:find("sortBy=start_time%2Casc", 1, true), seen[#seen].uri)
    end)

    it("list --all reads every page", function()
      srv:clear_log()
      local out, err, code = intuned("job-runs list my-project my-sample-job --all --page-size 2")
      assert.are.equal(0, code, err)
      assert.are.equal(5, assert_aligned(out))
      assert.truthy(out:find("\n5 runs of job my%-sample%-job\n$"), out)
      assert.are.equal(3, #srv:requests { operation = "getJobRuns" })
      local doc = decode((intuned("job-runs list my-project my-sample-job --all --page-size 2 --json")))
      assert.are.equal(5, #doc.jobRuns)
      assert.are.equal(5, doc.totalCount)
      local _, uerr, ucode = intuned("job-runs list my-project my-sample-job --all --page 1")
      assert.are.equal(2, ucode)
      assert.truthy(uerr:find("--page and --all do not go together", 1, true), uerr)
    end)

    it("get exits 1 for a run that ended unsuccessfully", function()
      for id, status in pairs { jr_sample_001 = "SUCCESS", jr_sample_002 = "FAILURE", jr_sample_004 = "TERMINATED",
        jr_paused_002 = "CANCELED" } do
        local job = id:find("paused", 1, true) and "paused-job" or "my-sample-job"
        local out, _, code = intuned(("job-runs get my-project %s %s"):format(job, id))
        assert.are.equal(status == "SUCCESS" and 0 or 1, code, id)
        assert.truthy(out:find("Status    " .. status .. " (finished)", 1, true), out)
      end
    end)

    it("terminate ends a run TERMINATED", function()
      srv:reset { job_run_ms = 60000 }
      local out = intuned("jobs trigger my-project my-sample-job")
      local id = out:match("job run (jr_%w+)")
      local err, code
      out, err, code = intuned("job-runs terminate my-project my-sample-job " .. id)
      assert.are.equal(0, code, err)
      assert.are.equal("terminated job run " .. id .. "\n", out)
      out, err, code = intuned("job-runs wait my-project my-sample-job " .. id .. " --interval 0.1")
      assert.are.equal(1, code, err)
      assert.truthy(out:find("Status    TERMINATED (finished)", 1, true), out)
    end)

    it("run get|wait|results are job-runs get|wait|results", function()
      -- (the results' signed URL expires an hour after each answer)
      local function same(text) return (text:gsub("expires %S+", "expires ...")) end
      local a = intuned("run get my-project my-sample-job jr_sample_001")
      local b = intuned("job-runs get my-project my-sample-job jr_sample_001")
      assert.are.equal(same(a), same(b))
      assert.truthy(a:find("Status    SUCCESS (finished)", 1, true), a)
    end)
  end)

  describe("runs", function()
    it("start prints the run's id; result and wait follow it", function()
      local out, err, code = intuned("runs start my-project details --param url=https://example.com/1")
      assert.are.equal(0, code, err)
      local id = out:match("^started run (%S+) %(pending%)\n$")
      assert.truthy(id, out)
      out, err, code = intuned("runs result -- my-project " .. id)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Status   %a+ %(not finished%)"), out)
      out, err, code = intuned("runs wait --interval 0.1 --max-interval 0.1 -- my-project " .. id)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("completed", 1, true), out)
      assert.truthy(out:find('Result   {"api":"details","parameters":{"url":"https://example.com/1"}}', 1, true), out)
      out = intuned("runs result -- my-project " .. id)
      assert.truthy(out:find("Status   completed (finished)", 1, true), out)
    end)

    it("start sends --params FILE with each --param over it, NAME:=JSON as JSON", function()
      local file = write_tmp('{"url": "https://example.com/a", "limit": 5, "deep": {"x": [1]}}')
      local _, err, code = intuned(("runs start my-project details --params %s --param limit:=20"
        .. " --param name=shoes --param flag:=true --param empty:={}"):format(file))
      assert.are.equal(0, code, err)
      local seen = srv:requests { operation = "runApiStart" }
      local body = seen[#seen].json
      assert.are.equal("details", body.api)
      assert.are.same({ url = "https://example.com/a", limit = 20, deep = { x = { 1 } }, name = "shoes",
        flag = true, empty = {} }, body.parameters)
      assert.truthy(seen[#seen].body:find('"empty":{}', 1, true), seen[#seen].body)
      os.remove(file)
      for args, want in pairs {
        ["--param oops"] = "--param oops: expected NAME=VALUE or NAME:=JSON",
        ["--param n:=nope"] = "--param n:=nope: nope is not JSON",
        ["--params /nonexistent.json"] = "cannot read /nonexistent.json",
      } do
        local out, uerr, ucode = intuned("runs start my-project details " .. args)
        assert.are.equal(args:find("nonexistent", 1, true) and 3 or 2, ucode, args .. ": " .. uerr)
        assert.are.equal("", out)
        assert.truthy(uerr:find(want, 1, true), args .. ": " .. uerr)
      end
    end)

    it("start --wait exits 0 when completed, 1 when failed or canceled", function()
      for outcome, want in pairs { completed = 0, failed = 1, canceled = 1 } do
        local out, err, code = intuned("runs start my-project details --param outcome=" .. outcome
          .. " --wait --interval 0.1 --max-interval 0.1")
        assert.are.equal(want, code, outcome .. ": " .. err)
        assert.truthy(out:find("Status   " .. outcome .. " (finished)", 1, true), out)
      end
      local out = intuned("runs start my-project details --param outcome=failed --wait --interval 0.1")
      assert.truthy(out:find("Error    script-timeout: Script timed out after 600 seconds", 1, true), out)
    end)
  end)

  describe("auth-sessions", function()
    it("list, get and delete", function()
      local out, err, code = intuned("auth-sessions list my-project")
      assert.are.equal(0, code, err)
      assert.truthy(out:find("^ID +TYPE +STATUS\n"), out)
      assert.are.equal(3, assert_aligned(out))
      assert.truthy(out:find("\nauth-session-456  RUNTIME      PENDING\n", 1, true), out)
      out = intuned("auth-sessions get my-project auth-session-123")
      assert.truthy(out:find("Auth session  auth-session-123 (project my-project)\n", 1, true), out)
      assert.truthy(out:find("Status        READY\n", 1, true), out)
      out, err, code = intuned("auth-sessions delete my-project auth-session-789")
      assert.are.equal(0, code, err)
      assert.are.equal("deleted auth session auth-session-789\n", out)
      assert.are.equal(3, select(3, intuned("auth-sessions get my-project auth-session-789")))
    end)

    it("create, validate and update --wait: exit 0 when done, 1 when failed or canceled", function()
      local body = write_tmp('{"id": "shop-login", "parameters": {"username": "u", "password": "p"}}')
      local out, err, code = intuned("auth-sessions create my-project --wait --interval 0.1", nil, body)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("^started create: operation %w+\n"), out)
      assert.truthy(out:find("Status     done (finished)\nSession    shop-login\n", 1, true), out)
      assert.truthy(intuned("auth-sessions get my-project shop-login"):find("READY", 1, true))
      out, err, code = intuned("auth-sessions validate my-project shop-login --wait --interval 0.1")
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Operation  %w+ %(validate, project my%-project%)"), out)
      local failing = write_tmp('{"parameters": {"password": "bad", "outcome": "failed"}}')
      out, err, code = intuned("auth-sessions update my-project shop-login --wait --interval 0.1 -f " .. failing)
      assert.are.equal(1, code, err)
      assert.truthy(out:find("Status     failed (finished)", 1, true), out)
      assert.truthy(intuned("auth-sessions get my-project shop-login"):find("EXPIRED", 1, true))
      local canceled = write_tmp('{"outcome": "canceled"}')
      out, err, code = intuned("auth-sessions validate my-project shop-login --wait --interval 0.1 -f " .. canceled)
      assert.are.equal(1, code, err)
      assert.truthy(out:find("Status     canceled (finished)", 1, true), out)
      local validate = srv:requests { operation = "ValidateAuthSessionStart" }
      assert.are.equal("{}", validate[1].body) -- no --file: no body of its own
      assert.are.equal("canceled", validate[2].json.outcome)
      for _, f in ipairs({ body, failing, canceled }) do os.remove(f) end
    end)

    it("without --wait, prints the operation; result and wait follow it", function()
      local body = write_tmp('{"id": "later-login", "parameters": {}}')
      local out, err, code = intuned("auth-sessions create my-project", nil, body)
      assert.are.equal(0, code, err)
      local op = out:match("^started create: operation (%w+) %(%w+%)\n")
      assert.truthy(op, out)
      assert.truthy(out:find("wait for it: intuned auth-sessions wait my-project create " .. op, 1, true), out)
      out, err, code = intuned("auth-sessions wait my-project create " .. op .. " --interval 0.1")
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Status     done (finished)", 1, true), out)
      out = intuned("auth-sessions result my-project create " .. op)
      assert.truthy(out:find("Operation  " .. op .. " (create, project my-project)", 1, true), out)
      out = intuned("auth-sessions validate my-project later-login")
      local vop = out:match("operation (%w+)")
      out, err, code = intuned(("auth-sessions wait my-project validate later-login %s --interval 0.1"):format(vop))
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Session    later-login", 1, true), out)
      for args, want in pairs {
        ["result my-project delete x"] = "the kind of operation must be create, validate or update",
        ["result my-project validate x"] = "'validate' takes SESSION OPERATION",
        ["wait my-project create a b"] = "'create' takes OPERATION",
      } do
        local _, uerr, ucode = intuned("auth-sessions " .. args)
        assert.are.equal(2, ucode, args)
        assert.truthy(uerr:find(want, 1, true), args .. ": " .. uerr)
      end
      os.remove(body)
    end)
  end)

  describe("--json", function()
    it("prints one JSON document and nothing else on stdout, for every command", function()
      local job = write_tmp(JOB:format("json-job-1", "{}"))
      local update = write_tmp('{"payload": [], "configuration": {}}')
      local session = write_tmp('{"id": "json-login", "parameters": {}}')
      local W = " --interval 0.1 --max-interval 0.1"
      local function run_id()
        return decode((intuned("runs start my-project details --json"))).runId
      end
      local function trigger()
        return decode((intuned("jobs trigger my-project my-sample-job --json"))).jobRunId
      end
      local function op()
        return decode((intuned("auth-sessions create my-project --file " .. session .. " --json"))).operationId
      end
      local commands = {
        { "jobs list my-project", function(d) return d[1].id == "my-sample-job" end },
        { "jobs get my-project my-sample-job", function(d) return d.state == "ACTIVE" end },
        { "jobs create my-project --file " .. job, function(d) return d.id == "json-job-1" end },
        { "jobs update my-project json-job-1 --file " .. update, function(d) return d.id == "json-job-1" end },
        { "jobs pause my-project json-job-1", function(d) return d.message == "Paused" end },
        { "jobs resume my-project json-job-1", function(d) return d.message == "Resumed" end },
        { "jobs delete my-project json-job-1", function(d) return d == true end },
        { "jobs trigger my-project my-sample-job", function(d) return d.jobRunId ~= nil end },
        { "jobs trigger my-project my-sample-job --wait" .. W, function(d) return d.jobRun.status == "SUCCESS" end },
        { "job-runs list my-project my-sample-job", function(d) return d.totalCount >= 5 end },
        { "job-runs list my-project my-sample-job --all", function(d) return #d.jobRuns == d.totalCount end },
        { "job-runs get my-project my-sample-job jr_sample_001",
          function(d) return d.jobRun.id == "jr_sample_001" and d.jobRun.error == require("intuned").null end },
        { function() return "job-runs wait my-project my-sample-job " .. trigger() .. W end,
          function(d) return d.jobRun.status == "SUCCESS" end },
        { function() return "job-runs terminate my-project my-sample-job " .. trigger() end,
          function(d) return d.message ~= nil end },
        { "job-runs results my-project my-sample-job jr_sample_001",
          function(d) return type(d) == "table" end },
        { "runs start my-project details", function(d) return d.status == "pending" end },
        { "runs start my-project details --wait" .. W, function(d) return d.status == "completed" end },
        { function() return "runs result -- my-project " .. run_id() end, function(d) return d.status ~= nil end },
        { function() return "runs wait" .. W .. " -- my-project " .. run_id() end,
          function(d) return d.status == "completed" end },
        { "auth-sessions list my-project", function(d) return #d >= 3 end },
        { "auth-sessions get my-project auth-session-123", function(d) return d.status == "READY" end },
        { "auth-sessions create my-project --file " .. session, function(d) return d.operationId ~= nil end },
        { "auth-sessions create my-project --wait --file " .. session .. W,
          function(d) return d.status == "done" end },
        { "auth-sessions validate my-project auth-session-123", function(d) return d.operationId ~= nil end },
        { "auth-sessions validate my-project auth-session-123 --wait" .. W,
          function(d) return d.status == "done" end },
        { "auth-sessions update my-project auth-session-123 --file " .. session,
          function(d) return d.operationId ~= nil end },
        { "auth-sessions update my-project auth-session-123 --wait --file " .. session .. W,
          function(d) return d.status == "done" end },
        { function() return "auth-sessions result my-project create " .. op() end,
          function(d) return d.status ~= nil end },
        { function() return "auth-sessions wait my-project create " .. op() .. W end,
          function(d) return d.status == "done" end },
        { "auth-sessions delete my-project auth-session-456", function(d) return d == true end },
      }
      for _, c in ipairs(commands) do
        local args = type(c[1]) == "function" and c[1]() or c[1]
        local out, err, code = intuned("--json " .. args)
        assert.are.equal(0, code, args .. ": " .. err)
        assert.are.equal(1, select(2, out:gsub("\n", "")), args .. ": " .. out)
        assert.is_true(c[2](decode(out)), args .. ": " .. out)
      end
      for _, f in ipairs({ job, update, session }) do os.remove(f) end
    end)

    it("sends a wait's progress and its summary line to stderr", function()
      local out, err, code = intuned("jobs trigger my-project my-sample-job --wait --json --interval 0.1")
      assert.are.equal(0, code, err)
      assert.truthy(out:find('^{"jobRun":{'), out)
      assert.truthy(err:find("^triggered job my%-sample%-job: job run jr_%w+\n"), err)
      assert.truthy(err:find("SUCCESS: 1/1 payloads done (1 ok, 0 failed)", 1, true), err)
      assert.truthy(err:find("\njob run jr_%w+ ended SUCCESS after %d+:%d%d\n$"), err)
    end)
  end)
end)
