package boltstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

// TestExpiredLeases covers what the contract suite leaves open: an expired
// lease nobody has taken over is still held, and an expired key competes
// with ready keys by the time its lease ended.
func TestExpiredLeases(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	checked(t, s)
	t0 := time.Unix(1_700_000_000, 0)

	require.NoError(t, s.Enqueue(ctx, "q", []string{"expired"}, t0))
	first, err := s.Lease(ctx, "q", "w1", t0, 1, 5*time.Second)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.NoError(t, s.Enqueue(ctx, "q", []string{"ready"}, t0.Add(3*time.Second)))

	// At 10s the key due at 3s comes before the lease that ended at 5s.
	got, err := s.Lease(ctx, "q", "w2", t0.Add(10*time.Second), 1, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []string{"ready"}, leaseKeys(got))

	// Past its end, with nobody taking its key, the first lease is held.
	ext, err := s.Extend(ctx, "q", first[0], t0.Add(11*time.Second), time.Second)
	require.NoError(t, err)
	require.Equal(t, t0.Add(12*time.Second).UnixNano(), ext.Until.UnixNano())

	// Once another owner takes the key, it is lost.
	taken, err := s.Lease(ctx, "q", "w3", t0.Add(20*time.Second), 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []string{"expired"}, leaseKeys(taken), "the unexpired lease stays")
	require.ErrorIs(t, s.Done(ctx, "q", ext), state.ErrLeaseLost)

	require.NoError(t, s.Enqueue(ctx, "q", []string{"expired"}, t0))
	st, err := s.QueueStats(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, state.QueueStats{Leased: 2}, st, "a leased key enqueued again is not ready yet")

	require.NoError(t, s.Retry(ctx, "q", taken[0], t0.Add(time.Hour)))
	due, err := s.NextDue(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, t0.UnixNano(), due.UnixNano(),
		"retry keeps the earlier due time the key was enqueued with during the lease")
}
