package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/scim-bridge/scim-bridge/state"
)

// Pacing of a running job.
const (
	syncWindow = 2                      // pages enqueued and not yet finished
	jobPoll    = 500 * time.Millisecond // how often a job looks at its users' links
)

// errJobCancelled stops a job that was asked to stop.
var errJobCancelled = errors.New("job cancelled")

// jobRun is one replica's run of a job, under the job's lease. The job
// enqueues a page of users into the app's queue, where the app's workers
// reconcile them under the app's concurrency and rate limit, and waits for
// each user's link to show a final outcome reached after the job started
// (its generation). Progress is checkpointed after each page.
type jobRun struct {
	e   *Engine
	a   *app
	h   *held
	job Job
	ver uint64
	sub chan notice

	pages     []*page
	next      string // last user id enqueued
	exhausted bool
}

// page is a batch of users enqueued together.
type page struct {
	last                  string
	waiting               map[string]*waitEntry
	done, failed, skipped int
}

type waitEntry struct {
	since  time.Time
	linked bool // the user had a link when enqueued
}

func (e *Engine) runJob(ctx context.Context, h *held) {
	go h.keepAlive()
	job, ver, err := e.loadJob(h.ctx, h.key)
	if errors.Is(err, ErrNotFound) || (err == nil && job.State != JobRunning) {
		h.finish(true, time.Time{})
		return
	}
	if err != nil {
		e.log.Error("load job", "job_id", h.key, "err", err)
		h.finish(false, e.clock().Add(e.tune.PollInterval))
		return
	}
	r := &jobRun{e: e, h: h, job: job, ver: ver, next: job.Cursor}
	a, err := e.app(job.App)
	if err != nil {
		// The app was removed from the configuration since.
		r.end(h.ctx, JobFailed, err.Error())
		h.finish(true, time.Time{})
		return
	}
	r.a = a
	r.sub = e.waiters.subscribe(a.name)
	defer e.waiters.unsubscribe(a.name, r.sub)

	err = r.run(ctx)
	switch {
	case err == nil:
		h.finish(true, time.Time{})
	case errors.Is(context.Cause(h.ctx), state.ErrLeaseLost):
		e.log.Warn("job lease lost", "job_id", job.ID)
	case ctx.Err() != nil:
		e.log.Info("job handed back", "job_id", job.ID, "cursor", r.job.Cursor)
		h.finish(false, e.clock())
	default:
		e.log.Error("run job", "job_id", job.ID, "err", err)
		h.finish(false, e.clock().Add(e.retryDelay(1, 0)))
	}
}

func (r *jobRun) run(ctx context.Context) error {
	if r.job.CancelRequested {
		return r.end(ctx, JobCancelled, "")
	}
	if r.job.Total == 0 && r.job.Cursor == "" {
		n, err := r.count(ctx)
		if err != nil {
			return err
		}
		r.job.Total = n
		if _, err := r.checkpoint(ctx); err != nil {
			return err
		}
	}
	for {
		for len(r.pages) < syncWindow && !r.exhausted {
			if err := r.fill(ctx); err != nil {
				return err
			}
		}
		if len(r.pages) == 0 {
			return r.end(ctx, JobDone, "")
		}
		err := r.waitHead(ctx)
		if errors.Is(err, errJobCancelled) {
			return r.end(ctx, JobCancelled, "")
		}
		if err != nil {
			return err
		}

		head := r.pages[0]
		r.pages = r.pages[1:]
		r.job.Cursor = head.last
		r.job.Done += head.done
		r.job.Failed += head.failed
		r.job.Skipped += head.skipped
		r.job.Total = max(r.job.Total, r.job.Done+r.job.Failed+r.job.Skipped)
		cancel, err := r.checkpoint(ctx)
		if err != nil {
			return err
		}
		if cancel {
			return r.end(ctx, JobCancelled, "")
		}
		c, _, err := r.e.control(ctx, r.a)
		if err != nil {
			return err
		}
		if !r.a.provisioning(c) {
			return r.end(ctx, JobCancelled, "provisioning was switched off")
		}
	}
}

// count is the job's total at start.
func (r *jobRun) count(ctx context.Context) (int, error) {
	if r.job.AllInScope {
		return r.e.store.Count(ctx, state.KindUser)
	}
	return r.e.store.CountRecords(ctx, r.a.links)
}

// fill enqueues the next page of users.
func (r *jobRun) fill(ctx context.Context) error {
	e, a := r.e, r.a
	pg := &page{waiting: map[string]*waitEntry{}}
	now := e.clock()
	var keys []string
	add := func(id string, linked bool) {
		keys = append(keys, queueKey(a, id))
		pg.waiting[id] = &waitEntry{since: now, linked: linked}
	}

	var n int
	if r.job.AllInScope {
		users, err := e.store.List(ctx, state.KindUser, r.next, e.tune.SyncPage)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		n = len(users)
		for _, res := range users {
			pg.last = res.ID
			if a.scope.all {
				add(res.ID, false)
				continue
			}
			u, err := e.userFrom(ctx, res)
			if err != nil {
				return err
			}
			_, ver, err := e.loadLink(ctx, a, res.ID)
			if err != nil {
				return err
			}
			if in, _ := a.scope.match(u); in || ver != 0 {
				add(res.ID, ver != 0)
			} else {
				pg.skipped++
			}
		}
	} else {
		links, err := e.store.ListRecords(ctx, a.links, r.next, e.tune.SyncPage)
		if err != nil {
			return fmt.Errorf("list links: %w", err)
		}
		n = len(links)
		for _, l := range links {
			pg.last = l.Key
			add(l.Key, true)
		}
	}
	if n < e.tune.SyncPage {
		r.exhausted = true
	}
	if n == 0 {
		return nil
	}
	if err := e.enqueue(ctx, a, keys, now); err != nil {
		return err
	}
	r.next = pg.last
	r.pages = append(r.pages, pg)
	return nil
}

// waitHead waits until every user of the first page has an outcome, taking
// notices of this replica's workers as they come and looking at the links
// (written by any replica) every jobPoll.
func (r *jobRun) waitHead(ctx context.Context) error {
	head := r.pages[0]
	t := time.NewTicker(jobPoll)
	defer t.Stop()
	for len(head.waiting) > 0 {
		select {
		case n := <-r.sub:
			r.settle(n.user, n.gen, n.state)
		case <-t.C:
			if err := r.poll(ctx, head); err != nil {
				return err
			}
			j, _, err := r.e.loadJob(ctx, r.job.ID)
			if err != nil {
				return err
			}
			if j.CancelRequested {
				return errJobCancelled
			}
		case <-r.h.ctx.Done():
			return context.Cause(r.h.ctx)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// settle counts a user's outcome in the page waiting for it, if the
// outcome was reached at or after the job's generation.
func (r *jobRun) settle(user string, gen uint64, st State) {
	if gen < r.job.Gen {
		return
	}
	for _, pg := range r.pages {
		if _, ok := pg.waiting[user]; !ok {
			continue
		}
		switch st {
		case StateSynced, StateDeprovisioned:
			pg.done++
		case StateFailed, StateNeedsInput:
			pg.failed++
		default:
			return // still pending: keep waiting
		}
		delete(pg.waiting, user)
		return
	}
}

// poll reads the links of the page's users that have waited a while. A
// user whose link is gone was deprovisioned; a user that has waited
// StallAfter is checked for whether it still needs anything at all.
func (r *jobRun) poll(ctx context.Context, pg *page) error {
	now := r.e.clock()
	for user, w := range pg.waiting {
		if now.Sub(w.since) < jobPoll {
			continue
		}
		l, ver, err := r.e.loadLink(ctx, r.a, user)
		if err != nil {
			return err
		}
		switch {
		case ver != 0 && l.Gen >= r.job.Gen:
			r.settle(user, l.Gen, l.State)
		case ver == 0 && w.linked:
			r.settle(user, r.job.Gen, StateDeprovisioned)
		case now.Sub(w.since) >= r.e.tune.StallAfter:
			w.since = now
			skip, err := r.needsNothing(ctx, user, ver)
			if err != nil {
				return err
			}
			if skip {
				delete(pg.waiting, user)
				pg.skipped++
			}
		}
	}
	return nil
}

// needsNothing reports whether a user the job waits for will never get an
// outcome: provisioning is off, or the user left the directory or the
// scope without ever having been linked.
func (r *jobRun) needsNothing(ctx context.Context, user string, linkVer uint64) (bool, error) {
	c, _, err := r.e.control(ctx, r.a)
	if err != nil {
		return false, err
	}
	if !r.a.provisioning(c) {
		return true, nil
	}
	if linkVer != 0 {
		return false, nil
	}
	u, err := r.e.loadUser(ctx, user)
	if err != nil {
		return false, err
	}
	in, _ := r.a.scope.match(u)
	return !in, nil
}

// checkpoint saves the job's progress and reports whether it was asked to
// stop meanwhile.
func (r *jobRun) checkpoint(ctx context.Context) (bool, error) {
	for {
		if err := context.Cause(r.h.ctx); errors.Is(err, state.ErrLeaseLost) {
			return false, err
		}
		v, err := r.e.saveJob(ctx, &r.job, r.ver)
		if err == nil {
			r.ver = v
			return r.job.CancelRequested, nil
		}
		if !errors.Is(err, state.ErrVersionMismatch) {
			return false, err
		}
		// An admin asked to cancel meanwhile: keep that, and our progress.
		cur, ver, err := r.e.loadJob(ctx, r.job.ID)
		if err != nil {
			return false, err
		}
		r.job.CancelRequested = r.job.CancelRequested || cur.CancelRequested
		r.ver = ver
	}
}

// end records the job's final state and frees the app for another sync.
func (r *jobRun) end(ctx context.Context, st JobState, msg string) error {
	r.job.State, r.job.Error, r.job.Finished = st, msg, r.e.clock().UTC()
	if _, err := r.checkpoint(ctx); err != nil {
		return err
	}
	if r.a != nil {
		_, err := r.e.updateControl(ctx, r.a, func(c *control) error {
			if c.SyncJob != r.job.ID {
				return errNoChange
			}
			c.SyncJob = ""
			return nil
		})
		if err != nil {
			r.e.log.Error("free app after job", "app", r.a.name, "job_id", r.job.ID, "err", err)
		}
	}
	r.e.metrics.jobs.WithLabelValues(string(st)).Inc()
	r.e.log.Info("job finished", "app", r.job.App, "job_id", r.job.ID, "state", st,
		"done", r.job.Done, "failed", r.job.Failed, "skipped", r.job.Skipped)
	return nil
}

// notice tells a job that a user reached an outcome.
type notice struct {
	user  string
	gen   uint64
	state State
}

// waiters routes reconcile outcomes of this replica to the jobs that wait
// for them. A notice that does not fit a job's buffer is dropped: the job
// reads the link later anyway.
type waiters struct {
	mu   sync.Mutex
	subs map[string]map[chan notice]struct{}
}

func (w *waiters) init() { w.subs = map[string]map[chan notice]struct{}{} }

func (w *waiters) subscribe(app string) chan notice {
	ch := make(chan notice, 4096)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs[app] == nil {
		w.subs[app] = map[chan notice]struct{}{}
	}
	w.subs[app][ch] = struct{}{}
	return ch
}

func (w *waiters) unsubscribe(app string, ch chan notice) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.subs[app], ch)
}

func (w *waiters) notify(app, user string, gen uint64, st State) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs[app] {
		select {
		case ch <- notice{user: user, gen: gen, state: st}:
		default:
		}
	}
}
