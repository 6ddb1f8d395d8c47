-- intuned auth-sessions list|get|delete|create|validate|update|result|wait

local command = require("intuned.cli.command")
local output = require("intuned.cli.output")

local safe = output.safe

-- The fields of a session that are not its id, type and status, sorted.
local function other_fields(s)
  local rest = {}
  for k in pairs(s) do
    if k ~= "id" and k ~= "type" and k ~= "status" and type(k) == "string" then
      rest[#rest + 1] = k
    end
  end
  table.sort(rest)
  return rest
end

local function session_summary(out, s, project, id)
  local rows = {
    { "Auth session", ("%s (project %s)"):format(safe(s.id or id), safe(project)) },
    { "Type", s.type },
    { "Status", s.status },
  }
  for _, k in ipairs(other_fields(s)) do
    rows[#rows + 1] = { safe(k), s[k] }
  end
  output.fields(out, rows)
end

local C = {}

C[#C + 1] = command.list{
  what = "auth sessions", method = "list_auth_sessions",
  columns = { { "ID", "id" }, { "TYPE", "type" }, { "STATUS", "status" } },
}

C[#C + 1] = command.show{
  verb = "get", args = { "PROJECT", "SESSION" }, options = { "json" },
  summary = "print an auth session",
  method = "get_auth_session",
  print = function(out, s, _, project, id) session_summary(out, s, project, id) end,
}

C[#C + 1] = command.action{
  verb = "delete", args = { "PROJECT", "SESSION" }, options = { "json" },
  summary = "delete an auth session",
  method = "delete_auth_session",
  said = function(_, meta, _, id) return "deleted auth session " .. safe(id) .. command.gone(meta) end,
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
  return command.start{
    verb = name, args = args, options = { "file", "wait", "json" },
    summary = summary, details = details,
    option_help = name == "validate" and {
      file = "the body as JSON (- for standard input); default: none (standard input is not read)",
    } or nil,
    exits = "0 started (with --wait: done), 1 the operation failed or was canceled, 2 a bad body, 3, 4 (--wait).",
    method = spec.start, kind = spec.kind,
    body = "the " .. name .. " request", body_required = name ~= "validate",
    ids = function(res, project, id) return spec.ids(project, id, res.operationId) end,
    said = function(res, ids)
      local id = name ~= "create" and ids[2] or nil
      return ("started %s: operation %s (%s)\nwait for it: %s"):format(name, safe(res.operationId),
        safe(res.status), hint(ids[1], name, id, res.operationId))
    end,
    announce = function(res) return ("started %s: operation %s"):format(name, safe(res.operationId)) end,
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

-- result and wait: KIND [SESSION] OPERATION, SESSION for validate and update;
-- -> the kind and the ids, or nil and the exit status.
local function read_ids(ctx, project, name, ...)
  local spec = OPERATIONS[name or ""]
  if not spec then
    return nil, ctx:usage("the kind of operation must be create, validate or update")
  end
  local words = { project, name, ... }
  local want = name == "create" and 3 or 4
  if #words ~= want then
    return nil, ctx:usage(name == "create" and "'create' takes OPERATION" or
      ("'%s' takes SESSION OPERATION"):format(name))
  end
  return spec.kind, spec.ids(project, words[3], words[4] or words[3])
end

C[#C + 1] = command.result{
  verb = "result", args = { "PROJECT", "KIND", "[SESSION]", "OPERATION" }, nargs = { 3, 4 },
  options = { "json" },
  summary = "print an operation's status (KIND: create, validate or update)",
  details = [[
  intuned auth-sessions result my-project create OPERATION
  intuned auth-sessions result my-project validate SESSION OPERATION
]],
  exits = "0, or 1 when the operation failed or was canceled (still going: 0); 3 on an error.",
  target = read_ids,
}

C[#C + 1] = command.wait{
  verb = "wait", args = { "PROJECT", "KIND", "[SESSION]", "OPERATION" }, nargs = { 3, 4 },
  options = { "json" },
  summary = "wait until an operation is done, failed or canceled",
  exits = "0 done, 1 failed or canceled, 3 error, 4 timeout, 130 Ctrl-C.",
  target = read_ids,
}

return C
