package bridge_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// drift changes every account's title behind the engine's back.
func drift(tg *target) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for _, a := range tg.accounts {
		a["title"] = "drifted"
	}
}

func TestQuickSyncRepairsDrift(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	e := newEngine(t, store, "r1", scimApp("crm", tg))
	start(t, e)

	users := people("qs", 250)
	putUsers(t, store, users...)
	eventually(t, 20*time.Second, func() bool { return allHeld(tg, users) }, "users created")

	drift(tg)
	puts := tg.puts.Load()
	job, err := e.StartSync(ctx, "crm", bridge.SyncOptions{RequestedBy: "tester"})
	require.NoError(t, err)
	require.Equal(t, bridge.JobRunning, job.State)

	done := waitJob(t, e, job.ID, 30*time.Second)
	require.Equal(t, bridge.JobDone, done.State)
	require.Equal(t, 250, done.Total)
	require.Equal(t, 250, done.Done)
	require.Zero(t, done.Failed)
	require.True(t, allHeld(tg, users), "the drift is repaired")
	require.Equal(t, puts+250, tg.puts.Load(), "every user pushed once, though unchanged")
	require.Equal(t, 250, tg.count())

	info, err := e.App(ctx, "crm")
	require.NoError(t, err)
	require.Empty(t, info.SyncJob, "the app is free for another sync")
	require.Equal(t, 250, info.Users)
}

func TestProvisioningSwitchAndAllInScope(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	app := scimApp("crm", tg)
	app.Provisioning = false
	e := newEngine(t, store, "r1", app)
	start(t, e)

	users := people("sw", 120)
	putUsers(t, store, users...)
	time.Sleep(500 * time.Millisecond)
	require.Zero(t, tg.count(), "provisioning is off")

	info, job, err := e.SetProvisioning(ctx, "crm", true, "tester")
	require.NoError(t, err)
	require.True(t, info.Provisioning)
	require.NotNil(t, job, "switching on reconciles the scope")
	done := waitJob(t, e, job.ID, 30*time.Second)
	require.Equal(t, bridge.JobDone, done.State)
	require.Equal(t, 120, done.Done)
	require.True(t, allHeld(tg, users))

	// A forced sync of the whole scope pushes everyone again.
	drift(tg)
	job2, err := e.StartSync(ctx, "crm", bridge.SyncOptions{AllInScope: true})
	require.NoError(t, err)
	done = waitJob(t, e, job2.ID, 30*time.Second)
	require.Equal(t, 120, done.Done)
	require.True(t, allHeld(tg, users))

	// Off again: changes stop flowing.
	_, job, err = e.SetProvisioning(ctx, "crm", false, "tester")
	require.NoError(t, err)
	require.Nil(t, job)
	users[0].Title = "Ignored"
	putUsers(t, store, users[0])
	time.Sleep(500 * time.Millisecond)
	require.False(t, holds(tg, users[0]))
}

func TestQuickSyncCancel(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	app := scimApp("crm", tg)
	app.Concurrency = 2
	e := newEngine(t, store, "r1", app)
	start(t, e)

	users := people("cx", 300)
	putUsers(t, store, users...)
	eventually(t, 30*time.Second, func() bool { return allHeld(tg, users) }, "users created")

	tg.delay.Store(int64(5 * time.Millisecond))
	job, err := e.StartSync(ctx, "crm", bridge.SyncOptions{})
	require.NoError(t, err)
	_, err = e.StartSync(ctx, "crm", bridge.SyncOptions{})
	var running *bridge.RunningError
	require.ErrorAs(t, err, &running)
	require.Equal(t, job.ID, running.JobID)
	require.True(t, errors.Is(err, bridge.ErrSyncRunning))

	eventually(t, 10*time.Second, func() bool {
		j, err := e.Job(ctx, job.ID)
		require.NoError(t, err)
		return j.Done > 0
	}, "some progress")
	_, err = e.CancelJob(ctx, job.ID)
	require.NoError(t, err)
	got := waitJob(t, e, job.ID, 10*time.Second)
	require.Equal(t, bridge.JobCancelled, got.State)
	require.Less(t, got.Done, 300)

	// The app is free again.
	tg.delay.Store(0)
	job, err = e.StartSync(ctx, "crm", bridge.SyncOptions{})
	require.NoError(t, err)
	require.Equal(t, bridge.JobDone, waitJob(t, e, job.ID, 30*time.Second).State)
}

// TestQuickSyncResumesAfterCrash: the replica running a job dies; another
// takes the job over from its last checkpoint and finishes it, and every
// user ends up pushed exactly as the directory has it.
func TestQuickSyncResumesAfterCrash(t *testing.T) {
	ctx := context.Background()
	shared := openBolt(t)
	tg := newTarget(t)
	app := scimApp("crm", tg)
	app.Concurrency = 4

	users := people("rs", 400)
	seed := newEngine(t, shared, "seed", app)
	r := start(t, seed)
	putUsers(t, shared, users...)
	eventually(t, 30*time.Second, func() bool { return allHeld(tg, users) }, "users created")
	r.stop()

	a := &killable{Store: shared}
	ea := newEngine(t, a, "a", app)
	ra := start(t, ea)
	tg.delay.Store(int64(3 * time.Millisecond))
	drift(tg)
	job, err := ea.StartSync(ctx, "crm", bridge.SyncOptions{})
	require.NoError(t, err)
	eventually(t, 20*time.Second, func() bool {
		j, err := ea.Job(ctx, job.ID)
		require.NoError(t, err)
		return j.Done >= 100
	}, "a checkpoint")
	a.kill()
	ra.stop()

	// Meanwhile the directory moves on.
	users[399].Title = "Changed while down"
	putUsers(t, shared, users[399])

	eb := newEngine(t, shared, "b", app)
	start(t, eb)
	got := waitJob(t, eb, job.ID, 60*time.Second)
	require.Equal(t, bridge.JobDone, got.State)
	require.Equal(t, 400, got.Done+got.Failed+got.Skipped)
	require.Zero(t, got.Failed)
	eventually(t, 20*time.Second, func() bool { return allHeld(tg, users) }, "all in latest state")
	require.Equal(t, 400, tg.count(), "no duplicate account")
	require.Empty(t, tg.overlapping())
}
