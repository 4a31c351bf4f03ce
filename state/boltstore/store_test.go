package boltstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
	"github.com/scim-bridge/scim-bridge/state/statetest"
)

// open opens a store at path and closes it when the test ends.
func open(t testing.TB, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// checked registers an integrity check of the store at the end of the test,
// before it is closed.
func checked(t *testing.T, s *boltstore.Store) {
	t.Helper()
	t.Cleanup(func() {
		require.NoError(t, s.Check(context.Background()), "integrity check")
	})
}

func TestContract(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "state.db"), boltstore.Options{})
		require.NoError(t, err)
		return s
	})
}

func userWrite(id, name string, refs ...string) state.Write {
	return state.Write{Op: state.OpCreate, Resource: state.Resource{
		Kind:   state.KindUser,
		ID:     id,
		Data:   []byte(fmt.Sprintf(`{"id":%q,"userName":%q}`, id, name)),
		Unique: []state.IndexKey{{Name: "userName", Value: name}},
		Refs:   refs,
	}}
}

func TestOpenCreatesParentsAndRefusesSecondHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "state.db")
	open(t, path)

	start := time.Now()
	_, err := boltstore.Open(path, boltstore.Options{LockTimeout: 100 * time.Millisecond})
	require.Error(t, err)
	require.Contains(t, err.Error(), "in use by another process")
	require.Less(t, time.Since(start), 5*time.Second, "the lock wait is bounded")
}

func TestCloseEndsEverything(t *testing.T) {
	ctx := context.Background()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "state.db"), boltstore.Options{})
	require.NoError(t, err)

	// Start the group so that the Read below waits.
	_, err = s.Read(ctx, "engine", "c1", 10, 0)
	require.NoError(t, err)
	blocked := make(chan error, 1)
	go func() {
		_, err := s.Read(ctx, "engine", "c1", 10, time.Minute)
		blocked <- err
	}()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, s.Close())

	select {
	case err := <-blocked:
		require.ErrorIs(t, err, state.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("a blocked Read did not return after Close")
	}

	calls := map[string]func() error{
		"Commit": func() error { _, err := s.Commit(ctx, userWrite("u1", "a")); return err },
		"Lookup": func() error {
			_, err := s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: "a"})
			return err
		},
		"List":        func() error { _, err := s.List(ctx, state.KindUser, "", 10); return err },
		"Count":       func() error { _, err := s.Count(ctx, state.KindUser); return err },
		"Read":        func() error { _, err := s.Read(ctx, "engine", "c1", 10, 0); return err },
		"Ack":         func() error { return s.Ack(ctx, "engine", "0000000000000001") },
		"PutRecord":   func() error { _, err := s.PutRecord(ctx, "b", "k", nil, 0); return err },
		"Enqueue":     func() error { return s.Enqueue(ctx, "q", []string{"k"}, time.Now()) },
		"QueueStats":  func() error { _, err := s.QueueStats(ctx, "q"); return err },
		"Ping":        func() error { return s.Ping(ctx) },
		"Check":       func() error { return s.Check(ctx) },
		"Close again": s.Close,
	}
	for name, call := range calls {
		require.ErrorIs(t, call(), state.ErrClosed, name)
	}
}

func TestBadArgumentsAreClearErrors(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	checked(t, s)

	long := string(make([]byte, 9000))
	commit := func(w state.Write) error { _, err := s.Commit(ctx, w); return err }
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"empty id", func() error { return commit(userWrite("", "a")) }, "id is empty"},
		{"long value", func() error { return commit(userWrite("u1", long)) }, "longer than"},
		{"unknown op", func() error {
			return commit(state.Write{Op: 9, Resource: state.Resource{Kind: "User", ID: "x"}})
		}, "unknown op"},
		{"empty kind", func() error {
			return commit(state.Write{Op: state.OpCreate, Resource: state.Resource{ID: "x"}})
		}, "kind is empty"},
		{"zero limit", func() error {
			_, err := s.List(ctx, state.KindUser, "", 0)
			return err
		}, "positive"},
		{"empty group", func() error {
			_, err := s.Read(ctx, "", "c", 1, 0)
			return err
		}, "group is empty"},
		{"empty record key", func() error {
			_, err := s.PutRecord(ctx, "b", "", nil, 0)
			return err
		}, "key is empty"},
		{"zero ttl", func() error {
			_, err := s.Lease(ctx, "q", "w", time.Now(), 1, 0)
			return err
		}, "ttl"},
		{"empty queue key", func() error {
			return s.Enqueue(ctx, "q", []string{""}, time.Now())
		}, "queue key is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}

	// Nothing of the rejected calls was written.
	n, err := s.Count(ctx, state.KindUser)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestConflictErrorsNameTheIndex(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	_, err := s.Commit(ctx, userWrite("u1", "alice"))
	require.NoError(t, err)

	_, err = s.Commit(ctx, userWrite("u2", "alice"))
	require.ErrorIs(t, err, state.ErrConflict)
	require.Contains(t, err.Error(), `index "userName" value "alice" is held by "u1"`)

	_, err = s.Commit(ctx, state.Write{Op: state.OpReplace, IfVersion: 4,
		Resource: userWrite("u1", "alice").Resource})
	require.ErrorIs(t, err, state.ErrVersionMismatch)
	require.Contains(t, err.Error(), "at version 1, not 4")
}

func TestFeedTrimsOnlyWhatEveryGroupAcknowledged(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	checked(t, s)

	for i := range 10 {
		_, err := s.Commit(ctx, userWrite(fmt.Sprintf("u%d", i), fmt.Sprintf("n%d", i)))
		require.NoError(t, err)
	}
	engine, err := s.Read(ctx, "engine", "c1", 100, 0)
	require.NoError(t, err)
	require.Len(t, engine, 10)
	audit, err := s.Read(ctx, "audit", "c1", 3, 0)
	require.NoError(t, err)
	require.Len(t, audit, 3)

	// The engine acknowledges everything, the audit group only its first three.
	for _, c := range engine {
		require.NoError(t, s.Ack(ctx, "engine", c.ID))
	}
	for _, c := range audit {
		require.NoError(t, s.Ack(ctx, "audit", c.ID))
	}

	// A group reading for the first time starts at the oldest change kept:
	// the audit group still needs the last seven, so they are kept.
	late, err := s.Read(ctx, "late", "c1", 100, 0)
	require.NoError(t, err)
	require.Equal(t, changeIDs(engine[3:]), changeIDs(late))

	rest, err := s.Read(ctx, "audit", "c1", 100, 0)
	require.NoError(t, err)
	require.Len(t, rest, 7)
	require.NoError(t, s.Ack(ctx, "audit", changeIDs(rest)...))
	require.NoError(t, s.Ack(ctx, "late", changeIDs(late)...))

	// Every group acknowledged everything: a new group finds nothing old.
	fresh, err := s.Read(ctx, "fresh", "c1", 100, 0)
	require.NoError(t, err)
	require.Empty(t, fresh)

	// The feed goes on after trimming, with ids that keep increasing.
	_, err = s.Commit(ctx, userWrite("u10", "n10"))
	require.NoError(t, err)
	next, err := s.Read(ctx, "fresh", "c1", 100, 0)
	require.NoError(t, err)
	require.Len(t, next, 1)
	require.Greater(t, next[0].ID, engine[9].ID)
}

func changeIDs(cs []state.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
