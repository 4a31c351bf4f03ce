package scim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The request bodies below are the ones Microsoft documents for the Entra
// ID provisioning service ("Develop and plan provisioning for a SCIM
// endpoint", SCIM protocol requests and responses) and Okta documents in
// its SCIM 2.0 protocol reference, replayed in the order those clients
// send them.

const entraCreateUser = `{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
    "active": true,
    "emails": [{
        "primary": true,
        "type": "work",
        "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
    }],
    "meta": {
        "resourceType": "User"
    },
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "roles": []
}`

const entraUpdateMultiValued = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
            {
            "op": "Replace",
            "path": "emails[type eq \"work\"].value",
            "value": "updatedEmail@microsoft.com"
            },
            {
            "op": "Replace",
            "path": "name.familyName",
            "value": "updatedFamilyName"
            }
    ]
}`

const entraUpdateSingleValued = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "userName",
        "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    }]
}`

const entraDisableUser = `{
    "Operations": [
        {
            "op": "Replace",
            "path": "active",
            "value": false
        }
    ],
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ]
}`

const entraCreateGroup = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {
        "resourceType": "Group"
    }
}`

const entraUpdateGroupName = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "displayName",
        "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    }]
}`

// entraMembers fills in the member id of the Add and Remove Members bodies.
func entraMembers(op, id string) string {
	return `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "` + op + `",
        "path": "members",
        "value": [{
            "$ref": null,
            "value": "` + id + `"
        }]
    }]
}`
}

func TestEntraProvisioningSequence(t *testing.T) {
	h := newHarness(t)

	created := h.do(t, http.MethodPost, "/Users", entraCreateUser)
	mustStatus(t, created, http.StatusCreated)
	user := created.obj(t)
	id := user["id"].(string)
	require.Equal(t, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", user["externalId"])
	require.Equal(t, "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1", user["userName"])
	require.Equal(t, true, user["active"])
	require.Equal(t, "givenName familyName", path(user, "name", "formatted"))
	require.Equal(t, "work", path(user, "emails", 0, "type"))

	got := h.do(t, http.MethodGet, "/Users/"+id, nil)
	mustStatus(t, got, http.StatusOK)
	require.JSONEq(t, string(created.body), string(got.body))

	missing := h.do(t, http.MethodGet, "/Users/5171a35d82074e068ce2", nil)
	mustStatus(t, missing, http.StatusNotFound)
	require.Equal(t, "404", missing.obj(t)["status"])
	require.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:Error"}, missing.obj(t)["schemas"])

	query := func(filter string) map[string]any {
		r := h.do(t, http.MethodGet, "/Users?filter="+url.QueryEscape(filter), nil)
		mustStatus(t, r, http.StatusOK)
		return r.obj(t)
	}
	found := query(`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`)
	require.Equal(t, float64(1), found["totalResults"])
	require.Equal(t, id, path(found, "Resources", 0, "id"))
	require.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}, found["schemas"])
	none := query(`userName eq "non-existent user"`)
	require.Equal(t, float64(0), none["totalResults"])
	require.Equal(t, []any{}, none["Resources"])

	multi := h.do(t, http.MethodPatch, "/Users/"+id, entraUpdateMultiValued)
	mustStatus(t, multi, http.StatusOK)
	require.Equal(t, "updatedEmail@microsoft.com", path(multi.obj(t), "emails", 0, "value"))
	require.Equal(t, "updatedFamilyName", path(multi.obj(t), "name", "familyName"))
	require.Equal(t, "givenName", path(multi.obj(t), "name", "givenName"))

	single := h.do(t, http.MethodPatch, "/Users/"+id, entraUpdateSingleValued)
	mustStatus(t, single, http.StatusOK)
	require.Equal(t, "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com", single.obj(t)["userName"])

	disabled := h.do(t, http.MethodPatch, "/Users/"+id, entraDisableUser)
	mustStatus(t, disabled, http.StatusOK)
	require.Equal(t, false, disabled.obj(t)["active"])
	require.Equal(t, `W/"4"`, disabled.header.Get("Etag"))

	// Groups: create, read without members, find by name, rename, add and
	// remove a member, delete.
	member := h.createUser(t, map[string]any{"userName": "member@testuser.com"})
	group := h.do(t, http.MethodPost, "/Groups", entraCreateGroup)
	mustStatus(t, group, http.StatusCreated)
	gid := group.obj(t)["id"].(string)
	require.Equal(t, "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", group.obj(t)["externalId"])
	require.Equal(t, []any{groupSchema}, group.obj(t)["schemas"])

	g := h.do(t, http.MethodGet, "/Groups/"+gid+"?excludedAttributes=members", nil)
	mustStatus(t, g, http.StatusOK)
	require.Equal(t, "displayName", g.obj(t)["displayName"])

	byName := h.do(t, http.MethodGet, "/Groups?excludedAttributes=members&filter="+
		url.QueryEscape(`displayName eq "displayName"`), nil)
	mustStatus(t, byName, http.StatusOK)
	require.Equal(t, gid, path(byName.obj(t), "Resources", 0, "id"))

	// Entra ID expects 204 No Content for its group patches.
	renamed := h.do(t, http.MethodPatch, "/Groups/"+gid, entraUpdateGroupName)
	mustStatus(t, renamed, http.StatusNoContent)
	require.Empty(t, renamed.body)
	require.Equal(t, `W/"2"`, renamed.header.Get("Etag"))
	grp := h.do(t, http.MethodGet, "/Groups/"+gid, nil).obj(t)
	require.Equal(t, "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName", grp["displayName"])

	added := h.do(t, http.MethodPatch, "/Groups/"+gid, entraMembers("Add", member))
	mustStatus(t, added, http.StatusNoContent)
	grp = h.do(t, http.MethodGet, "/Groups/"+gid, nil).obj(t)
	require.Equal(t, member, path(grp, "members", 0, "value"))
	require.Equal(t, gid, path(h.do(t, http.MethodGet, "/Users/"+member, nil).obj(t),
		"groups", 0, "value"))

	removed := h.do(t, http.MethodPatch, "/Groups/"+gid, entraMembers("Remove", member))
	mustStatus(t, removed, http.StatusNoContent)
	require.Nil(t, h.do(t, http.MethodGet, "/Groups/"+gid, nil).obj(t)["members"])

	mustStatus(t, h.do(t, http.MethodDelete, "/Groups/"+gid, nil), http.StatusNoContent)
	mustStatus(t, h.do(t, http.MethodDelete, "/Users/"+id, nil), http.StatusNoContent)
	mustStatus(t, h.do(t, http.MethodGet, "/Users/"+id, nil), http.StatusNotFound)
}

const oktaCreateUser = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "test.user@okta.local",
    "name": {
        "givenName": "Test",
        "familyName": "User"
    },
    "emails": [{
        "primary": true,
        "value": "test.user@okta.local",
        "type": "work"
    }],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": true
}`

// oktaReplaceUser is Okta's PUT body with the server's id filled in.
func oktaReplaceUser(id string) string {
	return `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "` + id + `",
    "userName": "test.user@okta.local",
    "name": {
        "givenName": "Another",
        "middleName": "Excited",
        "familyName": "User"
    },
    "emails": [{
        "primary": true,
        "value": "test.user@okta.local",
        "type": "work",
        "display": "test.user@okta.local"
    }],
    "active": true,
    "groups": [],
    "meta": {
        "resourceType": "User"
    }
}`
}

const oktaDeactivate = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "value": {
            "active": false
        }
    }]
}`

func TestOktaProvisioningSequence(t *testing.T) {
	h := newHarness(t)
	lookup := "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"

	empty := h.do(t, http.MethodGet, lookup, nil)
	mustStatus(t, empty, http.StatusOK)
	require.JSONEq(t, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
		"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}`, string(empty.body))

	created := h.do(t, http.MethodPost, "/Users", oktaCreateUser)
	mustStatus(t, created, http.StatusCreated)
	user := created.obj(t)
	id := user["id"].(string)
	require.Equal(t, "00ujl29u0le5T6Aj10h7", user["externalId"])
	require.Equal(t, "en-US", user["locale"])
	require.NotContains(t, string(created.body), "1mz050nq")

	again := h.do(t, http.MethodPost, "/Users", oktaCreateUser)
	mustStatus(t, again, http.StatusConflict)
	require.NotEmpty(t, again.obj(t)["detail"])

	found := h.do(t, http.MethodGet, lookup, nil).obj(t)
	require.Equal(t, float64(1), found["totalResults"])
	require.Equal(t, id, path(found, "Resources", 0, "id"))

	got := h.do(t, http.MethodGet, "/Users/"+id, nil)
	mustStatus(t, got, http.StatusOK)
	require.Equal(t, "Test", path(got.obj(t), "name", "givenName"))

	put := h.do(t, http.MethodPut, "/Users/"+id, oktaReplaceUser(id))
	mustStatus(t, put, http.StatusOK)
	require.Equal(t, map[string]any{"givenName": "Another", "middleName": "Excited",
		"familyName": "User"}, put.obj(t)["name"])
	require.Nil(t, put.obj(t)["displayName"], "PUT replaces the whole user")
	require.Nil(t, put.obj(t)["externalId"])

	off := h.do(t, http.MethodPatch, "/Users/"+id, oktaDeactivate)
	mustStatus(t, off, http.StatusOK)
	require.Equal(t, false, off.obj(t)["active"])
	require.Equal(t, "Another", path(off.obj(t), "name", "givenName"))
}

func TestOktaGroupPush(t *testing.T) {
	h := newHarness(t)
	u1 := h.createUser(t, map[string]any{"userName": "test.user@okta.local"})
	u2 := h.createUser(t, map[string]any{"userName": "test.user2@okta.local"})

	created := h.do(t, http.MethodPost, "/Groups", `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "Test SCIMv2",
    "members": []
}`)
	mustStatus(t, created, http.StatusCreated)
	gid := created.obj(t)["id"].(string)

	rename := h.do(t, http.MethodPatch, "/Groups/"+gid, `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "value": {
            "id": "`+gid+`",
            "displayName": "Test SCIMv20"
        }
    }]
}`)
	mustStatus(t, rename, http.StatusNoContent)
	require.Equal(t, "Test SCIMv20",
		h.do(t, http.MethodGet, "/Groups/"+gid, nil).obj(t)["displayName"])

	membership := strings.NewReplacer("U1", u1, "U2", u2).Replace(`{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
          "op": "remove",
          "path": "members[value eq \"U2\"]"
        },
        {
          "op": "add",
          "path": "members",
          "value": [{
              "value": "U1",
              "display": "test.user@okta.local"
        }]
    }]
}`)
	r := h.do(t, http.MethodPatch, "/Groups/"+gid, membership)
	mustStatus(t, r, http.StatusNoContent)
	require.Equal(t, u1, path(h.do(t, http.MethodGet, "/Groups/"+gid, nil).obj(t),
		"members", 0, "value"))

	replaceAll := strings.NewReplacer("U1", u1, "U2", u2).Replace(`{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{
      "op": "replace",
      "path": "members",
      "value": [
        {"value": "U1", "display": "test.user@okta.local"},
        {"value": "U2", "display": "test.user@okta.local"}
      ]
  }]
}`)
	// Asking for attributes gets the group back with 200.
	r = h.do(t, http.MethodPatch, "/Groups/"+gid+"?attributes=members", replaceAll)
	mustStatus(t, r, http.StatusOK)
	require.Len(t, r.obj(t)["members"], 2)

	mustStatus(t, h.do(t, http.MethodDelete, "/Groups/"+gid, nil), http.StatusNoContent)
	require.Nil(t, h.do(t, http.MethodGet, "/Users/"+u1, nil).obj(t)["groups"])
}
