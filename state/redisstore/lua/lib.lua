-- Helpers shared by every script; the Go side prepends this file to each.
-- Stored values are lists of length-prefixed strings: "5:alice3:bob".

-- item encodes one string.
local function item(s)
  return #s .. ':' .. s
end

-- head reads the string that starts at byte i and returns it with the byte
-- after it.
local function head(s, i)
  local c = string.find(s, ':', i, true)
  local n = tonumber(string.sub(s, i, c - 1))
  return string.sub(s, c + 1, c + n), c + n + 1
end

-- skip returns the byte after the string that starts at byte i, without
-- copying the string (a document's data can be large).
local function skip(s, i)
  local c = string.find(s, ':', i, true)
  return c + tonumber(string.sub(s, i, c - 1)) + 1
end

-- items reads every string from byte i to the end.
local function items(s, i)
  local out = {}
  local v
  while i <= #s do
    v, i = head(s, i)
    out[#out + 1] = v
  end
  return out
end

-- fail returns an error reply whose first word the Go side maps to a
-- state sentinel: CONFLICT, NOTFOUND, VERSION or LEASELOST.
local function fail(code, detail)
  return redis.error_reply(code .. ' ' .. detail)
end

-- int formats a whole number without an exponent.
local function int(n)
  return string.format('%d', n)
end
