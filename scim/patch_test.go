package scim_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPatchUser(t *testing.T) {
	ent := enterpriseSchema
	tests := []struct {
		name  string
		ops   []map[string]any
		check func(t *testing.T, u map[string]any)
	}{
		{"replace with path", []map[string]any{op("replace", "userName", "barbara")},
			func(t *testing.T, u map[string]any) { require.Equal(t, "barbara", u["userName"]) }},
		{"add without path", []map[string]any{op("add", "", map[string]any{
			"title": "Boss", "name.givenName": "Babs"})},
			func(t *testing.T, u map[string]any) {
				require.Equal(t, "Boss", u["title"])
				require.Equal(t, "Babs", path(u, "name", "givenName"))
				require.Equal(t, "Jensen", path(u, "name", "familyName"))
			}},
		{"extension by urn path", []map[string]any{op("replace", ent+":department", "Finance")},
			func(t *testing.T, u map[string]any) {
				require.Equal(t, "Finance", path(u, ent, "department"))
				require.Equal(t, "701984", path(u, ent, "employeeNumber"))
			}},
		{"path-less value keyed by urn", []map[string]any{op("replace", "",
			map[string]any{ent: map[string]any{"costCenter": "4130"}})},
			func(t *testing.T, u map[string]any) {
				require.Equal(t, "4130", path(u, ent, "costCenter"))
				require.Equal(t, "Tour Operations", path(u, ent, "department"))
			}},
		{"path-less value keyed by attribute urn", []map[string]any{op("Replace", "",
			map[string]any{ent + ":employeeNumber": "42"})},
			func(t *testing.T, u map[string]any) { require.Equal(t, "42", path(u, ent, "employeeNumber")) }},
		{"value filter with sub-attribute", []map[string]any{
			op("Replace", `emails[type eq "work"].value`, "babs@example.com")},
			func(t *testing.T, u map[string]any) {
				require.Equal(t, "babs@example.com", path(u, "emails", 0, "value"))
				require.Equal(t, "work", path(u, "emails", 0, "type"))
			}},
		{"value filter creates missing value", []map[string]any{
			op("Replace", `phoneNumbers[type eq "mobile"].value`, "+1 555 0100")},
			func(t *testing.T, u map[string]any) {
				require.Equal(t, "+1 555 0100", path(u, "phoneNumbers", 0, "value"))
				require.Equal(t, "mobile", path(u, "phoneNumbers", 0, "type"))
			}},
		{"remove by value filter", []map[string]any{op("remove", `emails[type eq "work"]`, nil)},
			func(t *testing.T, u map[string]any) { require.Nil(t, u["emails"]) }},
		{"entra string booleans", []map[string]any{op("Replace", "active", "False")},
			func(t *testing.T, u map[string]any) { require.Equal(t, false, u["active"]) }},
		{"entra manager as string", []map[string]any{op("Add", ent+":manager", "mgr-1")},
			func(t *testing.T, u map[string]any) {
				require.Equal(t, "mgr-1", path(u, ent, "manager", "value"))
			}},
		{"okta deactivate", []map[string]any{op("replace", "", map[string]any{"active": false})},
			func(t *testing.T, u map[string]any) { require.Equal(t, false, u["active"]) }},
		{"several in order", []map[string]any{
			op("add", "nickName", "B"), op("replace", "nickName", "C"), op("remove", "title", nil)},
			func(t *testing.T, u map[string]any) {
				require.Equal(t, "C", u["nickName"])
				require.Nil(t, u["title"])
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			user := bjensen()
			user["title"] = "Tour Guide"
			id := h.createUser(t, user)
			r := h.do(t, http.MethodPatch, "/Users/"+id, patchOp(tt.ops...))
			mustStatus(t, r, http.StatusOK)
			require.Equal(t, `W/"2"`, r.header.Get("Etag"))
			tt.check(t, r.obj(t))
			// What PATCH returned is what is stored.
			got := h.do(t, http.MethodGet, "/Users/"+id, nil)
			require.JSONEq(t, string(r.body), string(got.body))
		})
	}
}

func TestPatchIsAllOrNothing(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(t, bjensen())
	r := h.do(t, http.MethodPatch, "/Users/"+id, patchOp(
		op("replace", "title", "Boss"),
		op("replace", "meta.created", "2001-01-01T00:00:00Z"),
	))
	mustStatus(t, r, http.StatusBadRequest)
	require.Equal(t, "mutability", r.obj(t)["scimType"])
	u := h.do(t, http.MethodGet, "/Users/"+id, nil)
	require.Nil(t, u.obj(t)["title"])
	require.Equal(t, `W/"1"`, u.header.Get("Etag"))
}

func TestPatchOfMissingUser(t *testing.T) {
	h := newHarness(t)
	r := h.do(t, http.MethodPatch, "/Users/missing", patchOp(op("replace", "title", "x")))
	mustStatus(t, r, http.StatusNotFound)
}

func TestPatchGroupsIsReadOnly(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(t, map[string]any{"userName": "gus"})
	r := h.do(t, http.MethodPatch, "/Users/"+id,
		patchOp(op("add", "groups", []any{map[string]any{"value": "g"}})))
	mustStatus(t, r, http.StatusBadRequest)
	require.Equal(t, "mutability", r.obj(t)["scimType"])
}
