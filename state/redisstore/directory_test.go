package redisstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/redistest"
	"github.com/scim-bridge/scim-bridge/state"
)

// TestLargeGroupMembershipChange replaces one member of a large group and
// wants the feed entry to carry only the difference, and the refs index to
// follow.
func TestLargeGroupMembershipChange(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := openStore(t, srv.URL(), Options{})
	ctx := context.Background()

	const members = 20000
	ids := make([]string, members)
	for i := range ids {
		ids[i] = fmt.Sprintf("u%05d", i)
	}
	_, err := s.Commit(ctx, create(group("g1", "everyone", ids...)))
	require.NoError(t, err)
	next := append(append([]string{}, ids[1:]...), "new:member")
	_, err = s.Commit(ctx, replace(group("g1", "everyone", next...), 1))
	require.NoError(t, err)

	cs, err := s.Read(ctx, "engine", "c1", 10, 0)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	require.Len(t, cs[0].RefsAdded, members)
	require.Equal(t, []string{"new:member"}, cs[1].RefsAdded)
	require.Equal(t, []string{"u00000"}, cs[1].RefsRemoved)

	got, err := s.Referrers(ctx, state.KindGroup, "new:member")
	require.NoError(t, err)
	require.Equal(t, []string{"g1"}, got)
	got, err = s.Referrers(ctx, state.KindGroup, "u00000")
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = s.Referrers(ctx, state.KindGroup, "new")
	require.NoError(t, err)
	require.Empty(t, got, "a ref that is a prefix of another is its own entry")
	require.NoError(t, s.Check(ctx))
}
