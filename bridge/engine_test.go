package bridge_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/config"
)

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	e := newEngine(t, store, "r1", scimApp("crm", tg))
	start(t, e)

	alice := user{ID: "u1", UserName: "alice", Given: "Alice", Family: "Liddell", Title: "Clerk"}
	putUsers(t, store, alice)
	eventually(t, 5*time.Second, func() bool { return holds(tg, alice) }, "alice created")
	st := waitState(t, e, "crm", "u1", bridge.StateSynced)
	require.Equal(t, tg.account("alice")["id"], st.AccountID)
	require.Equal(t, int64(1), tg.creates.Load())

	// A change of a mapped attribute is pushed once.
	alice.Title = "Manager"
	putUsers(t, store, alice)
	eventually(t, 5*time.Second, func() bool { return holds(tg, alice) }, "title updated")
	eventually(t, 5*time.Second, func() bool { return tg.puts.Load() == 1 }, "one put")

	// Writing the same data again changes nothing in the app.
	putUsers(t, store, alice)
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, int64(1), tg.puts.Load(), "an unchanged user is not pushed")

	// Deactivation and reactivation follow the directory's active flag.
	alice.Inactive = true
	putUsers(t, store, alice)
	eventually(t, 5*time.Second, func() bool { return holds(tg, alice) }, "alice deactivated")
	waitState(t, e, "crm", "u1", bridge.StateSynced)
	alice.Inactive = false
	putUsers(t, store, alice)
	eventually(t, 5*time.Second, func() bool { return holds(tg, alice) }, "alice reactivated")

	// Removal from the directory applies the deactivate policy.
	deleteUser(t, store, "u1")
	eventually(t, 5*time.Second, func() bool {
		return tg.account("alice")["active"] == false
	}, "alice deactivated after delete")
	waitState(t, e, "crm", "u1", bridge.StateDeprovisioned)
	require.Equal(t, 1, tg.count(), "the account is kept, only deactivated")

	ops, err := e.Log(ctx, "crm", 100)
	require.NoError(t, err)
	require.NotEmpty(t, ops)
	require.Equal(t, "deactivate", ops[0].Op, "the newest operation comes first")
	require.Empty(t, tg.overlapping())
}

func TestAdoptsExistingAccount(t *testing.T) {
	store := openBolt(t)
	tg := newTarget(t)

	// The app already has bob, created by someone else.
	existing := user{ID: "x", UserName: "Bob", Given: "Old", Family: "Name"}
	tg.mu.Lock()
	tg.accounts["acct-pre"] = map[string]any{"id": "acct-pre", "userName": "Bob"}
	tg.byName["bob"] = "acct-pre"
	tg.mu.Unlock()

	e := newEngine(t, store, "r1", scimApp("crm", tg))
	start(t, e)
	bob := user{ID: "u2", UserName: existing.UserName, Given: "Bob", Family: "Builder"}
	putUsers(t, store, bob)
	eventually(t, 5*time.Second, func() bool { return holds(tg, bob) }, "bob adopted")
	eventually(t, 5*time.Second, func() bool {
		return status(t, e, "crm", "u2").AccountID == "acct-pre"
	}, "bob linked to the existing account")
	require.Equal(t, 1, tg.count(), "no duplicate account")
}

func TestDeletePolicyAndGroupScope(t *testing.T) {
	store := openBolt(t)
	tg := newTarget(t)
	app := scimApp("crm", tg)
	app.Scope = config.Scope{Groups: []string{"Sales", "Field Sales"}}
	app.Deprovision = bridge.PolicyDelete
	e := newEngine(t, store, "r1", app)
	start(t, e)

	carol := user{ID: "u3", UserName: "carol", Given: "Carol", Family: "Danvers"}
	dave := user{ID: "u4", UserName: "dave", Given: "Dave", Family: "Bowman"}
	putUsers(t, store, carol, dave)
	putGroup(t, store, "g1", "Support", "u4")
	time.Sleep(500 * time.Millisecond)
	require.Zero(t, tg.count(), "nobody is in the Sales group yet")
	require.Equal(t, bridge.StateNotInScope, status(t, e, "crm", "u3").State)

	// Joining the group brings carol in scope.
	putGroup(t, store, "g2", "sales", "u3")
	eventually(t, 5*time.Second, func() bool { return holds(tg, carol) }, "carol created")

	// Renaming the Support group to one of the scope's brings dave in.
	putGroup(t, store, "g1", "Field Sales", "u4")
	eventually(t, 5*time.Second, func() bool { return holds(tg, dave) }, "dave created")

	// Leaving the group deletes carol's account (policy delete).
	putGroup(t, store, "g2", "sales")
	eventually(t, 5*time.Second, func() bool { return tg.account("carol") == nil },
		"carol deleted")
	waitState(t, e, "crm", "u3", bridge.StateNotInScope)
	require.NotNil(t, tg.account("dave"))
}

func TestNeedsInput(t *testing.T) {
	store := openBolt(t)
	tg := newTarget(t)
	// A mapping that leaves the mandatory userName unmapped: it must come
	// from each user's assignment.
	mapping := filepath.Join(t.TempDir(), "mapping.yaml")
	require.NoError(t, os.WriteFile(mapping, []byte(
		"app: scim\nfields:\n  name.givenName: name.givenName\n"+
			"  name.familyName: name.familyName\n  title: title\n"), 0o600))
	app := scimApp("crm", tg)
	app.Mapping = mapping
	app.Scope = config.Scope{All: true, Assignments: []config.Assignment{
		{User: "erin", Fields: map[string]any{"userName": "erin@corp"}},
	}}
	e := newEngine(t, store, "r1", app)
	start(t, e)

	erin := user{ID: "u5", UserName: "erin", Given: "Erin", Family: "Brockovich"}
	frank := user{ID: "u6", UserName: "frank", Given: "Frank", Family: "Castle"}
	putUsers(t, store, erin, frank)
	eventually(t, 5*time.Second, func() bool { return tg.account("erin@corp") != nil },
		"erin created with the assigned userName")
	st := waitState(t, e, "crm", "u6", bridge.StateNeedsInput)
	require.Equal(t, []string{"userName"}, st.Missing)
	require.Equal(t, 1, tg.count())
}

// TestAdoptsByEmail: when the app refuses a create because another account
// has the user's email, and no account has the user's userName or
// externalId, the account with the email is adopted rather than the user
// failing for good.
func TestAdoptsByEmail(t *testing.T) {
	store := openBolt(t)
	tg := newTarget(t)
	tg.mu.Lock()
	tg.accounts["acct-pre"] = map[string]any{"id": "acct-pre", "userName": "jdoe-old",
		"emails": []any{map[string]any{"value": "jane@example.test", "type": "work"}}}
	tg.byName["jdoe-old"] = "acct-pre"
	tg.mu.Unlock()

	e := newEngine(t, store, "r1", scimApp("crm", tg))
	start(t, e)
	jane := user{ID: "u7", UserName: "jane", Given: "Jane", Family: "Doe",
		Email: "jane@example.test"}
	putUsers(t, store, jane)
	eventually(t, 5*time.Second, func() bool { return holds(tg, jane) }, "jane adopted")
	st := waitState(t, e, "crm", "u7", bridge.StateSynced)
	require.Equal(t, "acct-pre", st.AccountID)
	require.Equal(t, 1, tg.count(), "no duplicate account")
}

// TestNewSaysWhatFailed: a configuration New refuses is named by app and
// by the step that failed.
func TestNewSaysWhatFailed(t *testing.T) {
	tg := newTarget(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("fields: [not, a, map]\n"), 0o600))
	tests := []struct {
		name string
		edit func(*config.App)
		want string
	}{
		{"scope", func(a *config.App) {
			a.Scope.Assignments = []config.Assignment{{}}
		}, "app crm: scope: an assignment names no user"},
		{"connector", func(a *config.App) {
			a.Connector = map[string]any{"kind": "scim"}
		}, "app crm: build connector: "},
		{"mapping", func(a *config.App) { a.Mapping = bad }, "app crm: parse mapping " + bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := scimApp("crm", tg)
			tt.edit(&app)
			_, err := bridge.New(bridge.Options{Store: openBolt(t), Catalog: catalog(t),
				Apps: []config.App{app}, Kinds: kinds()})
			require.ErrorContains(t, err, tt.want)
		})
	}
}
