-- Start a Run API run, wait for it with progress, print its result.
--
--   export INTUNED_WORKSPACE_ID=... INTUNED_API_KEY=...
--   lua examples/run_api.lua PROJECT API [PARAM=VALUE ...]
local intuned = require("intuned")

local project, api = arg[1], arg[2]
if not (project and api) then
  io.stderr:write("usage: lua examples/run_api.lua PROJECT API [PARAM=VALUE ...]\n")
  os.exit(2)
end
local parameters = {}
for i = 3, #arg do
  local name, value = arg[i]:match("^([^=]+)=(.*)$")
  if not name then
    io.stderr:write("not PARAM=VALUE: ", arg[i], "\n")
    os.exit(2)
  end
  parameters[name] = tonumber(value) or value
end

local client = intuned.new()
local res, err = client:run(project, { api = api, parameters = parameters }, {
  interval = tonumber(os.getenv("POLL_INTERVAL") or "5"),
  on_progress = function(result, info)
    print(("[%5.1fs] %s"):format(info.elapsed, result.status))
  end,
})
client:close()
if not res then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
if res.status ~= "completed" then
  print(("run %s %s: %s"):format(res.runId, res.status, tostring(res.message)))
  os.exit(1)
end
local ok, cjson = pcall(require, "cjson")
-- lua-cjson writes every "/" as "\/"; a raw "/" never occurs in its output.
print("result: " .. (ok and cjson.encode(res.result):gsub("\\/", "/") or tostring(res.result)))
