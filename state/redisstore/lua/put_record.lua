-- PutRecord stores a record behind a new version.
-- KEYS[1] values hash, KEYS[2] key sorted set, KEYS[3] set of bucket names.
-- ARGV[1] key, ARGV[2] data, ARGV[3] condition: 'any', 'absent', or the
-- version the stored record must have; ARGV[4] the bucket name.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local v = '0'
if cur then v = head(cur, 1) end
local cond = ARGV[3]
if cond == 'absent' then
  if cur then return fail('CONFLICT', 'record ' .. ARGV[1] .. ' already exists') end
elseif cond ~= 'any' and cond ~= v then
  return fail('VERSION', 'record ' .. ARGV[1] .. ': version is ' .. v .. ', not ' .. cond)
end
local nv = tonumber(v) + 1
redis.call('HSET', KEYS[1], ARGV[1], item(int(nv)) .. ARGV[2])
if not cur then
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[4])
end
return nv
