// Package statetest is the contract suite every state.Store backend passes.
//
// A backend's test calls Run with a constructor that returns a fresh, empty
// store; the suite closes each store it opens.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

// NewStore returns a fresh, empty store for one test.
type NewStore func(t *testing.T) state.Store

// Run runs the whole contract against the stores open returns.
func Run(t *testing.T, open NewStore) {
	t.Run("Directory", func(t *testing.T) { runDirectory(t, open) })
	t.Run("Feed", func(t *testing.T) { runFeed(t, open) })
	t.Run("Records", func(t *testing.T) { runRecords(t, open) })
	t.Run("Queue", func(t *testing.T) { runQueue(t, open) })
	t.Run("Close", func(t *testing.T) { runClose(t, open) })
}

func fresh(t *testing.T, open NewStore) state.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// user builds a user resource whose userName index entry is name.
func user(id, name string, refs ...string) state.Resource {
	return state.Resource{
		Kind:   state.KindUser,
		ID:     id,
		Data:   []byte(fmt.Sprintf(`{"id":%q,"userName":%q}`, id, name)),
		Unique: []state.IndexKey{{Name: "userName", Value: name}},
		Refs:   refs,
	}
}

func group(id, name string, members ...string) state.Resource {
	return state.Resource{
		Kind:   state.KindGroup,
		ID:     id,
		Data:   []byte(fmt.Sprintf(`{"id":%q,"displayName":%q}`, id, name)),
		Unique: []state.IndexKey{{Name: "displayName", Value: name}},
		Refs:   members,
	}
}

func create(r state.Resource) state.Write { return state.Write{Op: state.OpCreate, Resource: r} }
func replace(r state.Resource, v uint64) state.Write {
	return state.Write{Op: state.OpReplace, Resource: r, IfVersion: v}
}
func remove(k state.Kind, id string, v uint64) state.Write {
	return state.Write{Op: state.OpDelete, Resource: state.Resource{Kind: k, ID: id}, IfVersion: v}
}

func ids(rs []state.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func runDirectory(t *testing.T, open NewStore) {
	ctx := context.Background()

	t.Run("CreateGetLookup", func(t *testing.T) {
		s := fresh(t, open)
		vs, err := s.Commit(ctx, create(user("u1", "alice")))
		require.NoError(t, err)
		require.Equal(t, []uint64{1}, vs)

		got, err := s.Get(ctx, state.KindUser, "u1")
		require.NoError(t, err)
		require.Equal(t, uint64(1), got.Version)
		require.JSONEq(t, `{"id":"u1","userName":"alice"}`, string(got.Data))
		require.Equal(t, []state.IndexKey{{Name: "userName", Value: "alice"}}, got.Unique)

		byName, err := s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "alice"})
		require.NoError(t, err)
		require.Equal(t, "u1", byName.ID)

		_, err = s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "ALICE"})
		require.ErrorIs(t, err, state.ErrNotFound, "index values compare byte for byte")
		_, err = s.Get(ctx, state.KindUser, "missing")
		require.ErrorIs(t, err, state.ErrNotFound)
		_, err = s.Get(ctx, state.KindGroup, "u1")
		require.ErrorIs(t, err, state.ErrNotFound, "kinds are separate collections")
	})

	t.Run("UniqueConflicts", func(t *testing.T) {
		s := fresh(t, open)
		_, err := s.Commit(ctx, create(user("u1", "alice")))
		require.NoError(t, err)

		_, err = s.Commit(ctx, create(user("u2", "alice")))
		require.ErrorIs(t, err, state.ErrConflict, "same userName")
		_, err = s.Commit(ctx, create(user("u1", "bob")))
		require.ErrorIs(t, err, state.ErrConflict, "same id")
		_, err = s.Get(ctx, state.KindUser, "u2")
		require.ErrorIs(t, err, state.ErrNotFound, "a failed create leaves nothing")
		_, err = s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "bob"})
		require.ErrorIs(t, err, state.ErrNotFound, "a failed create leaves no index entry")

		// The same value in another kind or another index is not a conflict.
		_, err = s.Commit(ctx, create(group("g1", "alice")))
		require.NoError(t, err)
		other := user("u3", "carol")
		other.Unique = append(other.Unique, state.IndexKey{Name: "externalId", Value: "alice"})
		_, err = s.Commit(ctx, create(other))
		require.NoError(t, err)

		// Within one commit, the second write sees the first.
		_, err = s.Commit(ctx, create(user("u4", "dave")), create(user("u5", "dave")))
		require.ErrorIs(t, err, state.ErrConflict)
		_, err = s.Get(ctx, state.KindUser, "u4")
		require.ErrorIs(t, err, state.ErrNotFound, "a failed commit writes nothing")
	})

	t.Run("ReplaceMovesIndexes", func(t *testing.T) {
		s := fresh(t, open)
		_, err := s.Commit(ctx, create(user("u1", "alice")), create(user("u2", "bob")))
		require.NoError(t, err)

		vs, err := s.Commit(ctx, replace(user("u1", "alicia"), 1))
		require.NoError(t, err)
		require.Equal(t, []uint64{2}, vs)
		_, err = s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "alice"})
		require.ErrorIs(t, err, state.ErrNotFound, "the old index entry is gone")
		got, err := s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "alicia"})
		require.NoError(t, err)
		require.Equal(t, uint64(2), got.Version)

		_, err = s.Commit(ctx, replace(user("u1", "bob"), 0))
		require.ErrorIs(t, err, state.ErrConflict, "taking another user's userName")
		_, err = s.Commit(ctx, replace(user("u1", "x"), 1))
		require.ErrorIs(t, err, state.ErrVersionMismatch)
		_, err = s.Commit(ctx, replace(user("nope", "y"), 0))
		require.ErrorIs(t, err, state.ErrNotFound)

		// A resource keeps its own index value across a replace.
		vs, err = s.Commit(ctx, replace(user("u1", "alicia"), 0))
		require.NoError(t, err)
		require.Equal(t, []uint64{3}, vs)

		// Freed values can be reused by others, even in the same commit.
		_, err = s.Commit(ctx, replace(user("u2", "robert"), 1), create(user("u3", "bob")))
		require.NoError(t, err)
		got, err = s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "bob"})
		require.NoError(t, err)
		require.Equal(t, "u3", got.ID)
	})

	t.Run("Delete", func(t *testing.T) {
		s := fresh(t, open)
		_, err := s.Commit(ctx, create(user("u1", "alice")))
		require.NoError(t, err)
		_, err = s.Commit(ctx, remove(state.KindUser, "u1", 7))
		require.ErrorIs(t, err, state.ErrVersionMismatch)

		vs, err := s.Commit(ctx, remove(state.KindUser, "u1", 1))
		require.NoError(t, err)
		require.Equal(t, []uint64{0}, vs)
		_, err = s.Get(ctx, state.KindUser, "u1")
		require.ErrorIs(t, err, state.ErrNotFound)
		_, err = s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "alice"})
		require.ErrorIs(t, err, state.ErrNotFound)
		_, err = s.Commit(ctx, remove(state.KindUser, "u1", 0))
		require.ErrorIs(t, err, state.ErrNotFound)

		// The id and the name are free again; versions restart.
		vs, err = s.Commit(ctx, create(user("u1", "alice")))
		require.NoError(t, err)
		require.Equal(t, []uint64{1}, vs)
		n, err := s.Count(ctx, state.KindUser)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})

	t.Run("WriteTwiceInOneCommit", func(t *testing.T) {
		s := fresh(t, open)
		_, err := s.Commit(ctx, create(user("u1", "a")), replace(user("u1", "b"), 0))
		require.Error(t, err)
		_, err = s.Get(ctx, state.KindUser, "u1")
		require.ErrorIs(t, err, state.ErrNotFound)
	})

	t.Run("IndexValueTooLong", func(t *testing.T) {
		s := fresh(t, open)
		long := strings.Repeat("x", state.MaxIndexValue+1)
		_, err := s.Commit(ctx, create(user("u0", "kept")), create(user("u1", long)))
		require.ErrorIs(t, err, state.ErrInvalid)
		_, err = s.Get(ctx, state.KindUser, "u0")
		require.ErrorIs(t, err, state.ErrNotFound, "a refused commit wrote nothing")

		atLimit := strings.Repeat("y", state.MaxIndexValue)
		_, err = s.Commit(ctx, create(user("u1", atLimit)))
		require.NoError(t, err)
		got, err := s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: atLimit})
		require.NoError(t, err)
		require.Equal(t, "u1", got.ID)
		_, err = s.Commit(ctx, replace(user("u1", long), 0))
		require.ErrorIs(t, err, state.ErrInvalid)
	})

	t.Run("ListAndCount", func(t *testing.T) {
		s := fresh(t, open)
		var want []string
		var writes []state.Write
		for i := 0; i < 25; i++ {
			id := fmt.Sprintf("id-%02d", (i*7)%25)
			want = append(want, id)
			writes = append(writes, create(user(id, "name-"+id)))
		}
		_, err := s.Commit(ctx, writes...)
		require.NoError(t, err)
		_, err = s.Commit(ctx, create(group("g1", "staff")))
		require.NoError(t, err)
		sort.Strings(want)

		var got []string
		after := ""
		for {
			page, err := s.List(ctx, state.KindUser, after, 10)
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			require.LessOrEqual(t, len(page), 10)
			got = append(got, ids(page)...)
			after = page[len(page)-1].ID
		}
		require.Equal(t, want, got)

		n, err := s.Count(ctx, state.KindUser)
		require.NoError(t, err)
		require.Equal(t, 25, n)
		n, err = s.Count(ctx, state.KindGroup)
		require.NoError(t, err)
		require.Equal(t, 1, n)

		many, err := s.GetMany(ctx, state.KindUser, []string{"id-03", "nope", "id-01"})
		require.NoError(t, err)
		require.Equal(t, []string{"id-03", "id-01"}, ids(many))
		require.Equal(t, uint64(1), many[0].Version)
	})

	t.Run("Referrers", func(t *testing.T) {
		s := fresh(t, open)
		_, err := s.Commit(ctx,
			create(user("u1", "a")), create(user("u2", "b")),
			create(group("g2", "two", "u1", "u2")), create(group("g1", "one", "u1")))
		require.NoError(t, err)

		got, err := s.Referrers(ctx, state.KindGroup, "u1")
		require.NoError(t, err)
		require.Equal(t, []string{"g1", "g2"}, got)

		_, err = s.Commit(ctx, replace(group("g2", "two", "u2"), 1))
		require.NoError(t, err)
		got, err = s.Referrers(ctx, state.KindGroup, "u1")
		require.NoError(t, err)
		require.Equal(t, []string{"g1"}, got)

		_, err = s.Commit(ctx, remove(state.KindGroup, "g1", 0))
		require.NoError(t, err)
		got, err = s.Referrers(ctx, state.KindGroup, "u1")
		require.NoError(t, err)
		require.Empty(t, got)
		got, err = s.Referrers(ctx, state.KindGroup, "u2")
		require.NoError(t, err)
		require.Equal(t, []string{"g2"}, got)
	})

	t.Run("ReadWithReferrers", func(t *testing.T) { runReadWithReferrers(t, open) })

	t.Run("RacingCreatesOneWinner", func(t *testing.T) {
		s := fresh(t, open)
		const racers = 16
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := 0; i < racers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = s.Commit(ctx, create(user(fmt.Sprintf("u%d", i), "same")))
			}(i)
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			require.ErrorIs(t, err, state.ErrConflict)
		}
		require.Equal(t, 1, wins)
		n, err := s.Count(ctx, state.KindUser)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})

	t.Run("RacingReplacesOneWinner", func(t *testing.T) {
		s := fresh(t, open)
		_, err := s.Commit(ctx, create(user("u1", "a")))
		require.NoError(t, err)
		const racers = 8
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := 0; i < racers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = s.Commit(ctx, replace(user("u1", fmt.Sprintf("n%d", i)), 1))
			}(i)
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			require.ErrorIs(t, err, state.ErrVersionMismatch)
		}
		require.Equal(t, 1, wins)
	})
}

func readAll(t *testing.T, s state.Store, group, consumer string) []state.Change {
	t.Helper()
	var out []state.Change
	for {
		cs, err := s.Read(context.Background(), group, consumer, 100, 0)
		require.NoError(t, err)
		if len(cs) == 0 {
			return out
		}
		out = append(out, cs...)
	}
}

func changeIDs(cs []state.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func runFeed(t *testing.T, open NewStore) {
	ctx := context.Background()

	t.Run("OneChangePerWrite", func(t *testing.T) {
		s := fresh(t, open)
		_, err := s.Commit(ctx, create(user("u1", "a")), create(user("u2", "b")))
		require.NoError(t, err)
		_, err = s.Commit(ctx, create(group("g1", "grp", "u1", "u2")))
		require.NoError(t, err)
		_, err = s.Commit(ctx, replace(group("g1", "grp", "u2", "u3"), 1))
		require.NoError(t, err)
		_, err = s.Commit(ctx, remove(state.KindGroup, "g1", 0))
		require.NoError(t, err)
		// A failed commit adds nothing to the feed.
		_, err = s.Commit(ctx, create(user("u9", "a")))
		require.ErrorIs(t, err, state.ErrConflict)

		cs := readAll(t, s, "engine", "c1")
		require.Len(t, cs, 5)
		type brief struct {
			Kind    state.Kind
			ID      string
			Op      state.Op
			Version uint64
		}
		var got []brief
		for _, c := range cs {
			got = append(got, brief{c.Kind, c.ResourceID, c.Op, c.Version})
			require.False(t, c.Time.IsZero())
		}
		require.ElementsMatch(t, []brief{
			{state.KindUser, "u1", state.OpCreate, 1},
			{state.KindUser, "u2", state.OpCreate, 1},
		}, got[:2])
		require.Equal(t, []brief{
			{state.KindGroup, "g1", state.OpCreate, 1},
			{state.KindGroup, "g1", state.OpReplace, 2},
			{state.KindGroup, "g1", state.OpDelete, 0},
		}, got[2:])

		require.ElementsMatch(t, []string{"u1", "u2"}, cs[2].RefsAdded)
		require.Empty(t, cs[2].RefsRemoved)
		require.Equal(t, []string{"u3"}, cs[3].RefsAdded)
		require.Equal(t, []string{"u1"}, cs[3].RefsRemoved)
		require.Empty(t, cs[4].RefsAdded)
		require.ElementsMatch(t, []string{"u2", "u3"}, cs[4].RefsRemoved)

		seen := map[string]bool{}
		for _, c := range cs {
			require.False(t, seen[c.ID], "feed ids are unique")
			seen[c.ID] = true
		}
	})

	t.Run("GroupsAreIndependent", func(t *testing.T) {
		s := fresh(t, open)
		_, err := s.Commit(ctx, create(user("u1", "a")))
		require.NoError(t, err)
		a := readAll(t, s, "engine", "c1")
		b := readAll(t, s, "audit", "c1")
		require.Len(t, a, 1)
		require.Equal(t, changeIDs(a), changeIDs(b))
	})

	t.Run("EachChangeToOneConsumer", func(t *testing.T) {
		s := fresh(t, open)
		for i := 0; i < 10; i++ {
			_, err := s.Commit(ctx, create(user(fmt.Sprintf("u%d", i), fmt.Sprintf("n%d", i))))
			require.NoError(t, err)
		}
		first, err := s.Read(ctx, "engine", "c1", 4, 0)
		require.NoError(t, err)
		require.Len(t, first, 4)
		rest := readAll(t, s, "engine", "c2")
		require.Len(t, rest, 6)
		all := append(changeIDs(first), changeIDs(rest)...)
		require.Len(t, all, 10)
		seen := map[string]bool{}
		for _, id := range all {
			require.False(t, seen[id])
			seen[id] = true
		}
		require.Empty(t, readAll(t, s, "engine", "c1"), "delivered changes are not delivered again by Read")
	})

	t.Run("ReadWaitsForNewChanges", func(t *testing.T) {
		s := fresh(t, open)
		// Start the group first, so that it begins before the change below.
		cs, err := s.Read(ctx, "engine", "c1", 10, 0)
		require.NoError(t, err)
		require.Empty(t, cs)

		done := make(chan []state.Change, 1)
		go func() {
			cs, err := s.Read(ctx, "engine", "c1", 10, 5*time.Second)
			if err != nil {
				done <- nil
				return
			}
			done <- cs
		}()
		time.Sleep(100 * time.Millisecond)
		_, err = s.Commit(ctx, create(user("u1", "a")))
		require.NoError(t, err)
		select {
		case cs := <-done:
			require.Len(t, cs, 1)
			require.Equal(t, "u1", cs[0].ResourceID)
		case <-time.After(10 * time.Second):
			t.Fatal("Read did not return after a commit")
		}

		// With nothing new, a bounded wait returns empty.
		cs, err = s.Read(ctx, "engine", "c1", 10, 50*time.Millisecond)
		require.NoError(t, err)
		require.Empty(t, cs)
	})

	t.Run("ReadHonoursCancel", func(t *testing.T) {
		s := fresh(t, open)
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := s.Read(cctx, "engine", "c1", 10, time.Minute)
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Read did not return after its context was cancelled")
		}
	})

	t.Run("ClaimPending", func(t *testing.T) {
		s := fresh(t, open)
		for i := 0; i < 3; i++ {
			_, err := s.Commit(ctx, create(user(fmt.Sprintf("u%d", i), fmt.Sprintf("n%d", i))))
			require.NoError(t, err)
		}
		got, err := s.Read(ctx, "engine", "dead", 10, 0)
		require.NoError(t, err)
		require.Len(t, got, 3)
		require.NoError(t, s.Ack(ctx, "engine", got[0].ID))
		require.NoError(t, s.Ack(ctx, "engine", got[0].ID), "acking twice is fine")
		require.NoError(t, s.Ack(ctx, "engine", "0-1"), "acking an unknown id is fine")

		claimed, err := s.Claim(ctx, "engine", "alive", time.Hour, 10)
		require.NoError(t, err)
		require.Empty(t, claimed, "entries younger than minIdle stay")

		time.Sleep(60 * time.Millisecond)
		claimed, err = s.Claim(ctx, "engine", "alive", 50*time.Millisecond, 10)
		require.NoError(t, err)
		require.Equal(t, changeIDs(got[1:]), changeIDs(claimed))
		require.Equal(t, "u1", claimed[0].ResourceID)

		// Claiming restarts the idle time.
		again, err := s.Claim(ctx, "engine", "other", 50*time.Millisecond, 10)
		require.NoError(t, err)
		require.Empty(t, again)

		require.NoError(t, s.Ack(ctx, "engine", changeIDs(claimed)...))
		time.Sleep(60 * time.Millisecond)
		again, err = s.Claim(ctx, "engine", "other", 50*time.Millisecond, 10)
		require.NoError(t, err)
		require.Empty(t, again, "acknowledged changes are never claimed")
	})
}

func runRecords(t *testing.T, open NewStore) {
	ctx := context.Background()

	t.Run("PutGetVersions", func(t *testing.T) {
		s := fresh(t, open)
		_, err := s.GetRecord(ctx, "links", "k")
		require.ErrorIs(t, err, state.ErrNotFound)

		v, err := s.PutRecord(ctx, "links", "k", []byte("one"), 0)
		require.NoError(t, err)
		require.Equal(t, uint64(1), v)
		v, err = s.PutRecord(ctx, "links", "k", []byte("two"), 1)
		require.NoError(t, err)
		require.Equal(t, uint64(2), v)
		_, err = s.PutRecord(ctx, "links", "k", []byte("three"), 1)
		require.ErrorIs(t, err, state.ErrVersionMismatch)
		_, err = s.PutRecord(ctx, "links", "k", []byte("three"), state.AbsentVersion)
		require.ErrorIs(t, err, state.ErrConflict)
		_, err = s.PutRecord(ctx, "links", "new", []byte("x"), 5)
		require.ErrorIs(t, err, state.ErrVersionMismatch, "a missing record has version 0")

		got, err := s.GetRecord(ctx, "links", "k")
		require.NoError(t, err)
		require.Equal(t, state.Record{Key: "k", Version: 2, Data: []byte("two")}, got)

		_, err = s.GetRecord(ctx, "other", "k")
		require.ErrorIs(t, err, state.ErrNotFound, "buckets are separate")

		v, err = s.PutRecord(ctx, "links", "c", []byte("c"), state.AbsentVersion)
		require.NoError(t, err)
		require.Equal(t, uint64(1), v)
	})

	t.Run("DeleteListCount", func(t *testing.T) {
		s := fresh(t, open)
		for _, k := range []string{"b", "a", "d", "c", "e"} {
			_, err := s.PutRecord(ctx, "b1", k, []byte(k), 0)
			require.NoError(t, err)
		}
		_, err := s.PutRecord(ctx, "b2", "z", []byte("z"), 0)
		require.NoError(t, err)

		page, err := s.ListRecords(ctx, "b1", "", 2)
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b"}, recordKeys(page))
		page, err = s.ListRecords(ctx, "b1", "b", 10)
		require.NoError(t, err)
		require.Equal(t, []string{"c", "d", "e"}, recordKeys(page))
		require.Equal(t, []byte("c"), page[0].Data)

		require.ErrorIs(t, s.DeleteRecord(ctx, "b1", "c", 9), state.ErrVersionMismatch)
		require.NoError(t, s.DeleteRecord(ctx, "b1", "c", 1))
		require.NoError(t, s.DeleteRecord(ctx, "b1", "c", 0), "deleting a missing record")
		n, err := s.CountRecords(ctx, "b1")
		require.NoError(t, err)
		require.Equal(t, 4, n)
		n, err = s.CountRecords(ctx, "never")
		require.NoError(t, err)
		require.Zero(t, n)
		page, err = s.ListRecords(ctx, "never", "", 10)
		require.NoError(t, err)
		require.Empty(t, page)
	})

	t.Run("RacingCreateOnlyOneWinner", func(t *testing.T) {
		s := fresh(t, open)
		const racers = 8
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := 0; i < racers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = s.PutRecord(ctx, "jobs", "only", []byte{byte(i)}, state.AbsentVersion)
			}(i)
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				require.ErrorIs(t, err, state.ErrConflict)
			}
		}
		require.Equal(t, 1, wins)
	})
}

func recordKeys(rs []state.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}

func leaseKeys(ls []state.Lease) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Key
	}
	return out
}

func runQueue(t *testing.T, open NewStore) {
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Millisecond)

	t.Run("DueOrderAndDedup", func(t *testing.T) {
		s := fresh(t, open)
		require.NoError(t, s.Enqueue(ctx, "q", []string{"b"}, t0.Add(2*time.Second)))
		require.NoError(t, s.Enqueue(ctx, "q", []string{"a", "c"}, t0.Add(time.Second)))
		require.NoError(t, s.Enqueue(ctx, "q", []string{"b"}, t0), "an earlier due time wins")
		require.NoError(t, s.Enqueue(ctx, "q", []string{"a"}, t0.Add(time.Hour)), "a later one does not")

		st, err := s.QueueStats(ctx, "q")
		require.NoError(t, err)
		require.Equal(t, state.QueueStats{Ready: 3}, st)
		due, err := s.NextDue(ctx, "q")
		require.NoError(t, err)
		require.WithinDuration(t, t0, due, time.Millisecond)

		ls, err := s.Lease(ctx, "q", "w1", t0.Add(1500*time.Millisecond), 10, time.Minute)
		require.NoError(t, err)
		require.Equal(t, "b", ls[0].Key)
		require.ElementsMatch(t, []string{"a", "c"}, leaseKeys(ls[1:]))
		for _, l := range ls {
			require.Equal(t, "w1", l.Owner)
			require.NotEmpty(t, l.Token)
		}

		none, err := s.Lease(ctx, "q", "w2", t0.Add(1500*time.Millisecond), 10, time.Minute)
		require.NoError(t, err)
		require.Empty(t, none, "a leased key is not handed out twice")
		_, err = s.NextDue(ctx, "q")
		require.ErrorIs(t, err, state.ErrNotFound)

		st, err = s.QueueStats(ctx, "q")
		require.NoError(t, err)
		require.Equal(t, state.QueueStats{Leased: 3}, st)

		for _, l := range ls {
			require.NoError(t, s.Done(ctx, "q", l))
		}
		st, err = s.QueueStats(ctx, "q")
		require.NoError(t, err)
		require.Equal(t, state.QueueStats{}, st)
	})

	t.Run("LeaseRespectsMaxAndDue", func(t *testing.T) {
		s := fresh(t, open)
		var keys []string
		for i := 0; i < 5; i++ {
			keys = append(keys, fmt.Sprintf("k%d", i))
		}
		require.NoError(t, s.Enqueue(ctx, "q", keys, t0))
		require.NoError(t, s.Enqueue(ctx, "q", []string{"later"}, t0.Add(time.Minute)))
		ls, err := s.Lease(ctx, "q", "w", t0, 3, time.Minute)
		require.NoError(t, err)
		require.Len(t, ls, 3)
		ls2, err := s.Lease(ctx, "q", "w", t0, 10, time.Minute)
		require.NoError(t, err)
		require.Len(t, ls2, 2, "the key due later is not handed out")
		require.ElementsMatch(t, keys, append(leaseKeys(ls), leaseKeys(ls2)...))
	})

	t.Run("EnqueueWhileLeasedRunsAgain", func(t *testing.T) {
		s := fresh(t, open)
		require.NoError(t, s.Enqueue(ctx, "q", []string{"k"}, t0))
		ls, err := s.Lease(ctx, "q", "w1", t0, 1, time.Minute)
		require.NoError(t, err)
		require.Len(t, ls, 1)

		require.NoError(t, s.Enqueue(ctx, "q", []string{"k"}, t0.Add(time.Second)))
		none, err := s.Lease(ctx, "q", "w2", t0.Add(2*time.Second), 1, time.Minute)
		require.NoError(t, err)
		require.Empty(t, none, "never two leases on one key")

		require.NoError(t, s.Done(ctx, "q", ls[0]))
		again, err := s.Lease(ctx, "q", "w2", t0.Add(2*time.Second), 1, time.Minute)
		require.NoError(t, err)
		require.Equal(t, []string{"k"}, leaseKeys(again), "work that arrived during the lease runs again")
		require.NoError(t, s.Done(ctx, "q", again[0]))
		st, err := s.QueueStats(ctx, "q")
		require.NoError(t, err)
		require.Equal(t, state.QueueStats{}, st)
	})

	t.Run("RetryAndExpiry", func(t *testing.T) {
		s := fresh(t, open)
		require.NoError(t, s.Enqueue(ctx, "q", []string{"k"}, t0))
		ls, err := s.Lease(ctx, "q", "w1", t0, 1, 10*time.Second)
		require.NoError(t, err)
		require.Len(t, ls, 1)

		require.NoError(t, s.Retry(ctx, "q", ls[0], t0.Add(time.Minute)))
		none, err := s.Lease(ctx, "q", "w1", t0.Add(30*time.Second), 1, 10*time.Second)
		require.NoError(t, err)
		require.Empty(t, none, "a retried key waits for its due time")
		due, err := s.NextDue(ctx, "q")
		require.NoError(t, err)
		require.WithinDuration(t, t0.Add(time.Minute), due, time.Millisecond)

		ls, err = s.Lease(ctx, "q", "w1", t0.Add(time.Minute), 1, 10*time.Second)
		require.NoError(t, err)
		require.Len(t, ls, 1)
		ext, err := s.Extend(ctx, "q", ls[0], t0.Add(time.Minute+5*time.Second), 10*time.Second)
		require.NoError(t, err)
		require.True(t, ext.Until.After(ls[0].Until))

		// Not yet expired at the extended end minus a second.
		none, err = s.Lease(ctx, "q", "w2", t0.Add(time.Minute+14*time.Second), 1, 10*time.Second)
		require.NoError(t, err)
		require.Empty(t, none)

		// Expired: another owner takes it, and the first owner's lease is lost.
		taken, err := s.Lease(ctx, "q", "w2", t0.Add(time.Minute+16*time.Second), 1, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, []string{"k"}, leaseKeys(taken))
		require.ErrorIs(t, s.Done(ctx, "q", ext), state.ErrLeaseLost)
		require.ErrorIs(t, s.Retry(ctx, "q", ext, t0), state.ErrLeaseLost)
		_, err = s.Extend(ctx, "q", ext, t0.Add(time.Minute+17*time.Second), time.Second)
		require.ErrorIs(t, err, state.ErrLeaseLost)
		require.NoError(t, s.Done(ctx, "q", taken[0]))
		require.ErrorIs(t, s.Done(ctx, "q", taken[0]), state.ErrLeaseLost, "a lease ends once")
	})

	t.Run("QueuesAreSeparate", func(t *testing.T) {
		s := fresh(t, open)
		require.NoError(t, s.Enqueue(ctx, "q1", []string{"k"}, t0))
		ls, err := s.Lease(ctx, "q2", "w", t0, 10, time.Minute)
		require.NoError(t, err)
		require.Empty(t, ls)
	})

	t.Run("ConcurrentLeasersNeverShare", func(t *testing.T) {
		s := fresh(t, open)
		var keys []string
		for i := 0; i < 200; i++ {
			keys = append(keys, fmt.Sprintf("k%03d", i))
		}
		require.NoError(t, s.Enqueue(ctx, "q", keys, t0))
		var mu sync.Mutex
		got := map[string]int{}
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for {
					ls, err := s.Lease(ctx, "q", fmt.Sprintf("w%d", w), t0, 7, time.Minute)
					if err != nil || len(ls) == 0 {
						return
					}
					mu.Lock()
					for _, l := range ls {
						got[l.Key]++
					}
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()
		require.Len(t, got, 200)
		for k, n := range got {
			require.Equal(t, 1, n, "key %s leased %d times", k, n)
		}
	})
}

func runClose(t *testing.T, open NewStore) {
	s := open(t)
	ctx := context.Background()
	require.NoError(t, s.Ping(ctx))
	require.NoError(t, s.Close())
	_, err := s.Get(ctx, state.KindUser, "u1")
	require.True(t, errors.Is(err, state.ErrClosed), "got %v, want ErrClosed", err)
}
