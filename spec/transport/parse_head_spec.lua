-- core.parse_head: what the cosocket transport (intuned.http1) reads from
-- a response's header block, in one pass in C. Its values decide how the
-- body is framed and whether the connection is kept, so every case that
-- changes one of them is here.
local core = require("intuned.core")

local function head(lines)
  return table.concat(lines, "\r\n") .. "\r\n"
end

local function parsed(lines)
  return { core.parse_head(head(lines)) }
end

describe("core.parse_head", function()
  it("reads the status, keep-alive, framing and content type of an ordinary answer", function()
    local got = parsed { "HTTP/1.1 200 OK", "Content-Type: application/json", "Content-Length: 1318" }
    assert.are.same({ 200, true, false, 1318, "application/json" }, got)
    assert.are.equal(math.type and "integer" or "number", (math.type or type)(got[4]))
  end)

  it("gives nothing at all for a status line that is not HTTP/d.d ddd", function()
    for _, line in ipairs { "HTTP/1.1 20 OK", "HTTP/11 200 OK", "http/1.1 200 OK", "ICY 200 OK",
      "HTTP/1.1  200 OK", "HTTP/x.1 200 OK", "HTTP/1.1 2x0 OK", "HTTP/1.1", "" } do
      assert.are.equal(0, select("#", core.parse_head(line .. "\r\nContent-Length: 1\r\n")), line)
    end
  end)

  it("keeps only HTTP/1.1 connections that are not told to close, in any case", function()
    assert.is_false(parsed({ "HTTP/1.0 200 OK", "Content-Length: 0" })[2])
    assert.is_false(parsed({ "HTTP/2.0 200 OK" })[2])
    assert.is_false(parsed({ "HTTP/1.1 200 OK", "connection: Close" })[2])
    assert.is_false(parsed({ "HTTP/1.1 200 OK", "Connection: keep-alive, CLOSE" })[2])
    assert.is_true(parsed({ "HTTP/1.1 200 OK", "Connection: keep-alive" })[2])
    assert.is_true(parsed({ "HTTP/1.1 204 No Content" })[2])
  end)

  it("finds chunked in Transfer-Encoding, in any case and among other codings", function()
    assert.is_true(parsed({ "HTTP/1.1 200 OK", "transfer-encoding: gzip, Chunked" })[3])
    assert.is_true(parsed({ "HTTP/1.1 200 OK", "Transfer-Encoding:chunked" })[3])
    assert.is_false(parsed({ "HTTP/1.1 200 OK", "Transfer-Encoding: gzip" })[3])
    assert.is_false(parsed({ "HTTP/1.1 200 OK", "X-Transfer-Encoding: chunked" })[3])
  end)

  it("reads the Content-Length's digits, and nil when it is absent or has none", function()
    assert.are.equal(0, parsed({ "HTTP/1.1 200 OK", "content-length:   0" })[4])
    assert.are.equal(12, parsed({ "HTTP/1.1 200 OK", "Content-Length: 12 " })[4])
    assert.is_nil(parsed({ "HTTP/1.1 200 OK", "Content-Length: abc" })[4])
    assert.is_nil(parsed({ "HTTP/1.1 200 OK", "Content-Length:" })[4])
    assert.is_nil(parsed({ "HTTP/1.1 200 OK" })[4])
    assert.is_nil(parsed({ "HTTP/1.1 200 OK", "Content-Length : 12" })[4])
    assert.is_true(parsed({ "HTTP/1.1 200 OK", "Content-Length: 99999999999999999999999" })[4] > 2 ^ 60)
  end)

  it("takes the first of repeated framing headers", function()
    local got = parsed { "HTTP/1.1 200 OK", "Content-Length: 5", "Content-Length: 7",
      "Connection: keep-alive", "Connection: close", "Content-Type: a/b", "Content-Type: c/d" }
    assert.are.same({ 200, true, false, 5, "a/b" }, got)
  end)

  it("trims the content type and gives nil when there is none", function()
    assert.are.equal("application/json; charset=utf-8",
      parsed({ "HTTP/1.1 200 OK", "Content-Type: \t application/json; charset=utf-8 \t" })[5])
    assert.is_nil(parsed({ "HTTP/1.1 200 OK", "Content-Length: 2" })[5])
  end)

  it("does not take the status line or a value for a header", function()
    local got = parsed { "HTTP/1.1 200 Content-Length: 9", "X-Note: Content-Length: 3" }
    assert.is_nil(got[4])
  end)

  it("raises for a head that is not a string", function()
    assert.has_error(function() core.parse_head(nil) end)
    assert.has_error(function() core.parse_head({}) end)
  end)
end)
