-- Lease first returns every expired lease to the ready set (due when the
-- lease ended, or earlier if it was enqueued again for earlier), then
-- leases the earliest due keys.
-- KEYS as for enqueue (without the queue names). ARGV[1] now and ARGV[2]
-- the lease end, both in unix milliseconds; ARGV[3] the most keys to
-- lease; ARGV[4] the owner; ARGV[5] a random token prefix.
-- Returns key1, token1, key2, token2...
local now, untl = ARGV[1], ARGV[2]
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES')
for i = 1, #expired, 2 do
  local k, due = expired[i], tonumber(expired[i + 1])
  local again = redis.call('HGET', KEYS[4], k)
  if again and tonumber(again) < due then due = tonumber(again) end
  redis.call('ZREM', KEYS[2], k)
  redis.call('HDEL', KEYS[3], k)
  redis.call('HDEL', KEYS[4], k)
  redis.call('ZADD', KEYS[1], due, k)
end

local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, k in ipairs(keys) do
  local token = ARGV[5] .. '.' .. i
  redis.call('ZREM', KEYS[1], k)
  redis.call('ZADD', KEYS[2], untl, k)
  redis.call('HSET', KEYS[3], k, item(token) .. ARGV[4])
  out[#out + 1] = k
  out[#out + 1] = token
end
return out
