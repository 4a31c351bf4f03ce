package bridge_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/config"
)

// TestScopeByStableNames: a scope may name a group by its externalId or id
// and a user by id or externalId, so renaming them moves nobody out of
// scope (which, under the delete policy, would delete accounts); a scope
// name that two groups share takes the members of both.
func TestScopeByStableNames(t *testing.T) {
	store := openBolt(t)
	tg := newTarget(t)
	app := scimApp("crm", tg)
	app.Deprovision = bridge.PolicyDelete
	app.Scope = config.Scope{
		Groups: []string{"0f6e-sales-object-id", "g-ops", "Support"},
		Assignments: []config.Assignment{
			{User: "u-gina"}, {User: "EXT-HENRY"},
		},
	}
	e := newEngine(t, store, "r1", app)
	start(t, e)

	carol := user{ID: "u-carol", UserName: "carol", Given: "Carol", Family: "Danvers"}
	dave := user{ID: "u-dave", UserName: "dave", Given: "Dave", Family: "Bowman"}
	erin := user{ID: "u-erin", UserName: "erin", Given: "Erin", Family: "Hannon"}
	frank := user{ID: "u-frank", UserName: "frank", Given: "Frank", Family: "Castle"}
	gina := user{ID: "u-gina", UserName: "gina", Given: "Gina", Family: "Linetti"}
	henry := user{ID: "u-henry", UserName: "henry", Given: "Henry", Family: "Jekyll",
		ExternalID: "ext-henry"}
	putUsers(t, store, carol, dave, erin, frank, gina, henry)
	putGroupExt(t, store, "g-sales", "Sales", "0f6e-sales-object-id", "u-carol")
	putGroupExt(t, store, "g-ops", "Operations", "", "u-dave")
	putGroupExt(t, store, "g-sup1", "Support", "", "u-erin")
	putGroupExt(t, store, "g-sup2", "support", "", "u-frank")

	for _, u := range []user{carol, dave, erin, frank, gina, henry} {
		eventually(t, 5*time.Second, func() bool { return holds(tg, u) }, "%s created", u.UserName)
	}

	// Renames change nothing: the scope does not name them by name.
	putGroupExt(t, store, "g-sales", "Revenue", "0f6e-sales-object-id", "u-carol")
	putGroupExt(t, store, "g-ops", "Platform", "", "u-dave")
	gina.UserName, henry.UserName = "gina.linetti", "henry.jekyll"
	putUsers(t, store, gina, henry)
	eventually(t, 5*time.Second, func() bool { return holds(tg, gina) && holds(tg, henry) },
		"renamed users updated, not deprovisioned")
	for _, id := range []string{"u-carol", "u-dave", "u-gina", "u-henry"} {
		st := waitState(t, e, "crm", id, bridge.StateSynced)
		require.True(t, st.InScope, "%s in scope", id)
	}
	require.Equal(t, 6, tg.count(), "no account deleted")
	require.Zero(t, tg.deletes.Load())
}
