package scim_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/scim"
)

func bulkRequest(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{bulkSchema}, "Operations": ops}
}

func bulkOp(method, path, bulkID string, data any) map[string]any {
	m := map[string]any{"method": method, "path": path}
	if bulkID != "" {
		m["bulkId"] = bulkID
	}
	if data != nil {
		m["data"] = data
	}
	return m
}

func newUser(name string) map[string]any {
	return map[string]any{"schemas": []string{userSchema}, "userName": name}
}

// results returns the Operations of a BulkResponse.
func results(t *testing.T, r *response) []map[string]any {
	t.Helper()
	mustStatus(t, r, http.StatusOK)
	body := r.obj(t)
	require.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:BulkResponse"}, body["schemas"])
	var out []map[string]any
	for _, o := range body["Operations"].([]any) {
		out = append(out, o.(map[string]any))
	}
	return out
}

func idOf(t *testing.T, location any) string {
	t.Helper()
	s, ok := location.(string)
	require.True(t, ok, "location %v", location)
	return s[strings.LastIndex(s, "/")+1:]
}

func TestBulkAllMethods(t *testing.T) {
	h := newHarness(t)
	keep := h.createUser(t, map[string]any{"userName": "keep"})
	gone := h.createUser(t, map[string]any{"userName": "gone"})

	res := results(t, h.do(t, http.MethodPost, "/Bulk", bulkRequest(
		// The group names a user created later in the same request.
		bulkOp("POST", "/Groups", "g1", map[string]any{"schemas": []string{groupSchema},
			"displayName": "Bulk Team", "members": []any{
				map[string]any{"value": "bulkId:u1"}, map[string]any{"value": keep}}}),
		bulkOp("POST", "/Users", "u1", newUser("ursula")),
		bulkOp("PATCH", "/Users/bulkId:u1", "", patchOp(op("replace", "title", "Lead"))),
		bulkOp("PUT", "/Users/"+keep, "", map[string]any{"schemas": []string{userSchema},
			"userName": "keep", "nickName": "K"}),
		bulkOp("DELETE", "/Users/"+gone, "", nil),
	)))
	require.Len(t, res, 5)
	statuses := []string{}
	for _, r := range res {
		statuses = append(statuses, r["status"].(string))
	}
	require.Equal(t, []string{"201", "201", "200", "200", "204"}, statuses)
	require.Equal(t, "g1", res[0]["bulkId"])
	require.Equal(t, "POST", res[0]["method"])
	require.Equal(t, `W/"1"`, res[0]["version"])
	require.Equal(t, `W/"2"`, res[2]["version"])

	uid := idOf(t, res[1]["location"])
	gid := idOf(t, res[0]["location"])
	require.Equal(t, idOf(t, res[2]["location"]), uid)
	require.ElementsMatch(t, []string{uid, keep}, h.members(t, gid))
	u := h.do(t, http.MethodGet, "/Users/"+uid, nil).obj(t)
	require.Equal(t, "Lead", u["title"])
	require.Equal(t, gid, path(u, "groups", 0, "value"))
	require.Equal(t, "K", h.do(t, http.MethodGet, "/Users/"+keep, nil).obj(t)["nickName"])
	mustStatus(t, h.do(t, http.MethodGet, "/Users/"+gone, nil), http.StatusNotFound)
}

func TestBulkErrors(t *testing.T) {
	h := newHarness(t)
	h.createUser(t, map[string]any{"userName": "taken"})

	res := results(t, h.do(t, http.MethodPost, "/Bulk", bulkRequest(
		bulkOp("POST", "/Users", "a", newUser("taken")),
		bulkOp("POST", "/Users", "b", newUser("fresh")),
		bulkOp("POST", "/Users", "c", newUser("FRESH")),
		bulkOp("PATCH", "/Users/nope", "", patchOp(op("replace", "title", "x"))),
		bulkOp("GET", "/Users", "", nil),
		bulkOp("POST", "/Widgets", "w", map[string]any{}),
		bulkOp("POST", "/Groups", "g", map[string]any{"schemas": []string{groupSchema},
			"displayName": "G", "members": []any{map[string]any{"value": "bulkId:never"}}}),
		bulkOp("POST", "/Groups", "x", map[string]any{"schemas": []string{groupSchema},
			"displayName": "X", "members": []any{map[string]any{"value": "bulkId:y"}}}),
		bulkOp("POST", "/Groups", "y", map[string]any{"schemas": []string{groupSchema},
			"displayName": "Y", "members": []any{map[string]any{"value": "bulkId:x"}}}),
		bulkOp("POST", "/Users", "", newUser("nobulkid")),
		bulkOp("POST", "/Users", "b", newUser("sameBulkID")),
	)))
	require.Len(t, res, 11)
	want := []struct{ status, scimType string }{
		{"409", "uniqueness"}, {"201", ""}, {"409", "uniqueness"}, {"404", ""},
		{"400", "invalidSyntax"}, {"404", ""}, {"400", "invalidValue"},
		{"409", "invalidValue"}, {"409", "invalidValue"}, {"400", "invalidSyntax"},
		{"400", "invalidValue"},
	}
	for i, w := range want {
		require.Equal(t, w.status, res[i]["status"], "operation %d: %v", i, res[i])
		if w.scimType != "" {
			require.Equal(t, w.scimType, path(res[i], "response", "scimType"), "operation %d", i)
		}
		if w.status != "201" {
			require.Equal(t, w.status, path(res[i], "response", "status"))
		}
	}
}

func TestBulkFailOnErrors(t *testing.T) {
	h := newHarness(t)
	h.createUser(t, map[string]any{"userName": "dup"})
	req := bulkRequest(
		bulkOp("POST", "/Users", "1", newUser("ok1")),
		bulkOp("POST", "/Users", "2", newUser("dup")),
		bulkOp("POST", "/Users", "3", newUser("dup")),
		bulkOp("POST", "/Users", "4", newUser("ok2")),
	)
	req["failOnErrors"] = 2
	res := results(t, h.do(t, http.MethodPost, "/Bulk", req))
	require.Len(t, res, 3, "processing stops at the second error")
	require.Equal(t, "201", res[0]["status"])
	mustStatus(t, h.do(t, http.MethodGet, `/Users?filter=userName%20eq%20"ok1"`, nil), 200)
	r := h.do(t, http.MethodGet, `/Users?filter=userName%20eq%20"ok2"`, nil).obj(t)
	require.Equal(t, float64(0), r["totalResults"])
}

func TestBulkLimits(t *testing.T) {
	h := newHarness(t, func(c *scim.Config) {
		c.MaxBulkOperations = 3
		c.MaxPayloadBytes = 4096
	})
	var ops []map[string]any
	for i := range 4 {
		ops = append(ops, bulkOp("POST", "/Users", strconv.Itoa(i), newUser("u"+strconv.Itoa(i))))
	}
	tooMany := h.do(t, http.MethodPost, "/Bulk", bulkRequest(ops...))
	mustStatus(t, tooMany, http.StatusRequestEntityTooLarge)

	big := newUser("big")
	big["title"] = strings.Repeat("x", 5000)
	mustStatus(t, h.do(t, http.MethodPost, "/Bulk", bulkRequest(bulkOp("POST", "/Users", "b", big))),
		http.StatusRequestEntityTooLarge)

	spc := h.do(t, http.MethodGet, "/ServiceProviderConfig", nil).obj(t)
	require.Equal(t, float64(3), path(spc, "bulk", "maxOperations"))
	require.Equal(t, float64(4096), path(spc, "bulk", "maxPayloadSize"))

	mustStatus(t, h.do(t, http.MethodPost, "/Bulk", `{"Operations":[]}`), http.StatusBadRequest)
}

func TestBulkRepeatedTarget(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(t, map[string]any{"userName": "twice"})
	res := results(t, h.do(t, http.MethodPost, "/Bulk", bulkRequest(
		bulkOp("PATCH", "/Users/"+id, "", patchOp(op("replace", "title", "One"))),
		bulkOp("PATCH", "/Users/"+id, "", patchOp(op("replace", "nickName", "Two"))),
		bulkOp("POST", "/Groups", "g", map[string]any{"schemas": []string{groupSchema},
			"displayName": "Both", "members": []any{map[string]any{"value": id}}}),
		bulkOp("DELETE", "/Users/"+id, "", nil),
	)))
	require.Equal(t, `W/"2"`, res[0]["version"])
	require.Equal(t, `W/"3"`, res[1]["version"])
	require.Equal(t, "204", res[3]["status"])
	gid := idOf(t, res[2]["location"])
	require.Empty(t, h.members(t, gid),
		"deleting the user removed it from the group created just before")
}
