-- busted output handler: the usual terminal output (a mark per test and the
-- failures at the end), a line per spec file with its counts and time, and
-- one line of counts appended to $INTUNED_COUNTS_FILE so
-- scripts/run-specs.sh can add up several busted runs into one
-- "N passed, N failed" line.
return function(options)
  local busted = require("busted")
  local name = os.getenv("BUSTED_STYLE") or "utfTerminal"
  local handler = require("busted.outputHandlers." .. name)(options)
  local clock = os.clock
  local ok, socket = pcall(require, "socket")
  if ok then
    clock = socket.gettime
  end

  local file, started
  local passed, failed, pending = 0, 0, 0

  busted.subscribe({ "file", "start" }, function(element)
    file, started = element.name, clock()
    passed, failed, pending = 0, 0, 0
    return nil, true
  end)

  busted.subscribe({ "test", "end" }, function(_, _, status)
    if status == "success" then
      passed = passed + 1
    elseif status == "pending" then
      pending = pending + 1
    else
      failed = failed + 1
    end
    return nil, true
  end)

  busted.subscribe({ "file", "end" }, function()
    io.write(("\n  %-46s %4d passed, %d failed%s  %.1f s\n"):format(tostring(file), passed, failed,
      pending > 0 and (", " .. pending .. " pending") or "", clock() - started))
    io.flush()
    return nil, true
  end)

  busted.subscribe({ "suite", "end" }, function()
    local path = os.getenv("INTUNED_COUNTS_FILE")
    if path then
      local f = assert(io.open(path, "a"))
      f:write(("%d %d %d %d\n"):format(handler.successesCount, handler.failuresCount,
        handler.errorsCount, handler.pendingsCount))
      f:close()
    end
    return nil, true
  end)

  return handler
end
