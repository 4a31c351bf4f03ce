-- Enqueue makes keys ready at a due time, or marks leased keys to run
-- again at it once their lease ends. Either way the earlier due time wins.
-- KEYS[1] ready sorted set (score: due), KEYS[2] leased sorted set (score:
-- lease end), KEYS[3] lease hash, KEYS[4] again hash (key -> due),
-- KEYS[5] set of queue names. ARGV[1] due in unix milliseconds, ARGV[2]
-- the queue name, ARGV[3...] the keys.
local due = tonumber(ARGV[1])
for i = 3, #ARGV do
  local k = ARGV[i]
  if redis.call('ZSCORE', KEYS[2], k) then
    local again = redis.call('HGET', KEYS[4], k)
    if not again or due < tonumber(again) then
      redis.call('HSET', KEYS[4], k, ARGV[1])
    end
  else
    redis.call('ZADD', KEYS[1], 'LT', ARGV[1], k)
  end
end
redis.call('SADD', KEYS[5], ARGV[2])
return 0
