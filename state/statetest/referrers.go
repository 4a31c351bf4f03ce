package statetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

// runReadWithReferrers checks GetWithReferrers and LookupWithReferrers:
// the resource as Get and Lookup return it, with what Referrers says of
// it. Ids holding the characters a backend might use as separators must
// not leak into each other's referrers.
func runReadWithReferrers(t *testing.T, open NewStore) {
	ctx := context.Background()
	s := fresh(t, open)
	const odd = "u:1%" // shares a prefix with "u"
	_, err := s.Commit(ctx,
		create(user("u", "plain")), create(user(odd, "odd")), create(user("lonely", "lonely")),
		create(group("g2", "two", "u", odd)), create(group("g1", "one", odd)))
	require.NoError(t, err)

	cases := []struct {
		id, userName string
		want         []string
	}{
		{"u", "plain", []string{"g2"}},
		{odd, "odd", []string{"g1", "g2"}},
		{"lonely", "lonely", nil},
	}
	for _, c := range cases {
		res, groups, err := s.GetWithReferrers(ctx, state.KindUser, c.id, state.KindGroup)
		require.NoError(t, err, "get %q", c.id)
		want, err := s.Get(ctx, state.KindUser, c.id)
		require.NoError(t, err)
		require.Equal(t, want, res, "get %q: the resource as Get returns it", c.id)
		require.Equal(t, len(c.want), len(groups), "get %q: got groups %v, want %v", c.id, groups, c.want)
		if len(c.want) > 0 {
			require.Equal(t, c.want, groups, "get %q", c.id)
		}

		key := state.IndexKey{Name: "userName", Value: c.userName}
		res, groups, err = s.LookupWithReferrers(ctx, state.KindUser, key, state.KindGroup)
		require.NoError(t, err, "lookup %q", c.userName)
		require.Equal(t, want, res, "lookup %q: the resource as Get returns it", c.userName)
		require.Equal(t, len(c.want), len(groups), "lookup %q: got groups %v, want %v",
			c.userName, groups, c.want)
		if len(c.want) > 0 {
			require.Equal(t, c.want, groups, "lookup %q", c.userName)
		}
	}

	_, _, err = s.GetWithReferrers(ctx, state.KindUser, "missing", state.KindGroup)
	require.ErrorIs(t, err, state.ErrNotFound)
	_, _, err = s.LookupWithReferrers(ctx, state.KindUser,
		state.IndexKey{Name: "userName", Value: "nobody"}, state.KindGroup)
	require.ErrorIs(t, err, state.ErrNotFound)
}
