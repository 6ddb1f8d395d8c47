-- What the command line writes: server strings escaped (intuned.term), the
-- API's answers as one JSON document, aligned tables, label/value blocks,
-- and the small formatting helpers they share.

local intuned = require("intuned")
local json = require("intuned.json")
local term = require("intuned.term")

local M = {}

local null = intuned.null

-- Every string that came from the server goes through `safe` on its way to
-- the screen: no answer can drive the terminal.
M.safe = term.escape

-- True when file descriptor `fd` is a terminal.
function M.is_tty(fd)
  local r = os.execute("test -t " .. fd)
  return r == true or r == 0
end

-- Columns of the terminal (for the progress bar), or nil when unknown.
function M.columns()
  local n = tonumber(os.getenv("COLUMNS") or "")
  if n and n > 0 then
    return n
  end
  local p = io.popen("stty size </dev/tty 2>/dev/null")
  if p then
    local text = p:read("*a") or ""
    p:close()
    n = tonumber(text:match("^%s*%d+%s+(%d+)"))
    if n and n > 0 then
      return n
    end
  end
  return nil
end

-- A value worth showing: present and not JSON null.
function M.present(v)
  return v ~= nil and v ~= null
end

-- A number as text: whole numbers without a fraction (on every Lua), "?"
-- for anything that is not a number.
function M.num(v)
  if type(v) == "number" then
    if v % 1 == 0 and v > -2 ^ 53 and v < 2 ^ 53 then
      return ("%.0f"):format(v)
    end
    return tostring(v)
  end
  return "?"
end

-- Seconds as m:ss, or h:mm:ss from an hour on.
function M.clock(s)
  s = math.floor(s + 0.5)
  if s >= 3600 then
    return ("%d:%02d:%02d"):format(math.floor(s / 3600), math.floor(s % 3600 / 60), s % 60)
  end
  return ("%d:%02d"):format(math.floor(s / 60), s % 60)
end

-- Seconds as text for messages: "0.3s", "30s".
function M.seconds(s)
  return ("%gs"):format(s)
end

-- The width of a string on the screen: its UTF-8 characters (escaped text
-- is printable ASCII and plain UTF-8 only).
function M.width(s)
  return #(s:gsub("[\128-\191]", ""))
end

-- s cut to at most `w` characters on the screen, "..." marking the cut.
function M.truncate(s, w)
  if M.width(s) <= w then
    return s
  end
  local out, n = {}, 0
  for ch in s:gmatch("[\1-\127\192-\255][\128-\191]*") do -- escaped text has no NUL
    if n >= w - 3 then
      break
    end
    out[#out + 1] = ch
    n = n + 1
  end
  return table.concat(out) .. ("..."):sub(1, math.max(0, w - n))
end

-- A value from the server as one escaped line of text: strings as they
-- are, other values as compact JSON.
function M.text(v)
  if type(v) == "table" then
    local ok, text = pcall(json.encode, v)
    return M.safe(ok and text or "?")
  elseif v == null then
    return "null"
  end
  return M.safe(v)
end

-- The API's answer as one JSON document on a line of its own. The text is
-- the same document with DEL and C1 controls escaped (intuned.term).
function M.json(out, value)
  out:write(term.json(json.encode(value)), "\n")
end

-- Label/value lines, labels aligned: rows = { {label, value}, ... }; a
-- row whose value is nil or null is left out (its label still counts for
-- the alignment, so a block keeps its shape). Values are escaped here.
function M.fields(out, rows)
  local w = 0
  for _, row in ipairs(rows) do
    w = math.max(w, #row[1])
  end
  for _, row in ipairs(rows) do
    local v = row[2]
    if M.present(v) then
      out:write(row[1], (" "):rep(w - #row[1] + 2), M.text(v), "\n")
    end
  end
end

-- The value of a column for one item: col[2] is the item's field name, or
-- a function(item) -> value.
local function cell(col, item)
  if type(item) ~= "table" then
    return nil
  elseif type(col[2]) == "string" then
    return item[col[2]]
  end
  return col[2](item)
end

-- An aligned table: columns = { {title, field name or function(item) ->
-- value}, ... }, values escaped here (nil and null shown as "-"); two
-- spaces between columns, the last one not padded.
function M.table(out, columns, items)
  local cells, widths = {}, {}
  for c, col in ipairs(columns) do
    widths[c] = M.width(col[1])
  end
  for r, item in ipairs(items) do
    local row = {}
    for c, col in ipairs(columns) do
      local v = cell(col, item)
      local s = M.present(v) and M.text(v) or "-"
      row[c] = s
      widths[c] = math.max(widths[c], M.width(s))
    end
    cells[r] = row
  end
  local function line(row)
    local parts = {}
    for c, s in ipairs(row) do
      parts[c] = c < #row and s .. (" "):rep(widths[c] - M.width(s)) or s
    end
    out:write(table.concat(parts, "  "), "\n")
  end
  local titles = {}
  for c, col in ipairs(columns) do
    titles[c] = col[1]
  end
  line(titles)
  for _, row in ipairs(cells) do
    line(row)
  end
end

-- "1 payload", "3 payloads".
function M.plural(n, word)
  return ("%s %s%s"):format(M.num(n), word, n == 1 and "" or "s")
end

-- A URL with its password (user info) hidden.
function M.hide_password(url)
  if type(url) ~= "string" then
    return url
  end
  return (url:gsub("^(%a[%w+.-]*://[^/@:]*):[^/@]*@", "%1:***@"))
end

return M
