// Package boltstore is the embedded state backend: one bbolt file on the
// local disk holds the directory, the change feed, records and queues of one
// organization.
//
// Every write is fsync'd before the call returns. Concurrent writes are
// group-committed: a single writer goroutine runs all writes waiting at a
// time in one bbolt transaction, so the cost of a sync is shared. Only one
// process can hold the file; a second Open fails after a short wait.
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/scim-bridge/scim-bridge/state"
)

var _ state.Store = (*Store)(nil)

// Defaults for the zero fields of Options.
const (
	DefaultLockTimeout = 500 * time.Millisecond
	DefaultMaxBatch    = 256
)

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// Logger receives the store's rare operational messages; nil discards.
	Logger *slog.Logger
	// Clock stamps change times and feed delivery times (Claim's idle
	// time); nil means time.Now. Queues use the caller's now instead.
	Clock func() time.Time
	// LockTimeout bounds the wait for the file lock another process holds;
	// zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// MaxBatch caps how many waiting writes share one transaction; zero
	// means DefaultMaxBatch.
	MaxBatch int
	// InitialMmapSize is passed to bbolt: mapping a large file up front
	// spares remaps, which block readers, while the file grows.
	InitialMmapSize int
}

// Store is a state.Store on one bbolt file. It is safe for concurrent use.
type Store struct {
	db    *bbolt.DB
	log   *slog.Logger
	clock func() time.Time

	// life is held shared by every call while it uses the database and
	// exclusively by Close, so Close waits for calls in flight and later
	// calls see closed.
	life   sync.RWMutex
	closed bool
	// done is closed when the store closes, to wake blocked Reads.
	done chan struct{}

	w writer

	// sig is closed and replaced after every transaction that appended
	// to the feed; waiting Reads select on it.
	sigMu sync.Mutex
	sig   chan struct{}
}

// Names of the top-level buckets and of the nested ones.
var (
	bucketMeta    = []byte("meta")
	bucketDir     = []byte("dir")
	bucketFeed    = []byte("feed")
	bucketGroups  = []byte("groups")
	bucketRecords = []byte("records")
	bucketQueues  = []byte("queues")

	bucketDocs    = []byte("docs")
	bucketIndex   = []byte("index")
	bucketRefs    = []byte("refs")
	bucketPending = []byte("pending")
	bucketItems   = []byte("items")
	bucketReady   = []byte("ready")
	bucketLeased  = []byte("leased")

	keyFormat = []byte("format")
	keyCursor = []byte("cursor")
)

// formatVersion is the layout version written into new files; Open refuses
// files of another layout rather than misread them.
const formatVersion = 1

// Open opens or creates the store file at path, creating its parent
// directories. It fails when another process holds the file.
func Open(path string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: create directory: %w", err)
	}

	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: opts.LockTimeout,
		// The freelist is rebuilt by a scan at open instead of being
		// written on every commit: data pages are still synced, and
		// each commit writes less.
		NoFreelistSync:  true,
		FreelistType:    bbolt.FreelistMapType,
		InitialMmapSize: opts.InitialMmapSize,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("boltstore: open %s: file is in use by another process "+
			"(lock not acquired within %s): %w", path, opts.LockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if err := db.Update(initLayout); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}

	s := &Store{
		db:    db,
		log:   opts.Logger,
		clock: opts.Clock,
		done:  make(chan struct{}),
		sig:   make(chan struct{}),
	}
	s.w.start(s, opts.MaxBatch)
	s.log.Debug("state store opened", "path", path)
	return s, nil
}

// initLayout creates the top-level buckets of a new file and checks the
// layout version of an existing one.
func initLayout(tx *bbolt.Tx) error {
	for _, name := range [][]byte{
		bucketMeta, bucketDir, bucketFeed, bucketGroups, bucketRecords, bucketQueues,
	} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	v := meta.Get(keyFormat)
	if v == nil {
		return meta.Put(keyFormat, seqKey(formatVersion))
	}
	if len(v) != 8 || seqOf(v) != formatVersion {
		return fmt.Errorf("unsupported file layout %x", v)
	}
	return nil
}

// Ping reports whether the file can be read.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("boltstore: ping: layout missing")
		}
		return nil
	})
}

// Close waits for calls in flight, stops the writer and closes the file.
// Blocked Reads return ErrClosed at once. A second Close returns ErrClosed.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return state.ErrClosed
	}
	s.closed = true
	close(s.done)
	s.w.stop()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}

// enter admits a call unless the store is closed; the caller must leave.
func (s *Store) enter() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return state.ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.life.RUnlock() }

// view runs fn in a read-only transaction.
func (s *Store) view(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// update runs fn in a durable write transaction shared with other writes
// (see writer). fn must follow the writer's rule: an error for which
// rejected is true is returned before fn writes anything. appends says
// whether fn adds to the change feed, to wake waiting Reads.
func (s *Store) update(ctx context.Context, appends bool, fn func(tx *bbolt.Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.w.do(ctx, appends, fn)
}

// signal returns the channel the next feed append closes.
func (s *Store) signal() <-chan struct{} {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	return s.sig
}

// notify wakes every Read waiting for new changes.
func (s *Store) notify() {
	s.sigMu.Lock()
	close(s.sig)
	s.sig = make(chan struct{})
	s.sigMu.Unlock()
}
