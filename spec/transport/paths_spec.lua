local fx = require("support.fixtures")

-- Splits the raw request path the emulator saw into its segments.
local function segments(uri)
  local out = {}
  for seg in uri:gsub("%?.*$", ""):gmatch("[^/]+") do out[#out + 1] = seg end
  return out
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

describe("path safety", function()
  local client
  before_each(function() client = fx.client() end)
  after_each(function() client:close() end)

  local tricky = {
    "a/b", "a?b=c", "a#frag", "100%", "%2F", "with space", "caf\195\169", "\230\151\165\230\156\172",
    "../..", "a/../b", "...", "~user", "+plus&amp=1;x", "'quote\"",
  }

  for _, s in ipairs(tricky) do
    it(("sends %q as exactly one path segment each"):format(s), function()
      local project, job, run = "p-" .. s, "j-" .. s, "echo." .. s
      local res, err, meta = client:get_job_run(project, job, run)
      assert.is_nil(err)
      assert.are.equal(run, res.jobRun.id)
      assert.are.equal(job, res.jobRun.job_id)
      local segs = segments(meta.headers["x-request-uri"])
      -- api, v1, workspace, {ws}, projects, {project}, jobs, {job}, runs, {run}
      assert.are.equal(10, #segs)
      assert.are.equal(project, unescape(segs[6]))
      assert.are.equal(job, unescape(segs[8]))
      assert.are.equal(run, unescape(segs[10]))
    end)
  end

  it("raises for empty, '.', '..' and non-string ids before any request", function()
    for _, bad in ipairs { "", ".", ".." } do
      assert.has_error(function() client:get_job_run(bad, "j", "r") end)
      assert.has_error(function() client:get_job_run("p", bad, "r") end)
      assert.has_error(function() client:get_job_run("p", "j", bad) end)
    end
    for _, bad in ipairs { 42, true, {}, false } do
      assert.has_error(function() client:get_job_run("p", "j", bad) end)
    end
    assert.has_error(function() client:get_job_run("p", "j") end)
  end)

  it("raises for ids with control bytes", function()
    for _, bad in ipairs { "a\r\nb", "a\0b", "a\tb", "a\127b" } do
      assert.has_error(function() client:get_job_run("p", "j", bad) end)
    end
  end)

  it("never shows the key in an error or in tostring(client)", function()
    local key = fx.server().api_key
    local texts = { tostring(client) }
    for _, scenario in ipairs { "notfound", "html-502", "invalid-json", "redirect-301" } do
      local _, err = client:get_job_run("p", "j", fx.id(scenario))
      texts[#texts + 1] = tostring(err)
      texts[#texts + 1] = tostring(err.message)
    end
    local all = table.concat(texts, "\n")
    assert.is_nil(all:find(key, 1, true))
  end)
end)
