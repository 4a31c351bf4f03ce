-- Settle acts on a lease its holder names by key and token: 'extend' moves
-- its end, 'done' ends it, 'retry' ends it and makes the key ready again.
-- A key enqueued while leased is ready at that due time once the lease
-- ends (for a retry, at the earlier of the two).
-- KEYS as for enqueue (without the queue names). ARGV[1] the action,
-- ARGV[2] the key, ARGV[3] the token, ARGV[4] the new lease end (extend)
-- or due time (retry) in unix milliseconds.
local action, k, token = ARGV[1], ARGV[2], ARGV[3]
local held = redis.call('HGET', KEYS[3], k)
if not held or head(held, 1) ~= token then
  return fail('LEASELOST', 'lease of ' .. k .. ' is no longer held')
end

if action == 'extend' then
  redis.call('ZADD', KEYS[2], ARGV[4], k)
  return 0
end

redis.call('ZREM', KEYS[2], k)
redis.call('HDEL', KEYS[3], k)
local again = redis.call('HGET', KEYS[4], k)
redis.call('HDEL', KEYS[4], k)
local due = again and tonumber(again)
if action == 'retry' and (not due or tonumber(ARGV[4]) < due) then
  due = tonumber(ARGV[4])
end
if due then redis.call('ZADD', KEYS[1], due, k) end
return 0
