package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// Outbound bulk.
//
// When an app's connector is a connector.Bulker and the app says it takes
// bulk requests, the creates, updates, deactivations and deletions of
// reconciles that are ready at about the same time (a quick sync, a burst
// of directory changes) go to the app as one bulk request of up to its
// limit. The seam is the connector itself: the app's connector is wrapped
// in a bulkConn, whose single-operation methods queue the operation and
// wait for its own result out of a shared request. Each reconcile is thus
// written once, and everything it guarantees holds per operation exactly
// as for a single call:
//   - the operation is only queued by reconciler.call, that is while its
//     key's lease is held with a call timeout to spare, after any 429
//     pause and after its rate-limit token;
//   - its result (the created account's id, ErrNotFound, ErrConflict and
//     the adoption that follows, a retryable or permanent error) is what
//     the single call would have returned, and it lands on its own key;
//   - a failure of the request as a whole (a 429 with Retry-After, a 5xx,
//     a timeout) is every operation's error, so each key retries with its
//     own backoff; a 429 pauses the app before anyone hears of it, and
//     operations queued already wait the pause out before they are sent.
//
// Limits. The app's concurrency caps requests in flight: a bulk request
// takes one slot, like a single call (lookups and the single calls of a
// batch of one take slots too). The rate limit counts operations: each
// reconcile spends its token before it queues, so a request of N
// operations has spent N tokens. Requests per second then fall by the
// batch size while the load on the app, and what an administrator set the
// limit for, stays measured in user changes. To fill requests, a bulk app
// runs BulkMax reconciles per unit of concurrency.
//
// A request is sent once a request's worth of operations is queued, or
// BulkLinger after the first of a partial one; a lone operation goes as
// the single call. The pool holds 2 x concurrency x limit keys once the
// app has said its limit (see widen), so that requests can fill. A
// request the app refuses as a whole for good (401, 403, a malformed
// request) fails each of its operations for good, as the single calls
// would have been refused.
//
// No request outlives any of its operations: its deadline is the earliest
// of their call deadlines (so it ends before any of their leases could
// pass to another replica), and it is cancelled once every operation in
// it has been given up (a shutdown).

// bulkConn is an app's connector with its writes grouped into bulk
// requests. It is safe for concurrent use.
type bulkConn struct {
	connector.Connector // single calls: lookups, and when bulk is off
	bulk                connector.Bulker
	log                 *slog.Logger
	a                   *app
	clock               func() time.Time
	linger              time.Duration // how long a partial batch waits for more
	most                int           // the engine's cap on operations per request
	slots               chan struct{} // one per request in flight
	requests            func(ops int) // counts each bulk request sent

	mu      sync.Mutex
	width   int // operations per request, as last learned
	pending []*bulkEntry
	sending bool // a sender is waiting for a slot and takes what is pending
	timer   *time.Timer
}

// bulkEntry is one operation waiting for its share of a request.
type bulkEntry struct {
	ctx   context.Context
	op    connector.Operation
	taken bool // in a request: it can no longer be withdrawn
	done  chan struct{}
	res   connector.Result
}

var _ connector.Connector = (*bulkConn)(nil)

// newBulkConn wraps a's connector when it can take bulk requests;
// otherwise it returns the connector and nil.
func (e *Engine) newBulkConn(a *app) (connector.Connector, *bulkConn) {
	b, ok := a.conn.(connector.Bulker)
	if !ok || e.tune.BulkMax < 2 {
		return a.conn, nil
	}
	c := &bulkConn{
		Connector: a.conn,
		bulk:      b,
		log:       e.log,
		a:         a,
		clock:     e.clock,
		linger:    e.tune.BulkLinger,
		most:      e.tune.BulkMax,
		slots:     make(chan struct{}, a.concurrency),
		requests: func(ops int) {
			e.metrics.bulkRequests.WithLabelValues(a.name).Inc()
			e.metrics.bulkOps.WithLabelValues(a.name).Add(float64(ops))
		},
	}
	return c, c
}

// Create queues a create and returns the new account's id.
func (c *bulkConn) Create(ctx context.Context, fields connector.Fields) (string, error) {
	res := c.do(ctx, connector.Operation{Kind: connector.OpCreate, Fields: fields})
	return res.ID, res.Err
}

// Update queues an update of account id.
func (c *bulkConn) Update(ctx context.Context, id string, fields connector.Fields) error {
	return c.do(ctx, connector.Operation{Kind: connector.OpUpdate, ID: id, Fields: fields}).Err
}

// Deactivate queues a deactivation of account id.
func (c *bulkConn) Deactivate(ctx context.Context, id string) error {
	return c.do(ctx, connector.Operation{Kind: connector.OpDeactivate, ID: id}).Err
}

// Delete queues a deletion of account id.
func (c *bulkConn) Delete(ctx context.Context, id string) error {
	return c.do(ctx, connector.Operation{Kind: connector.OpDelete, ID: id}).Err
}

// Lookup is a single call, within the app's concurrency.
func (c *bulkConn) Lookup(ctx context.Context, key connector.Key) (string, error) {
	var id string
	err := c.withSlot(ctx, func() error {
		var err error
		id, err = c.Connector.Lookup(ctx, key)
		c.throttled(err)
		return err
	})
	return id, err
}

// learnWidth returns how many operations one request takes, asking the
// app the first time (the connector caches the answer). Below two, or
// when the app cannot be asked, operations go as single calls. The
// question is a request like any other: it waits out a pause the app
// asked for, and a 429 to it pauses the app.
func (c *bulkConn) learnWidth(ctx context.Context) (int, error) {
	if err := c.a.waitHold(ctx, c.clock()); err != nil {
		return 0, err
	}
	n, err := c.bulk.MaxBulk(ctx)
	if err != nil {
		c.throttled(err)
		return 0, fmt.Errorf("ask for bulk support: %w", err)
	}
	n = min(n, c.most)
	c.mu.Lock()
	c.width = n
	c.mu.Unlock()
	return n, nil
}

// do runs op as its share of a bulk request and returns its result; when
// ctx ends first it returns ctx's error, as a cancelled single call does.
func (c *bulkConn) do(ctx context.Context, op connector.Operation) connector.Result {
	if n, err := c.learnWidth(ctx); err != nil || n < 2 {
		return c.single(ctx, op)
	}
	e := &bulkEntry{ctx: ctx, op: op, done: make(chan struct{})}
	c.mu.Lock()
	c.pending = append(c.pending, e)
	c.schedule()
	c.mu.Unlock()

	select {
	case <-e.done:
		return e.res
	case <-ctx.Done():
	}
	c.mu.Lock()
	taken := e.taken
	if !taken {
		c.pending = slices.DeleteFunc(c.pending, func(p *bulkEntry) bool { return p == e })
	}
	c.mu.Unlock()
	if taken {
		select {
		case <-e.done:
			// The answer came with the cancellation: a created
			// account's id is worth keeping.
			return e.res
		default:
		}
	}
	return connector.Result{Err: fmt.Errorf("%s: %w", op.Kind, ctx.Err())}
}

// schedule makes sure pending operations are sent: at once when a full
// request is waiting, else once the linger time has passed. c.mu is held.
func (c *bulkConn) schedule() {
	if c.sending || len(c.pending) == 0 {
		return
	}
	if len(c.pending) >= c.width {
		c.sending = true
		go c.send()
		return
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(c.linger, c.lingered)
	}
}

func (c *bulkConn) lingered() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = nil
	if !c.sending && len(c.pending) > 0 {
		c.sending = true
		go c.send()
	}
}

// send waits for a free slot and for the end of any pause the app asked
// for, takes up to a request's worth of pending operations (more may have
// come meanwhile, and some may have been given up) and sends them.
// Operations queued before a 429 are thus not sent inside its pause.
func (c *bulkConn) send() {
	c.slots <- struct{}{}
	defer func() { <-c.slots }()
	if d := time.Unix(0, c.a.holdUntil.Load()).Sub(c.clock()); d > 0 {
		time.Sleep(d)
	}

	c.mu.Lock()
	n := min(len(c.pending), max(c.width, 1))
	batch := slices.Clone(c.pending[:n])
	c.pending = slices.Delete(c.pending, 0, n)
	for _, e := range batch {
		e.taken = true
	}
	c.sending = false
	c.schedule()
	c.mu.Unlock()

	switch len(batch) {
	case 0:
	case 1:
		// A lone operation goes as the single call it is.
		e := batch[0]
		e.res = c.call(e.ctx, e.op)
		c.throttled(e.res.Err)
		close(e.done)
	default:
		c.sendBatch(batch)
	}
}

// sendBatch sends batch as one bulk request and hands each operation its
// result, or the request's error.
func (c *bulkConn) sendBatch(batch []*bulkEntry) {
	ctx, cancel := batchContext(batch)
	defer cancel()
	ops := make([]connector.Operation, len(batch))
	for i, e := range batch {
		ops[i] = e.op
	}
	c.requests(len(ops))
	results, err := c.bulk.Bulk(ctx, ops)
	if err == nil && len(results) != len(ops) {
		err = &connector.Error{Op: "bulk", Retryable: true, Err: fmt.Errorf(
			"%d results for %d operations", len(results), len(ops))}
	}
	if err != nil {
		c.log.Debug("bulk request failed", "app", c.a.name, "ops", len(ops), "err", err)
	}
	// The pause starts before anyone hears of the 429, so that the next
	// request, which may be waiting for this one's slot, is held too.
	c.throttled(err)
	for i, e := range batch {
		if err != nil {
			e.res = connector.Result{Err: err}
		} else {
			e.res = results[i]
		}
		close(e.done)
	}
}

// throttled pauses the app when err is a 429, as reconciler.call does
// once the error reaches it.
func (c *bulkConn) throttled(err error) {
	if statusOf(err) != http.StatusTooManyRequests {
		return
	}
	_, after := connector.Retryable(err)
	c.a.hold(c.clock().Add(after))
}

// batchContext is the context of one request: it keeps the values of the
// first operation's context, ends at the earliest deadline of all, and is
// cancelled once every operation's context is.
func batchContext(batch []*bulkEntry) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(batch[0].ctx)
	var soonest time.Time
	for _, e := range batch {
		if d, ok := e.ctx.Deadline(); ok && (soonest.IsZero() || d.Before(soonest)) {
			soonest = d
		}
	}
	ctx, cancel := context.WithCancel(base)
	if !soonest.IsZero() {
		ctx, cancel = context.WithDeadline(base, soonest)
	}

	var live atomic.Int64
	live.Store(int64(len(batch)))
	stops := make([]func() bool, 0, len(batch))
	for _, e := range batch {
		stops = append(stops, context.AfterFunc(e.ctx, func() {
			if live.Add(-1) == 0 {
				cancel()
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// single runs op as a single call within the app's concurrency.
func (c *bulkConn) single(ctx context.Context, op connector.Operation) connector.Result {
	var res connector.Result
	res.Err = c.withSlot(ctx, func() error {
		res = c.call(ctx, op)
		c.throttled(res.Err)
		return res.Err
	})
	return res
}

// call runs op with the connector's single-operation method.
func (c *bulkConn) call(ctx context.Context, op connector.Operation) connector.Result {
	switch op.Kind {
	case connector.OpCreate:
		id, err := c.Connector.Create(ctx, op.Fields)
		return connector.Result{ID: id, Err: err}
	case connector.OpUpdate:
		return connector.Result{Err: c.Connector.Update(ctx, op.ID, op.Fields)}
	case connector.OpDeactivate:
		return connector.Result{Err: c.Connector.Deactivate(ctx, op.ID)}
	case connector.OpDelete:
		return connector.Result{Err: c.Connector.Delete(ctx, op.ID)}
	}
	return connector.Result{Err: fmt.Errorf("bulk: unknown operation %q", op.Kind)}
}

// withSlot runs f in one of the app's request slots.
func (c *bulkConn) withSlot(ctx context.Context, f func() error) error {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.slots }()
	return f()
}

// widen lets the pool hold enough keys to fill bulk requests once the app
// has said how many operations one takes; until then the pool holds what
// a single-call app would. It asks again after a failure until ctx ends.
func (p *pool) widen(ctx context.Context) {
	pause := 100 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, p.e.tune.CallTimeout)
		n, err := p.a.bulk.learnWidth(cctx)
		cancel()
		if err == nil {
			p.addTokens(2 * p.a.concurrency * (n - 1))
			return
		}
		p.e.log.Debug("bulk support unknown", "app", p.a.name, "err", err)
		if !sleep(ctx, pause) {
			return
		}
		pause = min(pause*2, maxPause)
	}
}

// addTokens lets the pool hold n more keys, within the channel's room.
func (p *pool) addTokens(n int) {
	for range n {
		select {
		case p.tokens <- struct{}{}:
		default:
			return
		}
	}
}
