package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/mappings"
	"github.com/scim-bridge/scim-bridge/state"
)

// Deprovisioning policies: what happens to the account of a user who
// leaves an app's scope or the directory.
const (
	PolicyDeactivate = "deactivate"
	PolicyDelete     = "delete"
	PolicyLeave      = "leave"
)

// Record buckets shared by every app.
const (
	bucketApps     = "apps"     // control records, by app name
	bucketMappings = "mappings" // mappings saved through the admin API, by app name
	bucketJobs     = "jobs"     // quick sync jobs, by job id
	bucketGroups   = "groups"   // last seen displayName and externalId of each group
	queueJobs      = "jobs"     // the queue quick sync jobs are leased from
)

// app is one application instance at run time.
type app struct {
	name        string
	cfg         config.App
	def         *mappings.App
	kind        string
	conn        connector.Connector
	bulk        *bulkConn // conn, when it groups writes into bulk requests
	scope       scope
	policy      string
	concurrency int
	limiter     *rate.Limiter

	queue      string // the app's queue of keys app/userID
	links      string // bucket of link records, by user id
	deadLetter string // bucket of dead letters, by user id
	logBucket  string // bucket of provisioning log chunks

	wake chan struct{}
	// holdUntil (unix nanoseconds) pauses every call to the app after it
	// answered 429 with Retry-After.
	holdUntil atomic.Int64
	// auth pauses every call to the app while it refuses the credentials.
	auth authGate
	proj atomic.Pointer[projection]
}

// projection is an app's compiled mapping and where it came from.
type projection struct {
	mapping mappings.Mapping
	proj    *mappings.Projector
	source  string // "saved", "file" or "default"
	version uint64 // of the saved record, when source is "saved"
}

func (e *Engine) newApp(ctx context.Context, c config.App, kinds Kinds) (*app, error) {
	def, ok := e.catalog.App(c.Catalog)
	if !ok {
		return nil, fmt.Errorf("catalog has no app %q", c.Catalog)
	}
	kind := def.Connector
	if k, ok := c.Connector[connector.KindKey].(string); ok && k != "" {
		kind = k
	}
	build, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("connector kind %q is not available", kind)
	}
	conn, err := build(c.Connector)
	if err != nil {
		return nil, fmt.Errorf("build connector: %w", err)
	}
	policy := c.Deprovision
	switch policy {
	case "":
		policy = PolicyDeactivate
	case PolicyDeactivate, PolicyDelete, PolicyLeave:
	default:
		return nil, fmt.Errorf("deprovision policy %q is not deactivate, delete or leave", policy)
	}
	sc, err := newScope(def, c.Scope)
	if err != nil {
		return nil, fmt.Errorf("scope: %w", err)
	}
	a := &app{
		name:        c.Name,
		cfg:         c,
		def:         def,
		kind:        kind,
		conn:        conn,
		scope:       sc,
		policy:      policy,
		concurrency: max(c.Concurrency, 1),
		limiter:     newLimiter(c.RateLimit, c.Burst),
		queue:       "sync/" + c.Name,
		links:       "links/" + c.Name,
		deadLetter:  "deadletters/" + c.Name,
		logBucket:   "log/" + c.Name,
		wake:        make(chan struct{}, 1),
	}
	p, err := e.loadProjection(ctx, a)
	if err != nil {
		return nil, err
	}
	a.proj.Store(p)
	a.conn, a.bulk = e.newBulkConn(a)
	return a, nil
}

// newLimiter is a token bucket of perSecond calls (no limit when zero)
// holding burst tokens (at least one, and by default one second's worth).
func newLimiter(perSecond float64, burst int) *rate.Limiter {
	if perSecond <= 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	if burst <= 0 {
		burst = int(math.Ceil(perSecond))
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
}

// loadProjection compiles the app's mapping: the one saved through the
// admin API if any, else the configured file, else the catalog default.
// A saved mapping that no longer compiles (the catalog changed) is skipped
// with a warning rather than stopping the engine.
func (e *Engine) loadProjection(ctx context.Context, a *app) (*projection, error) {
	rec, err := e.store.GetRecord(ctx, bucketMappings, a.name)
	switch {
	case err == nil:
		m, perr := mappings.ParseMapping(rec.Data)
		if perr == nil {
			var p *mappings.Projector
			if p, perr = mappings.Compile(a.def, m, e.dir); perr == nil {
				return &projection{mapping: m, proj: p, source: "saved", version: rec.Version}, nil
			}
		}
		e.log.Warn("saved mapping unusable, using the configured one",
			"app", a.name, "err", perr)
	case !errors.Is(err, state.ErrNotFound):
		return nil, fmt.Errorf("load saved mapping: %w", err)
	}

	m, source := a.def.DefaultMapping(), "default"
	if a.cfg.Mapping != "" {
		raw, err := os.ReadFile(a.cfg.Mapping)
		if err != nil {
			return nil, fmt.Errorf("read mapping: %w", err)
		}
		if m, err = mappings.ParseMapping(raw); err != nil {
			return nil, fmt.Errorf("parse mapping %s: %w", a.cfg.Mapping, err)
		}
		source = "file"
	}
	if m.App == "" {
		m.App = a.def.Name
	}
	p, err := mappings.Compile(a.def, m, e.dir)
	if err != nil {
		return nil, fmt.Errorf("compile %s mapping: %w", source, err)
	}
	return &projection{mapping: m, proj: p, source: source}, nil
}

// configHash fingerprints what decides each user's record and scope: the
// mapping, the scope and the policy. A change of it since the last start
// makes the engine re-evaluate the app's whole scope.
func (a *app) configHash() string {
	raw, _ := json.Marshal(struct {
		Mapping mappings.Mapping
		Scope   config.Scope
		Policy  string
		Kind    string
	}{a.proj.Load().mapping, a.cfg.Scope, a.policy, a.kind})
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// control is the per-app record every replica reads: the provisioning
// switch and the generations quick sync jobs use to know which users they
// have covered.
type control struct {
	// Provisioning, when set, overrides the configuration's switch.
	Provisioning *bool `json:"provisioning,omitempty"`
	// Gen counts the jobs started for the app; a reconcile records the
	// generation it saw, so a job knows a user was handled after it began.
	Gen uint64 `json:"gen,omitempty"`
	// ForceGen is the generation of the latest forcing job: a user whose
	// link holds an older ForcedGen is pushed even when unchanged.
	ForceGen uint64 `json:"force_gen,omitempty"`
	// SyncJob is the quick sync running for the app, if any.
	SyncJob string `json:"sync_job,omitempty"`
	// Fault is why the app's work is paused, as the replica that saw it
	// begin recorded it; nil when it is not.
	Fault      *AppFault `json:"fault,omitempty"`
	ConfigHash string    `json:"config_hash,omitempty"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
	UpdatedBy  string    `json:"updated_by,omitempty"`
}

// provisioning is the effective switch.
func (a *app) provisioning(c control) bool {
	if c.Provisioning != nil {
		return *c.Provisioning
	}
	return a.cfg.Provisioning
}

// control reads an app's control record; a missing one is the zero value
// at version 0.
func (e *Engine) control(ctx context.Context, a *app) (control, uint64, error) {
	var c control
	rec, err := e.store.GetRecord(ctx, bucketApps, a.name)
	if errors.Is(err, state.ErrNotFound) {
		return c, 0, nil
	}
	if err != nil {
		return c, 0, fmt.Errorf("read control of %s: %w", a.name, err)
	}
	if err := json.Unmarshal(rec.Data, &c); err != nil {
		return c, 0, fmt.Errorf("decode control of %s: %w", a.name, err)
	}
	return c, rec.Version, nil
}

// errNoChange, returned by an updateControl edit, leaves the record as is.
var errNoChange = errors.New("no change")

// updateControl applies edit to the app's control record with optimistic
// concurrency, retrying when another replica wrote it meanwhile. It returns
// the record as stored, or as read when edit returned errNoChange.
func (e *Engine) updateControl(ctx context.Context, a *app, edit func(*control) error) (
	control, error) {
	for {
		c, ver, err := e.control(ctx, a)
		if err != nil {
			return c, err
		}
		if err := edit(&c); err != nil {
			if errors.Is(err, errNoChange) {
				return c, nil
			}
			return c, err
		}
		c.UpdatedAt = e.clock().UTC()
		raw, err := json.Marshal(c)
		if err != nil {
			return c, fmt.Errorf("encode control: %w", err)
		}
		if ver == 0 {
			ver = state.AbsentVersion
		}
		_, err = e.store.PutRecord(ctx, bucketApps, a.name, raw, ver)
		if errors.Is(err, state.ErrVersionMismatch) || errors.Is(err, state.ErrConflict) {
			continue
		}
		if err != nil {
			return c, fmt.Errorf("write control of %s: %w", a.name, err)
		}
		return c, nil
	}
}

// startupReconcile starts a scope reconcile of every app with provisioning
// on whose mapping, scope or policy changed since the last start (or that
// was never reconciled), so configuration edits reach the applications
// without anyone acting. Failures are logged: the feed still flows.
func (e *Engine) startupReconcile(ctx context.Context) {
	for _, name := range e.order {
		a := e.apps[name]
		if err := e.reconcileIfChanged(ctx, a, "config"); err != nil {
			e.log.Error("reconcile changed configuration", "app", a.name, "err", err)
		}
	}
}

func (e *Engine) reconcileIfChanged(ctx context.Context, a *app, by string) error {
	hash := a.configHash()
	c, _, err := e.control(ctx, a)
	if err != nil {
		return err
	}
	if !a.provisioning(c) || c.ConfigHash == hash {
		return nil
	}
	// Checked again as the job takes its generation, so that replicas
	// starting together start one job, not one each.
	job, err := e.startJob(ctx, a, jobSpec{AllInScope: true, RequestedBy: by, configHash: hash,
		onlyIfChanged: true})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		return err
	}
	e.log.Info("configuration changed, reconciling scope", "app", a.name, "job_id", job.ID)
	return nil
}
