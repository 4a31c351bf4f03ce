package bridge

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/scim-bridge/scim-bridge/state"
)

// pool works one app's queue in this replica: a leaser takes keys in
// batches (one store write for many keys) while concurrency workers
// reconcile them. At most twice concurrency keys are held at once: those
// being worked on and a batch waiting for a free worker (for an app that
// takes bulk requests, twice concurrency times its bulk limit; see widen).
type pool struct {
	e *Engine
	a *app

	workers int           // reconciles at once: concurrency, times BulkMax for bulk
	tokens  chan struct{} // one per key this replica may hold
	work    chan *held
	// leasing is closed when the leaser stops, after which busy only
	// goes down.
	leasing chan struct{}

	mu   sync.Mutex
	held map[*held]struct{}
	busy sync.WaitGroup
}

// held is a lease this replica holds, with the context of the work done
// under it: losing the lease cancels that work.
type held struct {
	e      *Engine
	queue  string
	key    string // the leased key, which never changes
	mu     sync.Mutex
	lease  state.Lease
	lost   bool
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func newPool(e *Engine, a *app) *pool {
	workers := a.concurrency
	if a.bulk != nil {
		workers *= a.bulk.most // see widen
	}
	p := &pool{
		e:       e,
		a:       a,
		workers: workers,
		tokens:  make(chan struct{}, 2*workers),
		work:    make(chan *held, 2*a.concurrency),
		held:    map[*held]struct{}{},
		leasing: make(chan struct{}),
	}
	p.addTokens(2 * a.concurrency)
	return p
}

// run leases and works keys until ctx ends; work is the context the
// reconciles run under, which outlives ctx by the shutdown grace period.
func (p *pool) run(ctx, work context.Context) {
	var wg sync.WaitGroup
	if p.a.bulk != nil {
		go p.widen(ctx)
	}
	for range p.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range p.work {
				p.process(ctx, h)
			}
		}()
	}
	extendDone := make(chan struct{})
	go func() {
		defer close(extendDone)
		p.extendLoop(work)
	}()

	p.leaseLoop(ctx, work)
	close(p.leasing)
	close(p.work)
	wg.Wait()
	<-extendDone
}

// waitIdle returns once the leaser has stopped and no key is held.
func (p *pool) waitIdle() {
	<-p.leasing
	p.busy.Wait()
}

func (p *pool) leaseLoop(ctx, work context.Context) {
	e, a := p.e, p.a
	pause := 50 * time.Millisecond
	for {
		// Take one token (waiting for it), then every other free one.
		select {
		case <-p.tokens:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for {
			select {
			case <-p.tokens:
				n++
			default:
				break more
			}
		}

		leases, err := e.store.Lease(ctx, a.queue, e.replica, e.clock(), n, e.tune.LeaseTTL)
		for range n - len(leases) {
			p.tokens <- struct{}{}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Error("lease keys", "app", a.name, "err", err)
			if !sleep(ctx, pause) {
				return
			}
			pause = min(pause*2, maxPause)
			continue
		}
		pause = 50 * time.Millisecond
		for _, l := range leases {
			p.work <- p.hold(work, l)
		}
		if len(leases) == 0 && !p.idle(ctx) {
			return
		}
	}
}

// idle waits until work may be there: a local wake-up, the next due time
// of the queue, or the poll interval (for other replicas' work).
func (p *pool) idle(ctx context.Context) bool {
	e := p.e
	d := e.tune.PollInterval
	if next, err := e.store.NextDue(ctx, p.a.queue); err == nil {
		d = min(max(next.Sub(e.clock()), 5*time.Millisecond), d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.a.wake:
		return true
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *pool) hold(work context.Context, l state.Lease) *held {
	h := p.e.newHeld(work, p.a.queue, l)
	p.mu.Lock()
	p.held[h] = struct{}{}
	p.mu.Unlock()
	p.busy.Add(1)
	return h
}

func (p *pool) release(h *held) {
	h.cancel(nil)
	p.mu.Lock()
	delete(p.held, h)
	p.mu.Unlock()
	p.busy.Done()
	p.tokens <- struct{}{}
}

// extendLoop pushes the end of every held lease forward every third of
// the lease TTL; a lease found lost cancels its work.
func (p *pool) extendLoop(work context.Context) {
	t := time.NewTicker(p.e.tune.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-work.Done():
			return
		}
		p.mu.Lock()
		hs := make([]*held, 0, len(p.held))
		for h := range p.held {
			hs = append(hs, h)
		}
		p.mu.Unlock()
		for _, h := range hs {
			_ = h.extend(work)
		}
	}
}

func (e *Engine) newHeld(parent context.Context, queue string, l state.Lease) *held {
	h := &held{e: e, queue: queue, key: l.Key, lease: l}
	h.ctx, h.cancel = context.WithCancelCause(parent)
	return h
}

// extend renews the lease; it reports state.ErrLeaseLost once the lease
// is gone, and cancels the work under it.
func (h *held) extend(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost {
		return state.ErrLeaseLost
	}
	l, err := h.e.store.Extend(ctx, h.queue, h.lease, h.e.clock(), h.e.tune.LeaseTTL)
	if errors.Is(err, state.ErrLeaseLost) {
		h.lost = true
		h.cancel(state.ErrLeaseLost)
		h.e.log.Warn("lease lost", "queue", h.queue, "key", h.key)
		return err
	}
	if err != nil {
		return err
	}
	h.lease = l
	return nil
}

// ensure makes sure the lease outlasts a connector call starting now: it
// extends it when less than a call timeout and a margin remain. The check
// is what keeps two replicas from ever pushing one user at once: a call
// only starts when it can end before the lease could pass to another.
func (h *held) ensure(ctx context.Context) error {
	h.mu.Lock()
	lost, until := h.lost, h.lease.Until
	h.mu.Unlock()
	if lost {
		return state.ErrLeaseLost
	}
	if until.Sub(h.e.clock()) > h.e.tune.CallTimeout+h.e.tune.LeaseTTL/10 {
		return nil
	}
	return h.extend(ctx)
}

// finish ends the lease: done removes the key, otherwise it comes back at
// due. A lease lost meanwhile is left to its new holder.
func (h *held) finish(done bool, due time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost {
		return
	}
	// The work context may be cancelled at shutdown; handing the key back
	// must still reach the store.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), 5*time.Second)
	defer cancel()
	var err error
	if done {
		err = h.e.store.Done(ctx, h.queue, h.lease)
	} else {
		err = h.e.store.Retry(ctx, h.queue, h.lease, due)
	}
	if err != nil && !errors.Is(err, state.ErrLeaseLost) {
		h.e.log.Error("end lease", "queue", h.queue, "key", h.key, "err", err)
	}
	// Nothing may run under a lease once it has ended.
	h.lost = true
	h.cancel(state.ErrLeaseLost)
}

// keepAlive extends the lease every third of its TTL until the work under
// it ends.
func (h *held) keepAlive() {
	t := time.NewTicker(h.e.tune.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := h.extend(h.ctx); errors.Is(err, state.ErrLeaseLost) {
				return
			}
		case <-h.ctx.Done():
			return
		}
	}
}

// process reconciles one leased key and ends its lease as the outcome
// says. Once ctx (the engine's run) has ended, keys not yet started are
// handed back untouched.
func (p *pool) process(ctx context.Context, h *held) {
	defer p.release(h)
	if ctx.Err() != nil {
		h.finish(false, p.e.clock())
		return
	}
	userID := strings.TrimPrefix(h.key, p.a.name+"/")
	out := p.e.reconcile(h.ctx, p, h, userID)
	switch out.kind {
	case outDone:
		h.finish(true, time.Time{})
	case outRetry:
		h.finish(false, out.due)
	case outLost:
	}
}
