-- Answers framed every way HTTP/1.x allows, on the libcurl path: the run
-- each call asked for, and the connection kept only where the answer
-- allows it (spec/support/framing.lua; nginx_spec runs the same on each
-- nginx transport).
local framing = require("support.framing")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

describe("answers framed every way HTTP/1.x allows", function()
  local function call(client, id)
    local res, err, meta = client:get_job_run(P, J, id)
    if not res then
      return { error = tostring(err) }
    end
    return { id = res.jobRun.id, status = res.jobRun.status, connection = meta.headers["x-connection"] }
  end

  for _, kind in ipairs(framing.kinds()) do
    it(kind .. ": the run, then the connection kept only if allowed", function()
      local client = fx.client { retry = false }
      local id = fx.id("framing-" .. kind)
      local first = call(client, id)
      local later = {}
      for i, next_id in ipairs(framing.later_ids(id)) do
        later[i] = call(client, next_id)
      end
      client:close()
      framing.verify(kind, id, first, later)
    end)
  end
end)
