package bridge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// TestOutageRecovers: a target that answers 500 and 429 (Retry-After: 1)
// for a while gets everything once it recovers, with no dead letter.
func TestOutageRecovers(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	e := newEngine(t, store, "r1", scimApp("crm", tg))
	start(t, e)

	users := people("outage", 60)
	tg.failFor(2 * time.Second)
	putUsers(t, store, users...)
	eventually(t, 30*time.Second, func() bool { return allHeld(tg, users) },
		"every user delivered after the outage")
	require.Positive(t, tg.failed.Load(), "the outage was seen")
	require.Equal(t, len(users), tg.count(), "no duplicate account")

	dls, _, err := e.DeadLetters(ctx, "crm", "", 100)
	require.NoError(t, err)
	require.Empty(t, dls)
	for _, u := range users[:5] {
		st := waitState(t, e, "crm", u.ID, bridge.StateSynced)
		require.Zero(t, st.Attempts, "a success clears the attempts")
	}
	require.Empty(t, tg.overlapping())
}

// TestDeadLetterReplay: a permanent refusal becomes a dead letter at once;
// once the app accepts the user, a replay provisions it and clears it.
func TestDeadLetterReplay(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	tg.refuse = "bad-"
	e := newEngine(t, store, "r1", scimApp("crm", tg))
	start(t, e)

	good := user{ID: "u1", UserName: "good", Given: "G", Family: "Ood"}
	bad := user{ID: "u2", UserName: "bad-apple", Given: "B", Family: "Ad"}
	putUsers(t, store, good, bad)
	eventually(t, 5*time.Second, func() bool { return holds(tg, good) }, "good created")
	st := waitState(t, e, "crm", "u2", bridge.StateFailed)
	require.Contains(t, st.Error, "400")

	dls, next, err := e.DeadLetters(ctx, "crm", "", 10)
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, dls, 1)
	require.Equal(t, "u2", dls[0].User)
	require.Equal(t, "create", dls[0].Op)

	failed, _, err := e.Users(ctx, "crm", bridge.StateFailed, "", 10)
	require.NoError(t, err)
	require.Len(t, failed, 1)
	require.Equal(t, "u2", failed[0].User)

	tg.mu.Lock()
	tg.refuse = ""
	tg.mu.Unlock()
	require.NoError(t, e.Replay(ctx, "crm", "u2"))
	eventually(t, 5*time.Second, func() bool { return holds(tg, bad) }, "bad created on replay")
	eventually(t, 5*time.Second, func() bool {
		dls, _, err := e.DeadLetters(ctx, "crm", "", 10)
		require.NoError(t, err)
		return len(dls) == 0
	}, "dead letter cleared")
	require.ErrorIs(t, e.Replay(ctx, "crm", "u2"), bridge.ErrNotFound)
}

// TestRetriesRunOut: a target that keeps failing makes a dead letter after
// the last try, not before.
func TestRetriesRunOut(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	tg.failFor(time.Hour)
	tune := fastTuning
	tune.MaxAttempts = 4
	e := newTunedEngine(t, store, "r1", tune, scimApp("crm", tg))
	start(t, e)

	putUsers(t, store, user{ID: "u1", UserName: "doomed", Given: "D", Family: "Oomed"})
	eventually(t, 20*time.Second, func() bool {
		return status(t, e, "crm", "u1").State == bridge.StateFailed
	}, "the user fails for good")
	st := status(t, e, "crm", "u1")
	require.Equal(t, tune.MaxAttempts, st.Attempts)
	dls, _, err := e.DeadLetters(ctx, "crm", "", 10)
	require.NoError(t, err)
	require.Len(t, dls, 1)
}

// TestChangesDuringBackoffKeepTheBudget: a user edited again and again
// while the app is down is tried at each edit, but only the scheduled
// retries use up its tries, so the edits do not make it a dead letter.
func TestChangesDuringBackoffKeepTheBudget(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	tune := fastTuning
	// Scheduled retries come no sooner than 500ms apart: the edits below
	// fall between them.
	tune.MaxAttempts, tune.BackoffBase, tune.BackoffMax = 3, 5*time.Second, 5*time.Second
	e := newTunedEngine(t, store, "r1", tune, scimApp("crm", tg))
	start(t, e)

	ivy := user{ID: "u1", UserName: "ivy", Given: "Ivy", Family: "Early", Title: "t0"}
	putUsers(t, store, ivy)
	eventually(t, 5*time.Second, func() bool { return holds(tg, ivy) }, "ivy created")

	tg.broken.Store(true)
	for i := range 2 * tune.MaxAttempts {
		before := tg.failed.Load()
		ivy.Title = fmt.Sprintf("t%d", i+1)
		putUsers(t, store, ivy)
		eventually(t, 5*time.Second, func() bool { return tg.failed.Load() > before },
			"edit %d tried", i+1)
	}
	st := status(t, e, "crm", "u1")
	require.Equal(t, bridge.StatePending, st.State, "status %+v", st)
	require.Less(t, st.Attempts, tune.MaxAttempts)

	tg.broken.Store(false)
	eventually(t, 15*time.Second, func() bool { return holds(tg, ivy) }, "ivy updated")
	dls, _, err := e.DeadLetters(ctx, "crm", "", 10)
	require.NoError(t, err)
	require.Empty(t, dls)
}
