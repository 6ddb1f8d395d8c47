-- A server or middlebox that writes a complete response nobody asked for on
-- an idle kept-alive connection must not shift the answers of later calls:
-- a reused HTTP/1 connection with bytes waiting is dropped before a request
-- goes out on it, and the request goes out on a fresh one. HTTP/2
-- connections, where frames arrive at any time, keep being reused.
local fx = require("support.fixtures")

local P, J = fx.PROJECT, fx.JOB

local function stray_sent(srv, name)
  return fx.eventually(function()
    return #srv:requests("/__event/stray-sent/" .. name) > 0
  end)
end

describe("a stray response on a kept-alive connection", function()
  local srv = fx.server()

  it("leaves every later call of a session with the run it asked for", function()
    local client = fx.client()
    local id = fx.id("stray")
    local res = assert(client:get_job_run(P, J, id))
    assert.are.equal(id, res.jobRun.id)
    assert.is_true(stray_sent(srv, id))
    for _ = 1, 4 do
      local want = fx.id("ok")
      local run, err, meta = client:get_job_run(P, J, want)
      assert.is_nil(err)
      assert.are.equal(want, run.jobRun.id)
      assert.is_nil(meta.headers["x-stray"])
    end
    client:close()
  end)

  it("makes the refused connection's successor a fresh one, then reuses that", function()
    local client = fx.client()
    local id = fx.id("stray")
    assert(client:get_job_run(P, J, id))
    assert.is_true(stray_sent(srv, id))
    local _, _, first = client:get_job_run(P, J, fx.id("ok"))
    local _, _, second = client:get_job_run(P, J, fx.id("ok"))
    assert.is_false(first.reused)
    assert.is_true(second.reused)
    assert.are.equal(first.headers["x-connection"], second.headers["x-connection"])
    client:close()
  end)

  it("retries on a fresh connection when the stray bytes came after a 503", function()
    local client = fx.real_time_client(0.2)
    local id = fx.id("stray-after-503-20")
    local res, err, meta = client:get_job_run(P, J, id)
    client:close()
    assert.is_nil(err)
    assert.are.equal(id, res.jobRun.id)
    assert.are.equal(2, meta.attempts)
  end)

  it("gives a batch entry the run it asked for", function()
    local client = fx.real_time_client(0.2)
    local id = fx.id("stray-after-503-20")
    local results = client:get_job_runs({ { P, J, id } }, { concurrency = 1 })
    client:close()
    assert.is_nil(results[1].err)
    assert.are.equal(id, results[1].res.jobRun.id)
    assert.are.equal(2, results[1].meta.attempts)
  end)

  it("gives a results download the real file, in memory and to a file", function()
    local client = fx.real_time_client(0.2)
    local res = assert(client:get_job_run(P, J, fx.id("stray-20-rows")))
    local rows, err = client:download_results(res)
    assert.is_nil(err)
    assert.are.equal("https://example.com/products/1", rows[1].input.url)

    res = assert(client:get_job_run(P, J, fx.id("stray-20-file")))
    local path = os.tmpname()
    local written, ferr = client:download_results(res, { path = path, decode = false })
    client:close()
    assert.is_nil(ferr)
    assert.are.equal(path, written)
    local f = assert(io.open(path, "rb"))
    local text = f:read("*a")
    f:close()
    os.remove(path)
    assert.truthy(text:find("Product 1", 1, true), text)
  end)

end)

describe("over TLS", function()
  local tls
  setup(function() tls = require("support.emulator").start { tls = true } end)
  teardown(function() tls:stop() end)

  it("drops an HTTP/1.1 connection with a stray TLS record waiting", function()
    local client = fx.client { base_url = tls.tls_base_url, ca_file = tls.ca_file }
    local id = fx.id("stray")
    assert(client:get_job_run(P, J, id))
    assert.is_true(stray_sent(tls, id))
    for _ = 1, 3 do
      local want = fx.id("ok")
      local res, err = client:get_job_run(P, J, want)
      assert.is_nil(err)
      assert.are.equal(want, res.jobRun.id)
    end
    client:close()
  end)

  it("keeps reusing one HTTP/2 connection across calls", function()
    local client = fx.client { base_url = tls.h2_base_url, ca_file = tls.ca_file }
    local connections = {}
    for i = 1, 5 do
      local _, err, meta = client:get_job_run(P, J, fx.id("ok"))
      assert.is_nil(err)
      connections[meta.headers["x-connection"]] = true
      if i > 1 then
        assert.is_true(meta.reused)
      end
    end
    client:close()
    local n = 0
    for _ in pairs(connections) do n = n + 1 end
    assert.are.equal(1, n)
  end)
end)
