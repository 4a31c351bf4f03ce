-- Trim drops the feed entries that every consumer group has acknowledged:
-- those before the oldest entry still pending in any group and not after
-- what any group was last given. With no group, nothing is dropped.
-- KEYS[1] the feed stream. Returns the number of entries dropped.
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local floor = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local keep
  local pending = redis.call('XPENDING', KEYS[1], info['name'])
  if pending[1] > 0 then
    keep = pending[2]
  else
    local ms, seq = parse(info['last-delivered-id'])
    keep = int(ms) .. '-' .. int(seq + 1)
  end
  if floor == nil or less(keep, floor) then floor = keep end
end
if floor == nil then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', floor)
