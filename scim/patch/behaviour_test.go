package patch

import (
	"encoding/json"
	"testing"

	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/stretchr/testify/require"
)

func TestApplyPrimary(t *testing.T) {
	two := `{"schemas": ["` + coreUser + `"], "id": "1", "userName": "u", "emails": [
		{"value": "w@x.org", "type": "work", "primary": true}, {"value": "h@x.org", "type": "home"}]}`
	emails := func(list string) map[string]any {
		m := decode(t, two)
		m["emails"] = raw(t, list)
		return m
	}
	runCases(t, []patchCase{
		{name: "a new primary value demotes the old", res: two,
			ops: `[{"op": "add", "path": "emails", "value": {"value": "o@x.org", "type": "other",
				"primary": true}}]`,
			want: emails(`[{"value": "w@x.org", "type": "work", "primary": false},
				{"value": "h@x.org", "type": "home"},
				{"value": "o@x.org", "type": "other", "primary": true}]`)},
		{name: "primary set through a filter", res: two,
			ops: `[{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]`,
			want: emails(`[{"value": "w@x.org", "type": "work", "primary": false},
				{"value": "h@x.org", "type": "home", "primary": true}]`)},
		{name: "primary derived from the filter", res: two,
			ops: `[{"op": "add", "path": "emails[type eq \"other\" and primary eq true].value",
				"value": "o@x.org"}]`,
			want: emails(`[{"value": "w@x.org", "type": "work", "primary": false},
				{"value": "h@x.org", "type": "home"},
				{"value": "o@x.org", "type": "other", "primary": true}]`)},
		{name: "re-adding the primary value changes nothing", res: two,
			ops: `[{"op": "add", "path": "emails", "value": [{"value": "W@X.ORG", "type": "work",
				"primary": true}]}]`,
			want: decode(t, two)},
		{name: "adding a held value fills in and promotes it", res: two,
			ops: `[{"op": "add", "path": "emails", "value": [{"value": "h@x.org", "primary": true,
				"display": "Home"}]}]`,
			want: emails(`[{"value": "w@x.org", "type": "work", "primary": false},
				{"value": "h@x.org", "type": "home", "primary": true, "display": "Home"}]`)},
		{name: "same value with another type is another value", res: two,
			ops: `[{"op": "add", "path": "emails", "value": [{"value": "w@x.org", "type": "home"}]}]`,
			want: emails(`[{"value": "w@x.org", "type": "work", "primary": true},
				{"value": "h@x.org", "type": "home"}, {"value": "w@x.org", "type": "home"}]`)},
		{name: "filter matching two values cannot make both primary", res: two,
			ops:     `[{"op": "replace", "path": "emails[value ew \"x.org\"].primary", "value": true}]`,
			errType: "invalidValue", errSub: "only one value"},
	})
}

func TestApplyValues(t *testing.T) {
	bare := `{"schemas": ["` + coreUser + `"], "id": "1", "userName": "u"}`
	user := func(extra string) map[string]any {
		m := decode(t, bare)
		for k, v := range decode(t, extra) {
			m[k] = v
		}
		return m
	}
	runCases(t, []patchCase{
		{name: "numeric strings and json numbers", res: bare,
			ops: `[{"op": "add", "value": {"` + custom + `": {"badge": "7", "score": 2.5,
				"hired": "2015-10-10T14:38:21.8617979-07:00"}}}]`,
			want: user(`{"schemas": ["` + coreUser + `", "` + custom + `"], "` + custom + `": {
				"badge": 7, "score": 2.5, "hired": "2015-10-10T14:38:21.8617979-07:00"}}`)},
		{name: "custom extension URN ending in a version, by path", res: bare,
			ops: `[{"op": "add", "path": "` + custom + `", "value": {"tags": ["Blue", "blue", "green"]}}]`,
			want: user(`{"schemas": ["` + coreUser + `", "` + custom + `"],
				"` + custom + `": {"tags": ["Blue", "green"]}}`)},
		{name: "remove a simple value by filter",
			res: `{"id": "1", "userName": "u", "` + custom + `": {"tags": ["Blue", "green"]}}`,
			ops: `[{"op": "remove", "path": "` + custom + `:tags[value eq \"BLUE\"]"}]`,
			want: decode(t, `{"id": "1", "userName": "u", "schemas": ["`+coreUser+`", "`+custom+`"],
				"`+custom+`": {"tags": ["green"]}}`)},
		{name: "immutable may be set once", res: bare,
			ops: `[{"op": "add", "path": "` + custom + `:costCode", "value": "CC-1"},
				{"op": "replace", "path": "` + custom + `:costCode", "value": "CC-1"}]`,
			want: user(`{"schemas": ["` + coreUser + `", "` + custom + `"],
				"` + custom + `": {"costCode": "CC-1"}}`)},
		{name: "write-only password is stored", res: bare,
			ops:  `[{"op": "replace", "path": "password", "value": "t1meMa$heen"}]`,
			want: user(`{"password": "t1meMa$heen"}`)},
		{name: "replace with null unassigns", res: `{"id": "1", "userName": "u", "title": "x"}`,
			ops:  `[{"op": "replace", "path": "title", "value": null}]`,
			want: decode(t, `{"id": "1", "userName": "u"}`)},
		{name: "removing an absent attribute succeeds", res: bare,
			ops:  `[{"op": "remove", "path": "title"}, {"op": "remove", "path": "name.givenName"}]`,
			want: decode(t, bare)},
		{name: "keys are canonicalised", res: `{"id": "1", "USERNAME": "u", "Name": {"GivenName": "a"}}`,
			ops: `[{"op": "replace", "path": "username", "value": "v"}, {"op": "replace",
				"path": "name.givenName", "value": "b"}]`,
			want: decode(t, `{"id": "1", "userName": "v", "name": {"givenName": "b"}}`)},
		{name: "removing the last sub-attribute removes the attribute",
			res:  `{"id": "1", "userName": "u", "name": {"givenName": "a"}}`,
			ops:  `[{"op": "remove", "path": "name.givenName"}]`,
			want: decode(t, `{"id": "1", "userName": "u"}`)},
		{name: "sub-attribute of every value",
			res: `{"id": "1", "userName": "u", "emails": [{"value": "a@x.org"}, {"value": "b@x.org",
				"type": "home"}]}`,
			ops: `[{"op": "replace", "path": "emails.type", "value": "work"}]`,
			want: decode(t, `{"id": "1", "userName": "u", "emails": [{"value": "a@x.org", "type": "work"},
				{"value": "b@x.org", "type": "work"}]}`)},
		{name: "sub-attribute of a multi-valued attribute with no values", res: bare,
			ops:  `[{"op": "add", "path": "emails.value", "value": "a@x.org"}]`,
			want: user(`{"emails": [{"value": "a@x.org"}]}`)},
		{name: "remove a sub-attribute through a filter",
			res: `{"id": "1", "userName": "u", "addresses": [{"type": "work", "locality": "Paris",
				"country": "FR"}]}`,
			ops: `[{"op": "remove", "path": "addresses[type eq \"work\"].locality"}]`,
			want: decode(t, `{"id": "1", "userName": "u", "addresses": [{"type": "work",
				"country": "FR"}]}`)},
		{name: "add merges into the matched value",
			res: `{"id": "1", "userName": "u", "addresses": [{"type": "work", "locality": "Paris"}]}`,
			ops: `[{"op": "add", "path": "addresses[type eq \"work\"]", "value": {"country": "FR"}}]`,
			want: decode(t, `{"id": "1", "userName": "u", "addresses": [{"type": "work",
				"locality": "Paris", "country": "FR"}]}`)},
		{name: "replace of a complex attribute keeps unnamed sub-attributes",
			res:  `{"id": "1", "userName": "u", "name": {"givenName": "a", "familyName": "b"}}`,
			ops:  `[{"op": "replace", "path": "name", "value": {"givenName": "c"}}]`,
			want: decode(t, `{"id": "1", "userName": "u", "name": {"givenName": "c", "familyName": "b"}}`)},
		{name: "whole extension replaced, then removed",
			res: `{"id": "1", "userName": "u", "schemas": ["` + coreUser + `", "` + enterprise + `"],
				"` + enterprise + `": {"department": "A"}}`,
			ops: `[{"op": "replace", "value": {"` + enterprise + `": {"department": "B", "division": "C"}}},
				{"op": "remove", "path": "` + enterprise + `"}]`,
			want: decode(t, `{"id": "1", "userName": "u", "schemas": ["`+coreUser+`"]}`)},
		{name: "echoing readOnly values is harmless",
			res: `{"schemas": ["` + coreUser + `"], "id": "1", "userName": "u",
				"groups": [{"value": "g", "display": "G"}]}`,
			ops: `[{"op": "replace", "value": {"id": "1", "groups": [{"value": "g", "display": "G"}],
				"schemas": ["` + coreUser + `"]}}]`,
			want: decode(t, `{"schemas": ["`+coreUser+`"], "id": "1", "userName": "u",
				"groups": [{"value": "g", "display": "G"}]}`)},
		{name: "no schemas list: one is made when an extension appears",
			res: `{"id": "1", "userName": "u"}`,
			ops: `[{"op": "add", "path": "department", "value": "R&D"}]`,
			want: decode(t, `{"id": "1", "userName": "u",
				"schemas": ["`+coreUser+`", "`+enterprise+`"], "`+enterprise+`": {"department": "R&D"}}`)},
		{name: "empty operations list", res: bare, ops: `[]`, want: decode(t, bare)},
		{name: "writes to schemas are ignored", res: bare,
			ops: `[{"op": "replace", "path": "schemas", "value": ["urn:x"]},
				{"op": "remove", "path": "schemas"}]`,
			want: decode(t, bare)},
		{name: "removing an extension takes undefined keys with it",
			res:  `{"id": "1", "userName": "u", "` + enterprise + `": {"department": "A", "x-legacy": 1}}`,
			ops:  `[{"op": "remove", "path": "` + enterprise + `"}]`,
			want: decode(t, `{"id": "1", "userName": "u"}`)},
	})
}

func TestApplyDoesNotShareWithInput(t *testing.T) {
	res := decode(t, baseUser)
	got, err := Apply(res, decodeOps(t, `[{"op": "replace", "path": "title", "value": "x"}]`),
		testSchemas(), attr.User)
	require.NoError(t, err)
	got["emails"].([]any)[0].(map[string]any)["value"] = "changed"
	got["name"].(map[string]any)["givenName"] = "changed"
	require.Equal(t, decode(t, baseUser), res)
}

func TestApplyAcceptsGoNumbers(t *testing.T) {
	ops := []Operation{{Op: "add", Path: custom + ":badge", Value: json.Number("12")},
		{Op: "add", Path: custom + ":score", Value: int64(3)}}
	got, err := Apply(decode(t, baseUser), ops, testSchemas(), attr.User)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"badge": 12.0, "score": 3.0}, got[custom])
}

func TestChanged(t *testing.T) {
	s := testSchemas()
	tests := []struct {
		name string
		ops  string
		want bool
	}{
		{"same value", `[{"op": "replace", "path": "userName", "value": "bjensen@example.com"}]`, false},
		{"same value other case", `[{"op": "Replace", "path": "active", "value": "True"}]`, false},
		{"retried member-style add", `[{"op": "add", "path": "emails",
			"value": [{"value": "bjensen@example.com", "type": "work"}]}]`, false},
		{"retried removal", `[{"op": "remove", "path": "emails[type eq \"home\"]"}]`, false},
		{"add then remove", `[{"op": "add", "path": "title", "value": "x"}, {"op": "remove",
			"path": "title"}]`, false},
		{"real change", `[{"op": "replace", "path": "name.givenName", "value": "Babs"}]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := decode(t, baseUser)
			after, err := Apply(before, decodeOps(t, tt.ops), s, attr.User)
			require.NoError(t, err)
			require.Equal(t, tt.want, Changed(before, after))
		})
	}
	require.False(t, Changed(map[string]any{"n": 1.0}, map[string]any{"n": json.Number("1")}))
	require.True(t, Changed(map[string]any{"a": []any{"x"}}, map[string]any{"a": []any{"x", "y"}}))
	require.True(t, Changed(map[string]any{"a": nil}, map[string]any{}))
}
