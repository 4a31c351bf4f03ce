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

// TestConfiguredExtension checks that an extension from the configuration
// is validated, enforced and served like the built-in ones: numbers keep
// their types, immutable attributes cannot change, and attributes returned
// "never" stay out of responses.
func TestConfiguredExtension(t *testing.T) {
	ext := schema.Schema{ID: "urn:example:params:scim:schemas:extension:hr:2.0:User",
		Name: optional.NewString("HR"),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{
				Name: "level", Type: schema.AttributeTypeInteger()})),
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "score"})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name: "badge", Mutability: schema.AttributeMutabilityImmutable()})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name: "pin", Returned: schema.AttributeReturnedNever()})),
		}}
	h := newHarness(t, func(c *scim.Config) { c.Extensions = []schema.Schema{ext} })

	created := h.do(t, http.MethodPost, "/Users", map[string]any{
		"schemas": []string{userSchema, ext.ID}, "userName": "hr",
		ext.ID: map[string]any{"level": 2, "score": 1.5, "badge": "B-1", "pin": "0000"}})
	mustStatus(t, created, http.StatusCreated)
	u := created.obj(t)
	id := u["id"].(string)
	require.Equal(t, map[string]any{"level": float64(2), "score": 1.5, "badge": "B-1"}, u[ext.ID])

	wrongType := h.do(t, http.MethodPost, "/Users", map[string]any{
		"schemas": []string{userSchema, ext.ID}, "userName": "hr2", ext.ID: map[string]any{"level": 2.5}})
	mustStatus(t, wrongType, http.StatusBadRequest)

	r := h.do(t, http.MethodPatch, "/Users/"+id,
		patchOp(op("replace", ext.ID+":level", 5), op("replace", ext.ID+":score", 2.25)))
	mustStatus(t, r, http.StatusOK)
	require.Equal(t, float64(5), path(r.obj(t), ext.ID, "level"))

	r = h.do(t, http.MethodPatch, "/Users/"+id, patchOp(op("replace", ext.ID+":badge", "B-2")))
	mustStatus(t, r, http.StatusBadRequest)
	require.Equal(t, "mutability", r.obj(t)["scimType"])
	r = h.do(t, http.MethodPut, "/Users/"+id, map[string]any{"schemas": []string{userSchema, ext.ID},
		"userName": "hr", ext.ID: map[string]any{"badge": "B-3"}})
	mustStatus(t, r, http.StatusBadRequest)
	require.Equal(t, "mutability", r.obj(t)["scimType"])
	r = h.do(t, http.MethodPut, "/Users/"+id, map[string]any{"schemas": []string{userSchema, ext.ID},
		"userName": "hr", ext.ID: map[string]any{"badge": "B-1"}})
	mustStatus(t, r, http.StatusOK)

	filter := url.QueryEscape(ext.ID + ":level gt 1")
	list := h.do(t, http.MethodGet, "/Users?filter="+filter, nil)
	require.Equal(t, float64(0), list.obj(t)["totalResults"], "the PUT removed level")

	asked := h.do(t, http.MethodGet, "/Users/"+id+"?attributes="+ext.ID+":pin", nil)
	require.NotContains(t, string(asked.body), "0000", "returned never means never")
}

func TestParseExtension(t *testing.T) {
	good := `{"id": "urn:example:params:scim:schemas:extension:acme:2.0:User", "name": "Acme",
		"attributes": [{"name": "costCenter", "type": "string", "multiValued": false,
		"required": false, "caseExact": false, "mutability": "readWrite",
		"returned": "default", "uniqueness": "none"}]}`
	s, err := scim.ParseExtension([]byte(good))
	require.NoError(t, err)
	require.Equal(t, "urn:example:params:scim:schemas:extension:acme:2.0:User", s.ID)
	require.Len(t, s.Attributes, 1)

	for _, bad := range []string{
		`{`,
		`{"id": "acme", "attributes": [{"name": "a", "type": "string"}]}`,
		`{"id": "urn:x", "attributes": []}`,
		`{"id": "urn:x", "attributes": [{"name": "a", "type": "colour"}]}`,
	} {
		_, err := scim.ParseExtension([]byte(bad))
		require.Error(t, err, "%s", bad)
	}
}
