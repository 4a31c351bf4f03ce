package connectortest

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

func testCreate(t *testing.T, tg Target) {
	p := newPerson(t)
	id := create(t, tg, p)
	requireHolds(t, tg, id, p, true)
}

func testCreateConflict(t *testing.T, tg Target) {
	if !tg.Unique {
		t.Skip("the application does not enforce userName uniqueness")
	}
	p := newPerson(t)
	first := create(t, tg, p)

	// Same userName, different everything else.
	dup := newPerson(t)
	dup.UserName = p.UserName
	id, err := tg.Connector.Create(context.Background(), tg.Record(dup))
	requireKind(t, err, connector.ErrConflict, "create duplicate userName")
	require.Empty(t, id, "create duplicate: got id %q, want none", id)

	// The first account is untouched.
	requireHolds(t, tg, first, p, true)
}

func testUpdate(t *testing.T, tg Target) {
	ctx := context.Background()
	p := newPerson(t)
	id := create(t, tg, p)

	moved := p
	moved.GivenName = "Augusta"
	moved.Email = "moved-" + p.Email
	moved.Title = ""
	require.NoError(t, tg.Connector.Update(ctx, id, tg.Record(moved)), "update")
	requireHolds(t, tg, id, moved, true)

	// The email key follows the account.
	got, err := tg.Connector.Lookup(ctx, connector.Key{Field: connector.KeyEmail, Value: moved.Email})
	require.NoError(t, err, "lookup new email")
	require.Equal(t, id, got, "lookup new email: got id %q, want %q", got, id)
	_, err = tg.Connector.Lookup(ctx, connector.Key{Field: connector.KeyEmail, Value: p.Email})
	requireKind(t, err, connector.ErrNotFound, "lookup old email")

	// Updating again with the same fields changes nothing and succeeds.
	require.NoError(t, tg.Connector.Update(ctx, id, tg.Record(moved)), "repeat update")
	requireHolds(t, tg, id, moved, true)
}

func testUpdateReactivates(t *testing.T, tg Target) {
	ctx := context.Background()
	p := newPerson(t)
	id := create(t, tg, p)
	require.NoError(t, tg.Connector.Deactivate(ctx, id), "deactivate")
	requireHolds(t, tg, id, p, false)

	p.FamilyName = "Byron"
	require.NoError(t, tg.Connector.Update(ctx, id, tg.Record(p)), "update")
	requireHolds(t, tg, id, p, true)
}

func testDeactivate(t *testing.T, tg Target) {
	ctx := context.Background()
	p := newPerson(t)
	id := create(t, tg, p)

	for _, round := range []string{"deactivate", "deactivate again"} {
		require.NoError(t, tg.Connector.Deactivate(ctx, id), round)
		// Deactivating keeps the account and its fields.
		requireHolds(t, tg, id, p, false)
	}
}

func testDelete(t *testing.T, tg Target) {
	ctx := context.Background()
	p := newPerson(t)
	id := create(t, tg, p)

	require.NoError(t, tg.Connector.Delete(ctx, id), "delete")
	requireGone(t, tg, id)

	err := tg.Connector.Delete(ctx, id)
	requireKind(t, err, connector.ErrNotFound, "delete again")
	_, err = tg.Connector.Lookup(ctx, connector.Key{Field: connector.KeyUserName, Value: p.UserName})
	requireKind(t, err, connector.ErrNotFound, "lookup deleted account")
}

// testMissing checks every call on an account that never existed.
func testMissing(t *testing.T, tg Target) {
	ctx := context.Background()
	gone := newPerson(t)
	id := create(t, tg, gone)
	require.NoError(t, tg.Connector.Delete(ctx, id), "delete")

	fields := tg.Record(newPerson(t))
	calls := []struct {
		name string
		call func() error
	}{
		{"update", func() error { return tg.Connector.Update(ctx, id, fields) }},
		{"deactivate", func() error { return tg.Connector.Deactivate(ctx, id) }},
		{"delete", func() error { return tg.Connector.Delete(ctx, id) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			requireKind(t, c.call(), connector.ErrNotFound, c.name+" missing account")
		})
	}
	requireGone(t, tg, id)
}

func testLookup(t *testing.T, tg Target) {
	ctx := context.Background()
	p := newPerson(t)
	id := create(t, tg, p)
	other := newPerson(t)
	create(t, tg, other)

	lookups := []struct {
		name    string
		key     connector.Key
		wantErr error
	}{
		{"userName", connector.Key{Field: connector.KeyUserName, Value: p.UserName}, nil},
		{"email", connector.Key{Field: connector.KeyEmail, Value: p.Email}, nil},
		{"unknown userName",
			connector.Key{Field: connector.KeyUserName, Value: "no-" + p.UserName},
			connector.ErrNotFound},
		{"unknown email",
			connector.Key{Field: connector.KeyEmail, Value: "no-" + p.Email},
			connector.ErrNotFound},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			got, err := tg.Connector.Lookup(ctx, l.key)
			if l.wantErr != nil {
				requireKind(t, err, l.wantErr, "lookup "+l.key.Field)
				return
			}
			require.NoError(t, err, "lookup %s %q", l.key.Field, l.key.Value)
			require.Equal(t, id, got, "lookup %s: got id %q, want %q", l.key.Field, got, id)
		})
	}

	// A deactivated account is still found: the engine adopts it.
	require.NoError(t, tg.Connector.Deactivate(ctx, id), "deactivate")
	got, err := tg.Connector.Lookup(ctx,
		connector.Key{Field: connector.KeyUserName, Value: p.UserName})
	require.NoError(t, err, "lookup deactivated account")
	require.Equal(t, id, got, "lookup deactivated: got id %q, want %q", got, id)
}

func testConcurrent(t *testing.T, tg Target) {
	const n = 8
	people := make([]Person, n)
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range people {
		people[i] = newPerson(t)
	}

	var wg sync.WaitGroup
	for i := range people {
		wg.Go(func() {
			ids[i], errs[i] = tg.Connector.Create(context.Background(), tg.Record(people[i]))
			if errs[i] == nil {
				errs[i] = tg.Connector.Update(context.Background(), ids[i], tg.Record(people[i]))
			}
		})
	}
	wg.Wait()

	seen := map[string]bool{}
	for i, id := range ids {
		require.NoError(t, errs[i], "concurrent create and update %d", i)
		require.False(t, seen[id], "concurrent create %d: got id %q twice", i, id)
		seen[id] = true
		requireHolds(t, tg, id, people[i], true)
	}
}
