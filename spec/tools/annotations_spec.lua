-- Editor support: lua/intuned/types.lua (LuaLS annotations, installed with
-- the rock) has an annotated entry for every public method of the client
-- and for the shapes of what they return.
local files = require("support.files")

local TYPES = "lua/intuned/types.lua"

describe("LuaLS annotations", function()
  local text = files.read(TYPES)

  it("annotate every public method of the client, with its parameters and results", function()
    local Client = require("intuned.client").Client
    local missing = {}
    for name, fn in pairs(Client) do
      if type(fn) == "function" and not name:find("^__") then
        local block = text:match("\n((%-%-%-@[^\n]*\n)+)function Client:" .. name .. "%(")
        local documented = text:find("\n%-%-%-[^\n]*\nfunction Client:" .. name .. "%(")
        if not (block and block:find("---@return", 1, true)) and not documented then
          missing[#missing + 1] = name
        end
      end
    end
    table.sort(missing)
    assert.are.equal("", table.concat(missing, ", "))
  end)

  it("name each method's parameters as the client takes them", function()
    for name, params in text:gmatch("\nfunction Client:([%w_]+)%(([^)]*)%)") do
      for param in params:gmatch("[%w_]+") do
        assert.truthy(text:find("---@param " .. param .. "%??%s", 1) , name .. ": no @param " .. param)
      end
    end
  end)

  it("describe the result shapes and the error object", function()
    for _, class in ipairs { "JobRun", "Job", "RunResult", "AuthSession", "AuthSessionOperation", "Error",
      "Meta", "Client", "Options" } do
      assert.truthy(text:find("---@class intuned." .. class .. "[%s:]"), "no class intuned." .. class)
    end
  end)

  it("are installed with the rock", function()
    assert.truthy(files.read("intuned-scm-1.rockspec"):find('"lua/intuned/types.lua"', 1, true))
  end)
end)
