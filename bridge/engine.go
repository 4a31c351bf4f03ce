// Package bridge is the sync engine: it keeps every application that has
// provisioning on in step with the directory.
//
// The engine is level-triggered. It reads the store's change feed and, for
// each application concerned, enqueues a key "reconcile (app, user)" in the
// application's queue; the queue holds a key at most once, so bursts of
// changes collapse into one job. A worker leases a key, loads the directory
// user as it is now, projects it through the application's mapping, compares
// the content hash with what the application last received, and calls the
// connector only when something differs. Jobs carry no payload, so duplicate
// and reordered changes are harmless.
//
// Per (application, user) the engine keeps a link record: the application's
// account id, the hash last sent, and the provisioning status (synced,
// pending, failed, needs-input, deprovisioned). Failures are retried with
// capped exponential backoff and jitter, honouring Retry-After; after the
// last try the user becomes a dead letter an administrator can replay. An
// application that refuses the bridge's credentials is paused as a whole
// instead, its users waiting without using up their tries, until it
// accepts them again.
//
// Several engines (replicas) may share one store. Queue leases make sure one
// user of one application is worked on by one replica at a time; a replica
// that dies has its leases expire and its unacknowledged feed entries
// claimed by another.
//
// Quick sync jobs re-push every user linked to an application (or every
// user in its scope) with persisted progress that survives a restart.
package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/mappings"
	"github.com/scim-bridge/scim-bridge/state"
)

// Errors of the engine's admin-facing methods; callers use errors.Is.
var (
	// ErrUnknownApp: no application instance has that name.
	ErrUnknownApp = errors.New("unknown app")
	// ErrNotFound: the job, user status or dead letter does not exist.
	ErrNotFound = errors.New("not found")
	// ErrSyncRunning: a quick sync of the application is already running.
	ErrSyncRunning = errors.New("a quick sync of this app is already running")
	// ErrInvalid: the request is malformed (a bad option, a bad cursor).
	ErrInvalid = errors.New("invalid request")
)

// Options configure an Engine. Store, Catalog and Apps are required.
type Options struct {
	// Store is where the directory, the feed, queues and records live.
	Store state.Store
	// Catalog defines the applications Apps refer to.
	Catalog *mappings.Catalog
	// Directory is the schema of the directory user that mappings are
	// checked against; nil means mappings.DefaultDirectory().
	Directory *mappings.Directory
	// Apps are the application instances of the configuration.
	Apps []config.App
	// Kinds builds connectors by kind name; an app whose kind is missing
	// makes New fail.
	Kinds Kinds
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// Metrics registers the engine's metrics; nil registers nothing.
	Metrics prometheus.Registerer
	// Clock is the time source for leases, retries and job progress; nil
	// means time.Now.
	Clock func() time.Time
	// Replica names this engine among the replicas sharing the store; it
	// must differ between live replicas. Empty means the host name and a
	// random suffix.
	Replica string
	// Tuning holds timings and sizes; zero fields take their defaults.
	Tuning Tuning
}

// Tuning holds the engine's timings and sizes. Every zero field takes the
// default named beside it.
type Tuning struct {
	// LeaseTTL is how long a replica holds a key before another may take
	// it; held keys are extended every third of it (default 30s).
	LeaseTTL time.Duration
	// CallTimeout bounds one connector call; it must be under half of
	// LeaseTTL, so that a call started on a valid lease ends before the
	// lease could pass to another replica (default 10s).
	CallTimeout time.Duration
	// PollInterval is how often idle workers look for work that other
	// replicas enqueued or retries that fell due (default 1s).
	PollInterval time.Duration
	// ClaimIdle is how long a feed entry stays unacknowledged before
	// another replica claims it (default 1m).
	ClaimIdle time.Duration
	// MaxAttempts is how many tries a failing user gets before it becomes
	// a dead letter (default 10). Throttled tries (429) do not count, up to
	// MaxThrottled of them (default 100).
	MaxAttempts  int
	MaxThrottled int
	// BackoffBase and BackoffMax bound the wait before a retry: full
	// jitter over BackoffBase*2^attempt, capped at BackoffMax (defaults 2s
	// and 10m).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// ShutdownGrace is how long in-flight work may finish when Run's
	// context ends before it is cancelled and handed back (default 5s).
	ShutdownGrace time.Duration
	// SyncPage is how many users a quick sync enqueues between two
	// checkpoints (default 500).
	SyncPage int
	// StallAfter is how long a quick sync waits for a user before it
	// checks whether that user still needs anything (default 30s).
	StallAfter time.Duration
	// BulkMax caps the operations of one bulk request to an app that
	// takes them, below what the app advertises; one turns bulk off
	// (default 100). See bulk.go.
	BulkMax int
	// BulkLinger is how long a partial bulk request waits for more
	// operations before it is sent (default 20ms).
	BulkLinger time.Duration
}

func (t *Tuning) withDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&t.LeaseTTL, 30*time.Second)
	def(&t.CallTimeout, 10*time.Second)
	def(&t.PollInterval, time.Second)
	def(&t.ClaimIdle, time.Minute)
	def(&t.BackoffBase, 2*time.Second)
	def(&t.BackoffMax, 10*time.Minute)
	def(&t.ShutdownGrace, 5*time.Second)
	def(&t.StallAfter, 30*time.Second)
	def(&t.BulkLinger, 20*time.Millisecond)
	defInt(&t.MaxAttempts, 10)
	defInt(&t.MaxThrottled, 100)
	defInt(&t.SyncPage, 500)
	defInt(&t.BulkMax, 100)
}

// Engine is the sync engine of one replica. Its methods are safe for
// concurrent use; Run is called once.
type Engine struct {
	store   state.Store
	log     *slog.Logger
	clock   func() time.Time
	replica string
	tune    Tuning
	catalog *mappings.Catalog
	dir     *mappings.Directory
	metrics *metrics
	oplog   *opLog

	apps  map[string]*app
	order []string // app names in configuration order

	jobWake chan struct{}
	waiters waiters
}

// New checks the options, builds every app's connector and compiles its
// mapping. It fails, naming every app at fault, when an app refers to an
// unknown catalog entry or connector kind or its mapping does not compile.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Catalog == nil {
		return nil, errors.New("bridge: store and catalog are required")
	}
	e := &Engine{
		store:   opts.Store,
		log:     opts.Logger,
		clock:   opts.Clock,
		replica: opts.Replica,
		tune:    opts.Tuning,
		catalog: opts.Catalog,
		dir:     opts.Directory,
		apps:    map[string]*app{},
		jobWake: make(chan struct{}, 1),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.clock == nil {
		e.clock = time.Now
	}
	if e.dir == nil {
		e.dir = mappings.DefaultDirectory()
	}
	if e.replica == "" {
		e.replica = defaultReplica()
	}
	e.tune.withDefaults()
	if e.tune.CallTimeout*2 >= e.tune.LeaseTTL {
		return nil, fmt.Errorf("bridge: call timeout %v must be under half the lease ttl %v",
			e.tune.CallTimeout, e.tune.LeaseTTL)
	}
	e.log = e.log.With("replica", e.replica)
	e.metrics = newMetrics(opts.Metrics)
	e.oplog = newOpLog(e)
	e.waiters.init()

	var errs []error
	for _, c := range opts.Apps {
		a, err := e.newApp(context.Background(), c, opts.Kinds)
		if err != nil {
			errs = append(errs, fmt.Errorf("app %s: %w", c.Name, err))
			continue
		}
		e.apps[a.name] = a
		e.order = append(e.order, a.name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	return e, nil
}

// Replica is the name this engine holds leases and reads the feed under.
func (e *Engine) Replica() string { return e.replica }

// Run consumes the change feed, works the application queues and runs
// quick sync jobs until ctx ends. In-flight work then gets ShutdownGrace to
// finish; what remains is cancelled and its keys handed back to the queue,
// so another replica (or the next start) picks them up at once. Run returns
// nil after a clean stop; store errors along the way are logged and
// retried, not returned.
func (e *Engine) Run(ctx context.Context) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	e.startupReconcile(ctx)

	var wg sync.WaitGroup
	spawn := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	var pools []*pool
	for _, name := range e.order {
		p := newPool(e, e.apps[name])
		pools = append(pools, p)
		spawn(func() { p.run(ctx, work) })
	}
	spawn(func() { e.consumeFeed(ctx) })
	spawn(func() { e.runJobs(ctx, work) })
	spawn(func() { e.oplog.run(ctx) })
	spawn(func() { e.watchQueues(ctx) })
	e.log.Info("sync engine started", "apps", len(e.order))

	<-ctx.Done()
	grace := time.NewTimer(e.tune.ShutdownGrace)
	defer grace.Stop()
	idle := make(chan struct{})
	go func() {
		for _, p := range pools {
			p.waitIdle()
		}
		close(idle)
	}()
	select {
	case <-idle:
	case <-grace.C:
		e.log.Warn("shutdown grace over, cancelling in-flight work")
	}
	cancelWork()
	wg.Wait()
	e.oplog.flush(context.Background())
	e.log.Info("sync engine stopped")
	return nil
}

func defaultReplica() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// app returns the named application instance.
func (e *Engine) app(name string) (*app, error) {
	a, ok := e.apps[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownApp, name)
	}
	return a, nil
}

// wake nudges a channel of capacity one without blocking.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
