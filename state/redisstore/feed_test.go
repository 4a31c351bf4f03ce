package redisstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/redistest"
	"github.com/scim-bridge/scim-bridge/state"
)

// commitUsers creates users u<from> to u<from+n-1>, one commit each.
func commitUsers(t *testing.T, s *Store, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("u%03d", i)
		_, err := s.Commit(context.Background(), create(user(id, "n"+id)))
		require.NoError(t, err)
	}
}

func feedLen(t *testing.T, srv *redistest.Server, s *Store) int64 {
	t.Helper()
	n, err := srv.Client().XLen(context.Background(), s.keys.feed()).Result()
	require.NoError(t, err)
	return n
}

func TestTrimKeepsWhatAnyGroupHasNotAcknowledged(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := openStore(t, srv.URL(), Options{TrimInterval: -1})
	ctx := context.Background()

	n, err := s.trimFeed(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "no feed yet")
	commitUsers(t, s, 0, 10)
	n, err = s.trimFeed(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "no group has read the feed: nothing is trimmed")

	a, err := s.Read(ctx, "engine", "c1", 100, 0)
	require.NoError(t, err)
	require.Len(t, a, 10)
	require.NoError(t, s.Ack(ctx, "engine", changeIDs(a)...))
	b, err := s.Read(ctx, "audit", "c1", 100, 0)
	require.NoError(t, err)
	require.Len(t, b, 10)
	require.NoError(t, s.Ack(ctx, "audit", changeIDs(b[:3])...))
	require.NoError(t, s.Ack(ctx, "audit", changeIDs(b[4:5])...))

	// audit still has b[3] pending: the entries before it go, the rest stay.
	n, err = s.trimFeed(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	require.Equal(t, int64(7), feedLen(t, srv, s))

	time.Sleep(5 * time.Millisecond)
	claimed, err := s.Claim(ctx, "audit", "c2", time.Millisecond, 100)
	require.NoError(t, err)
	require.Equal(t, append(changeIDs(b[3:4]), changeIDs(b[5:])...), changeIDs(claimed),
		"pending changes are still there to claim")
	require.Equal(t, "u003", claimed[0].ResourceID)

	require.NoError(t, s.Ack(ctx, "audit", changeIDs(claimed)...))
	n, err = s.trimFeed(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(7), n)
	require.Zero(t, feedLen(t, srv, s))

	// A group that starts now begins at the oldest change kept: the next.
	commitUsers(t, s, 10, 1)
	for _, g := range []string{"engine", "audit", "late"} {
		cs, err := s.Read(ctx, g, "c1", 100, 0)
		require.NoError(t, err)
		require.Len(t, cs, 1, "group %s", g)
	}
}

func TestAckTrimsOnItsOwn(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := openStore(t, srv.URL(), Options{TrimInterval: time.Nanosecond})
	ctx := context.Background()
	commitUsers(t, s, 0, 5)
	cs, err := s.Read(ctx, "engine", "c1", 100, 0)
	require.NoError(t, err)
	require.NoError(t, s.Ack(ctx, "engine", changeIDs(cs[:2])...))
	require.Equal(t, int64(3), feedLen(t, srv, s))
	require.NoError(t, s.Ack(ctx, "engine", changeIDs(cs[2:])...))
	require.Zero(t, feedLen(t, srv, s))
}

func TestAckSkipsMalformedIDs(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := openStore(t, srv.URL(), Options{})
	ctx := context.Background()
	commitUsers(t, s, 0, 2)
	cs, err := s.Read(ctx, "engine", "c1", 100, 0)
	require.NoError(t, err)
	require.NoError(t, s.Ack(ctx, "engine", "not-an-id", cs[0].ID, ""))
	require.NoError(t, s.Ack(ctx, "never-read", cs[1].ID), "a group that never read")

	time.Sleep(5 * time.Millisecond)
	left, err := s.Claim(ctx, "engine", "c2", time.Millisecond, 10)
	require.NoError(t, err)
	require.Equal(t, changeIDs(cs[1:]), changeIDs(left), "the valid id was acknowledged")
}

func TestReadAfterFlushStartsTheGroupAgain(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := openStore(t, srv.URL(), Options{})
	ctx := context.Background()
	_, err := s.Read(ctx, "engine", "c1", 10, 0)
	require.NoError(t, err)

	srv.FlushAll()
	commitUsers(t, s, 0, 1)
	cs, err := s.Read(ctx, "engine", "c1", 10, 0)
	require.NoError(t, err)
	require.Len(t, cs, 1)
}

func TestCloseEndsABlockedRead(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s, err := Open(context.Background(), srv.URL(), Options{Org: freshOrg(), Logger: quietLogger()})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(context.Background(), "engine", "c1", 10, time.Minute)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, s.Close())
	select {
	case err := <-done:
		require.True(t, errors.Is(err, state.ErrClosed), "got %v, want ErrClosed", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not return after Close")
	}
	require.ErrorIs(t, s.Close(), state.ErrClosed, "a second Close")
	_, err = s.Commit(context.Background(), create(user("u1", "a")))
	require.ErrorIs(t, err, state.ErrClosed)
}

func changeIDs(cs []state.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
