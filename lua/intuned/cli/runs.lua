-- intuned runs start|result|wait: the Run API

local command = require("intuned.cli.command")
local input = require("intuned.cli.input")
local output = require("intuned.cli.output")

local safe = output.safe

local C = {}

C[#C + 1] = command.start{
  verb = "start", args = { "PROJECT", "API" }, options = { "param", "params", "wait", "json" },
  summary = "start a run of one of the project's APIs (with --wait: and wait for it)",
  details = [[
The parameters come from --params FILE (a JSON object), then each --param:
NAME=VALUE sets a string, NAME:=JSON any JSON value.

  intuned runs start my-project details --param url=https://example.com/1 --wait
  intuned runs start my-project search --param query=shoes --param limit:=20
]],
  exits = "0 started (with --wait: completed), 1 the run failed or was canceled, 3, 4 (--wait).",
  method = "start_run", kind = "run",
  arguments = function(ctx, project, api)
    local params, why, code = input.parameters(ctx.opts, ctx.io.stdin)
    if not params then
      return nil, ctx:report(why, code)
    end
    return { project, { api = api, parameters = params }, n = 2 }
  end,
  ids = function(res, project) return { project, res.runId } end,
  said = function(res) return ("started run %s (%s)"):format(safe(res.runId), safe(res.status)) end,
  announce = function(res) return "started run " .. safe(res.runId) end,
}

C[#C + 1] = command.result{
  verb = "result", args = { "PROJECT", "RUN" }, options = { "json" },
  summary = "print a run's status, and its result once completed",
  exits = "0, or 1 when the run failed or was canceled (still going: 0); 3 on an error.",
  kind = "run",
}

C[#C + 1] = command.wait{
  verb = "wait", args = { "PROJECT", "RUN" }, options = { "json" },
  summary = "wait until a run is completed, failed or canceled",
  exits = "0 completed, 1 failed or canceled, 3 error, 4 timeout, 130 Ctrl-C.",
  kind = "run",
}

return C
