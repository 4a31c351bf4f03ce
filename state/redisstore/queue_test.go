package redisstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/redistest"
	"github.com/scim-bridge/scim-bridge/state"
)

// TestLeasersOfSeveralStoresNeverShare leases one queue from several
// stores, each with its own connections as separate replicas would have,
// and wants every key handed out exactly once.
func TestLeasersOfSeveralStoresNeverShare(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	org := freshOrg()
	ctx := context.Background()
	now := time.Now()

	const replicas, workers, keys = 3, 3, 600
	stores := make([]*Store, replicas)
	for i := range stores {
		stores[i] = openStore(t, srv.URL(), Options{Org: org})
	}
	var all []string
	for i := 0; i < keys; i++ {
		all = append(all, fmt.Sprintf("k%04d", i))
	}
	require.NoError(t, stores[0].Enqueue(ctx, "q", all, now))

	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for r, s := range stores {
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(s *Store, owner string) {
				defer wg.Done()
				for {
					ls, err := s.Lease(ctx, "q", owner, now, 5, time.Minute)
					if err != nil || len(ls) == 0 {
						return
					}
					mu.Lock()
					for _, l := range ls {
						got[l.Key]++
					}
					mu.Unlock()
					for _, l := range ls {
						if err := s.Done(ctx, "q", l); err != nil {
							return
						}
					}
				}
			}(s, fmt.Sprintf("r%d-w%d", r, w))
		}
	}
	wg.Wait()
	require.Len(t, got, keys)
	for k, n := range got {
		require.Equal(t, 1, n, "key %s leased %d times", k, n)
	}
	st, err := stores[1].QueueStats(ctx, "q")
	require.NoError(t, err)
	require.Zero(t, st.Ready+st.Leased)
	require.NoError(t, stores[2].Check(ctx))
}

// TestStaleHolderLosesAndRetryKeepsEarlierDue checks that a key whose
// lease expired, although enqueued again meanwhile, goes to one new holder,
// that the stale holder can no longer settle it, and that Retry keeps an
// earlier due time enqueued during the lease.
func TestStaleHolderLosesAndRetryKeepsEarlierDue(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := openStore(t, srv.URL(), Options{})
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Millisecond)

	require.NoError(t, s.Enqueue(ctx, "q", []string{"k"}, t0))
	ls, err := s.Lease(ctx, "q", "w1", t0, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ls, 1)
	require.NoError(t, s.Enqueue(ctx, "q", []string{"k"}, t0.Add(10*time.Second)))
	require.NoError(t, s.Enqueue(ctx, "q", []string{"k"}, t0.Add(20*time.Second)), "a later due loses")

	again, err := s.Lease(ctx, "q", "w2", t0.Add(2*time.Minute), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.NotEqual(t, ls[0].Token, again[0].Token)
	require.ErrorIs(t, s.Retry(ctx, "q", ls[0], t0), state.ErrLeaseLost)

	// Retry keeps the earlier of its due and a due enqueued meanwhile.
	require.NoError(t, s.Enqueue(ctx, "q", []string{"k"}, t0.Add(3*time.Minute)))
	require.NoError(t, s.Retry(ctx, "q", again[0], t0.Add(time.Hour)))
	due, err := s.NextDue(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, t0.Add(3*time.Minute), due)
	require.NoError(t, s.Check(ctx))
}
