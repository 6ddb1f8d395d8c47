-- busted output handler: the usual terminal output, plus one line of counts
-- appended to $INTUNED_COUNTS_FILE so scripts/run-specs.sh can add up the
-- results of several busted runs into one "N passed, N failed" line.
return function(options)
  local busted = require("busted")
  local name = os.getenv("BUSTED_STYLE") or "utfTerminal"
  local handler = require("busted.outputHandlers." .. name)(options)

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
