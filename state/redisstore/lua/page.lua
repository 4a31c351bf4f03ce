-- Page returns up to ARGV[2] members of the sorted set KEYS[1] greater than
-- ARGV[1] (all from the start when empty), each followed by its value in
-- the hash KEYS[2]: id1, value1, id2, value2...
local min = '-'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
local names = redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, name in ipairs(names) do
  local v = redis.call('HGET', KEYS[2], name)
  if v then
    out[#out + 1] = name
    out[#out + 1] = v
  end
end
return out
