package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/scim-bridge/scim-bridge/state"
)

// JobState is where a quick sync job stands.
type JobState string

// Job states; every state but JobRunning is final.
const (
	JobRunning   JobState = "running"
	JobDone      JobState = "done"
	JobCancelled JobState = "cancelled"
	JobFailed    JobState = "failed"
)

// Job is a quick sync of one app, with its progress as last checkpointed.
// Progress survives a restart: the job resumes after Cursor.
type Job struct {
	ID  string `json:"id"`
	App string `json:"app"`
	// AllInScope makes the job cover every user in the app's scope, not
	// only those linked to it, so that missing accounts are created.
	AllInScope bool `json:"all_in_scope"`
	// Force pushes every user even when the app should already hold it
	// (a quick sync); without it only users that differ are pushed (the
	// reconcile after provisioning is switched on or the mapping changed).
	Force bool     `json:"force"`
	State JobState `json:"state"`
	// Gen is the app's control generation the job waits for users to reach.
	Gen uint64 `json:"gen"`
	// Cursor is the last user id of the last finished page.
	Cursor string `json:"cursor,omitempty"`
	// Total is the number of users when the job started (grown if more are
	// met); Done, Failed and Skipped count users handled so far (skipped:
	// out of scope, or gone from the directory).
	Total           int       `json:"total"`
	Done            int       `json:"done"`
	Failed          int       `json:"failed"`
	Skipped         int       `json:"skipped"`
	Error           string    `json:"error,omitempty"`
	CancelRequested bool      `json:"cancel_requested,omitempty"`
	RequestedBy     string    `json:"requested_by,omitempty"`
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
	Finished        time.Time `json:"finished,omitzero"`
}

// SyncOptions are the options of a quick sync.
type SyncOptions struct {
	// AllInScope also creates the users in scope the app has no account for.
	AllInScope bool
	// RequestedBy names who asked, for the record.
	RequestedBy string
}

// jobSpec is what starting a job needs.
type jobSpec struct {
	AllInScope  bool
	Force       bool
	RequestedBy string
	// configHash, when set, is recorded in the control record; with
	// onlyIfChanged the job starts only if it differs from the recorded one
	// (startJob then fails with errNoChange).
	configHash    string
	onlyIfChanged bool
}

// RunningError is StartSync's error while another quick sync of the app
// runs; it matches ErrSyncRunning and names the running job.
type RunningError struct{ JobID string }

func (e *RunningError) Error() string { return ErrSyncRunning.Error() + ": job " + e.JobID }

// Is makes errors.Is(err, ErrSyncRunning) hold.
func (e *RunningError) Is(target error) bool { return target == ErrSyncRunning }

// StartSync starts a quick sync of an app: every user linked to it (or, with
// AllInScope, every user in its scope) is pushed again, whether or not the
// engine thinks the app already holds it. It fails with a *RunningError
// (matching ErrSyncRunning) while another quick sync of the app runs, and
// with ErrUnknownApp.
func (e *Engine) StartSync(ctx context.Context, appName string, opts SyncOptions) (Job, error) {
	a, err := e.app(appName)
	if err != nil {
		return Job{}, err
	}
	return e.startJob(ctx, a, jobSpec{
		AllInScope: opts.AllInScope, Force: true, RequestedBy: opts.RequestedBy,
	})
}

// startJob takes a generation in the app's control record, writes the job
// and queues it. A crash between those steps leaves at worst a job record
// that the next start queues again (see requeueJobs).
func (e *Engine) startJob(ctx context.Context, a *app, spec jobSpec) (Job, error) {
	now := e.clock().UTC()
	job := Job{
		ID: uuid.Must(uuid.NewV7()).String(), App: a.name, AllInScope: spec.AllInScope,
		Force: spec.Force, State: JobRunning, RequestedBy: spec.RequestedBy,
		Created: now, Updated: now,
	}
	_, err := e.updateControl(ctx, a, func(c *control) error {
		if spec.onlyIfChanged && c.ConfigHash == spec.configHash {
			return errNoChange
		}
		if spec.Force && c.SyncJob != "" {
			running, err := e.Job(ctx, c.SyncJob)
			if err == nil && running.State == JobRunning {
				return &RunningError{JobID: running.ID}
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if spec.configHash != "" {
			c.ConfigHash = spec.configHash
		}
		c.Gen++
		job.Gen = c.Gen
		if spec.Force {
			c.ForceGen, c.SyncJob = c.Gen, job.ID
		}
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	if job.Gen == 0 {
		return Job{}, errNoChange
	}
	if _, err := e.saveJob(ctx, &job, state.AbsentVersion); err != nil {
		return Job{}, err
	}
	if err := e.store.Enqueue(ctx, queueJobs, []string{job.ID}, now); err != nil {
		return Job{}, fmt.Errorf("queue job: %w", err)
	}
	wake(e.jobWake)
	e.log.Info("job started", "app", a.name, "job_id", job.ID, "force", job.Force,
		"all_in_scope", job.AllInScope, "by", job.RequestedBy)
	return job, nil
}

// Job returns a job as last checkpointed, or ErrNotFound.
func (e *Engine) Job(ctx context.Context, id string) (Job, error) {
	j, _, err := e.loadJob(ctx, id)
	return j, err
}

// CancelJob asks a running job to stop; the job honours it at its next
// checkpoint (within one page). Cancelling a finished job changes nothing.
// It returns the job as stored, or ErrNotFound.
func (e *Engine) CancelJob(ctx context.Context, id string) (Job, error) {
	for {
		j, ver, err := e.loadJob(ctx, id)
		if err != nil || j.State != JobRunning || j.CancelRequested {
			return j, err
		}
		j.CancelRequested = true
		_, err = e.saveJob(ctx, &j, ver)
		if errors.Is(err, state.ErrVersionMismatch) {
			continue
		}
		if err == nil {
			e.log.Info("job cancel requested", "app", j.App, "job_id", j.ID)
		}
		return j, err
	}
}

func (e *Engine) loadJob(ctx context.Context, id string) (Job, uint64, error) {
	var j Job
	rec, err := e.store.GetRecord(ctx, bucketJobs, id)
	if errors.Is(err, state.ErrNotFound) {
		return j, 0, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return j, 0, fmt.Errorf("read job: %w", err)
	}
	if err := json.Unmarshal(rec.Data, &j); err != nil {
		return j, 0, fmt.Errorf("decode job: %w", err)
	}
	return j, rec.Version, nil
}

// saveJob writes j if its version is still ver and returns the new one.
func (e *Engine) saveJob(ctx context.Context, j *Job, ver uint64) (uint64, error) {
	j.Updated = e.clock().UTC()
	raw, err := json.Marshal(j)
	if err != nil {
		return 0, fmt.Errorf("encode job: %w", err)
	}
	v, err := e.store.PutRecord(ctx, bucketJobs, j.ID, raw, ver)
	if err != nil {
		return 0, fmt.Errorf("save job: %w", err)
	}
	return v, nil
}

// runJobs leases jobs from the jobs queue and runs up to maxJobs of them at
// once until ctx ends. A job runs in one replica at a time; when that
// replica dies its lease expires and another resumes the job.
func (e *Engine) runJobs(ctx, work context.Context) {
	const maxJobs = 4
	e.requeueJobs(ctx)
	done := make(chan struct{})
	running := 0
	for ctx.Err() == nil {
		if running == maxJobs {
			select {
			case <-done:
				running--
			case <-ctx.Done():
			}
			continue
		}
		leases, err := e.store.Lease(ctx, queueJobs, e.replica, e.clock(), 1, e.tune.LeaseTTL)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("lease job", "err", err)
				sleep(ctx, e.tune.PollInterval)
			}
			continue
		}
		if len(leases) == 0 {
			t := time.NewTimer(e.tune.PollInterval)
			select {
			case <-e.jobWake:
			case <-done:
				running--
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
			continue
		}
		running++
		h := e.newHeld(work, queueJobs, leases[0])
		go func() {
			defer func() { done <- struct{}{} }()
			e.runJob(ctx, h)
		}()
	}
	for running > 0 {
		<-done
		running--
	}
}

// requeueJobs queues every job still marked running, in case the replica
// that started one died before queueing it. Queueing a job that is already
// queued or running changes nothing.
func (e *Engine) requeueJobs(ctx context.Context) {
	after := ""
	for {
		recs, err := e.store.ListRecords(ctx, bucketJobs, after, 500)
		if err != nil {
			e.log.Error("list jobs", "err", err)
			return
		}
		var ids []string
		for _, r := range recs {
			var j Job
			if json.Unmarshal(r.Data, &j) == nil && j.State == JobRunning {
				ids = append(ids, j.ID)
			}
		}
		if len(ids) > 0 {
			if err := e.store.Enqueue(ctx, queueJobs, ids, e.clock()); err != nil {
				e.log.Error("requeue jobs", "err", err)
				return
			}
		}
		if len(recs) < 500 {
			return
		}
		after = recs[len(recs)-1].Key
	}
}
