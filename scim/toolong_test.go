package scim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

// TestOverlongIndexedValues checks that a value too long for the store's
// indexes is the client's mistake: 400 invalidValue naming the attribute,
// never a 500, and nothing is stored.
func TestOverlongIndexedValues(t *testing.T) {
	long := strings.Repeat("n", 9<<10)
	// "Ⱥ" (two bytes) lower-cases to "ⱥ" (three): the limit is on the
	// indexed form.
	growing := strings.Repeat("Ⱥ", state.MaxIndexValue/2)

	h := newHarness(t)
	userID := h.createUser(t, map[string]any{"userName": "kept"})
	groupID := h.createGroup(t, "kept group")

	cases := []struct {
		name, method, path, attr string
		body                     map[string]any
	}{
		{"user userName", http.MethodPost, "/Users", "userName",
			map[string]any{"schemas": []string{userSchema}, "userName": long}},
		{"user userName lower-cased", http.MethodPost, "/Users", "userName",
			map[string]any{"schemas": []string{userSchema}, "userName": growing}},
		{"user externalId", http.MethodPost, "/Users", "externalId",
			map[string]any{"schemas": []string{userSchema}, "userName": "x", "externalId": long}},
		{"group displayName", http.MethodPost, "/Groups", "displayName",
			map[string]any{"schemas": []string{groupSchema}, "displayName": long}},
		{"user put", http.MethodPut, "/Users/" + userID, "userName",
			map[string]any{"schemas": []string{userSchema}, "userName": long}},
		{"user patch", http.MethodPatch, "/Users/" + userID, "userName",
			patchOp(op("replace", "userName", long))},
		{"group patch", http.MethodPatch, "/Groups/" + groupID, "displayName",
			patchOp(op("replace", "displayName", long))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do(t, c.method, c.path, c.body)
			mustStatus(t, r, http.StatusBadRequest)
			body := r.obj(t)
			require.Equal(t, "invalidValue", body["scimType"])
			require.Contains(t, body["detail"], c.attr)
		})
	}

	n, err := h.store.Count(t.Context(), state.KindUser)
	require.NoError(t, err)
	require.Equal(t, 1, n, "no user was created")
	require.Equal(t, "kept", h.do(t, http.MethodGet, "/Users/"+userID, nil).obj(t)["userName"])
}
