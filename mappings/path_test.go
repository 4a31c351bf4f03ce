package mappings

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// decodeUser decodes SCIM JSON the way the SCIM server stores users.
func decodeUser(t testing.TB, doc string) map[string]any {
	t.Helper()
	var u map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &u))
	return u
}

const pathUser = `{
  "userName": "ada@example.com",
  "Name": {"GivenName": "Ada", "familyName": "Lovelace"},
  "title": "  ",
  "active": "True",
  "emails": [
    {"value": "ada@home.example", "type": "home"},
    {"value": "ada@work.example", "type": "Work"},
    {"value": "lovelace@work.example", "type": "work", "primary": "true"},
    {"value": "", "type": "other", "primary": true}
  ],
  "phoneNumbers": [
    {"value": "+1 555 0100", "type": "work"},
    {"value": "+1 555 0199", "type": "mobile"}
  ],
  "x509Certificates": [],
  "roles": ["plain", "list"],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "department": "Engineering",
    "manager": {"value": "m-1", "displayName": "Charles"}
  },
  "urn:example:params:scim:schemas:extension:acme:1.0:user": {
    "costCode": 4711,
    "badges": [{"value": "b1", "kind": "team", "rank": 3},
               {"value": "b2", "kind": "site", "rank": 9}]
  }
}`

func TestPathResolution(t *testing.T) {
	user := decodeUser(t, pathUser)
	cases := []struct {
		path string
		one  any
		all  []any
	}{
		{"userName", "ada@example.com", []any{"ada@example.com"}},
		{"USERNAME", "ada@example.com", nil},
		{"name.givenName", "Ada", []any{"Ada"}},
		{"name.middleName", nil, []any{}},
		// The primary entry wins; an empty primary entry is skipped.
		{"emails.value", "lovelace@work.example",
			[]any{"ada@home.example", "ada@work.example", "lovelace@work.example"}},
		{"emails", "lovelace@work.example", nil},
		{`emails[type eq "work"].value`, "lovelace@work.example",
			[]any{"ada@work.example", "lovelace@work.example"}},
		{`emails[type eq "home"].value`, "ada@home.example", nil},
		{`emails[type eq "home" or type eq "work"].type`, "work", nil},
		{`emails[not (type eq "work")].value`, "ada@home.example", nil},
		{`emails[value ew "@work.example" and value sw "ada"].value`, "ada@work.example", nil},
		{`emails[value co "LOVE"].value`, "lovelace@work.example", nil},
		{`emails[primary eq true].value`, "lovelace@work.example", nil},
		{`emails[primary pr].value`, "lovelace@work.example", nil},
		{`emails[type eq "fax"].value`, nil, []any{}},
		{`phoneNumbers[type eq "mobile"].value`, "+1 555 0199", nil},
		{"x509Certificates.value", nil, []any{}},
		{"roles", "plain", []any{"plain", "list"}},
		{"title", "  ", nil},
		{"active", "True", nil},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Engineering", nil},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "m-1", nil},
		{"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "Lovelace", nil},
		{acmeURN + ":costCode", 4711.0, nil},
		{acmeURN + `:badges[kind eq "site"].value`, "b2", nil},
		{acmeURN + `:badges[rank gt 5].value`, "b2", nil},
		{acmeURN + `:badges[rank le 3].kind`, "team", nil},
		{"urn:example:absent:1.0:User:x", nil, []any{}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			p, err := parsePath(tc.path)
			require.NoError(t, err)
			require.Equal(t, tc.one, p.one(user), "one")
			if tc.all != nil {
				require.Equal(t, tc.all, p.all(user, []any{}), "all")
			}
		})
	}
}

func TestPathExplain(t *testing.T) {
	user := decodeUser(t, pathUser)
	cases := map[string]string{
		"nickName":        "the user has no nickName",
		"name.middleName": "the user has no name.middleName",
		`emails[type eq "fax"].value`: "no entry of the user's emails matches " +
			`[type eq "fax"] with a value`,
		"x509Certificates.value":              "the user's x509Certificates is an empty list",
		"ims.value":                           "the user has no ims",
		"urn:example:other:1.0:User:costCode": "the user has no urn:example:other:1.0:User extension",
		"title":                               "the user's title is empty",
	}
	for path, want := range cases {
		p, err := parsePath(path)
		require.NoError(t, err)
		require.Equal(t, want, p.explain(user), path)
	}
}

func TestPathSyntaxErrors(t *testing.T) {
	for _, bad := range []string{"", "  ", "a b", "name.givenName.x", "emails[type eq]",
		`emails[type eq "a"][x eq "b"]`, "name..x", "[x]"} {
		_, err := parsePath(bad)
		require.Error(t, err, bad)
	}
}

func TestLookupKeyIsDeterministic(t *testing.T) {
	m := map[string]any{"TITLE": 1, "Title": 2, "tItle": 3}
	for range 50 {
		v, ok := lookupKey(m, "title")
		require.True(t, ok)
		require.Equal(t, 1, v, "the smallest of the keys equal but for case wins")
	}
	v, ok := lookupKey(map[string]any{"title": 4, "Title": 5}, "title")
	require.True(t, ok)
	require.Equal(t, 4, v, "an exact match wins")
}

func TestCanonicalUser(t *testing.T) {
	dir := DefaultDirectory()
	user := decodeUser(t, `{"UserName": "a", "userName": "b", "NAME": {"givenname": "Ada"},
		"emails": [{"Value": "x@y.z", "TYPE": "work"}], "custom": {"Inner": 1},
		"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"Department": "Eng"}}`)
	got := dir.canonicalUser(user)
	require.Equal(t, decodeUser(t, `{"userName": "b", "name": {"givenName": "Ada"},
		"emails": [{"value": "x@y.z", "type": "work"}], "custom": {"Inner": 1},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng"}}`), got)

	canonical := decodeUser(t, `{"userName": "b", "name": {"givenName": "Ada"}}`)
	same := dir.canonicalUser(canonical)
	same["marker"] = true
	require.Contains(t, canonical, "marker", "a canonical user is not copied")
}
