-- Commit applies directory writes atomically and appends one feed entry per
-- write.
--
-- KEYS[1] feed stream, KEYS[2] set of kind names, then four keys per kind:
-- documents hash, id sorted set, unique index hash, refs sorted set.
-- ARGV[1] commit time in unix milliseconds, ARGV[2] the number of kinds,
-- then the kind names, then five values per write: the kind's position,
-- the op ('1' create, '2' replace, '3' delete), the id, the required
-- version ('0' for any) and the body (data, unique count, unique fields,
-- escaped refs; empty for a delete).
--
-- A document is item(version) followed by its body. A unique field is
-- "<escaped index name>:<value>"; a refs member is "<escaped ref>:<id>".
-- The script checks every write before it writes anything, so a failed
-- commit leaves the store untouched.

local CREATE, DELETE = '1', '3'
local now = ARGV[1]
local nkinds = tonumber(ARGV[2])
local first = 3 + nkinds
local nwrites = (#ARGV - first + 1) / 5

local DOCS, IDS, UNIQ, REFS = 1, 2, 3, 4
local function key(k, what)
  return KEYS[2 + (k - 1) * 4 + what]
end

-- body returns the unique fields and refs of a body starting at byte i.
local function body(s, i)
  local rest = items(s, skip(s, i))
  local n = tonumber(rest[1])
  local uniq, refs = {}, {}
  for j = 2, n + 1 do uniq[#uniq + 1] = rest[j] end
  for j = n + 2, #rest do refs[#refs + 1] = rest[j] end
  return uniq, refs
end

local function write(w)
  local a = first + w * 5
  return tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
end

local function indexName(field)
  return string.match(field, '^[^:]*')
end

-- Check: walk the writes in order against the store as the earlier writes
-- of this commit leave it. taken[k][field] overlays the unique index: an
-- owner id, or false once an earlier write freed the value.
local olds, taken = {}, {}
for k = 1, nkinds do taken[k] = {} end
local function owner(k, field)
  local o = taken[k][field]
  if o == nil then o = redis.call('HGET', key(k, UNIQ), field) end
  return o
end

for w = 0, nwrites - 1 do
  local k, op, id, ifv, b = write(w)
  local what = ARGV[2 + k] .. ' ' .. id
  local raw = redis.call('HGET', key(k, DOCS), id)
  local old = false
  if raw then
    local v, i = head(raw, 1)
    local uniq, refs = body(raw, i)
    old = {v = v, uniq = uniq, refs = refs}
  end
  if op == CREATE then
    if old then return fail('CONFLICT', what .. ': id already exists') end
  else
    if not old then return fail('NOTFOUND', what .. ': no such resource') end
    if ifv ~= '0' and old.v ~= ifv then
      return fail('VERSION', what .. ': version is ' .. old.v .. ', not ' .. ifv)
    end
  end
  olds[w] = old

  if old then
    for _, f in ipairs(old.uniq) do
      if owner(k, f) == id then taken[k][f] = false end
    end
  end
  if op ~= DELETE then
    local uniq = body(b, 1)
    for _, f in ipairs(uniq) do
      local o = owner(k, f)
      if o and o ~= id then
        return fail('CONFLICT', what .. ': ' .. indexName(f) .. ' already held by ' .. o)
      end
      taken[k][f] = id
    end
  end
end

-- Apply: every check passed, so nothing below can fail halfway.
local versions = {}
for w = 0, nwrites - 1 do
  local k, op, id, _, b = write(w)
  local old = olds[w]
  local uniq, refs = {}, {}
  if op ~= DELETE then uniq, refs = body(b, 1) end

  local keep = {}
  for _, f in ipairs(uniq) do keep[f] = true end
  if old then
    for _, f in ipairs(old.uniq) do
      if not keep[f] and redis.call('HGET', key(k, UNIQ), f) == id then
        redis.call('HDEL', key(k, UNIQ), f)
      end
    end
  end
  for _, f in ipairs(uniq) do redis.call('HSET', key(k, UNIQ), f, id) end

  local before, after, seen = {}, {}, {}
  if old then for _, r in ipairs(old.refs) do before[r] = true end end
  for _, r in ipairs(refs) do after[r] = true end
  -- Lists are built in tables and joined once: repeated concatenation
  -- would copy a large group's member list once per member.
  local removed, added = {}, {}
  if old then
    for _, r in ipairs(old.refs) do
      if not after[r] and not seen[r] then
        seen[r] = true
        redis.call('ZREM', key(k, REFS), r .. ':' .. id)
        removed[#removed + 1] = item(r)
      end
    end
  end
  for _, r in ipairs(refs) do
    if not before[r] and not seen[r] then
      seen[r] = true
      redis.call('ZADD', key(k, REFS), 0, r .. ':' .. id)
      added[#added + 1] = item(r)
    end
  end

  local v = 0
  if op == DELETE then
    redis.call('HDEL', key(k, DOCS), id)
    redis.call('ZREM', key(k, IDS), id)
  else
    if old then v = tonumber(old.v) + 1 else v = 1 end
    redis.call('HSET', key(k, DOCS), id, item(int(v)) .. b)
    if not old then redis.call('ZADD', key(k, IDS), 0, id) end
  end
  redis.call('XADD', KEYS[1], '*', 'k', ARGV[2 + k], 'i', id, 'o', op, 'v', int(v),
    'a', table.concat(added), 'r', table.concat(removed), 't', now)
  versions[#versions + 1] = v
end

for k = 1, nkinds do redis.call('SADD', KEYS[2], ARGV[2 + k]) end
return versions
