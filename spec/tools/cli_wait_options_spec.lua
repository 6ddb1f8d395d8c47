-- Every wait of the command line (the wait commands, and the starts with
-- --wait) takes the same four wait options, shows its progress, and exits
-- 4 when its --timeout comes first.
local cli = require("support.cli")
local files = require("support.files")
local fx = require("support.fixtures")

local P = "my-project"
local SLOW = 100000 -- polls before the emulator's things end: never, here
local OPTIONS = " --interval 0.1 --max-interval 0.2 --timeout 1 --progress lines"

describe("every wait of the command line", function()
  local client, dir
  setup(function()
    fx.server():reset()
    client = fx.client()
    dir = cli.tmpdir()
    assert(client:create_job(P, { id = "slow-job", payload = { { apiName = "a", parameters = { polls = SLOW } } },
      configuration = { maxConcurrentRequests = 1 } }))
  end)
  teardown(function()
    client:close()
    os.execute("rm -rf " .. cli.quote(dir))
    fx.server():reset()
  end)

  local function file(name, text)
    local path = dir .. "/" .. name
    files.write(path, text)
    return path
  end

  -- name -> a function making the command line (after `intuned`)
  local COMMANDS = {
    { "job-runs wait", function() return "job-runs wait p j " .. fx.id("running") end },
    { "jobs trigger --wait", function() return "jobs trigger " .. P .. " slow-job --wait" end },
    { "runs start --wait", function()
      return "runs start " .. P .. " details --param polls:=" .. SLOW .. " --wait"
    end },
    { "runs wait", function()
      local started = assert(client:start_run(P, { api = "details", parameters = { polls = SLOW } }))
      return "runs wait " .. P .. " " .. started.runId
    end },
    { "auth-sessions create --wait", function()
      return "auth-sessions create " .. P .. " --wait --file "
        .. file("create.json", '{"parameters":{"polls":' .. SLOW .. '}}')
    end },
    { "auth-sessions validate --wait", function()
      return "auth-sessions validate " .. P .. " auth-session-123 --wait --file "
        .. file("validate.json", '{"polls":' .. SLOW .. '}')
    end },
    { "auth-sessions update --wait", function()
      return "auth-sessions update " .. P .. " auth-session-456 --wait --file "
        .. file("update.json", '{"parameters":{"polls":' .. SLOW .. '}}')
    end },
    { "auth-sessions wait", function()
      local started = assert(client:start_auth_session_create(P, { parameters = { polls = SLOW } }))
      return "auth-sessions wait " .. P .. " create " .. started.operationId
    end },
  }

  for _, command in ipairs(COMMANDS) do
    it(command[1] .. " takes --interval, --max-interval, --timeout, --progress and exits 4 at its timeout", function()
      local args = command[2]()
      local out, err, code = cli.run(args .. OPTIONS)
      assert.are.equal(4, code, args .. "\n" .. out .. err)
      assert.truthy((out .. err):find("within 1s", 1, true), args .. "\n" .. out .. err)
      local _, polls = (out .. err):gsub("\n", "\n")
      assert.is_true(polls >= 2, args .. "\n" .. out .. err)
    end)
  end
end)
