-- The shapes the commands share. Each constructor takes a command table
-- (verb, args, options, summary, details, exits, ...: what intuned.cli and
-- intuned.cli.help read), gives it its `run` and returns it, so that the
-- commands of a group are data:
--
--   show{ method, print }      one request; --json prints the answer, else
--                              print(out, answer, meta, arguments...)
--   list{ what, method, columns }
--                              show for `list PROJECT` (verb, args, --json
--                              and summary made from `what`: "jobs"): a
--                              table, or a line saying there are none
--   action{ method, said }     show as the line said(answer, meta, arguments...)
--   result{ kind | target }    one poll of a kind (intuned.cli.kinds), then
--                              its summary
--   wait{ kind | target }      a wait for a kind, then its summary
--   start{ method, kind, ids, said, announce }
--                              a request that starts something; without
--                              --wait the line said(answer, ids), with it the
--                              line announce(answer, ids), then the wait for
--                              ids(answer, words...)
--
-- A request's arguments: the command's words (its positional arguments),
-- then its body when it takes one (`body` names it in messages,
-- `body_required`), then the call options; arguments(ctx, words...) makes
-- them instead (-> a list with its length in n, or nil and the exit
-- status). target(ctx, words...) -> kind, ids (or nil and the exit status)
-- reads the words of a result or a wait when they are not the ids
-- themselves. wait and start add the wait options to `options`.

local kinds = require("intuned.cli.kinds")
local output = require("intuned.cli.output")
local wait = require("intuned.cli.wait")

local unpack = require("intuned.compat").unpack

local M = {}

-- What a delete's line ends with when a retry found the thing gone.
function M.gone(meta)
  return (meta and meta.gone) and " (it was already gone)" or ""
end

local function words_and_body(ctx, c, ...)
  local a = { n = select("#", ...), ... }
  if c.body then
    local body, code = ctx:body(c.body, c.body_required)
    if body == nil and code then
      return nil, code
    end
    a.n = a.n + 1
    a[a.n] = body
  end
  return a
end

-- Calls f (a client method's name, or a function) with the arguments a
-- (a.n of them), then the call options; -> { res, meta, args = a }, or nil
-- and the exit status once the error is written.
local function call(ctx, f, a)
  a[a.n + 1] = ctx:call_options()
  local res, err, meta = ctx:call(f, unpack(a, 1, a.n + 1))
  if not res then
    return nil, ctx:fail(err)
  end
  return { res = res, meta = meta, args = a }
end

-- The command's request, as call returns it.
local function request(ctx, c, ...)
  local a, code
  if c.arguments then
    a, code = c.arguments(ctx, ...)
  else
    a, code = words_and_body(ctx, c, ...)
  end
  if not a then
    return nil, code
  end
  return call(ctx, c.method, a)
end

function M.show(c)
  c.run = function(ctx, ...)
    local r, code = request(ctx, c, ...)
    if not r then
      return code
    end
    if ctx.json then
      output.json(ctx.io.stdout, r.res)
    else
      c.print(ctx.io.stdout, r.res, r.meta, unpack(r.args, 1, r.args.n))
    end
    return 0
  end
  return c
end

function M.list(c)
  c.verb, c.args, c.options = "list", { "PROJECT" }, { "json" }
  c.summary = "list the " .. c.what .. " of a project, as a table"
  c.print = function(out, list, _, project)
    if #list == 0 then
      out:write("no ", c.what, " in project ", output.safe(project), "\n")
    else
      output.table(out, c.columns, list)
    end
  end
  return M.show(c)
end

function M.action(c)
  c.print = function(out, ...)
    out:write(c.said(...), "\n")
  end
  return M.show(c)
end

local function target(ctx, c, ...)
  if c.target then
    return c.target(ctx, ...)
  end
  return c.kind, { ... }
end

function M.result(c)
  c.run = function(ctx, ...)
    local kind, ids = target(ctx, c, ...)
    if not kind then
      return ids
    end
    local r, code = call(ctx, kinds[kind].poll, { ctx.client, ids, n = 2 })
    if not r then
      return code
    end
    return wait.show(ctx, kind, ids, r.res)
  end
  return c
end

-- -> the exit status of the wait, or of its summary.
local function wait_and_show(ctx, kind, ids, o)
  local res, code = wait.wait(ctx, kind, ids, o)
  if not res then
    return code
  end
  return wait.show(ctx, kind, ids, res)
end

-- c with the wait options; its run reads them, then calls
-- run(ctx, wait options, words...).
local function with_wait(c, run)
  c.options = wait.with_options(c.options)
  c.run = function(ctx, ...)
    local o, problem = ctx:wait_options()
    if not o then
      return ctx:usage(problem)
    end
    return run(ctx, o, ...)
  end
  return c
end

function M.wait(c)
  return with_wait(c, function(ctx, o, ...)
    local kind, ids = target(ctx, c, ...)
    if not kind then
      return ids
    end
    return wait_and_show(ctx, kind, ids, o)
  end)
end

function M.start(c)
  return with_wait(c, function(ctx, o, ...)
    local r, code = request(ctx, c, ...)
    if not r then
      return code
    end
    local ids = c.ids(r.res, ...)
    if not ctx.opts.wait then
      if ctx.json then
        output.json(ctx.io.stdout, r.res)
      else
        ctx.io.stdout:write(c.said(r.res, ids), "\n")
      end
      return 0
    end
    ctx.io[ctx.json and "stderr" or "stdout"]:write(c.announce(r.res, ids), "\n")
    return wait_and_show(ctx, c.kind, ids, o)
  end)
end

return M
