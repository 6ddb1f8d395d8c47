-- The three kinds of things the command line shows and waits for: job
-- runs, Run API runs and auth-session operations. Each is the library's
-- kind (intuned.wait.KINDS: how one poll goes, where its status is, what
-- counts as a change) with what the command line adds: its progress bar
-- and plain line, its name, its summary, and which final statuses mean it
-- went badly.

local intuned = require("intuned")
local output = require("intuned.cli.output")
local engine = require("intuned.wait") -- the library's polling engine

local safe, num, present = output.safe, output.num, output.present

local M = {}

local BAR_WIDTH = 24

local function finished(status)
  return intuned.is_terminal(type(status) == "string" and status or "?") and "finished" or "not finished"
end

---------------------------------------------------------------------------
-- Job runs
---------------------------------------------------------------------------

-- A job run's payloads: done (succeeded and failed), total, succeeded,
-- failed.
local function counts(run)
  local ok, failed = run.successful_runs, run.failed_runs
  local done = (type(ok) == "number" and ok or 0) + (type(failed) == "number" and failed or 0)
  return done, run.payloads, ok, failed
end
M.counts = counts

-- One frame of the bar, without the carriage return; run may be nil
-- (no successful poll yet).
local function job_run_bar(run, elapsed)
  if not run then
    return ("[%s] ?/? payloads  %s"):format(("-"):rep(BAR_WIDTH), output.clock(elapsed))
  end
  local done, total, ok, failed = counts(run)
  local fill = 0
  if type(total) == "number" and total > 0 then
    fill = math.floor(BAR_WIDTH * math.min(done, total) / total)
  end
  return ("[%s%s] %s/%s payloads  %s ok  %s failed  %s  %s"):format(
    ("#"):rep(fill), ("-"):rep(BAR_WIDTH - fill), num(done), num(total),
    num(ok), num(failed), output.clock(elapsed), safe(run.status))
end

local function job_run_compact(run, elapsed)
  if not run then
    return output.clock(elapsed)
  end
  local done, total = counts(run)
  return ("%s/%s  %s  %s"):format(num(done), num(total), output.clock(elapsed), safe(run.status))
end

local function job_run_line(run, elapsed)
  local done, total, ok, failed = counts(run)
  return ("[%6.1fs] %s: %s/%s payloads done (%s ok, %s failed)"):format(
    elapsed, safe(run.status), num(done), num(total), num(ok), num(failed))
end

local function job_run_summary(out, res, ids)
  local run = res.jobRun
  local done, total, ok, failed = counts(run)
  local rows = {
    { "Job run", ("%s (project %s, job %s)"):format(safe(run.id), safe(ids[1]), safe(run.job_id or ids[2])) },
    { "Status", ("%s (%s)"):format(safe(run.status), finished(run.status)) },
    { "Payloads", ("%s/%s done, %s succeeded, %s failed"):format(num(done), num(total), num(ok), num(failed)) },
    { "Type", run.type },
    { "Started", run.start_time },
    { "Ended", run.end_time },
  }
  if type(run.error) == "table" then
    rows[#rows + 1] = { "Error", ("%s: %s"):format(safe(run.error.code or "error"), safe(run.error.message)) }
  end
  if type(run.reason) == "table" then
    rows[#rows + 1] = { "Reason", ("%s: %s"):format(safe(run.reason.type or "reason"), safe(run.reason.message)) }
  end
  if type(res.results) == "table" then
    rows[#rows + 1] = { "Results", ("%s file, expires %s"):format(safe(res.results.format),
      safe(res.results.signed_url_expiration or "?")) }
  end
  output.fields(out, rows)
end

M.job_run = {
  bar = job_run_bar,
  compact = job_run_compact,
  line = job_run_line,
  summary = job_run_summary,
  bad = { FAILURE = true, CANCELED = true, TERMINATED = true },
  name = function(ids) return "job run " .. ids[3] end,
}

---------------------------------------------------------------------------
-- Run API runs and auth-session operations: a status, no counts
---------------------------------------------------------------------------

local function status_bar(label)
  return function(st, elapsed)
    return ("%s  %s  %s"):format(label, output.clock(elapsed), st and safe(st.status) or "(no answer yet)")
  end
end

local function status_compact(st, elapsed)
  return output.clock(elapsed) .. (st and ("  " .. safe(st.status)) or "")
end

local function status_line(st, elapsed)
  return ("[%6.1fs] %s"):format(elapsed, safe(st.status))
end

-- The error or reason object of a result as "code: message".
local function problem(v, key)
  if type(v) == "table" then
    return ("%s: %s"):format(safe(v[key] or "error"), safe(v.message))
  end
  return v
end

local function run_summary(out, res, ids)
  output.fields(out, {
    { "Run", ("%s (project %s)"):format(safe(res.runId or ids[2]), safe(ids[1])) },
    { "Status", ("%s (%s)"):format(safe(res.status), finished(res.status)) },
    { "Result", res.result },
    { "Error", problem(res.error, "code") },
    { "Message", not present(res.error) and res.message or nil },
    { "Reason", problem(res.reason, "type") },
  })
end

local function operation_summary(kind)
  return function(out, res, ids)
    local session = res.authSessionId or (kind ~= "create" and ids[2] or nil)
    local op = kind == "create" and ids[2] or ids[3]
    output.fields(out, {
      { "Operation", ("%s (%s, project %s)"):format(safe(op), kind, safe(ids[1])) },
      { "Status", ("%s (%s)"):format(safe(res.status), finished(res.status)) },
      { "Session", session },
      { "Run", res.runId },
      { "Error", problem(res.error, "code") },
      { "Reason", problem(res.reason, "type") },
    })
  end
end

M.run = {
  line = status_line,
  summary = run_summary,
  bad = { failed = true, canceled = true },
  name = function(ids) return "run " .. ids[2] end,
}

local OPERATION_BAD = { failed = true, canceled = true }

M.auth_create = {
  name = function(ids) return "create operation " .. ids[2] end,
  summary = operation_summary("create"),
}
M.auth_validate = {
  name = function(ids) return "validate operation " .. ids[3] .. " of " .. ids[2] end,
  summary = operation_summary("validate"),
}
M.auth_update = {
  name = function(ids) return "update operation " .. ids[3] .. " of " .. ids[2] end,
  summary = operation_summary("update"),
}
for _, kind in ipairs({ M.auth_create, M.auth_validate, M.auth_update }) do
  kind.line, kind.bad = status_line, OPERATION_BAD
end
for _, kind in ipairs({ M.run, M.auth_create, M.auth_validate, M.auth_update }) do
  kind.compact = status_compact
end
for _, name in ipairs({ "job_run", "run", "auth_create", "auth_validate", "auth_update" }) do
  local base = engine.KINDS[name]
  M[name].poll, M[name].state, M[name].fields = base.poll, base.state, base.fields
end

-- The bar of a kind for the thing `ids` names.
function M.bar(kind, ids)
  if kind.bar then
    return kind.bar
  end
  return status_bar(safe(kind.name(ids)))
end

-- The state of a result (a job run's result holds it in jobRun).
M.state = engine.state

-- Exit status 1 when the state is final and went badly, else 0.
function M.exit_for(kind, st)
  return (type(st) == "table" and kind.bad[st.status]) and 1 or 0
end

return M
