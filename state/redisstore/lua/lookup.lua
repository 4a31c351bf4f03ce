-- Lookup reads the id holding a unique index value and its document in one
-- step, so the document returned still holds the value.
-- KEYS[1] unique index hash, KEYS[2] documents hash; ARGV[1] the field.
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
local doc = redis.call('HGET', KEYS[2], id)
if not doc then return false end
return {id, doc}
