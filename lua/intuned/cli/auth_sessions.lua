-- intuned auth-sessions list|get|delete|create|validate|update|result|wait

local output = require("intuned.cli.output")
local wait = require("intuned.cli.wait")

local safe = output.safe

local C = {}

C[#C + 1] = {
  verb = "list", args = { "PROJECT" }, options = { "json" },
  summary = "list the auth sessions of a project, as a table",
  run = function(ctx, project)
    local list, err = ctx:call("list_auth_sessions", project, ctx:call_options())
    if not list then
      return ctx:fail(err)
    end
    if ctx.json then
      output.json(ctx.io.stdout, list)
    elseif #list == 0 then
      ctx.io.stdout:write("no auth sessions in project ", safe(project), "\n")
    else
      output.table(ctx.io.stdout, {
        { "ID", function(s) return s.id end },
        { "TYPE", function(s) return s.type end },
        { "STATUS", function(s) return s.status end },
      }, list)
    end
    return 0
  end,
}

C[#C + 1] = {
  verb = "get", args = { "PROJECT", "SESSION" }, options = { "json" },
  summary = "print an auth session",
  run = function(ctx, project, id)
    local s, err = ctx:call("get_auth_session", project, id, ctx:call_options())
    if not s then
      return ctx:fail(err)
    end
    if ctx.json then
      output.json(ctx.io.stdout, s)
      return 0
    end
    local rows = {
      { "Auth session", ("%s (project %s)"):format(safe(s.id or id), safe(project)) },
      { "Type", s.type },
      { "Status", s.status },
    }
    local rest = {}
    for k in pairs(s) do
      if k ~= "id" and k ~= "type" and k ~= "status" and type(k) == "string" then
        rest[#rest + 1] = k
      end
    end
    table.sort(rest)
    for _, k in ipairs(rest) do
      rows[#rows + 1] = { safe(k), s[k] }
    end
    output.fields(ctx.io.stdout, rows)
    return 0
  end,
}

C[#C + 1] = {
  verb = "delete", args = { "PROJECT", "SESSION" }, options = { "json" },
  summary = "delete an auth session",
  run = function(ctx, project, id)
    local res, err, meta = ctx:call("delete_auth_session", project, id, ctx:call_options())
    if not res then
      return ctx:fail(err)
    end
    if ctx.json then
      output.json(ctx.io.stdout, res)
    else
      ctx.io.stdout:write("deleted auth session ", safe(id), (meta and meta.gone) and " (it was already gone)" or "",
        "\n")
    end
    return 0
  end,
}

-- The kinds of operation: the kind name in intuned.cli.kinds, how to
-- start one, and the ids of its result.
local OPERATIONS = {
  create = { kind = "auth_create", start = "start_auth_session_create",
    ids = function(project, _, op) return { project, op } end },
  validate = { kind = "auth_validate", start = "start_auth_session_validate",
    ids = function(project, id, op) return { project, id, op } end },
  update = { kind = "auth_update", start = "start_auth_session_update",
    ids = function(project, id, op) return { project, id, op } end },
}

-- The command that waits for the operation ("--" first when an id could
-- pass for an option).
local function hint(project, name, id, op)
  local dash = (tostring(id or ""):sub(1, 1) == "-" or tostring(op):sub(1, 1) == "-") and "-- " or ""
  return ("intuned auth-sessions wait %s%s %s %s%s"):format(dash, safe(project), name,
    id and (safe(id) .. " ") or "", safe(op))
end

-- create, validate, update: start the operation, then (--wait) wait for it.
local function operation(name, args, summary, details)
  local spec = OPERATIONS[name]
  return {
    verb = name, args = args, options = wait.with_options({ "file", "wait", "json" }),
    summary = summary, details = details,
    option_help = name == "validate" and {
      file = "the body as JSON (- for standard input); default: none (standard input is not read)",
    } or nil,
    exits = "0 started (with --wait: done), 1 the operation failed or was canceled, 2 a bad body, 3, 4 (--wait).",
    run = function(ctx, project, id)
      local o, problem = ctx:wait_options()
      if not o then
        return ctx:usage(problem)
      end
      local body, code = ctx:body("the " .. name .. " request", name ~= "validate")
      if not body and code then
        return code
      end
      local res, err
      if name == "create" then
        res, err = ctx:call(spec.start, project, body, ctx:call_options())
      else
        res, err = ctx:call(spec.start, project, id, body, ctx:call_options())
      end
      if not res then
        return ctx:fail(err)
      end
      local ids = spec.ids(project, id, res.operationId)
      if not ctx.opts.wait then
        if ctx.json then
          output.json(ctx.io.stdout, res)
        else
          ctx.io.stdout:write(("started %s: operation %s (%s)\nwait for it: %s\n"):format(name,
            safe(res.operationId), safe(res.status), hint(project, name, id, res.operationId)))
        end
        return 0
      end
      ctx.io[ctx.json and "stderr" or "stdout"]:write(("started %s: operation %s\n"):format(name,
        safe(res.operationId)))
      local final, wcode = wait.wait(ctx, spec.kind, ids, o)
      if not final then
        return wcode
      end
      return wait.show(ctx, spec.kind, ids, final)
    end,
  }
end

C[#C + 1] = operation("create", { "PROJECT" }, "create (or recreate) an auth session (AuthSessionCreateRequest)", [[
The body: {"id": ..., "parameters": {...}} and optionally proxy,
createAttempts, checkAttempts, saveTrace.

  echo '{"id": "shop-login", "parameters": {"username": "u", "password": "p"}}' |
    intuned auth-sessions create my-project --wait
]])
C[#C + 1] = operation("validate", { "PROJECT", "SESSION" }, "check that an auth session still works", [[
The body is optional (--file only): AuthSessionValidateRequest, e.g.
{"autoRecreate": true, "checkAttempts": 2}.
]])
C[#C + 1] = operation("update", { "PROJECT", "SESSION" },
  "update an auth session's parameters (AuthSessionUpdateRequest)", [[
The body: {"parameters": {...}} and optionally proxy, createAttempts,
checkAttempts, saveTrace.
]])

-- result and wait: KIND [SESSION] OPERATION, SESSION for validate and update.
local function read_ids(ctx, words)
  local project, name = words[1], words[2]
  local spec = OPERATIONS[name or ""]
  if not spec then
    return nil, ctx:usage("the kind of operation must be create, validate or update")
  end
  local want = name == "create" and 3 or 4
  if #words ~= want then
    return nil, ctx:usage(name == "create" and "'create' takes OPERATION" or
      ("'%s' takes SESSION OPERATION"):format(name))
  end
  return spec, spec.ids(project, words[3], words[4] or words[3])
end

C[#C + 1] = {
  verb = "result", args = { "PROJECT", "KIND", "[SESSION]", "OPERATION" }, nargs = { 3, 4 },
  options = { "json" },
  summary = "print an operation's status (KIND: create, validate or update)",
  details = [[
  intuned auth-sessions result my-project create OPERATION
  intuned auth-sessions result my-project validate SESSION OPERATION
]],
  exits = "0, or 1 when the operation failed or was canceled (still going: 0); 3 on an error.",
  run = function(ctx, ...)
    local spec, ids = read_ids(ctx, { ... })
    if not spec then
      return ids
    end
    local kind = require("intuned.cli.kinds")[spec.kind]
    local res, err = ctx:call(kind.poll, ctx.client, ids, ctx:call_options())
    if not res then
      return ctx:fail(err)
    end
    return wait.show(ctx, spec.kind, ids, res)
  end,
}

C[#C + 1] = {
  verb = "wait", args = { "PROJECT", "KIND", "[SESSION]", "OPERATION" }, nargs = { 3, 4 },
  options = wait.with_options({ "json" }),
  summary = "wait until an operation is done, failed or canceled",
  exits = "0 done, 1 failed or canceled, 3 error, 4 timeout, 130 Ctrl-C.",
  run = function(ctx, ...)
    local o, problem = ctx:wait_options()
    if not o then
      return ctx:usage(problem)
    end
    local spec, ids = read_ids(ctx, { ... })
    if not spec then
      return ids
    end
    local res, code = wait.wait(ctx, spec.kind, ids, o)
    if not res then
      return code
    end
    return wait.show(ctx, spec.kind, ids, res)
  end,
}

for _, c in ipairs(C) do
  c.group = "auth-sessions"
end

return C
