-- intuned job-runs list|get|wait|terminate|results (and the old
-- `intuned run get|wait|results`, aliases of the last three)

local command = require("intuned.cli.command")
local kinds = require("intuned.cli.kinds")
local output = require("intuned.cli.output")

local safe, num = output.safe, output.num

local function whole(ctx, name, min)
  local v = ctx.opts[name]
  if v == nil then
    return nil
  end
  local n = tonumber(v)
  if not n or n % 1 ~= 0 or n < min or n > 2 ^ 31 then
    return nil, ("option '--%s' must be a whole number from %d"):format(name, min)
  end
  return math.floor(n)
end

local COLUMNS = {
  { "ID", "id" },
  { "STATUS", "status" },
  { "TYPE", "type" },
  { "PAYLOADS", function(r)
    local done, total = kinds.counts(r)
    return num(done) .. "/" .. num(total)
  end },
  { "OK", function(r) return type(r.successful_runs) == "number" and num(r.successful_runs) or nil end },
  { "FAILED", function(r) return type(r.failed_runs) == "number" and num(r.failed_runs) or nil end },
  { "STARTED", "start_time" },
  { "ENDED", "end_time" },
}

local C = {}

C[#C + 1] = {
  verb = "list", args = { "PROJECT", "JOB" }, options = { "all", "page-size", "page", "sort", "json" },
  summary = "list a job's runs, one page (or --all), as a table",
  details = [[
Without --all, one page: the newest runs first unless --sort says
otherwise, and a last line telling how many there are. With --all, every
run, page after page (--json then prints {"jobRuns": [...], "totalCount": N}
for all of them).
]],
  run = function(ctx, project, job_id)
    local size, e1 = whole(ctx, "page-size", 1)
    local page, e2 = whole(ctx, "page", 0)
    local sort = ctx.opts.sort
    if e1 or e2 then
      return ctx:usage(e1 or e2)
    end
    if sort == "" then
      return ctx:usage("option '--sort' needs FIELD,asc or FIELD,desc")
    end
    if ctx.opts.all and page then
      return ctx:usage("--page and --all do not go together")
    end
    local runs, total
    if ctx.opts.all then
      runs = require("intuned").array()
      local opts = ctx:call_options() or {}
      opts.page_size, opts.sort_by = size, sort
      local iter = ctx:call("each_job_run", project, job_id, opts)
      while true do
        local run, err = ctx:call(iter)
        if run == nil then
          break
        elseif run == false then
          return ctx:fail(err)
        end
        runs[#runs + 1] = run
      end
      total = #runs
      if ctx.json then
        output.json(ctx.io.stdout, { jobRuns = runs, totalCount = total })
        return 0
      end
    else
      local opts = ctx:call_options() or {}
      opts.page_size, opts.page_number, opts.sort_by = size, page, sort
      local res, err = ctx:call("list_job_runs", project, job_id, opts)
      if not res then
        return ctx:fail(err)
      end
      if ctx.json then
        output.json(ctx.io.stdout, res)
        return 0
      end
      runs, total = res.jobRuns, res.totalCount
    end
    local out = ctx.io.stdout
    if #runs > 0 then
      output.table(out, COLUMNS, runs)
    end
    if ctx.opts.all or (#runs == total and not page) then
      out:write(("%s of job %s\n"):format(output.plural(#runs, "run"), safe(job_id)))
    else
      local first = (page or 0) * (size or #runs)
      out:write(("page %d: %d of %s runs of job %s"):format(page or 0, #runs, num(total), safe(job_id)))
      if type(total) == "number" and first + #runs < total and #runs > 0 then
        out:write(" (--page ", tostring((page or 0) + 1), " for the next, --all for every run)")
      end
      out:write("\n")
    end
    return 0
  end,
}

C[#C + 1] = command.result{
  verb = "get", args = { "PROJECT", "JOB", "RUN" }, options = { "json" },
  summary = "print a job run's summary",
  details = [[
The run's status, payload counts, times, and its error or reason when it
has one.
]],
  exits = "0, or 1 when the run finished unsuccessfully (still going: 0); 3 on an error.",
  kind = "job_run",
}

C[#C + 1] = command.wait{
  verb = "wait", args = { "PROJECT", "JOB", "RUN" }, options = { "json" },
  summary = "wait until a job run finishes, showing its progress",
  details = [[
On a terminal: a progress bar (payloads done out of total, succeeded,
failed, elapsed time, status); otherwise one line each time the run
changes. Failed polls show as they happen; see `intuned --help` (waits).
]],
  exits = "0 the run succeeded, 1 it finished unsuccessfully, 3 error, 4 timeout, 130 Ctrl-C.",
  kind = "job_run",
}

C[#C + 1] = command.action{
  verb = "terminate", args = { "PROJECT", "JOB", "RUN" }, options = { "json" },
  summary = "terminate a job run (it ends TERMINATED)",
  method = "terminate_job_run",
  said = function(_, _, _, _, run_id) return "terminated job run " .. safe(run_id) end,
}

-- Text written to a terminal: each line escaped, line ends kept.
local function write_escaped(out, body)
  for line, nl in body:gmatch("([^\n]*)(\n?)") do
    if line == "" and nl == "" then
      break
    end
    out:write(safe(line), nl)
  end
end

C[#C + 1] = {
  verb = "results", args = { "PROJECT", "JOB", "RUN" }, options = { "output", "max-bytes", "json" },
  summary = "download a finished job run's results file",
  details = [[
Fetches the file from its signed URL (the API key is not sent there).
Without -o it goes to stdout (escaped when stdout is a terminal). With
--json: without -o the file must be JSON and is printed as one document;
with -o, {"path": ..., "bytes": N} is printed.
]],
  exits = "0, or 3 when the run has no results file yet, the URL expired (fetch again) or the download failed.",
  run = function(ctx, project, job_id, run_id)
    local opts = ctx.opts
    local max_bytes = opts["max-bytes"] and tonumber(opts["max-bytes"])
    if opts["max-bytes"] and not (max_bytes and max_bytes >= 1 and max_bytes % 1 == 0 and max_bytes <= 2 ^ 30) then
      return ctx:usage("option '--max-bytes' must be a whole number of bytes, at most 1 GiB")
    end
    if opts.output == "" then
      return ctx:usage("option '--output' needs a file name")
    end
    local res, err = ctx:call("get_job_run", project, job_id, run_id)
    if not res then
      return ctx:fail(err)
    end
    local decode = ctx.json and not opts.output
    local body, derr, meta = ctx:call("download_results", res, {
      path = opts.output, max_bytes = max_bytes and math.floor(max_bytes), decode = decode,
      keep_nulls = decode or nil,
    })
    if not body then
      local signed = type(res.results) == "table" and res.results.signed_url or nil
      return ctx:fail(derr, require("intuned.cli.errors").host_of(signed))
    end
    local out = ctx.io.stdout
    if opts.output then
      if ctx.json then
        output.json(out, { path = opts.output, bytes = meta.bytes or 0 })
      else
        ctx.io.stderr:write(("wrote %s bytes to %s\n"):format(num(meta.bytes or 0), safe(opts.output)))
      end
    elseif decode then
      if type(body) ~= "table" then
        return ctx:report("the results file is not JSON (use it without --json)", 3)
      end
      output.json(out, body)
    elseif output.is_tty(1) then
      write_escaped(out, body)
    else
      out:write(body)
    end
    return 0
  end,
}

return C
