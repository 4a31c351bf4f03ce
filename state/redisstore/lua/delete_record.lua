-- DeleteRecord removes a record, optionally only at a given version.
-- KEYS[1] values hash, KEYS[2] key sorted set; ARGV[1] key, ARGV[2] the
-- version the stored record must have, or '0' for any.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] ~= '0' then
  local v = '0'
  if cur then v = head(cur, 1) end
  if v ~= ARGV[2] then
    return fail('VERSION', 'record ' .. ARGV[1] .. ': version is ' .. v .. ', not ' .. ARGV[2])
  end
end
if cur then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 0
