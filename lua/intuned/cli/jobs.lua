-- intuned jobs list|get|create|update|delete|pause|resume|trigger

local command = require("intuned.cli.command")
local output = require("intuned.cli.output")

local safe, present, num = output.safe, output.present, output.num

local function count(v)
  return type(v) == "table" and #v or nil
end

local function schedule_text(s)
  if type(s) ~= "table" then
    return nil
  end
  local parts = {}
  if type(s.intervals) == "table" then
    for _, iv in ipairs(s.intervals) do
      if type(iv) == "table" then
        parts[#parts + 1] = "every " .. output.text(iv.every) .. (type(iv.every) == "number" and " s" or "")
      end
    end
  end
  if type(s.calendars) == "table" then
    for _, c in ipairs(s.calendars) do
      if type(c) == "table" then
        parts[#parts + 1] = present(c.comment) and output.text(c.comment) or output.text(c)
      end
    end
  end
  if present(s.jitter) then
    parts[#parts + 1] = "jitter " .. output.text(s.jitter) .. " s"
  end
  return #parts > 0 and table.concat(parts, "; ") or output.text(s)
end

local function sink_text(s)
  if type(s) ~= "table" then
    return nil
  end
  local where = s.url or s.bucket
  return safe(s.type or "?") .. (present(where) and (" " .. safe(output.hide_password(where))) or "")
end

local function payload_text(p)
  if type(p) ~= "table" then
    return nil
  end
  local names = {}
  for i, item in ipairs(p) do
    if i > 5 then
      names[#names + 1] = "..."
      break
    end
    names[#names + 1] = type(item) == "table" and safe(item.apiName or "?") or "?"
  end
  return ("%d %s%s"):format(#p, #p == 1 and "entry" or "entries",
    #names > 0 and (": " .. table.concat(names, ", ")) or "")
end

local function proxy_text(p)
  if type(p) == "table" then
    p = p.url
  end
  return output.hide_password(p)
end

local function reason_text(r)
  if type(r) ~= "table" then
    return nil
  end
  return ("%s: %s"):format(safe(r.type or "reason"), safe(r.message))
end

local function job_summary(out, job, project)
  local conf = type(job.configuration) == "table" and job.configuration or {}
  local retry = type(conf.retry) == "table" and conf.retry.maximumAttempts or nil
  output.fields(out, {
    { "Job", ("%s (project %s)"):format(safe(job.id), safe(project)) },
    { "State", job.state },
    { "Reason", reason_text(job.reason) },
    { "Payload", payload_text(job.payload) },
    { "Concurrency", present(conf.maxConcurrentRequests) and (num(conf.maxConcurrentRequests)
      .. " requests at a time") or nil },
    { "Retries", present(retry) and (num(retry) .. " attempts at most") or nil },
    { "Timeout", present(conf.requestTimeout) and (num(conf.requestTimeout) .. " s per request") or nil },
    { "Schedule", schedule_text(job.schedule) or "none" },
    { "Sink", sink_text(job.sink) },
    { "Proxy", proxy_text(job.proxy) },
    { "Auth session", type(job.auth_session) == "table" and job.auth_session.id or nil },
    { "Created", job.created_at },
    { "Last run", job.last_run_time },
    { "Next run", job.next_run_time },
  })
end

local C = {}

C[#C + 1] = command.list{
  what = "jobs", method = "list_jobs",
  columns = {
    { "ID", "id" },
    { "STATE", "state" },
    { "PAYLOADS", function(j) return count(j.payload) end },
    { "SCHEDULE", function(j) return present(j.schedule) and "yes" or "no" end },
    { "LAST RUN", "last_run_time" },
    { "NEXT RUN", "next_run_time" },
  },
}

C[#C + 1] = command.show{
  verb = "get", args = { "PROJECT", "JOB" }, options = { "json" },
  summary = "print a job's definition and state",
  method = "get_job",
  print = function(out, job, _, project) job_summary(out, job, project) end,
}

C[#C + 1] = command.action{
  verb = "create", args = { "PROJECT" }, options = { "file", "json" },
  summary = "create a job from its JSON definition (JobCreateRequest)",
  details = [[
The body has the API's field names: id, payload (an array of {apiName,
parameters, ...}), configuration, and optionally schedule, sink, proxy,
auth_session. For example:

  {"id": "nightly-scrape",
   "payload": [{"apiName": "list-products", "parameters": {"category": "shoes"}}],
   "configuration": {"maxConcurrentRequests": 5}}
]],
  method = "create_job", body = "the job", body_required = true,
  said = function(res, _, project, body)
    return ("created job %s in project %s"):format(safe(res.id or body.id), safe(project))
  end,
}

C[#C + 1] = command.action{
  verb = "update", args = { "PROJECT", "JOB" }, options = { "file", "json" },
  summary = "replace a job's definition (JobUpdateRequest)",
  details = [[
Takes what `intuned jobs get PROJECT JOB --json` prints, edited: the fields
of a read job that an update has no place for (id, state, created_at, ...)
are left out.

  intuned jobs get my-project nightly-scrape --json >job.json
  intuned jobs update my-project nightly-scrape --file job.json
]],
  method = "update_job", body = "the job", body_required = true,
  said = function(_, _, _, job_id) return "updated job " .. safe(job_id) end,
}

-- delete, pause, resume: one request, one line.
local function simple(verb, method, summary, done)
  return command.action{
    verb = verb, args = { "PROJECT", "JOB" }, options = { "json" }, summary = summary,
    method = method,
    said = function(_, meta, _, job_id) return done .. " job " .. safe(job_id) .. command.gone(meta) end,
  }
end

C[#C + 1] = simple("delete", "delete_job", "delete a job and its runs", "deleted")
C[#C + 1] = simple("pause", "pause_job", "pause a job: no scheduled runs, running ones slow down", "paused")
C[#C + 1] = simple("resume", "resume_job", "resume a paused job", "resumed")

local function triggered(res, ids)
  return ("triggered job %s: job run %s"):format(safe(ids[2]), safe(res.jobRunId))
end

C[#C + 1] = command.start{
  verb = "trigger", args = { "PROJECT", "JOB" }, options = { "wait", "json" },
  summary = "start a run of the job now (with --wait: and wait for it)",
  details = [[
Prints the new job run's id. With --wait, waits for the run as `intuned
job-runs wait` does, and exits as it does. A paused job cannot be
triggered (HTTP 400).
]],
  exits = "0 triggered (with --wait: the run succeeded), 1 the run ended unsuccessfully, 3, 4 (--wait).",
  method = "trigger_job", kind = "job_run",
  ids = function(res, project, job_id) return { project, job_id, res.jobRunId } end,
  said = triggered, announce = triggered,
}

return C
