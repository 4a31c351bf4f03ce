-- GetWithReferrers reads a document and the reference entries that point
-- at it in one step, so the two agree.
-- KEYS[1] documents hash, KEYS[2] reference sorted set of the referring
-- kind; ARGV[1] the id, ARGV[2] and ARGV[3] the ZRANGEBYLEX bounds of the
-- entries that name it.
local doc = redis.call('HGET', KEYS[1], ARGV[1])
if not doc then return false end
local out = {doc}
for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[2], ARGV[2], ARGV[3])) do
  out[#out + 1] = m
end
return out
