local intuned = require("intuned")
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

local function storage_url(name)
  local origin = fx.server().base_url:match("^(https?://[^/]+)")
  return origin .. "/storage/" .. name .. "?X-Amz-Signature=abc"
end

local function results_for(name, format)
  return { signed_url = storage_url(name), format = format or "json" }
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end

local function listing(dir)
  local p = io.popen("ls -A '" .. dir .. "'")
  local names = {}
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  table.sort(names)
  return names
end

local function tmpdir()
  local p = io.popen("mktemp -d")
  local dir = p:read("*l")
  p:close()
  return dir
end

describe("download_results", function()
  local client, time, dir
  before_each(function()
    client, time = fx.client()
    dir = tmpdir()
  end)
  after_each(function()
    client:close()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("downloads and decodes a JSON results file from a run's signed_url", function()
    local res = assert(client:get_job_run(P, J, fx.id("ok")))
    local rows, err, meta = client:download_results(res)
    assert.is_nil(err)
    assert.are.equal(3, #rows)
    assert.are.equal("Product 1", rows[1].output.title)
    assert.are.equal(20, rows[2].output.price)
    assert.is_nil(rows[3].output)
    assert.are.equal("Page not found", rows[3].error.message)
    assert.are.equal(200, meta.status)
    local kept = client:download_results(res, { keep_nulls = true })
    assert.are.equal(intuned.null, kept[3].output)
  end)

  it("never sends the API key to storage", function()
    local res = assert(client:get_job_run(P, J, fx.id("ok")))
    local name = res.results.signed_url:match("/storage/([^?]+)")
    local _, _, meta = assert(client:download_results(res))
    assert.are.equal("no", meta.headers["x-saw-api-key"])
    local seen = fx.server():requests("/storage/" .. name)
    assert.are.equal(1, #seen)
    assert.is_nil(seen[1].headers["x-api-key"])
    assert.falsy(seen[1].raw_header:find(fx.server().api_key, 1, true))
    -- while the API request itself did carry it
    assert.are.equal(fx.server().api_key, fx.server():requests(res.jobRun.id)[1].headers["x-api-key"])
  end)

  it("takes the results table itself, and returns the raw text unless the format is json", function()
    local text = assert(client:download_results(results_for("plain-" .. fx.id("x"), "csv")))
    assert.are.equal("string", type(text))
    assert.truthy(text:find('"Product 1"', 1, true))
    local raw = assert(client:download_results(results_for("raw-" .. fx.id("x")), { decode = false }))
    assert.are.equal("string", type(raw))
  end)

  it("streams to opts.path and leaves no temporary file", function()
    local path = dir .. "/results.json"
    local got, err, meta = client:download_results(results_for("big-200000-" .. fx.id("x")), { path = path })
    assert.is_nil(err)
    assert.are.equal(path, got)
    local data = read(path)
    assert.are.equal(200000, #data)
    assert.are.equal(200000, meta.bytes)
    assert.are.equal('["xxx', data:sub(1, 5))
    assert.are.same({ "results.json" }, listing(dir))
  end)

  it("leaves no partial file when the download fails, and keeps an existing one", function()
    local path = dir .. "/results.json"
    local _, err = client:download_results(results_for("big-300000-" .. fx.id("x")),
      { path = path, max_bytes = 100000 })
    assert.are.equal("too_large", err.kind)
    assert.are.same({}, listing(dir))
    local f = assert(io.open(path, "wb"))
    f:write("previous")
    f:close()
    _, err = client:download_results(results_for("expired-" .. fx.id("x")), { path = path })
    assert.are.equal(403, err.status)
    assert.are.equal("previous", read(path))
    assert.are.same({ "results.json" }, listing(dir))
  end)

  it("caps a download in memory with max_bytes", function()
    local body, err = client:download_results(results_for("big-50000-" .. fx.id("x")), { max_bytes = 10000 })
    assert.is_nil(body)
    assert.are.equal("too_large", err.kind)
    assert.is_false(err.retirable)
    local ok = client:download_results(results_for("big-50000-" .. fx.id("x")), { max_bytes = 50000 })
    assert.are.equal(50000 - 4, #ok[1]) -- ["...."]
  end)

  it("explains an expired URL (403): fetch the run again", function()
    local res = assert(client:get_job_run(P, J, fx.id("results-expired")))
    local body, err = client:download_results(res)
    assert.is_nil(body)
    assert.are.equal("api", err.kind)
    assert.are.equal(403, err.status)
    assert.is_true(err.expired)
    assert.are.equal("AccessDenied", err.code)
    assert.truthy(tostring(err):find("fetch the job run again for a fresh signed_url", 1, true), tostring(err))
    assert.are.same({}, time.sleeps) -- not retried
  end)

  it("retries storage hiccups by the normal policy", function()
    local rows, err, meta = client:download_results(results_for("flaky-2-" .. fx.id("x")))
    assert.is_nil(err)
    assert.are.equal(3, #rows)
    assert.are.equal(3, meta.attempts)
    assert.are.same({ 0.25, 0.5 }, time.sleeps)
    local path = dir .. "/r.json"
    assert.are.equal(path, client:download_results(results_for("flaky-1-" .. fx.id("x")), { path = path }))
    assert.are.equal(3, #require("intuned.core").decode(read(path)))
    assert.are.same({ "r.json" }, listing(dir))
  end)

  it("reports a run without results and a bad signed_url as errors", function()
    local res = assert(client:get_job_run(P, J, fx.id("running")))
    local body, err = client:download_results(res)
    assert.is_nil(body)
    assert.are.equal("no_results", err.kind)
    assert.truthy(err.message:find("PENDING", 1, true))
    body, err = client:download_results({ signed_url = "file:///etc/passwd", format = "json" })
    assert.is_nil(body)
    assert.are.equal("decode", err.kind)
  end)

  it("reports a file that cannot be created as an io error", function()
    local _, err = client:download_results(results_for("x-" .. fx.id("x")), { path = dir .. "/no/such/dir/r.json" })
    assert.are.equal("io", err.kind)
    assert.truthy(err.message:find("No such file", 1, true), err.message)
  end)

  it("raises on misuse", function()
    assert.has_error(function() client:download_results("x") end,
      "intuned: download_results expects a get_job_run result or its results table, got string")
    assert.has_error(function() client:download_results({ foo = 1 }) end,
      "intuned: download_results expects a get_job_run result or its results table")
    assert.has_error(function() client:download_results(results_for("x"), { pth = "x" }) end,
      "intuned: unknown download_results option 'pth'")
    assert.has_error(function() client:download_results(results_for("x"), { max_bytes = 0 }) end,
      "intuned: option 'max_bytes' must be an integer from 1 to 1 GiB")
    assert.has_error(function() client:download_results(results_for("x"), { path = "" }) end,
      "intuned: option 'path' must not be empty")
  end)
end)
