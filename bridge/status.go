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

// AppInfo describes an application instance for the admin API.
type AppInfo struct {
	Name      string `json:"name"`
	Label     string `json:"label"`
	Catalog   string `json:"catalog"`
	Connector string `json:"connector"`
	// Provisioning is the effective switch; ProvisioningSet says whether an
	// administrator set it (it then overrides the configuration).
	Provisioning    bool      `json:"provisioning"`
	ProvisioningSet bool      `json:"provisioning_set"`
	Scope           ScopeInfo `json:"scope"`
	Deprovision     string    `json:"deprovision"`
	Concurrency     int       `json:"concurrency"`
	RateLimit       float64   `json:"rate_limit,omitempty"`
	Burst           int       `json:"burst,omitempty"`
	// MappingSource is saved, file or default.
	MappingSource string   `json:"mapping_source"`
	Unmapped      []string `json:"unmapped,omitempty"`
	// Users counts the users the app has a status for; DeadLetters those
	// that failed for good.
	Users       int       `json:"users"`
	DeadLetters int       `json:"dead_letters"`
	Queue       QueueInfo `json:"queue"`
	// SyncJob is the quick sync running for the app, if any.
	SyncJob string `json:"sync_job,omitempty"`
	// Fault, when set, says why the app's work is paused: it refuses the
	// credentials. Its users wait, their tries unused, until it accepts
	// them again.
	Fault *AppFault `json:"fault,omitempty"`
}

// ScopeInfo summarises an app's scope.
type ScopeInfo struct {
	All         bool     `json:"all"`
	Groups      []string `json:"groups,omitempty"`
	Assignments int      `json:"assignments"`
}

// QueueInfo is the size of an app's queue.
type QueueInfo struct {
	Ready  int `json:"ready"`
	Leased int `json:"leased"`
}

// Apps describes every app instance, in configuration order.
func (e *Engine) Apps(ctx context.Context) ([]AppInfo, error) {
	out := make([]AppInfo, 0, len(e.order))
	for _, name := range e.order {
		info, err := e.info(ctx, e.apps[name])
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// App describes one app instance, or fails with ErrUnknownApp.
func (e *Engine) App(ctx context.Context, name string) (AppInfo, error) {
	a, err := e.app(name)
	if err != nil {
		return AppInfo{}, err
	}
	return e.info(ctx, a)
}

func (e *Engine) info(ctx context.Context, a *app) (AppInfo, error) {
	c, _, err := e.control(ctx, a)
	if err != nil {
		return AppInfo{}, err
	}
	p := a.proj.Load()
	info := AppInfo{
		Name: a.name, Label: a.def.Label, Catalog: a.def.Name, Connector: a.kind,
		Provisioning: a.provisioning(c), ProvisioningSet: c.Provisioning != nil,
		Scope: ScopeInfo{
			All: a.cfg.Scope.All, Groups: a.cfg.Scope.Groups,
			Assignments: len(a.cfg.Scope.Assignments),
		},
		Deprovision: a.policy, Concurrency: a.concurrency, RateLimit: a.cfg.RateLimit,
		Burst: a.cfg.Burst, MappingSource: p.source, Unmapped: a.def.Unmapped(p.mapping),
		SyncJob: c.SyncJob, Fault: c.Fault,
	}
	if info.Users, err = e.store.CountRecords(ctx, a.links); err != nil {
		return AppInfo{}, fmt.Errorf("count users: %w", err)
	}
	if info.DeadLetters, err = e.store.CountRecords(ctx, a.deadLetter); err != nil {
		return AppInfo{}, fmt.Errorf("count dead letters: %w", err)
	}
	st, err := e.store.QueueStats(ctx, a.queue)
	if err != nil {
		return AppInfo{}, fmt.Errorf("queue stats: %w", err)
	}
	info.Queue = QueueInfo{Ready: st.Ready, Leased: st.Leased}
	return info, nil
}

// SetProvisioning switches provisioning of an app on or off for every
// replica. Switching it on starts a job that reconciles the app's whole
// scope, which it returns; switching it off stops changes from flowing
// (accounts are left as they are). Setting the current value changes
// nothing and starts nothing.
func (e *Engine) SetProvisioning(ctx context.Context, name string, on bool, by string) (
	AppInfo, *Job, error) {
	a, err := e.app(name)
	if err != nil {
		return AppInfo{}, nil, err
	}
	var was bool
	_, err = e.updateControl(ctx, a, func(c *control) error {
		was = a.provisioning(*c)
		if c.Provisioning != nil && *c.Provisioning == on {
			return errNoChange
		}
		c.Provisioning, c.UpdatedBy = &on, by
		return nil
	})
	if err != nil {
		return AppInfo{}, nil, err
	}
	e.log.Info("provisioning switched", "app", name, "on", on, "by", by)
	var job *Job
	if on && !was {
		j, err := e.startJob(ctx, a, jobSpec{AllInScope: true, RequestedBy: by,
			configHash: a.configHash()})
		if err != nil {
			return AppInfo{}, nil, err
		}
		job = &j
	}
	info, err := e.info(ctx, a)
	return info, job, err
}

// UserStatus is the provisioning status of one directory user in one app.
type UserStatus struct {
	App  string `json:"app"`
	User string `json:"user"`
	// State is the link's state, except that a synced user whose directory
	// data changed since (or who left the scope) reads pending, and a user
	// with no link reads pending when in scope, else not-in-scope.
	State       State    `json:"state"`
	AccountID   string   `json:"account_id,omitempty"`
	Active      bool     `json:"active"`
	InDirectory bool     `json:"in_directory"`
	InScope     bool     `json:"in_scope"`
	Error       string   `json:"error,omitempty"`
	Missing     []string `json:"missing,omitempty"`
	// Problems are the user's values the app's fields refused, with why.
	Problems    []mappings.Problem `json:"problems,omitempty"`
	Attempts    int                `json:"attempts,omitempty"`
	Policy      string             `json:"policy,omitempty"`
	NextAttempt time.Time          `json:"next_attempt,omitzero"`
	SyncedAt    time.Time          `json:"synced_at,omitzero"`
	UpdatedAt   time.Time          `json:"updated_at,omitzero"`
}

func statusOfLink(app, user string, l Link) UserStatus {
	return UserStatus{
		App: app, User: user, State: l.State, AccountID: l.AccountID, Active: l.Active,
		Error: l.Error, Missing: l.Missing, Problems: l.Problems, Attempts: l.Attempts, Policy: l.Policy,
		NextAttempt: l.NextAttempt, SyncedAt: l.SyncedAt, UpdatedAt: l.UpdatedAt,
	}
}

// UserStatus reports where one directory user stands in one app. It fails
// with ErrNotFound when the user is neither in the directory nor linked.
func (e *Engine) UserStatus(ctx context.Context, appName, userID string) (UserStatus, error) {
	a, err := e.app(appName)
	if err != nil {
		return UserStatus{}, err
	}
	c, _, err := e.control(ctx, a)
	if err != nil {
		return UserStatus{}, err
	}
	l, ver, err := e.loadLink(ctx, a, userID)
	if err != nil {
		return UserStatus{}, err
	}
	u, err := e.loadUser(ctx, userID)
	if err != nil {
		return UserStatus{}, err
	}
	if ver == 0 && !u.exists {
		return UserStatus{}, fmt.Errorf("user %q: %w", userID, ErrNotFound)
	}
	in, given := a.scope.match(u)
	st := statusOfLink(a.name, userID, l)
	st.InDirectory, st.InScope = u.exists, in
	on := a.provisioning(c)

	switch {
	case ver == 0 && in && on:
		st.State = StatePending
	case ver == 0:
		st.State = StateNotInScope
	case l.State == StateSynced && on && !in && l.AccountID != "":
		st.State = StatePending // deprovisioning waits
	case l.State == StateSynced && on && in && u.active:
		rec, err := a.proj.Load().proj.Project(u.doc, given)
		if err != nil || rec.Hash != l.Hash || !l.Active {
			st.State = StatePending
		}
	case l.State == StateSynced && on && in && l.Active && l.AccountID != "":
		st.State = StatePending // deactivation waits
	}
	return st, nil
}

// Users lists the stored statuses of an app's users in user id order,
// after the given id, keeping only those in state (all when empty). It
// returns up to limit statuses and the cursor of the next page ("" at the
// end). Unlike UserStatus it reports states as stored.
func (e *Engine) Users(ctx context.Context, appName string, st State, after string,
	limit int) ([]UserStatus, string, error) {
	a, err := e.app(appName)
	if err != nil {
		return nil, "", err
	}
	var out []UserStatus
	// Bound the scan of one call, so a rare state cannot make it read the
	// whole bucket; the cursor lets the caller go on.
	scanned := 0
	for scanned < limit*50 {
		recs, err := e.store.ListRecords(ctx, a.links, after, limit)
		if err != nil {
			return nil, "", fmt.Errorf("list users: %w", err)
		}
		for _, r := range recs {
			after = r.Key
			scanned++
			var l Link
			if json.Unmarshal(r.Data, &l) != nil || (st != "" && l.State != st) {
				continue
			}
			out = append(out, statusOfLink(a.name, r.Key, l))
			if len(out) == limit {
				return out, after, nil
			}
		}
		if len(recs) < limit {
			return out, "", nil
		}
	}
	return out, after, nil
}

// DeadLetters lists an app's dead letters in user id order after the given
// id: up to limit, with the cursor of the next page ("" at the end).
func (e *Engine) DeadLetters(ctx context.Context, appName, after string, limit int) (
	[]DeadLetter, string, error) {
	a, err := e.app(appName)
	if err != nil {
		return nil, "", err
	}
	recs, err := e.store.ListRecords(ctx, a.deadLetter, after, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(recs))
	for _, r := range recs {
		var d DeadLetter
		if json.Unmarshal(r.Data, &d) == nil {
			out = append(out, d)
		}
	}
	next := ""
	if len(recs) == limit {
		next = recs[len(recs)-1].Key
	}
	return out, next, nil
}

// Replay queues a dead letter's user for a fresh set of tries and removes
// the dead letter; a new one is recorded if those fail too. ErrNotFound
// when the app has no dead letter for the user.
func (e *Engine) Replay(ctx context.Context, appName, userID string) error {
	a, err := e.app(appName)
	if err != nil {
		return err
	}
	_, err = e.store.GetRecord(ctx, a.deadLetter, userID)
	if errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("dead letter %q: %w", userID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("read dead letter: %w", err)
	}
	// Queue first: a crash before the delete leaves a dead letter that
	// the successful retry removes anyway.
	if err := e.enqueue(ctx, a, []string{queueKey(a, userID)}, e.clock()); err != nil {
		return err
	}
	if err := e.store.DeleteRecord(ctx, a.deadLetter, userID, 0); err != nil {
		return fmt.Errorf("drop dead letter: %w", err)
	}
	e.log.Info("dead letter replayed", "app", a.name, "user_id", userID)
	return nil
}

// Log returns up to limit (at most LogMax) recent operations on an app,
// newest first.
func (e *Engine) Log(ctx context.Context, appName string, limit int) ([]Operation, error) {
	a, err := e.app(appName)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > LogMax {
		limit = LogMax
	}
	return e.oplog.read(ctx, a, limit)
}
