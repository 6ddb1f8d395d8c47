-- The contract's paths: which operation a method and a raw path ask for.
-- Paths are /api/v1/workspace/{workspaceId}/projects/{projectName}/ and one
-- of the templates below; path parameters are percent-decoded and never
-- empty. A literal segment wins over a parameter: templates are tried in
-- order, and the first whose shape fits decides (405 when it has no such
-- method), so GET .../auth-sessions/create is a 405, not a session "create".
local http = require("emulator.http")

local M = {}

M.ROUTES = {
  { "run/start", POST = "runApiStart" },
  { "run/{runId}/result", GET = "runApiResult" },
  { "jobs", GET = "getJobs", POST = "createJob" },
  { "jobs/{jobId}", GET = "getJob", PUT = "updateJob", DELETE = "deleteJob" },
  { "jobs/{jobId}/pause", POST = "pauseJob" },
  { "jobs/{jobId}/resume", POST = "resumeJob" },
  { "jobs/{jobId}/trigger", POST = "triggerJob" },
  { "jobs/{jobId}/runs", GET = "getJobRuns" },
  { "jobs/{jobId}/runs/{jobRunId}", GET = "getJobRun" },
  { "jobs/{jobId}/runs/{jobRunId}/terminate", POST = "terminateJobRun" },
  { "auth-sessions", GET = "getAuthSessions" },
  { "auth-sessions/create", POST = "CreateOrUpdateAuthSessionStart" },
  { "auth-sessions/create/{operationId}/result", GET = "createAuthSessionResult" },
  { "auth-sessions/{authSessionId}", GET = "getAuthSession", DELETE = "deleteAuthSession" },
  { "auth-sessions/{authSessionId}/validate/start", POST = "ValidateAuthSessionStart" },
  { "auth-sessions/{authSessionId}/validate/{operationId}/result", GET = "validateAuthSessionResult" },
  { "auth-sessions/{authSessionId}/update", POST = "UpdateAuthSessionStart" },
  { "auth-sessions/{authSessionId}/update/{operationId}/result", GET = "updateAuthSessionResult" },
}

local PREFIX = { "", "api", "v1", "workspace", false, "projects", false }

local METHODS = { "GET", "POST", "PUT", "DELETE" }

-- Templates as segment lists: a string is literal, { name } a parameter.
for _, route in ipairs(M.ROUTES) do
  local segments = {}
  for part in route[1]:gmatch("[^/]+") do
    segments[#segments + 1] = part:match("^{(.*)}$") and { part:match("^{(.*)}$") } or part
  end
  route.segments = segments
  local allow, ops = {}, {}
  for _, method in ipairs(METHODS) do
    if route[method] then
      ops[method] = route[method]
      allow[#allow + 1] = method == "GET" and "GET, HEAD" or method
    end
  end
  route.ops, route.allow = ops, table.concat(allow, ", ")
end

local function fits(route, segments, first)
  if #segments - first + 1 ~= #route.segments then
    return nil
  end
  local params = {}
  for i, want in ipairs(route.segments) do
    local got = segments[first + i - 1]
    if type(want) == "table" then
      if got == "" then
        return nil
      end
      params[want[1]] = http.percent_decode(got)
    elseif got ~= want then
      return nil
    end
  end
  return params
end

--- The route of a raw path (no query): { operation (nil when the method is
-- not allowed there), allow, ws, project, params }; nil for another path.
function M.match(method, path)
  local segments = http.split_path(path)
  for i, want in ipairs(PREFIX) do
    local got = segments[i]
    if not got or (want and got ~= want) or (not want and got == "") then
      return nil
    end
  end
  for _, route in ipairs(M.ROUTES) do
    local params = fits(route, segments, #PREFIX + 1)
    if params then
      return {
        operation = route.ops[method == "HEAD" and "GET" or method],
        allow = route.allow,
        ws = http.percent_decode(segments[5]),
        project = http.percent_decode(segments[7]),
        params = params,
      }
    end
  end
  return nil
end

return M
