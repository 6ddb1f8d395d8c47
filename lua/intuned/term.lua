-- Text from a server, made safe to show on a terminal: C0 controls, DEL and
-- C1 controls (U+0080 to U+009F, among them the one-byte CSI U+009B) are
-- shown as escapes, and so are bytes that are not UTF-8, so no answer can
-- set the terminal's title, move its cursor, clear it or forge a line of
-- output. Plain UTF-8 text stays as it is.

local M = {}

local NAMED = { [0x0a] = "\\n", [0x0d] = "\\r", [0x09] = "\\t", [0x1b] = "\\e" }

-- Length of the UTF-8 sequence at i of s and its code point, or nil when
-- the bytes there are not one (overlong forms and surrogates included).
local function utf8_at(s, i)
  local c = s:byte(i)
  local len, min, cp
  if c >= 0xc2 and c <= 0xdf then
    len, min, cp = 2, 0x80, c - 0xc0
  elseif c >= 0xe0 and c <= 0xef then
    len, min, cp = 3, 0x800, c - 0xe0
  elseif c >= 0xf0 and c <= 0xf4 then
    len, min, cp = 4, 0x10000, c - 0xf0
  else
    return nil
  end
  for k = 1, len - 1 do
    local b = s:byte(i + k)
    if not b or b < 0x80 or b > 0xbf then
      return nil
    end
    cp = cp * 64 + (b - 0x80)
  end
  if cp < min or cp > 0x10ffff or (cp >= 0xd800 and cp <= 0xdfff) then
    return nil
  end
  return len, cp
end

-- s (any value, through tostring) with every unsafe character escaped.
function M.escape(s)
  s = tostring(s)
  if not s:find("[\1-\31\127-\255]") and not s:find("\0", 1, true) then
    return s -- printable ASCII: the common case
  end
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = s:byte(i)
    if c < 0x20 or c == 0x7f then
      out[#out + 1] = NAMED[c] or ("\\x%02x"):format(c)
      i = i + 1
    elseif c < 0x80 then
      out[#out + 1] = string.char(c)
      i = i + 1
    else
      local len, cp = utf8_at(s, i)
      if not len then
        out[#out + 1] = ("\\x%02x"):format(c)
        i = i + 1
      elseif cp <= 0x9f then
        out[#out + 1] = ("\\u%04x"):format(cp)
        i = i + len
      else
        out[#out + 1] = s:sub(i, i + len - 1)
        i = i + len
      end
    end
  end
  return table.concat(out)
end

-- A JSON text with the characters a JSON encoder leaves raw but a terminal
-- obeys (DEL and the C1 controls) written as \u escapes: still the same
-- JSON document.
function M.json(text)
  return (text:gsub("\127", "\\u007f"):gsub("\194([\128-\159])", function(b)
    return ("\\u%04x"):format(b:byte())
  end))
end

return M
