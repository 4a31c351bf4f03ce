package redisstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/redistest"
	"github.com/scim-bridge/scim-bridge/state"
)

// TestAcknowledgedCommitsSurviveSIGKILL commits creates from many
// goroutines to a Redis with appendfsync always, kills it with SIGKILL
// while commits are in flight, restarts it on the same directory and finds
// every acknowledged create whole: document, unique index entry, feed entry,
// and no broken invariant anywhere.
func TestAcknowledgedCommitsSurviveSIGKILL(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AppendOnly: true, AppendFsync: "always"})
	org := freshOrg()
	s := openStore(t, srv.URL(), Options{Org: org})
	ctx := context.Background()

	const writers = 16
	killAfter := int64(3000)
	if testing.Short() {
		killAfter = 500
	}
	acked := make([][]string, writers)
	failed := make([]error, writers)
	var total atomic.Int64
	kill := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// Each writer runs until the dead server fails its commit; the
			// deadline only guards against a kill that never happens.
			deadline := time.Now().Add(2 * time.Minute)
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("w%02d-%06d", w, i)
				if _, err := s.Commit(ctx, create(user(id, "name-"+id))); err != nil {
					failed[w] = err
					return
				}
				acked[w] = append(acked[w], id)
				if total.Add(1) == killAfter {
					once.Do(func() { close(kill) })
				}
			}
		}(w)
	}
	<-kill
	srv.Kill()
	wg.Wait()
	for w, err := range failed {
		require.Error(t, err, "writer %d was still committing when the server died", w)
	}

	srv.Restart()
	s2 := openStore(t, srv.URL(), Options{Org: org})
	var all []string
	for _, ids := range acked {
		all = append(all, ids...)
	}
	require.GreaterOrEqual(t, int64(len(all)), killAfter)
	for _, id := range all {
		got, err := s2.Get(ctx, state.KindUser, id)
		require.NoError(t, err, "acknowledged create %s lost", id)
		require.Equal(t, uint64(1), got.Version)
		key := state.IndexKey{Name: "userName", Value: "name-" + id}
		byName, err := s2.Lookup(ctx, state.KindUser, key)
		require.NoError(t, err, "index entry of %s lost", id)
		require.Equal(t, id, byName.ID)
	}

	// A commit in flight at the kill may or may not have been applied, but
	// never partly: at most one per writer beyond the acknowledged ones.
	n, err := s2.Count(ctx, state.KindUser)
	require.NoError(t, err)
	t.Logf("acknowledged %d creates, %d stored after the restart; first failure: %v",
		len(all), n, failed[0])
	require.GreaterOrEqual(t, n, len(all))
	require.LessOrEqual(t, n, len(all)+writers)
	require.NoError(t, s2.Check(ctx))

	inFeed := map[string]bool{}
	for {
		cs, err := s2.Read(ctx, "engine", "c1", 1000, 0)
		require.NoError(t, err)
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			inFeed[c.ResourceID] = true
		}
	}
	require.Len(t, inFeed, n, "one feed entry per stored create")
	for _, id := range all {
		require.True(t, inFeed[id], "feed entry of %s lost", id)
	}
}

// TestFailedCommitLeavesNothing commits several writes whose last one
// fails and finds every key of the organization byte for byte as before:
// no document, index entry, ref or feed entry of the earlier writes.
func TestFailedCommitLeavesNothing(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	raw := srv.Client()
	ctx := context.Background()

	tests := []struct {
		name string
		last state.Write
		want error
	}{
		{"unique taken", create(user("u9", "carol")), state.ErrConflict},
		{"unique taken earlier in the commit", create(user("u9", "bob")), state.ErrConflict},
		{"id taken", create(user("u3", "zed")), state.ErrConflict},
		{"version", replace(user("u3", "carol"), 7), state.ErrVersionMismatch},
		{"missing", remove(state.KindGroup, "nope", 0), state.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := freshOrg()
			s := openStore(t, srv.URL(), Options{Org: org})
			_, err := s.Commit(ctx, create(user("u1", "alice")), create(user("u3", "carol")),
				create(group("g1", "staff", "u1")))
			require.NoError(t, err)

			snapshot := func() map[string]string {
				keys, err := raw.Keys(ctx, "sb:{"+org+"}:*").Result()
				require.NoError(t, err)
				out := map[string]string{}
				for _, k := range keys {
					out[k], err = raw.Dump(ctx, k).Result()
					require.NoError(t, err)
				}
				return out
			}
			before := snapshot()

			_, err = s.Commit(ctx,
				create(user("u2", "bob")),
				replace(group("g1", "staff", "u2"), 1),
				replace(user("u1", "alicia", "x"), 1),
				create(group("g2", "other", "u1", "u2")),
				tt.last)
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, before, snapshot(), "the failed commit changed stored keys")
			require.NoError(t, s.Check(ctx))
		})
	}
}
