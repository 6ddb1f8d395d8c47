-- The fault matrix (spec/support/fault_matrix.lua), one spec per row: the
-- scenario, what the caller gets and how many attempts it takes.
local matrix = require("support.fault_matrix")
local fx = require("support.fixtures")

describe("fault matrix", function()
  for _, row in ipairs(matrix.rows) do
    local want = row.ok and "the run" or ("%s%s"):format(row.kind,
      row.status and (" " .. row.status) or "")
    it(("%s -> %s after %d attempt(s)"):format(row.name, want, row.attempts), function()
      local res, err, meta, time = matrix.run(row)
      local good, why = matrix.verify(row, res, err, meta, time)
      assert(good, why)
      if res then
        assert.are.equal("table", type(res.jobRun))
      else
        assert.are.equal("string", type(err.message))
        assert.truthy(tostring(err):find("attempts=" .. row.attempts, 1, true))
      end
    end)
  end

  it("sends each retry of a row to the emulator (its log counts the attempts)", function()
    local row = { scenario = "always-503", kind = "api", status = 503, attempts = 3 }
    local _, err, _, _, run_id = matrix.run(row)
    assert.are.equal(3, err.attempts)
    assert.are.equal(3, #fx.server():requests("/runs/" .. run_id))
  end)
end)

describe("the fault matrix table of docs/reliability.md", function()
  local file = assert(io.open("docs/reliability.md"))
  local readme = file:read("*a")
  file:close()
  local section = readme:match("\n## The fault matrix\n(.-)\n## ") or ""

  it("lists every row of the matrix with its outcome and attempts", function()
    for _, row in ipairs(matrix.rows) do
      local outcome = row.ok and "the run" or ("`%s`%s"):format(row.kind, row.status and (" " .. row.status) or "")
      local line = ("| %s | %s | %d |"):format(row.name, outcome, row.attempts)
      assert(section:find(line, 1, true), "docs/reliability.md lacks: " .. line)
    end
  end)
end)
