package boltstore

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/scim-bridge/scim-bridge/state"
)

// writer group-commits writes: one goroutine takes every write waiting at
// the time, runs them one after another in a single bbolt transaction and
// syncs once for all of them. While it syncs, new writes queue up and form
// the next transaction, so the batch grows with the load and a lone write
// waits for no timer.
//
// bbolt's DB.Batch was the alternative. It waits up to MaxBatchDelay to
// gather a batch, which a lone write pays in full, and when one function of
// a batch fails it rolls back the whole transaction and runs the rest
// again. Rejections (a taken userName, a stale version, a lost lease) are
// routine client outcomes here, so a rollback per rejection would cost the
// innocent writes a second run. Instead every write function follows one
// rule: it returns a rejection only before it writes anything. A rejection
// then leaves the shared transaction as it was and the batch goes on. Any
// other failure (a bbolt error, a panic) may have written half a change, so
// the batch is rolled back and each write runs again alone; write functions
// recompute everything inside the transaction and so can run twice.
type writer struct {
	s        *Store
	maxBatch int
	reqs     chan *request
	stopped  chan struct{}
}

// request is one write waiting for the writer.
type request struct {
	ctx     context.Context
	fn      func(tx *bbolt.Tx) error
	appends bool
	done    chan error
}

// errInvalid marks a call rejected for bad arguments before it reached the
// database.
var errInvalid = state.ErrInvalid

// rejected reports whether err is an outcome of a write function's checks,
// returned before it wrote anything.
func rejected(err error) bool {
	return errors.Is(err, state.ErrConflict) ||
		errors.Is(err, state.ErrNotFound) ||
		errors.Is(err, state.ErrVersionMismatch) ||
		errors.Is(err, state.ErrLeaseLost) ||
		errors.Is(err, errInvalid)
}

func (w *writer) start(s *Store, maxBatch int) {
	w.s = s
	w.maxBatch = maxBatch
	w.reqs = make(chan *request, maxBatch)
	w.stopped = make(chan struct{})
	go w.loop()
}

// stop ends the writer once every submitted write is answered. The caller
// guarantees that no write is submitted from now on.
func (w *writer) stop() {
	close(w.reqs)
	<-w.stopped
}

// do runs fn in a shared write transaction and returns once it is durable.
// A write whose ctx ends before its turn is skipped and returns ctx's error;
// once its turn comes it runs to the end.
func (w *writer) do(ctx context.Context, appends bool, fn func(tx *bbolt.Tx) error) error {
	r := &request{ctx: ctx, fn: fn, appends: appends, done: make(chan error, 1)}
	w.reqs <- r
	return <-r.done
}

func (w *writer) loop() {
	defer close(w.stopped)
	batch := make([]*request, 0, w.maxBatch)
	for first := range w.reqs {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < w.maxBatch {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		w.run(batch)
		clear(batch)
	}
}

// run commits one batch, answering every request in it.
func (w *writer) run(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}

	tx, err := w.s.db.Begin(true)
	if err != nil {
		w.answerAll(live, fmt.Errorf("boltstore: begin: %w", err))
		return
	}
	errs := make([]error, len(live))
	for i, r := range live {
		err := call(r.fn, tx)
		if err != nil && !rejected(err) {
			_ = tx.Rollback()
			w.s.log.Warn("write batch failed, retrying its writes alone",
				"writes", len(live), "err", err)
			w.runAlone(live)
			return
		}
		errs[i] = err
	}
	if err := tx.Commit(); err != nil {
		w.answerAll(live, fmt.Errorf("boltstore: commit: %w", err))
		return
	}

	appended := false
	for i, r := range live {
		appended = appended || (r.appends && errs[i] == nil)
	}
	if appended {
		w.s.notify()
	}
	for i, r := range live {
		r.done <- errs[i]
	}
}

// runAlone runs each request in its own transaction, so that one failing
// write cannot take the others down with it.
func (w *writer) runAlone(reqs []*request) {
	for _, r := range reqs {
		err := w.s.db.Update(func(tx *bbolt.Tx) error { return call(r.fn, tx) })
		if err == nil && r.appends {
			w.s.notify()
		}
		r.done <- err
	}
}

func (w *writer) answerAll(reqs []*request, err error) {
	for _, r := range reqs {
		r.done <- err
	}
}

// call runs fn, turning a panic into an error so that the writer survives.
func call(fn func(tx *bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("boltstore: write panicked: %v", p)
		}
	}()
	return fn(tx)
}
