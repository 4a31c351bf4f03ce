// Package state is the storage seam of scim-bridge.
//
// A Store keeps the directory (users and groups pushed by identity
// providers), an append-only change feed written in the same atomic step as
// every directory change, small versioned records for the sync engine and the
// admin API, and work queues of deduplicated keys. The package holds the
// contract only; backends live in sub-packages (state/boltstore for the
// embedded file, state/redisstore for Redis) and prove themselves with the
// suite in state/statetest.
//
// A Store is scoped to one organization and is safe for concurrent use.
// Every method honours ctx cancellation where the backend can.
package state

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Errors returned by every backend. Callers compare with errors.Is; backends
// wrap them with detail (which index, which version) using %w.
var (
	// ErrNotFound: the resource, record or index value does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique index value or an id is already taken.
	ErrConflict = errors.New("conflict")
	// ErrVersionMismatch: the stored version differs from the one the
	// caller required (optimistic concurrency).
	ErrVersionMismatch = errors.New("version mismatch")
	// ErrLeaseLost: a queue lease expired or was taken over by another owner.
	ErrLeaseLost = errors.New("lease lost")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
	// ErrInvalid: the call's arguments break the contract before any
	// stored state is consulted (an empty kind or id, an unknown op, an
	// index value longer than MaxIndexValue). Nothing is written.
	ErrInvalid = errors.New("invalid argument")
)

// MaxIndexValue is the longest IndexKey.Value, in bytes, that every backend
// accepts. Commit refuses a longer one with ErrInvalid, so that a value one
// backend takes is never refused by another.
const MaxIndexValue = 8 << 10

// Store is everything scim-bridge keeps. Close releases the backend; it is
// safe to call once, after which every method returns ErrClosed.
type Store interface {
	Directory
	Feed
	Records
	Queue

	// Ping reports whether the backend answers; /readyz uses it.
	Ping(ctx context.Context) error
	Close() error
}

// Kind names a collection of directory resources.
type Kind string

// The directory kinds the SCIM endpoint stores.
const (
	KindUser  Kind = "User"
	KindGroup Kind = "Group"
)

// IndexKey is one entry of a unique index of a kind. Value is stored and
// compared byte for byte: the caller normalises it first (for example
// lower-cases a userName, whose uniqueness is case-insensitive).
type IndexKey struct {
	Name  string
	Value string
}

// Resource is one directory resource as stored. Data is opaque to the store.
type Resource struct {
	Kind Kind
	ID   string
	// Version is assigned by the store: 1 on create, +1 on every replace.
	Version uint64
	// Data is the serialized document.
	Data []byte
	// Unique are the resource's entries in the unique indexes of its kind.
	// Two resources of one kind never hold the same (Name, Value).
	Unique []IndexKey
	// Refs are ids of other resources this one points at (a group's
	// members), and index terms, which hold a colon where ids never do
	// (see IsIDRef). The store keeps the reverse index behind Referrers.
	Refs []string
}

// IsIDRef reports whether a ref names another resource by its id rather
// than being an index term such as "externalId:<hash>". Resource ids are
// made by the server and never hold a colon.
func IsIDRef(ref string) bool { return !strings.Contains(ref, ":") }

// IDRefs returns the refs that name resources by id (see IsIDRef), in
// their order.
func IDRefs(refs []string) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if IsIDRef(r) {
			out = append(out, r)
		}
	}
	return out
}

// Op is the kind of a write.
type Op uint8

// Write operations.
const (
	OpCreate Op = iota + 1
	OpReplace
	OpDelete
)

func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpReplace:
		return "replace"
	case OpDelete:
		return "delete"
	}
	return "unknown"
}

// Write is one change inside an atomic commit.
type Write struct {
	Op Op
	// Resource is the full new state for OpCreate and OpReplace; for
	// OpDelete only Kind and ID are read.
	Resource Resource
	// IfVersion, when not zero, makes OpReplace and OpDelete fail with
	// ErrVersionMismatch unless the stored version equals it.
	IfVersion uint64
}

// Directory stores users and groups.
type Directory interface {
	// Commit applies writes atomically: all of them or none. Each write
	// appends one Change to the feed in the same atomic step, and the call
	// returns only once the commit is durable. It returns the new version of
	// each written resource, in order (0 for a delete).
	//
	// Errors: ErrConflict when a create reuses an id or any write takes a
	// unique index value held by another resource (including one written
	// earlier in the same commit); ErrNotFound when a replace or delete names
	// a missing resource; ErrVersionMismatch when IfVersion does not hold.
	// Writing one resource twice in a commit is an error.
	Commit(ctx context.Context, writes ...Write) ([]uint64, error)

	// Get returns one resource, or ErrNotFound.
	Get(ctx context.Context, kind Kind, id string) (Resource, error)

	// GetMany returns the resources of ids that exist, in the order of ids;
	// missing ids are skipped, not errors.
	GetMany(ctx context.Context, kind Kind, ids []string) ([]Resource, error)

	// Lookup returns the resource holding a unique index value, or
	// ErrNotFound. It costs the same whatever the size of the collection.
	Lookup(ctx context.Context, kind Kind, key IndexKey) (Resource, error)

	// List returns up to limit resources of kind with ids greater than
	// after, in ascending byte order of id. An empty after starts at the
	// beginning. Paging with the last id returned visits every resource that
	// exists throughout the walk exactly once.
	List(ctx context.Context, kind Kind, after string, limit int) ([]Resource, error)

	// Count returns the number of resources of kind.
	Count(ctx context.Context, kind Kind) (int, error)

	// Referrers returns, in ascending order, the ids of resources of kind
	// whose Refs hold ref (for example the groups a user belongs to).
	Referrers(ctx context.Context, kind Kind, ref string) ([]string, error)

	// GetWithReferrers is Get of kind and id together with Referrers of
	// refKind for id (a user with the groups it belongs to), read at one
	// instant and in one round trip. ErrNotFound when the resource does
	// not exist.
	GetWithReferrers(ctx context.Context, kind Kind, id string, refKind Kind) (
		Resource, []string, error)

	// LookupWithReferrers is Lookup together with Referrers of refKind for
	// the id found, read at one instant and in one round trip.
	LookupWithReferrers(ctx context.Context, kind Kind, key IndexKey, refKind Kind) (
		Resource, []string, error)
}

// Change is one entry of the change feed: which resource changed, not how.
// Consumers read the resource as it is now, so duplicates and reordering do
// no harm.
type Change struct {
	// ID is the feed position, unique and increasing in commit order.
	ID         string
	Kind       Kind
	ResourceID string
	Op         Op
	// Version is the resource's version after the write (0 for a delete).
	Version uint64
	// RefsAdded and RefsRemoved are the difference between the resource's
	// Refs before and after the write (on delete, every old ref is removed).
	RefsAdded   []string
	RefsRemoved []string
	// Time is when the change was committed.
	Time time.Time
}

// Feed is the change feed, read by named consumer groups. Within a group,
// each change is delivered to one consumer and stays pending for it until
// acknowledged; pending changes of a consumer that stopped can be claimed by
// another. Changes acknowledged by every group that has read the feed may be
// discarded by the backend.
type Feed interface {
	// Read returns up to max changes that no consumer of group has been
	// given yet, in feed order, and marks them pending for consumer. When
	// there are none it waits up to wait for new ones (0 means do not wait)
	// and returns an empty slice if none arrive. A group that reads for the
	// first time starts at the oldest change the feed keeps.
	Read(ctx context.Context, group, consumer string, max int, wait time.Duration) ([]Change, error)

	// Ack acknowledges changes of group. Acknowledging an unknown or
	// already acknowledged id is not an error.
	Ack(ctx context.Context, group string, ids ...string) error

	// Claim hands consumer up to max changes of group that have been
	// pending, with any consumer, for at least minIdle, in feed order,
	// restarting their idle time.
	Claim(ctx context.Context, group, consumer string, minIdle time.Duration, max int) ([]Change, error)
}

// Record is a small versioned document kept under a bucket and a key.
type Record struct {
	Key string
	// Version is assigned by the store: 1 on first put, +1 on every put.
	Version uint64
	Data    []byte
}

// Records keeps what the sync engine and the admin API need besides the
// directory: links between directory users and application accounts,
// provisioning status, quick sync jobs, dead letters, saved mappings.
// Buckets are created on first use.
type Records interface {
	// GetRecord returns a record, or ErrNotFound.
	GetRecord(ctx context.Context, bucket, key string) (Record, error)

	// PutRecord stores data under key and returns the new version. With
	// ifVersion 0 it writes unconditionally; with AbsentVersion it fails
	// with ErrConflict when the key exists; otherwise it fails with
	// ErrVersionMismatch unless the stored version equals ifVersion (a
	// missing record has version 0 and so also mismatches). The write is
	// durable when the call returns.
	PutRecord(ctx context.Context, bucket, key string, data []byte, ifVersion uint64) (uint64, error)

	// DeleteRecord removes a record. With ifVersion not zero it fails with
	// ErrVersionMismatch unless the stored version equals it. Deleting a
	// missing record is not an error when ifVersion is zero.
	DeleteRecord(ctx context.Context, bucket, key string, ifVersion uint64) error

	// ListRecords returns up to limit records of bucket with keys greater
	// than after, in ascending byte order of key.
	ListRecords(ctx context.Context, bucket, after string, limit int) ([]Record, error)

	// CountRecords returns the number of records in bucket.
	CountRecords(ctx context.Context, bucket string) (int, error)
}

// AbsentVersion, passed as ifVersion to PutRecord, makes it create-only.
const AbsentVersion = ^uint64(0)

// Lease is a queue key handed to one owner for a while.
type Lease struct {
	Key   string
	Owner string
	// Token identifies this lease; Done, Retry and Extend need it.
	Token string
	// Until is when the lease expires and the key becomes available again.
	Until time.Time
}

// Queue holds named work queues of keys (for the sync engine, one key per
// application and directory user). A key is in a queue at most once: ready
// at a due time, or leased to one owner. Enqueueing a leased key marks it to
// run again once its lease ends, so work that arrives during processing is
// never lost and never run twice at once. A lease is held until Done or
// Retry ends it or, once expired, a Lease call hands its key to another
// lease; until then Extend, Done and Retry accept it.
type Queue interface {
	// Enqueue makes each key ready at due. A key already ready keeps the
	// earlier of its due times; a leased key is marked to be ready at due
	// after its lease ends. Durable when the call returns.
	Enqueue(ctx context.Context, queue string, keys []string, due time.Time) error

	// Lease hands owner up to max keys whose due time is not after now, the
	// earliest due first, each for ttl. Keys whose lease expired are ready
	// again (at the time their lease ended) and can be leased by anyone.
	Lease(ctx context.Context, queue, owner string, now time.Time, max int, ttl time.Duration) ([]Lease, error)

	// Extend pushes a lease's end to now+ttl, or fails with ErrLeaseLost
	// when the lease is no longer held.
	Extend(ctx context.Context, queue string, lease Lease, now time.Time, ttl time.Duration) (Lease, error)

	// Done ends a lease: the key leaves the queue, unless it was enqueued
	// again meanwhile, in which case it is ready at that due time. It fails
	// with ErrLeaseLost when the lease is no longer held.
	Done(ctx context.Context, queue string, lease Lease) error

	// Retry ends a lease and makes the key ready at due (or at an earlier
	// due time it was enqueued with meanwhile). It fails with ErrLeaseLost
	// when the lease is no longer held.
	Retry(ctx context.Context, queue string, lease Lease, due time.Time) error

	// QueueStats counts a queue's keys: ready (whatever their due time) and
	// leased (whether or not the lease has expired).
	QueueStats(ctx context.Context, queue string) (QueueStats, error)

	// NextDue returns the earliest due time of a ready key, or ErrNotFound
	// when no key is ready.
	NextDue(ctx context.Context, queue string) (time.Time, error)
}

// QueueStats is the size of one queue.
type QueueStats struct {
	Ready  int
	Leased int
}
