package scim_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/scim"
)

func TestServiceProviderConfig(t *testing.T) {
	h := newHarness(t)
	spc := h.do(t, http.MethodGet, "/ServiceProviderConfig", nil)
	mustStatus(t, spc, http.StatusOK)
	require.Equal(t, "application/scim+json", spc.header.Get("Content-Type"))
	body := spc.obj(t)
	for _, feature := range []string{"patch", "bulk", "filter", "sort", "etag"} {
		require.Equal(t, true, path(body, feature, "supported"), feature)
	}
	require.Equal(t, false, path(body, "changePassword", "supported"))
	require.Equal(t, float64(scim.DefaultMaxBulkOperations), path(body, "bulk", "maxOperations"))
	require.Equal(t, float64(scim.DefaultMaxPayloadBytes), path(body, "bulk", "maxPayloadSize"))
	require.Equal(t, float64(scim.DefaultMaxFilterResults), path(body, "filter", "maxResults"))
	require.Equal(t, "oauthbearertoken", path(body, "authenticationSchemes", 0, "type"))
	require.Equal(t, h.base+"/ServiceProviderConfig", path(body, "meta", "location"))
}

func TestSchemasAndResourceTypes(t *testing.T) {
	costCenter := schema.Schema{
		ID:   "urn:example:params:scim:schemas:extension:acme:2.0:User",
		Name: optional.NewString("Acme"),
		Attributes: []schema.CoreAttribute{schema.SimpleCoreAttribute(schema.SimpleStringParams(
			schema.StringParams{Name: "costCenter"}))},
	}
	h := newHarness(t, func(c *scim.Config) { c.Extensions = []schema.Schema{costCenter} })

	rts := h.do(t, http.MethodGet, "/ResourceTypes", nil)
	mustStatus(t, rts, http.StatusOK)
	require.Equal(t, "/Users", path(rts.obj(t), "Resources", 0, "endpoint"))
	user := h.do(t, http.MethodGet, "/ResourceTypes/User", nil).obj(t)
	require.Equal(t, costCenter.ID, path(user, "schemaExtensions", 1, "schema"))

	schemas := h.do(t, http.MethodGet, "/Schemas", nil)
	mustStatus(t, schemas, http.StatusOK)
	require.Contains(t, string(schemas.body), "User Account")
	require.Contains(t, string(schemas.body), costCenter.ID)

	group := h.do(t, http.MethodGet, "/Schemas/"+url.PathEscape(groupSchema), nil)
	mustStatus(t, group, http.StatusOK)
	require.Equal(t, "displayName", path(group.obj(t), "attributes", 0, "name"))
	require.Equal(t, "none", path(group.obj(t), "attributes", 0, "uniqueness"),
		"group displayName is not unique (RFC 7643 section 4.2)")

	// The custom extension is usable like the enterprise one.
	id := h.createUser(t, map[string]any{"schemas": []string{userSchema, costCenter.ID},
		"userName": "zed", costCenter.ID: map[string]any{"costCenter": "CC-9"}})
	filter := url.QueryEscape(costCenter.ID + `:costCenter eq "CC-9"`)
	r := h.do(t, http.MethodGet, "/Users?filter="+filter, nil)
	require.Equal(t, id, path(r.obj(t), "Resources", 0, "id"))
}
