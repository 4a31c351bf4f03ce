package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/scim-bridge/scim-bridge/state"
)

// feedGroup is the consumer group the engines of every replica share: each
// change goes to one of them.
const feedGroup = "engine"

// Sizes of the feed loop.
const (
	feedBatch    = 256
	enqueueChunk = 1000
	maxPause     = 5 * time.Second
)

// consumeFeed reads the change feed until ctx ends. A batch is
// acknowledged only once the keys it produced are durably enqueued, so a
// crash in between leaves it pending, and another replica claims it after
// ClaimIdle.
func (e *Engine) consumeFeed(ctx context.Context) {
	var lastClaim time.Time
	pause := 50 * time.Millisecond
	for ctx.Err() == nil {
		var changes []state.Change
		var err error
		if e.clock().Sub(lastClaim) >= e.tune.ClaimIdle/2 {
			changes, err = e.store.Claim(ctx, feedGroup, e.replica, e.tune.ClaimIdle, feedBatch)
			if len(changes) < feedBatch {
				lastClaim = e.clock()
			}
			if len(changes) > 0 {
				e.log.Info("claimed stalled changes", "changes", len(changes))
			}
		}
		if err == nil && len(changes) == 0 {
			changes, err = e.store.Read(ctx, feedGroup, e.replica, feedBatch, e.tune.PollInterval)
		}
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("read change feed", "err", err)
				sleep(ctx, pause)
				pause = min(pause*2, maxPause)
			}
			continue
		}
		pause = 50 * time.Millisecond
		if len(changes) == 0 {
			continue
		}
		e.metrics.changes.Add(float64(len(changes)))
		e.handleChanges(ctx, changes)
	}
}

// handleChanges fans a batch out and acknowledges it, retrying each step
// until it succeeds or ctx ends (an unacknowledged batch is then claimed
// later, by this replica or another).
func (e *Engine) handleChanges(ctx context.Context, changes []state.Change) {
	pause := 50 * time.Millisecond
	for {
		err := e.fanOut(ctx, changes)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		e.log.Error("fan out changes", "changes", len(changes), "err", err)
		sleep(ctx, pause)
		pause = min(pause*2, maxPause)
	}
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = c.ID
	}
	for {
		err := e.store.Ack(ctx, feedGroup, ids...)
		if err == nil || ctx.Err() != nil {
			return
		}
		e.log.Error("acknowledge changes", "err", err)
		sleep(ctx, pause)
		pause = min(pause*2, maxPause)
	}
}

// fanOut enqueues a reconcile key for every (app, user) a batch concerns:
// the users changed, the members a group gained or lost, and every member
// of a group whose name changed (a scope or a mapping may name it). Apps
// with provisioning off are skipped; scoped apps get only users in scope or
// already linked.
func (e *Engine) fanOut(ctx context.Context, changes []state.Change) error {
	var users []string
	seen := map[string]bool{}
	add := func(ids ...string) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				users = append(users, id)
			}
		}
	}
	for _, c := range changes {
		switch c.Kind {
		case state.KindUser:
			add(c.ResourceID)
		case state.KindGroup:
			add(state.IDRefs(c.RefsAdded)...)
			add(state.IDRefs(c.RefsRemoved)...)
			members, err := e.renamedGroupMembers(ctx, c)
			if err != nil {
				return err
			}
			add(members...)
		}
	}
	if len(users) == 0 {
		return nil
	}

	cache := map[string]*dirUser{}
	for _, name := range e.order {
		a := e.apps[name]
		keys, err := e.keysFor(ctx, a, users, cache)
		if err != nil {
			return err
		}
		if err := e.enqueue(ctx, a, keys, e.clock()); err != nil {
			return err
		}
	}
	return nil
}

// keysFor returns the queue keys of users that app a must reconcile.
func (e *Engine) keysFor(ctx context.Context, a *app, users []string,
	cache map[string]*dirUser) ([]string, error) {
	c, _, err := e.control(ctx, a)
	if err != nil {
		return nil, err
	}
	if !a.provisioning(c) {
		return nil, nil
	}
	keys := make([]string, 0, len(users))
	for _, id := range users {
		if !a.scope.all {
			in, err := e.concerns(ctx, a, id, cache)
			if err != nil {
				return nil, err
			}
			if !in {
				continue
			}
		}
		keys = append(keys, queueKey(a, id))
	}
	return keys, nil
}

// concerns reports whether a user is in a scoped app's scope or linked to
// it (and so may need deprovisioning).
func (e *Engine) concerns(ctx context.Context, a *app, id string,
	cache map[string]*dirUser) (bool, error) {
	u, ok := cache[id]
	if !ok {
		var err error
		if u, err = e.loadUser(ctx, id); err != nil {
			return false, err
		}
		cache[id] = u
	}
	if in, _ := a.scope.match(u); in {
		return true, nil
	}
	_, ver, err := e.loadLink(ctx, a, id)
	return ver != 0, err
}

// enqueue makes keys of app a ready at due, in chunks, and wakes the app's
// local workers so they need not wait for their next poll.
func (e *Engine) enqueue(ctx context.Context, a *app, keys []string, due time.Time) error {
	for len(keys) > 0 {
		n := min(len(keys), enqueueChunk)
		if err := e.store.Enqueue(ctx, a.queue, keys[:n], due); err != nil {
			return fmt.Errorf("enqueue for %s: %w", a.name, err)
		}
		keys = keys[n:]
		wake(a.wake)
	}
	return nil
}

func queueKey(a *app, userID string) string { return a.name + "/" + userID }

// renamedGroupMembers returns the members of a group whose displayName or
// externalId changed since the engine last saw it; a group seen for the
// first time on a create has all its members in RefsAdded already. The
// last seen names are kept in a record bucket so every replica compares
// alike.
func (e *Engine) renamedGroupMembers(ctx context.Context, c state.Change) ([]string, error) {
	if c.Op == state.OpDelete {
		if err := e.store.DeleteRecord(ctx, bucketGroups, c.ResourceID, 0); err != nil {
			return nil, fmt.Errorf("forget group name: %w", err)
		}
		return nil, nil
	}
	g, err := e.store.Get(ctx, state.KindGroup, c.ResourceID)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil // deleted since; its delete change follows
	}
	if err != nil {
		return nil, fmt.Errorf("read group: %w", err)
	}
	names := groupNamesOf(g.Data)
	var last groupNames
	rec, err := e.store.GetRecord(ctx, bucketGroups, g.ID)
	switch {
	case err == nil:
		_ = json.Unmarshal(rec.Data, &last)
		if last == names {
			return nil, nil
		}
	case !errors.Is(err, state.ErrNotFound):
		return nil, fmt.Errorf("read group name: %w", err)
	}
	raw, _ := json.Marshal(names)
	if _, err := e.store.PutRecord(ctx, bucketGroups, g.ID, raw, 0); err != nil {
		return nil, fmt.Errorf("remember group name: %w", err)
	}
	if c.Op == state.OpCreate {
		return nil, nil
	}
	return state.IDRefs(g.Refs), nil
}
