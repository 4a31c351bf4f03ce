package attr

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// bjensen is RFC 7643 section 8.2's user, trimmed, with the enterprise
// extension, a password, a request-only attribute and a key no schema
// defines.
const bjensen = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:example:params:scim:schemas:extension:acme:1.0"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "701984",
  "userName": "bjensen@example.com",
  "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen",
    "givenName": "Barbara", "middleName": "Jane"},
  "displayName": "Babs Jensen",
  "active": true,
  "password": "t1meMa$heen",
  "emails": [
    {"value": "bjensen@example.com", "type": "work", "primary": true},
    {"value": "babs@jensen.org", "type": "home"}],
  "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
  "internalFlag": "do not leak",
  "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
    "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3694e05e9dff591\""},
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984", "department": "Tour Operations",
    "manager": {"value": "26118915", "displayName": "John Smith"}},
  "urn:example:params:scim:schemas:extension:acme:1.0": {"badge": 7, "secret": "s3"}
}`

func TestSelect(t *testing.T) {
	s := testSchemas(t)
	always := `"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
	  "urn:example:params:scim:schemas:extension:acme:1.0"],
	  "id": "2819c223-7f76-453a-919d-413861904646"`
	full := decode(t, bjensen)
	delete(full, "password")
	delete(full, "internalFlag")
	delete(full[custom].(map[string]any), "secret")

	tests := []struct {
		name                string
		attributes, exclude []string
		want                map[string]any
	}{
		{name: "defaults", want: full},
		{name: "one attribute", attributes: []string{"userName"},
			want: decode(t, `{`+always+`, "userName": "bjensen@example.com"}`)},
		{name: "case-insensitive and spaced", attributes: []string{" USERNAME ", "DisplayName"},
			want: decode(t, `{`+always+`, "userName": "bjensen@example.com",
				"displayName": "Babs Jensen"}`)},
		{name: "sub-attribute", attributes: []string{"name.givenName"},
			want: decode(t, `{`+always+`, "name": {"givenName": "Barbara"}}`)},
		{name: "sub-attribute of multi-valued", attributes: []string{"emails.value"},
			want: decode(t, `{`+always+`, "emails": [{"value": "bjensen@example.com"},
				{"value": "babs@jensen.org"}]}`)},
		{name: "two sub-attributes", attributes: []string{"name.givenName", "name.familyName"},
			want: decode(t, `{`+always+`, "name": {"givenName": "Barbara",
				"familyName": "Jensen"}}`)},
		{name: "whole complex", attributes: []string{"name"},
			want: decode(t, `{`+always+`, "name": {"formatted": "Ms. Barbara J Jensen, III",
				"familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane"}}`)},
		{name: "whole extension", attributes: []string{enterprise},
			want: decode(t, `{`+always+`, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
				"employeeNumber": "701984", "department": "Tour Operations",
				"manager": {"value": "26118915", "displayName": "John Smith"}}}`)},
		{name: "extension attribute", attributes: []string{enterprise + ":manager.value"},
			want: decode(t, `{`+always+`,
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
				"manager": {"value": "26118915"}}}`)},
		{name: "request-only attribute named", attributes: []string{custom + ":secret"},
			want: decode(t, `{`+always+`,
				"urn:example:params:scim:schemas:extension:acme:1.0": {"secret": "s3"}}`)},
		{name: "never is never", attributes: []string{"password", "userName"},
			want: decode(t, `{`+always+`, "userName": "bjensen@example.com"}`)},
		{name: "unknown names ignored", attributes: []string{"nope", "emails[type eq \"work\"]"},
			want: decode(t, `{`+always+`}`)},
		{name: "always survives exclusion", exclude: []string{"id", "schemas"}, want: full},
		{name: "exclude meta", exclude: []string{"meta"}, want: without(full, "meta")},
		{name: "exclude sub-attribute", exclude: []string{"name.givenName", "emails.type"},
			want: func() map[string]any {
				m := decode(t, bjensen)
				delete(m, "password")
				delete(m, "internalFlag")
				delete(m[custom].(map[string]any), "secret")
				delete(m["name"].(map[string]any), "givenName")
				for _, e := range m["emails"].([]any) {
					delete(e.(map[string]any), "type")
				}
				return m
			}()},
		{name: "exclude extension", exclude: []string{enterprise, custom},
			want: without(full, enterprise, custom)},
		{name: "attributes then exclusions", attributes: []string{"name"},
			exclude: []string{"name.middleName", "name.formatted"},
			want: decode(t, `{`+always+`, "name": {"familyName": "Jensen",
				"givenName": "Barbara"}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := decode(t, bjensen)
			got := Select(res, s, User, tt.attributes, tt.exclude)
			require.Equal(t, tt.want, got)
			require.Equal(t, decode(t, bjensen), res, "input untouched")
		})
	}
}

func TestSelectSharesNothing(t *testing.T) {
	res := decode(t, bjensen)
	got := Select(res, testSchemas(t), User, nil, nil)
	got["emails"].([]any)[0].(map[string]any)["value"] = "changed"
	got["name"].(map[string]any)["givenName"] = "changed"
	got["schemas"].([]any)[0] = "changed"
	require.Equal(t, decode(t, bjensen), res)
}

func TestSelectGroup(t *testing.T) {
	s := testSchemas(t)
	group := decode(t, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
		"id": "e9e30dba", "displayName": "Tour Guides", "meta": {"resourceType": "Group"},
		"members": [{"value": "2819c223", "display": "Babs Jensen"}]}`)

	got := Select(group, s, Group, nil, []string{"members"})
	require.Equal(t, decode(t, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
		"id": "e9e30dba", "displayName": "Tour Guides", "meta": {"resourceType": "Group"}}`), got)

	got = Select(group, s, Group, []string{"members.value"}, nil)
	require.Equal(t, decode(t, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
		"id": "e9e30dba", "members": [{"value": "2819c223"}]}`), got)
}

func TestSelectOddData(t *testing.T) {
	s := testSchemas(t)
	res := decode(t, `{"id": "x", "name": "not an object", "emails": [1, null, {"value": "a"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "not an object",
		"addresses": {"locality": "single"}}`)
	got := Select(res, s, User, nil, nil)
	require.Equal(t, decode(t, `{"id": "x", "emails": [{"value": "a"}],
		"addresses": [{"locality": "single"}]}`), got)
	require.Equal(t, map[string]any{}, Select(nil, s, User, nil, nil))

	for range 20 { // map order varies: the canonical spelling must win every time
		res = decode(t, `{"USERNAME": "b", "userName": "a", "Name": {"GIVENNAME": "g"},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"DEPARTMENT": "d"}}`)
		got = Select(res, s, User, nil, nil)
		require.Equal(t, decode(t, `{"userName": "a", "name": {"givenName": "g"},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "d"}}`), got)
	}
}

func without(m map[string]any, keys ...string) map[string]any {
	out := copyValue(m).(map[string]any)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
