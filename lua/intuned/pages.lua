-- client:each_job_run: every run of a job, page after page, for a `for`
-- loop. Pages are numbered from 0, as the API's docs show.

local check = require("intuned.check")
local retry = require("intuned.retry")

local M = {}

M.DEFAULT_PAGE_SIZE = 50

local PAGE_OPTIONS = {
  page_size = true, sort_by = true, timeout = true, deadline = true, retry = true,
  keep_nulls = true,
}

-- client:each_job_run(project, job_id [, opts]) -> iterator
--   for run, err in client:each_job_run(...) do ... end
-- opts: page_size (default 50), sort_by, and the call options of
-- list_job_runs. The loop ends once it has seen totalCount runs, or after
-- an empty page. A failed page is not lost: the loop gets false, err once,
-- then ends. Misuse raises here; the first page is read when the loop asks
-- for its first run, not before.
function M.each_job_run(self, project, job_id, opts)
  opts = check.options(opts, PAGE_OPTIONS, "each_job_run", 1)
  check.segment(project, "project", 1)
  check.segment(job_id, "job_id", 1)
  local call = {}
  for k, v in pairs(opts) do
    call[k] = v
  end
  call.page_size = call.page_size or M.DEFAULT_PAGE_SIZE
  local size = tonumber(call.page_size)
  if not size or size < 1 or size % 1 ~= 0 then
    check.fail("option 'page_size' must be a whole number >= 1", 1)
  end
  if call.sort_by ~= nil and (type(call.sort_by) ~= "string" or call.sort_by:find("%c")) then
    check.fail("option 'sort_by' must be a string", 1)
  end
  check.seconds(opts, "timeout", 1)
  check.seconds(opts, "deadline", 1)
  if opts.retry ~= nil then
    check.retry(opts.retry, retry.DEFAULTS, 1)
  end
  call.page_number = 0
  local page, err
  local index, seen, total, done, started = 0, 0, nil, false, false
  return function()
    if not started then
      started = true
      page, err = self:list_job_runs(project, job_id, call)
    end
    while not done do
      if not page then
        done = true
        return false, err
      end
      total = type(page.totalCount) == "number" and page.totalCount or total
      index = index + 1
      local run = page.jobRuns[index]
      if run ~= nil then
        seen = seen + 1
        return run
      end
      if index == 1 or (total and seen >= total) then
        done = true -- an empty page, or every run seen
        return nil
      end
      call.page_number = call.page_number + 1
      index = 0
      page, err = self:list_job_runs(project, job_id, call)
    end
    return nil
  end
end

return M
