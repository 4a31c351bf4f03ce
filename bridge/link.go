package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/scim-bridge/scim-bridge/mappings"
	"github.com/scim-bridge/scim-bridge/state"
)

// State is the provisioning status of one user in one app.
type State string

// The states a link records. The admin API adds StateNotInScope for users
// that have no link, and reports StatePending also for synced users whose
// directory data changed since.
const (
	// StateSynced: the app holds the user as the directory last had it.
	StateSynced State = "synced"
	// StatePending: a change is waiting, or a retry is scheduled after a
	// failure (Error says which).
	StatePending State = "pending"
	// StateFailed: every try failed, or the failure was permanent; the user
	// is a dead letter until replayed or changed again.
	StateFailed State = "failed"
	// StateNeedsInput: a mandatory field has no value (unmapped, or empty
	// or refused for this user) and the assignment gives none (Missing
	// lists them). No account is created; an existing one keeps being
	// updated with the other fields and deactivated when the user is.
	StateNeedsInput State = "needs-input"
	// StateDeprovisioned: the user left the scope or the directory and the
	// app's deprovisioning policy was applied.
	StateDeprovisioned State = "deprovisioned"
	// StateNotInScope: the user is not in the app's scope and never was
	// provisioned (no link exists).
	StateNotInScope State = "not-in-scope"
)

// intentCreate marks a link whose account may have been created by a call
// that did not report back (a crash, a timeout): the next try looks the
// account up before creating one, so it never makes a duplicate.
const intentCreate = "create"

// Link is what the engine knows of one directory user in one app: the
// app's account, what it last sent and how the last try went.
type Link struct {
	// AccountID is the app's id for the account; empty before creation.
	AccountID string `json:"account_id,omitempty"`
	State     State  `json:"state"`
	// Hash is the content hash of the fields the app last received.
	Hash string `json:"hash,omitempty"`
	// Active is whether the account was last left active.
	Active bool `json:"active"`
	// Intent is intentCreate while a create may be in flight; Identity
	// then holds the identity field values the account can be found by.
	Intent   string            `json:"intent,omitempty"`
	Identity map[string]string `json:"identity,omitempty"`
	// Attempts counts failed tries since the last success; Throttled counts
	// tries the app refused with 429, which do not consume Attempts.
	Attempts  int `json:"attempts,omitempty"`
	Throttled int `json:"throttled,omitempty"`
	// Error is the last failure, for StatePending and StateFailed.
	Error string `json:"error,omitempty"`
	// Missing lists the mandatory fields lacking a value (StateNeedsInput).
	Missing []string `json:"missing,omitempty"`
	// Problems lists the user's values the app's fields refused (an email
	// address that is not one, a value outside a list), whatever the state:
	// such a field is not sent, and a mandatory one is also Missing.
	Problems []mappings.Problem `json:"problems,omitempty"`
	// Policy is the deprovisioning policy applied (StateDeprovisioned).
	Policy string `json:"policy,omitempty"`
	// Gen and ForcedGen are the control generations of the last finished
	// reconcile (see control).
	Gen       uint64    `json:"gen,omitempty"`
	ForcedGen uint64    `json:"forced_gen,omitempty"`
	SyncedAt  time.Time `json:"synced_at,omitzero"`
	// NextAttempt is when a scheduled retry is due (StatePending).
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// errLinkRace: the link changed under a reconcile, which only happens when
// its lease passed to another replica.
var errLinkRace = errors.New("link written concurrently")

// loadLink reads a link; a missing one is the zero Link at version 0.
func (e *Engine) loadLink(ctx context.Context, a *app, userID string) (Link, uint64, error) {
	var l Link
	rec, err := e.store.GetRecord(ctx, a.links, userID)
	if errors.Is(err, state.ErrNotFound) {
		return l, 0, nil
	}
	if err != nil {
		return l, 0, fmt.Errorf("read link: %w", err)
	}
	if err := json.Unmarshal(rec.Data, &l); err != nil {
		return l, 0, fmt.Errorf("decode link: %w", err)
	}
	return l, rec.Version, nil
}

// saveLink writes l if its stored version is still *ver and updates *ver.
func (e *Engine) saveLink(ctx context.Context, a *app, userID string, l *Link, ver *uint64) error {
	l.UpdatedAt = e.clock().UTC()
	raw, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("encode link: %w", err)
	}
	want := *ver
	if want == 0 {
		want = state.AbsentVersion
	}
	v, err := e.store.PutRecord(ctx, a.links, userID, raw, want)
	if errors.Is(err, state.ErrVersionMismatch) || errors.Is(err, state.ErrConflict) {
		return fmt.Errorf("save link: %w", errLinkRace)
	}
	if err != nil {
		return fmt.Errorf("save link: %w", err)
	}
	*ver = v
	return nil
}

// deleteLink removes a link if its stored version is still ver.
func (e *Engine) deleteLink(ctx context.Context, a *app, userID string, ver uint64) error {
	if ver == 0 {
		return nil
	}
	err := e.store.DeleteRecord(ctx, a.links, userID, ver)
	if errors.Is(err, state.ErrVersionMismatch) {
		return fmt.Errorf("delete link: %w", errLinkRace)
	}
	if err != nil {
		return fmt.Errorf("delete link: %w", err)
	}
	return nil
}
