-- Start many Run API runs (one per page), wait for all of them at once,
-- report the ones that did not complete.
--
--   export INTUNED_WORKSPACE_ID=... INTUNED_API_KEY=...
--   lua examples/many_runs.lua PROJECT API [COUNT]
local intuned = require("intuned")

local project, api = arg[1], arg[2]
local count = tonumber(arg[3] or "100")
if not (project and api and count) then
  io.stderr:write("usage: lua examples/many_runs.lua PROJECT API [COUNT]\n")
  os.exit(2)
end

local client = intuned.new()
local ids, pages = {}, {}
for page = 1, count do
  local started, err = client:start_run(project, { api = api, parameters = { page = page } })
  if started then
    ids[#ids + 1], pages[#ids + 1] = started.runId, page
  else
    print(("page %d: not started: %s"):format(page, tostring(err)))
  end
end
print(("started %d runs"):format(#ids))

local results = client:wait_for_runs(project, ids, {
  interval = tonumber(os.getenv("POLL_INTERVAL") or "5"), concurrency = 16,
  on_progress = function(result, info)
    if intuned.is_terminal(result) and info.finished % 10 == 0 then
      print(("%d of %d finished"):format(info.finished, info.total))
    end
  end,
})
client:close()

local completed, problems = 0, 0
for i, r in ipairs(results) do
  if r.res and r.res.status == "completed" then
    completed = completed + 1
  else
    problems = problems + 1
    local why = r.err and tostring(r.err) or (r.res.status .. ": " .. tostring(r.res.message))
    print(("page %d (run %s): %s"):format(pages[i], ids[i], why))
  end
end
print(("%d completed, %d did not"):format(completed, problems))
os.exit(problems == 0 and 0 or 1)
