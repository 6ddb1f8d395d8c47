-- intuned runs start|result|wait: the Run API

local output = require("intuned.cli.output")
local wait = require("intuned.cli.wait")

local safe = output.safe

local C = {}

C[#C + 1] = {
  verb = "start", args = { "PROJECT", "API" },
  options = wait.with_options({ "param", "params", "wait", "json" }),
  summary = "start a run of one of the project's APIs (with --wait: and wait for it)",
  details = [[
The parameters come from --params FILE (a JSON object), then each --param:
NAME=VALUE sets a string, NAME:=JSON any JSON value.

  intuned runs start my-project details --param url=https://example.com/1 --wait
  intuned runs start my-project search --param query=shoes --param limit:=20
]],
  exits = "0 started (with --wait: completed), 1 the run failed or was canceled, 3, 4 (--wait).",
  run = function(ctx, project, api)
    local o, problem = ctx:wait_options()
    if not o then
      return ctx:usage(problem)
    end
    local params, why, code = require("intuned.cli.input").parameters(ctx.opts, ctx.io.stdin)
    if not params then
      return ctx:report(why, code)
    end
    local res, err = ctx:call("start_run", project, { api = api, parameters = params }, ctx:call_options())
    if not res then
      return ctx:fail(err)
    end
    if not ctx.opts.wait then
      if ctx.json then
        output.json(ctx.io.stdout, res)
      else
        ctx.io.stdout:write("started run ", safe(res.runId), " (", safe(res.status), ")\n")
      end
      return 0
    end
    ctx.io[ctx.json and "stderr" or "stdout"]:write("started run ", safe(res.runId), "\n")
    local ids = { project, res.runId }
    local final, wcode = wait.wait(ctx, "run", ids, o)
    if not final then
      return wcode
    end
    return wait.show(ctx, "run", ids, final)
  end,
}

C[#C + 1] = {
  verb = "result", args = { "PROJECT", "RUN" }, options = { "json" },
  summary = "print a run's status, and its result once completed",
  exits = "0, or 1 when the run failed or was canceled (still going: 0); 3 on an error.",
  run = function(ctx, project, run_id)
    local res, err = ctx:call("get_run_result", project, run_id, ctx:call_options())
    if not res then
      return ctx:fail(err)
    end
    return wait.show(ctx, "run", { project, run_id }, res)
  end,
}

C[#C + 1] = {
  verb = "wait", args = { "PROJECT", "RUN" }, options = wait.with_options({ "json" }),
  summary = "wait until a run is completed, failed or canceled",
  exits = "0 completed, 1 failed or canceled, 3 error, 4 timeout, 130 Ctrl-C.",
  run = function(ctx, project, run_id)
    local o, problem = ctx:wait_options()
    if not o then
      return ctx:usage(problem)
    end
    local ids = { project, run_id }
    local res, code = wait.wait(ctx, "run", ids, o)
    if not res then
      return code
    end
    return wait.show(ctx, "run", ids, res)
  end,
}

for _, c in ipairs(C) do
  c.group = "runs"
end

return C
