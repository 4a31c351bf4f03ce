package redisstore

import (
	"embed"

	"github.com/redis/go-redis/v9"

	"github.com/scim-bridge/scim-bridge/state"
)

// keyspace names an organization's keys. The tag "<prefix>:{<org>}" starts
// each one, and its braces make Redis Cluster hash only the organization,
// so every key of it is in one slot. Names given by callers (kinds,
// buckets, queues) are escaped so that they cannot forge another key.
type keyspace struct{ tag string }

func newKeyspace(prefix, org string) keyspace {
	return keyspace{tag: prefix + ":{" + org + "}"}
}

func (k keyspace) feed() string    { return k.tag + ":feed" }
func (k keyspace) kinds() string   { return k.tag + ":kinds" }
func (k keyspace) buckets() string { return k.tag + ":buckets" }
func (k keyspace) queues() string  { return k.tag + ":queues" }

// dirKeys are a kind's keys, in the order the commit script takes them.
type dirKeys struct{ docs, ids, uniq, refs string }

func (k keyspace) dir(kind state.Kind) dirKeys {
	p := k.tag + ":d:" + esc(string(kind)) + ":"
	return dirKeys{docs: p + "docs", ids: p + "ids", uniq: p + "uniq", refs: p + "refs"}
}

// bucketKeys are a record bucket's value hash and key sorted set.
type bucketKeys struct{ values, index string }

func (k keyspace) bucket(name string) bucketKeys {
	p := k.tag + ":r:" + esc(name) + ":"
	return bucketKeys{values: p + "values", index: p + "keys"}
}

// queueKeys are a queue's keys, in the order its scripts take them.
type queueKeys struct{ ready, leased, lease, again string }

func (k keyspace) queue(name string) queueKeys {
	p := k.tag + ":q:" + esc(name) + ":"
	return queueKeys{ready: p + "ready", leased: p + "leased", lease: p + "lease", again: p + "again"}
}

func (q queueKeys) list() []string { return []string{q.ready, q.leased, q.lease, q.again} }

//go:embed lua/*.lua
var luaFiles embed.FS

// The scripts run with EVALSHA, falling back to EVAL when Redis does not
// have them cached (after a restart, or on a node seen for the first time).
var (
	commitScript         = script("commit.lua")
	lookupScript         = script("lookup.lua")
	getReferredScript    = script("get_referred.lua")
	lookupReferredScript = script("lookup_referred.lua")
	pageScript           = script("page.lua")
	putRecordScript      = script("put_record.lua")
	deleteRecordScript   = script("delete_record.lua")
	enqueueScript        = script("enqueue.lua")
	leaseScript          = script("lease.lua")
	settleScript         = script("settle.lua")
	trimScript           = script("trim.lua")
)

// script builds a script from lua/lib.lua and the named file.
func script(name string) *redis.Script {
	lib, err := luaFiles.ReadFile("lua/lib.lua")
	if err != nil {
		panic(err) // embedded at build time
	}
	src, err := luaFiles.ReadFile("lua/" + name)
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(lib) + "\n" + string(src))
}
