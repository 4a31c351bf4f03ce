// Package redisstore keeps scim-bridge's state in Redis, so that several
// bridge replicas can share one directory, one change feed and one set of
// work queues. It implements state.Store and passes state/statetest. It
// needs Redis 7.0 or later (EVALSHA_RO, XAUTOCLAIM, ZADD LT).
//
// # Connecting
//
// Open takes a URL in one of these forms (ParseURL documents the options):
//
//	redis://[user:password@]host[:port][/db]
//	rediss://[user:password@]host[:port][/db]                    (TLS)
//	redis+sentinel://[user:password@]host1[:port1][,host2[:port2]...][/db]?master=NAME
//	rediss+sentinel://...                                         (TLS)
//	redis+cluster://[user:password@]host1[:port1][,host2[:port2]...]
//	rediss+cluster://...                                          (TLS)
//
// # Layout
//
// Every key of one organization starts with "<prefix>:{<org>}:", so the
// whole organization hashes to one Redis Cluster slot and each multi-key
// change runs as one Lua script that names all its keys. A directory kind
// has four keys (documents hash, id sorted set for paging, unique index
// hash, refs sorted set for Referrers); the feed is one stream read through
// consumer groups; a record bucket is a hash plus a sorted set of its keys;
// a queue is a ready sorted set (score: due time), a leased sorted set
// (score: lease end), a hash of lease tokens and owners, and a hash of due
// times for keys enqueued while leased.
//
// # Durability
//
// A write returns once Redis has executed it; whether it survives a crash
// is Redis's persistence setting, which the store does not change:
//
//   - appendonly yes, appendfsync always: Redis fsyncs the append-only file
//     before it replies, so no acknowledged write is lost when Redis or the
//     whole host crashes (on a disk that honours fsync).
//   - appendonly yes, appendfsync everysec: a crash of Redis alone loses no
//     acknowledged write, as Redis hands it to the kernel before replying
//     (unless a slow disk made Redis postpone that, for up to two seconds);
//     a host crash or power loss loses the last second or two.
//
// Redis replication is asynchronous: when Sentinel or Cluster promotes a
// replica, writes the old master acknowledged but had not yet sent to it
// are lost, whatever the fsync policy; the store does not WAIT for
// replicas.
//
// go-redis retries a command whose connection failed, so a write whose
// reply was lost may run twice: a create then fails with state.ErrConflict
// although it was stored, and a replace adds one version more.
//
// Redis must run with maxmemory-policy noeviction: an evicting policy drops
// keys, and with them resources or index entries. Open logs a warning when
// it can read the server's configuration and finds an evicting policy or no
// persistence.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scim-bridge/scim-bridge/state"
)

// Options tune a Store. The zero value is usable.
type Options struct {
	// Org is the organization whose state the store holds; default
	// "default". Stores of different organizations share a Redis without
	// seeing each other. It must not contain '{' or '}'.
	Org string
	// KeyPrefix starts every key; default "sb". It must not contain '{'
	// or '}'.
	KeyPrefix string
	// Logger receives the store's few operational messages; nil discards
	// them.
	Logger *slog.Logger
	// Now is the clock that stamps feed entries; default time.Now. Queue
	// due times and lease ends come from the callers' now, not from it.
	Now func() time.Time
	// TrimInterval is how often at most Ack drops the feed entries that
	// every consumer group has acknowledged; default one second. A
	// negative interval turns trimming off and lets the feed grow.
	TrimInterval time.Duration
}

// Store is the Redis implementation of state.Store. It is safe for
// concurrent use; several Stores, in one process or many, may share one
// Redis and one organization.
type Store struct {
	rdb       redis.UniversalClient
	keys      keyspace
	log       *slog.Logger
	now       func() time.Time
	trimEvery time.Duration
	started   time.Time
	lastTrim  atomic.Int64 // since started, in nanoseconds
	closed    atomic.Bool
	groups    sync.Map // consumer groups known to exist
}

var _ state.Store = (*Store)(nil)

// Open connects to the Redis that url names (see ParseURL), checks that it
// answers, and returns a store of opts.Org. The caller closes it.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	uo, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	if opts.Org == "" {
		opts.Org = "default"
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = "sb"
	}
	if strings.ContainsAny(opts.Org, "{}") || strings.ContainsAny(opts.KeyPrefix, "{}") {
		return nil, fmt.Errorf("redisstore: organization %q and key prefix %q must not contain braces",
			opts.Org, opts.KeyPrefix)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TrimInterval == 0 {
		opts.TrimInterval = time.Second
	}

	rdb := redis.NewUniversalClient(uo)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redisstore: ping %s: %w", strings.Join(uo.Addrs, ","), err)
	}
	s := &Store{
		rdb:       rdb,
		keys:      newKeyspace(opts.KeyPrefix, opts.Org),
		log:       opts.Logger.With("org", opts.Org),
		now:       opts.Now,
		trimEvery: opts.TrimInterval,
		started:   time.Now(),
	}
	s.warnAboutConfig(ctx)
	return s, nil
}

// warnAboutConfig logs settings of the server that put stored state at
// risk. Managed services often refuse CONFIG GET; then it says nothing.
func (s *Store) warnAboutConfig(ctx context.Context) {
	cfg := map[string]string{}
	for _, name := range []string{"maxmemory-policy", "appendonly", "save"} {
		got, err := s.rdb.ConfigGet(ctx, name).Result()
		if err != nil {
			return
		}
		cfg[name] = got[name]
	}
	if p := cfg["maxmemory-policy"]; p != "" && p != "noeviction" {
		s.log.Warn("redis may evict keys under memory pressure, losing state",
			"maxmemory_policy", p, "want", "noeviction")
	}
	if cfg["appendonly"] == "no" && cfg["save"] == "" {
		s.log.Warn("redis keeps no persistence: a restart loses all state",
			"appendonly", "no", "save", "")
	}
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.live(); err != nil {
		return err
	}
	return s.fail("ping", s.rdb.Ping(ctx).Err())
}

// Close closes the connections. Calls in flight fail; every later call,
// including a second Close, returns state.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("redisstore: %w", state.ErrClosed)
	}
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("redisstore: close: %w", err)
	}
	return nil
}

func (s *Store) live() error {
	if s.closed.Load() {
		return fmt.Errorf("redisstore: %w", state.ErrClosed)
	}
	return nil
}

// scriptCodes maps the first word of a script's error reply to the state
// sentinel it stands for.
var scriptCodes = map[string]error{
	"CONFLICT":  state.ErrConflict,
	"NOTFOUND":  state.ErrNotFound,
	"VERSION":   state.ErrVersionMismatch,
	"LEASELOST": state.ErrLeaseLost,
}

// fail translates a go-redis error into the store's: redis.Nil becomes
// state.ErrNotFound, a script's error reply the sentinel its code names
// (with the script's detail), a closed client state.ErrClosed. Anything
// else is wrapped as it is. A nil err stays nil.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: %s: %w", op, state.ErrNotFound)
	}
	if errors.Is(err, redis.ErrClosed) || s.closed.Load() {
		return fmt.Errorf("redisstore: %s: %w", op, state.ErrClosed)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		code, detail, _ := strings.Cut(rerr.Error(), " ")
		if sentinel, ok := scriptCodes[code]; ok {
			return fmt.Errorf("redisstore: %s: %s: %w", op, detail, sentinel)
		}
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// ms is t in unix milliseconds, the resolution of every time the store
// keeps.
func ms(t time.Time) int64 { return t.UnixMilli() }

// token returns a random lease token prefix.
func token() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // documented never to return an error
	return hex.EncodeToString(b[:])
}
