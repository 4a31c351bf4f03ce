package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
)

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	t0 := time.Unix(1_700_000_000, 0)

	// A clock the test moves, so that pending idle times are exact.
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	s, err := boltstore.Open(path, boltstore.Options{Clock: clock})
	require.NoError(t, err)

	// Directory: a user replaced once, a group pointing at it.
	_, err = s.Commit(ctx, userWrite("u1", "alice"), userWrite("u2", "bob"))
	require.NoError(t, err)
	replaced := userWrite("u1", "alicia")
	replaced.Op, replaced.IfVersion = state.OpReplace, 1
	_, err = s.Commit(ctx, replaced, state.Write{Op: state.OpCreate, Resource: state.Resource{
		Kind: state.KindGroup, ID: "g1", Data: []byte(`{}`), Refs: []string{"u1", "u2"},
		Unique: []state.IndexKey{{Name: "displayName", Value: "staff"}},
	}})
	require.NoError(t, err)

	// Feed: of four changes, the engine got three, acknowledged one and left
	// two pending.
	got, err := s.Read(ctx, "engine", "c1", 3, 0)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.NoError(t, s.Ack(ctx, "engine", got[0].ID))

	// Records and queue: a record at version 2, a leased key enqueued again,
	// and a ready key.
	_, err = s.PutRecord(ctx, "links", "k", []byte("one"), 0)
	require.NoError(t, err)
	_, err = s.PutRecord(ctx, "links", "k", []byte("two"), 1)
	require.NoError(t, err)
	require.NoError(t, s.Enqueue(ctx, "q", []string{"a", "b"}, t0))
	leases, err := s.Lease(ctx, "q", "w1", t0, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, leases, 1)
	require.NoError(t, s.Enqueue(ctx, "q", []string{leases[0].Key}, t0.Add(time.Second)))

	require.NoError(t, s.Close())
	s, err = boltstore.Open(path, boltstore.Options{Clock: clock})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Check(ctx))

	// Directory.
	u1, err := s.Get(ctx, state.KindUser, "u1")
	require.NoError(t, err)
	require.Equal(t, uint64(2), u1.Version)
	byName, err := s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "bob"})
	require.NoError(t, err)
	require.Equal(t, "u2", byName.ID)
	_, err = s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "alice"})
	require.ErrorIs(t, err, state.ErrNotFound)
	refs, err := s.Referrers(ctx, state.KindGroup, "u2")
	require.NoError(t, err)
	require.Equal(t, []string{"g1"}, refs)
	n, err := s.Count(ctx, state.KindUser)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	// Feed: the cursor held (Read goes on with the fourth change) and the
	// two unacknowledged changes are still pending and claimable.
	next, err := s.Read(ctx, "engine", "c2", 10, 0)
	require.NoError(t, err)
	require.Len(t, next, 1)
	require.Equal(t, "g1", next[0].ResourceID)
	advance(time.Minute)
	claimed, err := s.Claim(ctx, "engine", "c2", 30*time.Second, 10)
	require.NoError(t, err)
	require.Equal(t, append(changeIDs(got[1:]), next[0].ID), changeIDs(claimed))

	// Records and queue.
	rec, err := s.GetRecord(ctx, "links", "k")
	require.NoError(t, err)
	require.Equal(t, state.Record{Key: "k", Version: 2, Data: []byte("two")}, rec)
	st, err := s.QueueStats(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, state.QueueStats{Ready: 1, Leased: 1}, st)
	require.NoError(t, s.Done(ctx, "q", leases[0]), "the lease token survives")
	again, err := s.Lease(ctx, "q", "w2", t0.Add(time.Second), 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"a", "b"}, leaseKeys(again),
		"the key enqueued during its lease runs again")
}

func leaseKeys(ls []state.Lease) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Key
	}
	return out
}

// TestManyRacersPerName races many goroutines over many userNames at once:
// each name has exactly one winner, and the losers leave nothing behind.
func TestManyRacersPerName(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	checked(t, s)

	const racers, names = 32, 50
	wins := make([][]string, names)
	var unexpected []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for r := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range names {
				id := fmt.Sprintf("r%02d-n%02d", r, n)
				_, err := s.Commit(ctx, userWrite(id, fmt.Sprintf("name-%02d", n)))
				mu.Lock()
				switch {
				case err == nil:
					wins[n] = append(wins[n], id)
				case !errors.Is(err, state.ErrConflict):
					unexpected = append(unexpected, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, unexpected)

	for n, ids := range wins {
		require.Len(t, ids, 1, "name-%02d has winners %v", n, ids)
		got, err := s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName",
			Value: fmt.Sprintf("name-%02d", n)})
		require.NoError(t, err)
		require.Equal(t, ids[0], got.ID)
	}
	count, err := s.Count(ctx, state.KindUser)
	require.NoError(t, err)
	require.Equal(t, names, count)
	changes, err := s.Read(ctx, "engine", "c1", 1000, 0)
	require.NoError(t, err)
	require.Len(t, changes, names, "only winners reach the feed")
}
