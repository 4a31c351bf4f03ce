package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/mappings"
)

// outKind says what becomes of a key after a reconcile.
type outKind int

const (
	outDone  outKind = iota // the key leaves the queue
	outRetry                // the key comes back at due
	outLost                 // the lease passed to another replica: leave it
)

type outcome struct {
	kind outKind
	due  time.Time
}

// Connector operations, as metrics and the provisioning log name them.
const (
	opCreate     = "create"
	opUpdate     = "update"
	opDeactivate = "deactivate"
	opDelete     = "delete"
	opLookup     = "lookup"
)

// reconciler is one reconcile of one (app, user) under a held lease.
type reconciler struct {
	e      *Engine
	p      *pool
	a      *app
	h      *held
	userID string

	ctrl  control
	link  Link
	ver   uint64
	prev  Link // the link as loaded, to skip writes that change nothing
	force bool
}

// reconcile brings one user of one app to where the directory says it
// should be: created, updated, deactivated, deleted or left alone.
func (e *Engine) reconcile(ctx context.Context, p *pool, h *held, userID string) outcome {
	start := e.clock()
	r := &reconciler{e: e, p: p, a: p.a, h: h, userID: userID}
	out := r.run(ctx)
	e.metrics.reconcile.WithLabelValues(p.a.name).Observe(e.clock().Sub(start).Seconds())
	return out
}

func (r *reconciler) run(ctx context.Context) outcome {
	var err error
	if r.ctrl, _, err = r.e.control(ctx, r.a); err != nil {
		return r.storeFailure(ctx, err)
	}
	if !r.a.provisioning(r.ctrl) {
		return outcome{kind: outDone}
	}
	if r.link, r.ver, err = r.e.loadLink(ctx, r.a, r.userID); err != nil {
		return r.storeFailure(ctx, err)
	}
	r.prev = r.link
	r.force = r.ctrl.ForceGen > r.link.ForcedGen
	if r.link.State == StateFailed {
		// A dead letter that comes back (a change, a replay, a quick
		// sync) gets a fresh set of tries.
		r.link.Attempts, r.link.Throttled = 0, 0
	}
	u, err := r.e.loadUser(ctx, r.userID)
	if err != nil {
		return r.storeFailure(ctx, err)
	}
	in, given := r.a.scope.match(u)
	if !in {
		return r.deprovision(ctx)
	}
	return r.provision(ctx, u, given)
}

// provision makes the app hold the user's current record.
//
// A record that lacks a mandatory value blocks only a create. An account
// that exists is still deactivated when the directory says so, whatever
// the record holds, and still updated with the fields that have a value:
// the missing mandatory ones are left out, so the app keeps what it has
// rather than being asked to clear a field it requires. The link then
// reads needs-input, naming the missing fields, until a value arrives.
func (r *reconciler) provision(ctx context.Context, u *dirUser, given map[string]any) outcome {
	rec, err := r.a.proj.Load().proj.Project(u.doc, given)
	if err != nil {
		return r.fail(ctx, "project", err)
	}
	l := &r.link
	l.Missing, l.Problems = rec.Missing, rec.Problems
	fields := present(rec)

	if l.AccountID != "" && !u.active {
		return r.deactivate(ctx)
	}
	if l.AccountID != "" {
		if out, done := r.update(ctx, fields, rec.Hash); done {
			return out
		}
	}
	if !u.active {
		// An inactive user needs no account until it is activated.
		l.State, l.Active, l.Hash = StateSynced, false, ""
		return r.finish(ctx)
	}
	if len(rec.Missing) > 0 {
		l.State = StateNeedsInput
		return r.finish(ctx)
	}
	return r.create(ctx, fields, rec.Hash)
}

// present returns the fields of rec to send: all of them, less the
// mandatory fields that have no value.
func present(rec mappings.Record) connector.Fields {
	if len(rec.Missing) == 0 {
		return connector.Fields(rec.Fields)
	}
	out := make(connector.Fields, len(rec.Fields))
	for k, v := range rec.Fields {
		out[k] = v
	}
	for _, name := range rec.Missing {
		delete(out, name)
	}
	return out
}

// settled is the state of a user whose account holds the record: synced,
// or needs-input while a mandatory field lacks a value.
func (r *reconciler) settled() State {
	if len(r.link.Missing) > 0 {
		return StateNeedsInput
	}
	return StateSynced
}

// deactivate disables the linked account of a user the directory marks
// inactive.
func (r *reconciler) deactivate(ctx context.Context) outcome {
	l := &r.link
	if !l.Active && l.State == StateSynced && !r.force {
		return r.finish(ctx)
	}
	err := r.call(ctx, opDeactivate, func(ctx context.Context) error {
		return r.a.conn.Deactivate(ctx, l.AccountID)
	})
	if errors.Is(err, connector.ErrNotFound) {
		// The account is gone from the app: nothing left to disable.
		l.AccountID, l.Hash, err = "", "", nil
	}
	if err != nil {
		return r.fail(ctx, opDeactivate, err)
	}
	l.State, l.Active, l.SyncedAt = StateSynced, false, r.e.clock().UTC()
	return r.finish(ctx)
}

// update pushes fields to the linked account when they changed. done is
// false when the account turned out to be gone, and must be created again.
func (r *reconciler) update(ctx context.Context, fields connector.Fields, hash string) (
	out outcome, done bool) {
	l := &r.link
	st := r.settled()
	if l.Active && l.Hash == hash && (l.State == StateSynced || l.State == StateNeedsInput) &&
		!r.force {
		l.State = st
		return r.finish(ctx), true
	}
	err := r.call(ctx, opUpdate, func(ctx context.Context) error {
		return r.a.conn.Update(ctx, l.AccountID, fields)
	})
	switch {
	case err == nil:
		return r.synced(ctx, l.AccountID, hash), true
	case errors.Is(err, connector.ErrNotFound):
		// Deleted in the app behind our back: create it again.
		l.AccountID = ""
		return outcome{}, false
	default:
		return r.fail(ctx, opUpdate, err), true
	}
}

// create makes the account, or adopts the one the app already has for
// the user's identity fields. The intent is made durable before the call,
// so that a crash before the link is written leads the next try to look
// the account up rather than create a second one.
func (r *reconciler) create(ctx context.Context, fields connector.Fields, hash string) outcome {
	l := &r.link
	if l.Intent == intentCreate {
		id, err := r.adopt(ctx, fields)
		if err == nil {
			return r.synced(ctx, id, hash)
		}
		if !errors.Is(err, connector.ErrNotFound) {
			return r.fail(ctx, opLookup, err)
		}
	}
	l.Intent, l.Identity = intentCreate, r.identity(fields)
	if err := r.save(ctx); err != nil {
		return r.storeFailure(ctx, err)
	}

	var id string
	err := r.call(ctx, opCreate, func(ctx context.Context) error {
		var err error
		id, err = r.a.conn.Create(ctx, fields)
		return err
	})
	if errors.Is(err, connector.ErrConflict) {
		id, err = r.adopt(ctx, fields)
		if errors.Is(err, connector.ErrNotFound) {
			err = fmt.Errorf("the app reports a duplicate account but finds none by %v: %w",
				r.a.def.Identity, connector.ErrConflict)
		}
	}
	if err != nil {
		return r.fail(ctx, opCreate, err)
	}
	return r.synced(ctx, id, hash)
}

// identity returns the values of the app's identity fields in fields.
func (r *reconciler) identity(fields connector.Fields) map[string]string {
	out := map[string]string{}
	for _, name := range r.a.def.Identity {
		if v, _ := fields[name].(string); v != "" {
			out[name] = v
		}
	}
	return out
}

// find looks an account up by the identity values, in the app's order of
// identity fields. ErrNotFound when none matches. An app that refuses a
// look-up by a fallback field (400: it cannot filter on it) is looked up
// by the others, as if that field were not an identity.
func (r *reconciler) find(ctx context.Context, keys map[string]string) (string, error) {
	for i, name := range r.a.def.Identity {
		v, ok := keys[name]
		if !ok {
			continue
		}
		var id string
		err := r.call(ctx, opLookup, func(ctx context.Context) error {
			var err error
			id, err = r.a.conn.Lookup(ctx, connector.Key{Field: name, Value: v})
			return err
		})
		if errors.Is(err, connector.ErrNotFound) {
			continue
		}
		if i > 0 && statusOf(err) == http.StatusBadRequest {
			r.e.log.Debug("app cannot look accounts up by this field", "app", r.a.name,
				"by", name, "err", err)
			continue
		}
		if err != nil {
			return "", err
		}
		r.e.log.Info("found existing account", "app", r.a.name, "user_id", r.userID,
			"account_id", id, "by", name)
		return id, nil
	}
	return "", connector.ErrNotFound
}

// adopt finds the app's account by the identity fields (an email, a user
// name) and updates it to fields. ErrNotFound when none matches.
func (r *reconciler) adopt(ctx context.Context, fields connector.Fields) (string, error) {
	id, err := r.find(ctx, r.identity(fields))
	if err != nil {
		return "", err
	}
	err = r.call(ctx, opUpdate, func(ctx context.Context) error {
		return r.a.conn.Update(ctx, id, fields)
	})
	return id, err
}

// synced records a successful create, update or adoption.
func (r *reconciler) synced(ctx context.Context, id, hash string) outcome {
	l := &r.link
	l.AccountID, l.Hash, l.Active, l.Intent, l.Identity = id, hash, true, "", nil
	l.State, l.SyncedAt = r.settled(), r.e.clock().UTC()
	return r.finish(ctx)
}

// deprovision applies the app's policy to a user out of scope (or gone
// from the directory) that the app has an account for.
func (r *reconciler) deprovision(ctx context.Context) outcome {
	l := &r.link
	if r.ver == 0 {
		return outcome{kind: outDone}
	}
	l.Problems = nil // they were about a record the app no longer gets
	if l.AccountID == "" && l.Intent == "" {
		// Only a status (needs input, a failed create): nothing to undo.
		return r.forget(ctx)
	}
	if l.AccountID == "" {
		// A create may have happened unseen: look for the account.
		id, err := r.find(ctx, l.Identity)
		if errors.Is(err, connector.ErrNotFound) {
			return r.forget(ctx)
		}
		if err != nil {
			return r.fail(ctx, opLookup, err)
		}
		l.AccountID, l.Active, l.Intent, l.Identity = id, true, "", nil
	}
	if l.State == StateDeprovisioned && !r.force {
		return r.finish(ctx)
	}
	var err error
	switch r.a.policy {
	case PolicyDelete:
		err = r.call(ctx, opDelete, func(ctx context.Context) error {
			return r.a.conn.Delete(ctx, l.AccountID)
		})
		if err == nil || errors.Is(err, connector.ErrNotFound) {
			return r.forget(ctx)
		}
		return r.fail(ctx, opDelete, err)
	case PolicyDeactivate:
		if l.Active || r.force {
			err = r.call(ctx, opDeactivate, func(ctx context.Context) error {
				return r.a.conn.Deactivate(ctx, l.AccountID)
			})
		}
		if err != nil && !errors.Is(err, connector.ErrNotFound) {
			return r.fail(ctx, opDeactivate, err)
		}
		l.Active = false
	}
	l.State, l.Policy = StateDeprovisioned, r.a.policy
	return r.finish(ctx)
}

// forget removes the link (and any dead letter) of a user the app no
// longer has.
func (r *reconciler) forget(ctx context.Context) outcome {
	if err := r.e.deleteLink(ctx, r.a, r.userID, r.ver); err != nil {
		return r.storeFailure(ctx, err)
	}
	if r.prev.State == StateFailed || r.prev.State == StatePending {
		r.e.dropDeadLetter(ctx, r.a, r.userID)
	}
	r.e.waiters.notify(r.a.name, r.userID, r.ctrl.Gen, StateDeprovisioned)
	return outcome{kind: outDone}
}

// finish records a final outcome (synced, needs input, deprovisioned, or
// a dead letter) with the generations this reconcile covered, writing the
// link only when something changed.
func (r *reconciler) finish(ctx context.Context) outcome {
	l := &r.link
	if l.State != StateFailed {
		l.Error, l.Attempts, l.Throttled = "", 0, 0
	}
	if l.State != StateNeedsInput {
		l.Missing = nil
	}
	if l.State != StateDeprovisioned {
		l.Policy = ""
	}
	l.NextAttempt = time.Time{}
	l.Gen, l.ForcedGen = r.ctrl.Gen, max(l.ForcedGen, r.ctrl.ForceGen)
	if r.ver == 0 || !sameLink(r.prev, *l) {
		if err := r.save(ctx); err != nil {
			return r.storeFailure(ctx, err)
		}
	}
	if (r.prev.State == StateFailed || r.prev.State == StatePending) && l.State != StateFailed {
		r.e.dropDeadLetter(ctx, r.a, r.userID)
	}
	r.e.waiters.notify(r.a.name, r.userID, r.ctrl.Gen, l.State)
	return outcome{kind: outDone}
}

func sameLink(a, b Link) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func (r *reconciler) save(ctx context.Context) error {
	return r.e.saveLink(ctx, r.a, r.userID, &r.link, &r.ver)
}
