package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/state"
)

// call runs one connector call: only while the lease is safely held, after
// any pause the app asked for with 429, while the app accepts the
// credentials (else as the gate's probe, see authGate), within the app's
// rate limit, and bounded by CallTimeout. Every call is counted and logged.
func (r *reconciler) call(ctx context.Context, op string, f func(context.Context) error) error {
	if err := r.a.waitHold(ctx, r.e.clock()); err != nil {
		return err
	}
	probe, err := r.a.auth.enter(ctx, r.e.clock)
	if err != nil {
		return err
	}
	if err := r.a.limiter.Wait(ctx); err != nil {
		r.noteAuth(ctx, probe, err)
		return err
	}
	// The waits above may have been long: check the lease after them.
	if err := r.h.ensure(ctx); err != nil {
		r.noteAuth(ctx, probe, err)
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.e.tune.CallTimeout)
	start := r.e.clock()
	err = f(cctx)
	cancel()
	took := r.e.clock().Sub(start)
	r.noteAuth(ctx, probe, err)

	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, connector.ErrNotFound):
		outcome = "not_found"
	case errors.Is(err, connector.ErrConflict):
		outcome = "conflict"
	default:
		outcome = "error"
		if ok, after := connector.Retryable(err); ok {
			outcome = "retryable"
			if statusOf(err) == http.StatusTooManyRequests {
				outcome = "throttled"
				r.a.hold(r.e.clock().Add(after))
			}
		}
	}
	r.e.metrics.calls.WithLabelValues(r.a.name, op, outcome).Inc()
	r.e.metrics.callSeconds.WithLabelValues(r.a.name, op).Observe(took.Seconds())
	r.e.oplog.add(r.a, Operation{
		Time: start.UTC(), User: r.userID, Op: op, Account: r.link.AccountID,
		Outcome: outcome, Error: errText(err), Millis: took.Milliseconds(),
	})
	return err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// statusOf returns the HTTP status of a connector error, or 0.
func statusOf(err error) int {
	var ce *connector.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

// hold pauses every call to the app until t (a 429's Retry-After).
func (a *app) hold(t time.Time) {
	n := t.UnixNano()
	for {
		cur := a.holdUntil.Load()
		if cur >= n || a.holdUntil.CompareAndSwap(cur, n) {
			return
		}
	}
}

func (a *app) waitHold(ctx context.Context, now time.Time) error {
	until := time.Unix(0, a.holdUntil.Load())
	if d := until.Sub(now); d > 0 && !sleep(ctx, d) {
		return ctx.Err()
	}
	return nil
}

// fail handles a failed step: a lost lease or a shutdown ends the work
// quietly; a retryable error schedules a retry with backoff (honouring
// Retry-After); a permanent error, or the last try, makes a dead letter.
func (r *reconciler) fail(ctx context.Context, op string, err error) outcome {
	if lost := r.interrupted(ctx, err); lost != nil {
		return *lost
	}
	if verdictOf(err) == authRefused {
		return r.authPaused(ctx, op, err)
	}
	l := &r.link
	l.Error = fmt.Sprintf("%s: %v", op, err)
	retryable, after := connector.Retryable(err)
	if retryable && r.e.clock().Before(l.NextAttempt) {
		return r.early(ctx, after)
	}
	if retryable {
		throttled := statusOf(err) == http.StatusTooManyRequests &&
			l.Throttled < r.e.tune.MaxThrottled
		n := l.Attempts + 1
		if throttled {
			l.Throttled++
			n = l.Throttled
		} else {
			l.Attempts++
		}
		if l.Attempts < r.e.tune.MaxAttempts {
			due := r.e.clock().Add(r.e.retryDelay(n, after))
			l.State, l.NextAttempt = StatePending, due.UTC()
			if err := r.save(ctx); err != nil {
				r.e.log.Error("save retry status", "app", r.a.name, "user_id", r.userID, "err", err)
			}
			r.e.log.Debug("retry scheduled", "app", r.a.name, "user_id", r.userID,
				"attempt", l.Attempts, "due", due, "err", err)
			return outcome{kind: outRetry, due: due}
		}
	}
	l.State = StateFailed
	r.e.log.Warn("provisioning failed", "app", r.a.name, "user_id", r.userID, "op", op,
		"attempts", l.Attempts, "err", err)
	r.e.metrics.deadLetters.WithLabelValues(r.a.name).Inc()
	// The dead letter goes first, so that a link reading failed always has
	// one; should the link write fail, the retry's success removes it.
	r.e.putDeadLetter(ctx, r.a, r.userID, op, *l)
	return r.finish(ctx)
}

// early handles a retryable failure of a try that came before the user's
// scheduled retry, because a directory change or a quick sync queued the
// user again: the try does not count against the user's tries, and the
// schedule stands (pushed later only by a longer Retry-After). Without
// this, a user edited during an app outage would become a dead letter
// sooner than one left alone.
func (r *reconciler) early(ctx context.Context, after time.Duration) outcome {
	l := &r.link
	due := l.NextAttempt
	if t := r.e.clock().Add(after); after > 0 && t.After(due) {
		due = t
	}
	l.State, l.NextAttempt = StatePending, due.UTC()
	if err := r.save(ctx); err != nil {
		r.e.log.Error("save retry status", "app", r.a.name, "user_id", r.userID, "err", err)
	}
	return outcome{kind: outRetry, due: due}
}

// storeFailure handles an error of the store itself: the key comes back
// soon, without consuming a try (the app is not at fault).
func (r *reconciler) storeFailure(ctx context.Context, err error) outcome {
	if lost := r.interrupted(ctx, err); lost != nil {
		return *lost
	}
	if errors.Is(err, errLinkRace) {
		return outcome{kind: outLost}
	}
	r.e.log.Error("reconcile", "app", r.a.name, "user_id", r.userID, "err", err)
	return outcome{kind: outRetry, due: r.e.clock().Add(r.e.retryDelay(1, 0))}
}

// interrupted turns a lost lease into outLost and a shutdown into a key
// handed back at once; it returns nil for any other error.
func (r *reconciler) interrupted(ctx context.Context, err error) *outcome {
	if errors.Is(err, state.ErrLeaseLost) || errors.Is(context.Cause(ctx), state.ErrLeaseLost) {
		return &outcome{kind: outLost}
	}
	if ctx.Err() != nil {
		return &outcome{kind: outRetry, due: r.e.clock()}
	}
	return nil
}

// retryDelay is the wait before try n+1: what the app asked for, when it
// did (with a little jitter so that throttled keys do not return as one),
// else full jitter over an exponential backoff capped at BackoffMax.
func (e *Engine) retryDelay(n int, after time.Duration) time.Duration {
	if after > 0 {
		return after + rand.N(after/10+time.Millisecond)
	}
	ceiling := e.backoffCeiling(n)
	// Full jitter, but never less than a tenth of the base, so that a
	// retry does not spin.
	floor := e.tune.BackoffBase / 10
	return floor + rand.N(max(ceiling-floor, 1))
}

// backoffCeiling is BackoffBase*2^n, capped at BackoffMax.
func (e *Engine) backoffCeiling(n int) time.Duration {
	if n >= 40 {
		return e.tune.BackoffMax
	}
	return min(e.tune.BackoffBase<<n, e.tune.BackoffMax)
}

// DeadLetter is a user whose provisioning into an app failed for good; an
// administrator can replay it once the cause is fixed.
type DeadLetter struct {
	App      string    `json:"app"`
	User     string    `json:"user"`
	Op       string    `json:"op"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
}

func (e *Engine) putDeadLetter(ctx context.Context, a *app, userID, op string, l Link) {
	raw, err := json.Marshal(DeadLetter{
		App: a.name, User: userID, Op: op, Error: l.Error, Attempts: l.Attempts,
		At: e.clock().UTC(),
	})
	if err == nil {
		_, err = e.store.PutRecord(ctx, a.deadLetter, userID, raw, 0)
	}
	if err != nil {
		e.log.Error("record dead letter", "app", a.name, "user_id", userID, "err", err)
	}
}

func (e *Engine) dropDeadLetter(ctx context.Context, a *app, userID string) {
	if err := e.store.DeleteRecord(ctx, a.deadLetter, userID, 0); err != nil {
		e.log.Error("drop dead letter", "app", a.name, "user_id", userID, "err", err)
	}
}
