package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// FaultAuth is the AppFault reason of an app that refuses the bridge's
// credentials (revoked, rotated or expired).
const FaultAuth = "authentication"

// AppFault is why an app's work is paused as a whole rather than user by
// user.
type AppFault struct {
	Reason string    `json:"reason"`
	Error  string    `json:"error"`
	Since  time.Time `json:"since"`
}

// authVerdict is what one call's outcome says of the app's credentials.
type authVerdict int

const (
	authUnknown  authVerdict = iota // no answer, or a 5xx: nothing learnt
	authAccepted                    // the app answered as to a known caller
	authRefused                     // the app refused the credentials
)

// verdictOf reads a call's error. connector.ErrUnauthorized (a 401, or a
// token endpoint refusing the client) is a refusal of the credentials,
// which are the app's, not the user's. A 403 of the app itself is not: it
// can concern one account (an owner the API may not touch), so it stays a
// failure of that user.
func verdictOf(err error) authVerdict {
	var ce *connector.Error
	switch {
	case err == nil, errors.Is(err, connector.ErrNotFound), errors.Is(err, connector.ErrConflict):
		return authAccepted
	case errors.Is(err, connector.ErrUnauthorized):
		return authRefused
	case !errors.As(err, &ce) || ce.Status == 0 || ce.Retryable:
		return authUnknown
	}
	return authAccepted
}

// authGate pauses all of an app's calls while the app refuses the
// credentials. While it does, one call at a time probes them, after a
// backoff that grows with each refusal; the first call the app accepts
// opens the gate again. The zero value is an open gate; it is safe for
// concurrent use.
type authGate struct {
	mu       sync.Mutex
	fault    *AppFault // nil while the credentials work
	refusals int
	until    time.Time // no probe before this
	probing  bool
	changed  chan struct{} // closed, and replaced, when the gate changes
}

// authChange is a transition of the gate.
type authChange int

const (
	authSame authChange = iota
	authLost
	authRestored
)

// enter waits until a call may go: at once while the gate is open, else
// as the one probe once the backoff has passed. A probe must be followed
// by leave.
func (g *authGate) enter(ctx context.Context, now func() time.Time) (probe bool, err error) {
	for {
		g.mu.Lock()
		if g.fault == nil {
			g.mu.Unlock()
			return false, nil
		}
		wait := g.until.Sub(now())
		if !g.probing && wait <= 0 {
			g.probing = true
			g.mu.Unlock()
			return true, nil
		}
		if g.changed == nil {
			g.changed = make(chan struct{})
		}
		changed := g.changed
		g.mu.Unlock()
		if wait <= 0 {
			wait = time.Minute // a probe is out: its end closes changed
		}
		t := time.NewTimer(wait)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false, fmt.Errorf("wait for app credentials: %w", ctx.Err())
		}
		t.Stop()
	}
}

// leave records what a call learnt of the credentials and reports the
// transition it made, with the fault as it now stands. delay(n) is the
// wait before the probe that follows the nth refusal in a row. While the
// gate is shut only probes count: calls that were in flight when the
// fault began were sent before it, and say nothing of the credentials now.
func (g *authGate) leave(probe bool, v authVerdict, at time.Time, errText string,
	delay func(int) time.Duration) (authChange, AppFault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	change := authSame
	switch {
	case v == authRefused && g.fault == nil:
		g.fault = &AppFault{Reason: FaultAuth, Error: errText, Since: at.UTC()}
		g.refusals, g.until, change = 1, at.Add(delay(1)), authLost
	case v == authRefused && probe:
		g.refusals++
		g.fault.Error, g.until = errText, at.Add(delay(g.refusals))
	case v == authAccepted && probe && g.fault != nil:
		g.fault, g.refusals, change = nil, 0, authRestored
	}
	if probe {
		g.probing = false
	}
	if (probe || change != authSame) && g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
	var f AppFault
	if g.fault != nil {
		f = *g.fault
	}
	return change, f
}

// next is when the next probe may go (zero while the gate is open).
func (g *authGate) next() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fault == nil {
		return time.Time{}
	}
	return g.until
}

// noteAuth passes a call's outcome to the app's gate, and logs and records
// a transition once, for every user it concerns. The record in the control
// record is what every replica's admin API shows.
func (r *reconciler) noteAuth(ctx context.Context, probe bool, err error) {
	v := verdictOf(err)
	change, fault := r.a.auth.leave(probe, v, r.e.clock(), errText(err), r.e.backoffCeiling)
	switch {
	case change == authLost:
		r.e.log.Warn("app refused the credentials, pausing its work", "app", r.a.name,
			"err", err)
		r.e.metrics.authFaults.WithLabelValues(r.a.name).Inc()
		r.e.recordFault(ctx, r.a, &fault)
	case change == authRestored:
		r.e.log.Info("app accepts the credentials again, resuming its work", "app", r.a.name)
		r.e.recordFault(ctx, r.a, nil)
	case v == authAccepted && r.ctrl.Fault != nil && r.ctrl.Fault.Reason == FaultAuth:
		// Recorded by a replica that stopped before it saw the recovery.
		r.e.recordFault(ctx, r.a, nil)
	}
}

// recordFault sets (or, with nil, clears) the fault in the app's control
// record. A failure is logged: the pause itself does not depend on it.
func (e *Engine) recordFault(ctx context.Context, a *app, f *AppFault) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := e.updateControl(ctx, a, func(c *control) error {
		if (c.Fault == nil) == (f == nil) && (f == nil || c.Fault.Reason == f.Reason) {
			return errNoChange
		}
		c.Fault = f
		return nil
	})
	if err != nil {
		e.log.Error("record app fault", "app", a.name, "err", err)
	}
}

// authPaused schedules the user's retry for when the app's credentials are
// next probed, without consuming a try: the app is at fault, not the user.
func (r *reconciler) authPaused(ctx context.Context, op string, err error) outcome {
	l := &r.link
	due := r.e.clock()
	if next := r.a.auth.next(); next.After(due) {
		due = next
	}
	due = due.Add(rand.N(r.e.tune.BackoffBase + 1))
	l.State, l.NextAttempt = StatePending, due.UTC()
	l.Error = fmt.Sprintf("%s: the app refused the credentials: %v", op, err)
	if err := r.save(ctx); err != nil {
		r.e.log.Error("save retry status", "app", r.a.name, "user_id", r.userID, "err", err)
	}
	return outcome{kind: outRetry, due: due}
}
