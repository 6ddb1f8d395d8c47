-- The contract, the operations table, the emulator, the docs and the specs
-- in step: every operation of spec/contract/intuned-client.yaml has its
-- entry in intuned.operations (same method, path and body schema), a
-- client method, an emulator route, an entry in the API reference and a
-- spec that calls it; the body checks are the ones generated from it; and
-- the copy of the contract is the shared one, where that is at hand.
local core = require("intuned.core")
local files = require("support.files")
local operations = require("intuned.operations")

local CONTRACT = "spec/contract/intuned-client.yaml"
local SHARED = "../shared/openapi/intuned-client.yaml"
local PYTHON = "/usr/bin/python3"

local function contract_ops()
  local out = files.capture(PYTHON .. " spec/support/contract_ops.py " .. files.quote(CONTRACT) .. " 2>&1")
  local ops = core.decode(out)
  assert(type(ops) == "table", "contract_ops.py: " .. out)
  return ops
end

-- "/jobs/{jobId}/runs/{jobRunId}" -> "/jobs/{}/runs/{}"
local function shape(path)
  return (path:gsub("{[^}]+}", "{}"))
end

local function by_id()
  local index = {}
  for name, op in pairs(operations) do
    index[op.id] = { name = name, op = op }
  end
  return index
end

-- The text of every spec file but this one.
local function spec_texts()
  local text = {}
  for path in files.capture("find spec -name '*_spec.lua' | sort"):gmatch("[^\n]+") do
    if not path:find("coverage_spec", 1, true) then
      text[#text + 1] = files.read(path)
    end
  end
  return table.concat(text, "\n")
end

local function reference()
  return (files.read("docs/api.md") or "") .. (files.read("README.md") or "")
end

describe("coverage of the contract", function()
  local ops = contract_ops()
  local index = by_id()

  it("reads the contract's 22 operations", function()
    assert.are.equal(22, #ops)
  end)

  it("has an operations entry of the same method, path and body for each", function()
    for _, c in ipairs(ops) do
      local entry = index[c.id]
      assert.is_truthy(entry, "no entry in intuned.operations for " .. c.id)
      local op = entry.op
      assert.are.equal(c.method, op.method, c.id)
      assert.are.equal(shape(c.path), shape(op.path), c.id)
      assert.are.equal(c.body or "none", op.body or "none", c.id)
      if c.body and op.optional then
        -- a body the contract requires may be left out only where the client sends one for it
        assert.is_true(not c.body_required or op.optional == "{}", c.id .. ": an empty body is sent")
      end
      local none = c.success[1] == 204
      assert.are.equal(none, op.result == "none", c.id .. ": a 204 gives true")
    end
  end)

  it("has no operations entry the contract does not have", function()
    local known = {}
    for _, c in ipairs(ops) do known[c.id] = true end
    for name, op in pairs(operations) do
      assert.is_true(known[op.id] == true, name .. " (" .. tostring(op.id) .. ") is not in the contract")
    end
  end)

  it("makes a client method of each", function()
    local Client = require("intuned.client").Client
    for _, c in ipairs(ops) do
      local entry = index[c.id]
      assert.are.equal("function", entry and type(Client[entry.name]), c.id)
    end
  end)

  it("has an emulator route for each", function()
    local text = files.read("spec/server/emulator/routes.lua")
    for _, c in ipairs(ops) do
      assert.truthy(text:find('= "' .. c.id .. '"', 1, true), "no emulator route for " .. c.id)
    end
  end)

  it("documents each method in the API reference", function()
    local docs = reference()
    for _, c in ipairs(ops) do
      local name = index[c.id] and index[c.id].name or c.id
      assert.truthy(docs:find("client:" .. name .. "(", 1, true), "no docs entry for client:" .. name)
    end
  end)

  it("documents each operation with the arguments its method takes", function()
    local docs = files.read("docs/api.md")
    local request = require("intuned.request")
    for _, c in ipairs(ops) do
      local entry = index[c.id]
      local op = entry.op
      assert.are.equal(#c.params, request.param_count(op), c.id) -- also splits op.path into op.parts
      local args = { "project" }
      for i = 2, #op.parts, 2 do args[#args + 1] = op.parts[i] end
      local sig = table.concat(args, ", ")
      if op.body then
        sig = sig .. (op.optional and " [, body, opts]" or (", " .. (op.root or "body") .. " [, opts]"))
      else
        sig = sig .. " [, opts]"
      end
      local heading = "### `client:" .. entry.name .. "(" .. sig .. ")"
      assert.truthy(docs:find(heading, 1, true), "docs/api.md lacks " .. heading)
    end
  end)

  it("documents no method the client does not have", function()
    local Client = require("intuned.client").Client
    for name in files.read("docs/api.md"):gmatch("### `client:([%w_]+)%(") do
      assert.are.equal("function", type(Client[name]), "docs/api.md documents client:" .. name)
    end
  end)

  it("calls each method in a spec", function()
    local specs = spec_texts()
    for _, c in ipairs(ops) do
      local name = index[c.id] and index[c.id].name or c.id
      assert.truthy(specs:find(":" .. name .. "(", 1, true), "no spec calls client:" .. name)
    end
  end)

  it("checks bodies with the schemas generated from this contract", function()
    local fresh = files.capture(PYTHON .. " scripts/gen-schemas.py " .. files.quote(CONTRACT))
    assert.are.equal(files.read("lua/intuned/schemas.lua"), fresh,
      "lua/intuned/schemas.lua is stale: run scripts/gen-schemas.py " .. CONTRACT)
  end)

  it("keeps its copy of the contract the same as the shared one", function()
    local shared = files.read(SHARED)
    if shared then
      assert.are.equal(shared, files.read(CONTRACT), CONTRACT .. " differs from " .. SHARED)
    end
  end)
end)
