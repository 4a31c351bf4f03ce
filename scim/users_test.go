package scim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

func bjensen() map[string]any {
	return map[string]any{
		"schemas":    []string{userSchema, enterpriseSchema},
		"userName":   "bjensen@example.com",
		"externalId": "bjensen",
		"password":   "t1meMa$heen",
		"name":       map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
		"emails": []any{
			map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
		},
		"active": true,
		enterpriseSchema: map[string]any{
			"employeeNumber": "701984",
			"department":     "Tour Operations",
			"manager":        map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
		},
	}
}

func TestUserLifecycle(t *testing.T) {
	h := newHarness(t)

	created := h.do(t, http.MethodPost, "/Users", bjensen())
	mustStatus(t, created, http.StatusCreated)
	u := created.obj(t)
	id := u["id"].(string)
	require.Equal(t, h.base+"/Users/"+id, created.header.Get("Location"))
	require.Equal(t, `W/"1"`, created.header.Get("Etag"))
	require.Equal(t, `W/"1"`, path(u, "meta", "version"))
	require.Equal(t, "User", path(u, "meta", "resourceType"))
	require.Equal(t, h.base+"/Users/"+id, path(u, "meta", "location"))
	require.Equal(t, "Tour Operations", path(u, enterpriseSchema, "department"))
	require.ElementsMatch(t, []any{userSchema, enterpriseSchema}, u["schemas"])
	require.NotContains(t, string(created.body), "t1meMa$heen")
	require.NotContains(t, string(created.body), "password")

	got := h.do(t, http.MethodGet, "/Users/"+id, nil)
	mustStatus(t, got, http.StatusOK)
	require.JSONEq(t, string(created.body), string(got.body))
	require.Equal(t, `W/"1"`, got.header.Get("Etag"))

	// The stored document never holds the password nor the version.
	res := h.stored(t, state.KindUser, id)
	require.NotContains(t, string(res.Data), "t1meMa$heen")
	require.NotContains(t, string(res.Data), `"version"`)
	require.Equal(t, []state.IndexKey{{Name: "userName", Value: "bjensen@example.com"}}, res.Unique)

	replaced := bjensen()
	replaced["displayName"] = "Babs"
	delete(replaced, enterpriseSchema)
	put := h.do(t, http.MethodPut, "/Users/"+id, replaced)
	mustStatus(t, put, http.StatusOK)
	require.Equal(t, `W/"2"`, put.header.Get("Etag"))
	pu := put.obj(t)
	require.Equal(t, "Babs", pu["displayName"])
	require.Nil(t, pu[enterpriseSchema], "PUT replaces the whole resource")
	require.Equal(t, []any{userSchema}, pu["schemas"])
	require.Equal(t, path(u, "meta", "created"), path(pu, "meta", "created"))

	mustStatus(t, h.do(t, http.MethodDelete, "/Users/"+id, nil), http.StatusNoContent)
	mustStatus(t, h.do(t, http.MethodGet, "/Users/"+id, nil), http.StatusNotFound)
	mustStatus(t, h.do(t, http.MethodDelete, "/Users/"+id, nil), http.StatusNotFound)
}

func TestUserNameIsUniqueRegardlessOfCase(t *testing.T) {
	h := newHarness(t)
	h.createUser(t, map[string]any{"userName": "Alice"})
	bobID := h.createUser(t, map[string]any{"userName": "bob"})

	dup := h.do(t, http.MethodPost, "/Users",
		map[string]any{"schemas": []string{userSchema}, "userName": "ALICE"})
	mustStatus(t, dup, http.StatusConflict)
	require.Equal(t, "uniqueness", dup.obj(t)["scimType"])
	require.Equal(t, "409", dup.obj(t)["status"])

	rename := h.do(t, http.MethodPatch, "/Users/"+bobID,
		patchOp(op("replace", "userName", "alice")))
	mustStatus(t, rename, http.StatusConflict)

	// externalId need not be unique.
	h.createUser(t, map[string]any{"userName": "carol", "externalId": "same"})
	h.createUser(t, map[string]any{"userName": "dave", "externalId": "same"})
}

func TestClientMistakes(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(t, map[string]any{"userName": "erin"})
	big := `{"schemas":["` + userSchema + `"],"userName":"x","title":"` +
		strings.Repeat("a", 2<<20) + `"}`

	tests := []struct {
		name     string
		method   string
		path     string
		body     any
		status   int
		scimType string
	}{
		{"unknown id", http.MethodGet, "/Users/nope", nil, 404, ""},
		{"unknown endpoint", http.MethodGet, "/Widgets", nil, 404, ""},
		{"malformed json", http.MethodPost, "/Users", `{"userName": tru`, 400, "invalidSyntax"},
		{"json array", http.MethodPost, "/Users", `[1,2]`, 400, "invalidSyntax"},
		{"trailing data", http.MethodPost, "/Users",
			`{"schemas":["` + userSchema + `"],"userName":"a"} {}`, 400, "invalidSyntax"},
		{"empty body", http.MethodPost, "/Users", ``, 400, "invalidSyntax"},
		{"no schemas", http.MethodPost, "/Users", `{"userName":"a"}`, 400, "invalidSyntax"},
		{"missing userName", http.MethodPost, "/Users",
			`{"schemas":["` + userSchema + `"],"displayName":"a"}`, 400, "invalidValue"},
		{"blank userName", http.MethodPost, "/Users",
			`{"schemas":["` + userSchema + `"],"userName":"  "}`, 400, "invalidValue"},
		{"wrong type", http.MethodPost, "/Users",
			`{"schemas":["` + userSchema + `"],"userName":"a","active":"maybe"}`, 400, "invalidValue"},
		{"complex as string", http.MethodPost, "/Users",
			`{"schemas":["` + userSchema + `"],"userName":"a","name":"Bob"}`, 400, "invalidValue"},
		{"bad filter", http.MethodGet, "/Users?filter=userName%20eq", nil, 400, "invalidFilter"},
		{"filter on unknown attribute", http.MethodGet, "/Users?filter=shoeSize%20eq%201", nil,
			400, "invalidFilter"},
		{"unquoted filter value", http.MethodGet, "/Users?filter=userName%20sw%20O", nil,
			400, "invalidFilter"},
		{"bad startIndex", http.MethodGet, "/Users?startIndex=x", nil, 400, "invalidValue"},
		{"bad sortBy", http.MethodGet, "/Users?sortBy=shoeSize", nil, 400, "invalidPath"},
		{"body too large", http.MethodPost, "/Users", big, 413, ""},
		{"patch without schemas", http.MethodPatch, "/Users/" + id,
			`{"Operations":[{"op":"add","path":"title","value":"x"}]}`, 400, "invalidSyntax"},
		{"patch bad op", http.MethodPatch, "/Users/" + id,
			patchOp(op("merge", "title", "x")), 400, "invalidSyntax"},
		{"patch bad path", http.MethodPatch, "/Users/" + id,
			patchOp(op("replace", "name[", "x")), 400, "invalidPath"},
		{"patch read-only", http.MethodPatch, "/Users/" + id,
			patchOp(op("replace", "id", "other")), 400, "mutability"},
		{"patch remove without path", http.MethodPatch, "/Users/" + id,
			patchOp(op("remove", "", nil)), 400, "noTarget"},
		{"patch wrong value type", http.MethodPatch, "/Users/" + id,
			patchOp(op("replace", "active", "perhaps")), 400, "invalidValue"},
		{"patch removes required", http.MethodPatch, "/Users/" + id,
			patchOp(op("remove", "userName", nil)), 400, ""},
		{"method not allowed", http.MethodPut, "/Users", `{}`, 405, ""},
		{"me", http.MethodGet, "/Me", nil, 501, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, tt.method, tt.path, tt.body)
			mustStatus(t, r, tt.status)
			body := r.obj(t)
			require.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:Error"}, body["schemas"])
			if tt.scimType != "" {
				require.Equal(t, tt.scimType, body["scimType"], "body: %s", r.body)
			}
			require.NotEmpty(t, body["detail"], "every error says what went wrong")
			require.Equal(t, strconv.Itoa(tt.status), body["status"])
		})
	}
}

func TestETags(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(t, map[string]any{"userName": "frank"})

	notModified := h.do(t, http.MethodGet, "/Users/"+id, nil, "If-None-Match", `W/"1"`)
	mustStatus(t, notModified, http.StatusNotModified)
	require.Empty(t, notModified.body)
	mustStatus(t, h.do(t, http.MethodGet, "/Users/"+id, nil, "If-None-Match", `W/"9"`), 200)

	stale := h.do(t, http.MethodPatch, "/Users/"+id, patchOp(op("replace", "title", "CEO")),
		"If-Match", `W/"7"`)
	mustStatus(t, stale, http.StatusPreconditionFailed)

	fresh := h.do(t, http.MethodPatch, "/Users/"+id, patchOp(op("replace", "title", "CEO")),
		"If-Match", `W/"1"`)
	mustStatus(t, fresh, http.StatusOK)
	require.Equal(t, `W/"2"`, fresh.header.Get("Etag"))

	// A write that changes nothing keeps the version.
	same := h.do(t, http.MethodPatch, "/Users/"+id, patchOp(op("replace", "title", "CEO")))
	mustStatus(t, same, http.StatusOK)
	require.Equal(t, `W/"2"`, same.header.Get("Etag"))

	put := map[string]any{"schemas": []string{userSchema}, "userName": "frank"}
	mustStatus(t, h.do(t, http.MethodPut, "/Users/"+id, put, "If-Match", `W/"1"`), 412)
	mustStatus(t, h.do(t, http.MethodPut, "/Users/"+id, put, "If-Match", `W/"2"`), 200)
	mustStatus(t, h.do(t, http.MethodDelete, "/Users/"+id, nil, "If-Match", `W/"2"`), 412)
	mustStatus(t, h.do(t, http.MethodPut, "/Users/"+id, put, "If-None-Match", `*`), 412)
	mustStatus(t, h.do(t, http.MethodPatch, "/Users/"+id, patchOp(op("replace", "title", "x")),
		"If-None-Match", `W/"3"`), 412)
	mustStatus(t, h.do(t, http.MethodPatch, "/Users/"+id, patchOp(op("replace", "title", "x")),
		"If-None-Match", `W/"1"`), 200)
	mustStatus(t, h.do(t, http.MethodDelete, "/Users/"+id, nil, "If-Match", `W/"4", W/"9"`), 204)
}

func TestStoredDocumentIsPlainSCIM(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(t, bjensen())
	res := h.stored(t, state.KindUser, id)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(res.Data, &doc))
	require.Equal(t, id, doc["id"])
	require.Equal(t, "bjensen", doc["externalId"])
	require.Equal(t, "User", path(doc, "meta", "resourceType"))
	require.NotNil(t, path(doc, "meta", "created"))
	require.Nil(t, doc["groups"])
	require.True(t, bytes.HasSuffix(res.Data, []byte(`"resourceType":"User"}}`)),
		"meta must close the document: %s", res.Data)
}
