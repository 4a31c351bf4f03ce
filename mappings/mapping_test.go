package mappings

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMappingForms(t *testing.T) {
	m, err := ParseMapping([]byte(`
app: zoho-crm
fields:
  first_name: name.givenName
  last_name: {attribute: name.familyName}
  role: {value: 4150868000000026005123}
  profile: {value: "4150868000000026011"}
  alias:
    expression: lower(user.userName)
  website:
  associated: {value: [1, "two", true, 2.5]}
tables:
  roles:
    Sales: "4150868000000026005"
    42: 7
`))
	require.NoError(t, err)
	require.Equal(t, "zoho-crm", m.App)
	want := map[string]Source{
		"first_name": {Attribute: "name.givenName"},
		"last_name":  {Attribute: "name.familyName"},
		// An id longer than a float64 can hold keeps every digit.
		"role":       {Value: json.Number("4150868000000026005123")},
		"profile":    {Value: "4150868000000026011"},
		"alias":      {Expression: "lower(user.userName)"},
		"associated": {Value: []any{json.Number("1"), "two", true, json.Number("2.5")}},
	}
	require.Equal(t, want, m.Fields, "a field with no value (website) is unmapped")
	require.Equal(t, map[string]map[string]any{
		"roles": {"Sales": "4150868000000026005", "42": json.Number("7")},
	}, m.Tables)
}

func TestParseMappingErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"empty", ``, "the file is empty"},
		{"not a map", `- a`, "a mapping is a YAML map"},
		{"unknown top key", "app: x\nfield: {}", `unknown key "field"`},
		{"unknown source key", "fields:\n  a: {attr: x}", `unknown key "attr"`},
		{"two sources", "fields:\n  a: {attribute: x, value: 1}", "exactly one of"},
		{"bare number", "fields:\n  a: 12", "write {value: 12}"},
		{"null value", "fields:\n  a: {value: null}", "must not be null"},
		{"map value", "fields:\n  a: {value: {b: 1}}", "expected a string, number or boolean"},
		{"duplicate field", "fields:\n  a: x\n  a: y", "mapped twice"},
		{"empty expression", "fields:\n  a: {expression: ''}", "non-empty string"},
		{"table not a map", "tables:\n  t: [1]", "must map keys to values"},
		{"bad yaml", "fields: [", "parse mapping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMapping([]byte(tc.doc))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestMappingRoundTrip(t *testing.T) {
	src := []byte(`app: zoho-crm
fields:
  alias:
    expression: 'coalesce(attr("nickName"), "x: y")'
  email: emails[type eq "work"].value
  first_name: name.givenName
  role: {value: "4150868000000026005"}
  teams: {value: [1, "true", false]}
  zip: {value: 12345678901234567890}
tables:
  roles:
    Sales: "1"
    Support: 2
`)
	m, err := ParseMapping(src)
	require.NoError(t, err)
	out, err := MarshalMapping(m)
	require.NoError(t, err)
	require.Equal(t, string(src), string(out), "parse then marshal gives the same YAML")

	again, err := ParseMapping(out)
	require.NoError(t, err)
	require.Equal(t, m, again)

	data, err := json.Marshal(m)
	require.NoError(t, err)
	var fromJSON Mapping
	require.NoError(t, json.Unmarshal(data, &fromJSON))
	require.Equal(t, m.Fields, fromJSON.Fields, "JSON carries the same sources")
}

func TestSourceJSON(t *testing.T) {
	var m Mapping
	err := json.Unmarshal([]byte(`{"app":"scim","fields":{
		"userName":"userName",
		"externalId":{"attribute":"id"},
		"title":{"value":12345678901234567890},
		"active":{"expression":"true"}}}`), &m)
	require.NoError(t, err)
	require.Equal(t, map[string]Source{
		"userName":   {Attribute: "userName"},
		"externalId": {Attribute: "id"},
		"title":      {Value: json.Number("12345678901234567890")},
		"active":     {Expression: "true"},
	}, m.Fields)

	for _, bad := range []string{`""`, `{"attribute":"a","value":1}`, `{}`, `{"value":{"a":1}}`,
		`{"valeu":1}`, `7`} {
		var s Source
		require.Error(t, json.Unmarshal([]byte(bad), &s), bad)
	}
}

func TestCloneIsDeep(t *testing.T) {
	m := Mapping{App: "a", Fields: map[string]Source{"x": {Value: []any{"1"}}},
		Tables: map[string]map[string]any{"t": {"k": "v"}}}
	c := m.Clone()
	c.Fields["x"].Value.([]any)[0] = "2"
	c.Fields["y"] = Source{Attribute: "title"}
	c.Tables["t"]["k"] = "w"
	require.Equal(t, "1", m.Fields["x"].Value.([]any)[0])
	require.NotContains(t, m.Fields, "y")
	require.Equal(t, "v", m.Tables["t"]["k"])
}
