package scim_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEndpointsInAnyCase checks that endpoint names are matched in any
// letter case, while ids keep theirs and locations stay canonical.
func TestEndpointsInAnyCase(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(t, map[string]any{"userName": "casey"})

	cases := []struct {
		method, path string
		body         any
		want         int
	}{
		{http.MethodGet, "/users", nil, http.StatusOK},
		{http.MethodGet, "/USERS/" + id, nil, http.StatusOK},
		{http.MethodGet, "/groups", nil, http.StatusOK},
		{http.MethodGet, "/schemas", nil, http.StatusOK},
		{http.MethodGet, "/resourcetypes/User", nil, http.StatusOK},
		{http.MethodGet, "/serviceproviderconfig", nil, http.StatusOK},
		{http.MethodPost, "/bulk", bulkRequest(
			bulkOp("POST", "/users", "b", newUser("bulky"))), http.StatusOK},
		{http.MethodGet, "/Users/" + id + "x", nil, http.StatusNotFound},
		{http.MethodGet, "/Usersx", nil, http.StatusNotFound},
		// The Kelvin sign folds to k; no endpoint is spelled with it.
		{http.MethodGet, "/Bul\u212a", nil, http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			mustStatus(t, h.do(t, c.method, c.path, c.body), c.want)
		})
	}

	u := h.do(t, http.MethodGet, "/users/"+id, nil).obj(t)
	require.Equal(t, h.base+"/Users/"+id, path(u, "meta", "location"))
	res := results(t, h.do(t, http.MethodPost, "/Bulk", bulkRequest(
		bulkOp("POST", "/uSeRs", "c", newUser("mixed")))))
	require.Equal(t, "201", res[0]["status"])
	require.Contains(t, res[0]["location"], "/Users/")
}
