package bridge_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// noUserNameMapping writes a mapping of the scim app that leaves the
// mandatory userName unmapped, and returns its path.
func noUserNameMapping(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mapping.yaml")
	require.NoError(t, os.WriteFile(path, []byte(
		"app: scim\nfields:\n  name.givenName: name.givenName\n"+
			"  name.familyName: name.familyName\n  title: title\n"), 0o600))
	return path
}

// TestMissingMandatoryKeepsAccountInStep: when a new mapping leaves a
// mandatory field without a value, a user who already has an account is
// still updated with the other fields (the app keeping its value of the
// missing one) and still deactivated; only creates wait for the value.
func TestMissingMandatoryKeepsAccountInStep(t *testing.T) {
	store := openBolt(t)
	tg := newTarget(t)
	app := scimApp("crm", tg)
	first := start(t, newEngine(t, store, "r1", app))

	alice := user{ID: "u1", UserName: "alice", Given: "Alice", Family: "Liddell", Title: "Clerk"}
	putUsers(t, store, alice)
	eventually(t, 5*time.Second, func() bool { return holds(tg, alice) }, "alice created")
	first.stop()

	app.Mapping = noUserNameMapping(t)
	e := newEngine(t, store, "r1", app)
	start(t, e)
	bob := user{ID: "u2", UserName: "bob", Given: "Bob", Family: "Builder"}
	alice.Title = "Manager"
	putUsers(t, store, alice, bob)

	eventually(t, 5*time.Second, func() bool { return holds(tg, alice) },
		"alice updated although userName is missing")
	st := waitState(t, e, "crm", "u1", bridge.StateNeedsInput)
	require.Equal(t, []string{"userName"}, st.Missing)
	require.NotEmpty(t, st.AccountID)
	require.True(t, st.Active)
	waitState(t, e, "crm", "u2", bridge.StateNeedsInput)
	require.Equal(t, 1, tg.count(), "no account is created without its userName")

	alice.Inactive = true
	putUsers(t, store, alice)
	eventually(t, 5*time.Second, func() bool { return holds(tg, alice) },
		"alice deactivated although userName is missing")
	st = waitState(t, e, "crm", "u1", bridge.StateSynced)
	require.False(t, st.Active)
	require.Empty(t, tg.overlapping())
}

// TestRefusedValuesAreReported: a value a field cannot take is left out of
// what the app receives, and the user's status says which and why.
func TestRefusedValuesAreReported(t *testing.T) {
	store := openBolt(t)
	tg := newTarget(t)
	e := newEngine(t, store, "r1", scimApp("crm", tg))
	start(t, e)

	gina := user{ID: "u1", UserName: "gina", Given: "Gina", Family: "Linetti",
		Email: "not an address"}
	putUsers(t, store, gina)
	eventually(t, 5*time.Second, func() bool { return holds(tg, gina) }, "gina created")
	st := waitState(t, e, "crm", "u1", bridge.StateSynced)
	require.Len(t, st.Problems, 1, "problems: %+v", st.Problems)
	require.Equal(t, `emails[type eq "work"].value`, st.Problems[0].Field)
	require.Contains(t, st.Problems[0].Message, "refused")
	require.Nil(t, tg.account("gina")["emails"], "the refused email is not sent")

	gina.Email = "gina@example.test"
	putUsers(t, store, gina)
	eventually(t, 5*time.Second, func() bool {
		return len(status(t, e, "crm", "u1").Problems) == 0
	}, "the problem cleared once the email is valid")
}
