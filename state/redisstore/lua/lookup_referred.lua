-- LookupWithReferrers reads the id holding a unique index value, its
-- document and the reference entries that point at it in one step.
-- KEYS[1] unique index hash, KEYS[2] documents hash, KEYS[3] reference
-- sorted set of the referring kind; ARGV[1] the index field.
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
local doc = redis.call('HGET', KEYS[2], id)
if not doc then return false end
-- The id escaped as the Go side's esc does: '%' and ':' percent-encoded.
local e = (string.gsub(id, '%%', '%%25'))
e = (string.gsub(e, ':', '%%3A'))
local out = {id, doc}
for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[3], '[' .. e .. ':', '(' .. e .. ';')) do
  out[#out + 1] = m
end
return out
