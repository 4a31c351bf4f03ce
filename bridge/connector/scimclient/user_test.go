package scimclient

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		field   string
		want    attrPath
		wantErr bool
	}{
		{field: "userName", want: attrPath{attr: "userName"}},
		{field: "name.givenName", want: attrPath{attr: "name", sub: "givenName"}},
		{field: `emails[type eq "work"].value`,
			want: attrPath{attr: "emails", multi: true, typ: "work", sub: "value"}},
		{field: `phoneNumbers[Type EQ "mobile"]`,
			want: attrPath{attr: "phoneNumbers", multi: true, typ: "mobile", sub: "value"}},
		{field: `addresses[type eq "a \"b\""].locality`,
			want: attrPath{attr: "addresses", multi: true, typ: `a "b"`, sub: "locality"}},
		{field: enterpriseSchema + ":department",
			want: attrPath{schema: enterpriseSchema, attr: "department"}},
		{field: enterpriseSchema + ":manager.value",
			want: attrPath{schema: enterpriseSchema, attr: "manager", sub: "value"}},
		{field: enterpriseSchema + ":manager.$ref",
			want: attrPath{schema: enterpriseSchema, attr: "manager", sub: "$ref"}},
		{field: userSchema + ":userName", want: attrPath{attr: "userName"}},
		{field: "emails.value", want: attrPath{attr: "emails", multi: true, sub: "value"}},
		{field: "phoneNumbers", want: attrPath{attr: "phoneNumbers", multi: true, sub: "value"}},
		{field: "", wantErr: true},
		{field: "urn:", wantErr: true},
		{field: "name.given.name", wantErr: true},
		{field: `emails[value eq "x"].value`, wantErr: true},
		{field: `emails[type eq "work"`, wantErr: true},
		{field: `emails[type eq "work"]value`, wantErr: true},
		{field: `emails[type eq "work"].type`, wantErr: true},
		{field: "first name", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			got, err := parsePath(tt.field)
			if tt.wantErr {
				require.Error(t, err, "parse %q: got %+v, want an error", tt.field, got)
				return
			}
			require.NoError(t, err, "parse %q", tt.field)
			require.Equal(t, tt.want, got, "parse %q: got %+v, want %+v", tt.field, got, tt.want)
		})
	}
}

func TestNewUserRefusesMixedForms(t *testing.T) {
	tests := []connector.Fields{
		{"name": "x", "name.givenName": "y"},
		{"urn:x:custom:foo.value": "a", `urn:x:custom:foo[type eq "work"].value`: "b"},
		{"urn:x:custom:foo": "a", `urn:x:custom:foo[type eq "work"].value`: "b"},
		{"bad field": "x"},
	}
	for _, fields := range tests {
		u, err := newUser(fields)
		require.Error(t, err, "fields %v: got %+v, want an error", fields, u)
	}
}

// jsonOf renders v as JSON so documents compare regardless of Go types.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestDocument(t *testing.T) {
	u, err := newUser(connector.Fields{
		"userName":                           "ada",
		"name.givenName":                     "Ada",
		"name.middleName":                    nil,
		`emails[type eq "home"].value`:       "ada@home.test",
		`emails[type eq "work"].value`:       "ada@work.test",
		`phoneNumbers[type eq "mobile"]`:     "+44 20 0000",
		`phoneNumbers[type eq "work"].value`: nil,
		"title":                              nil,
		enterpriseSchema + ":department":     "R&D",
		enterpriseSchema + ":manager.value":  "m-1",
	})
	require.NoError(t, err)

	want := `{"active":true,"emails":[` +
		`{"primary":true,"type":"work","value":"ada@work.test"},` +
		`{"type":"home","value":"ada@home.test"}],` +
		`"name":{"givenName":"Ada"},` +
		`"phoneNumbers":[{"primary":true,"type":"mobile","value":"+44 20 0000"}],` +
		`"schemas":["` + userSchema + `","` + enterpriseSchema + `"],` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":` +
		`{"department":"R\u0026D","manager":{"value":"m-1"}},` +
		`"userName":"ada"}`
	got := jsonOf(t, u.document())
	require.JSONEq(t, want, got, "document:\n got %s\nwant %s", got, want)
}

func TestDocumentExplicitPrimaryAndActive(t *testing.T) {
	u, err := newUser(connector.Fields{
		"userName":                       "ada",
		"active":                         false,
		`emails[type eq "work"].value`:   "w@x",
		`emails[type eq "home"].value`:   "h@x",
		`emails[type eq "home"].primary`: true,
	})
	require.NoError(t, err)
	want := `{"active":false,"emails":[` +
		`{"type":"work","value":"w@x"},{"primary":true,"type":"home","value":"h@x"}],` +
		`"schemas":["` + userSchema + `"],"userName":"ada"}`
	require.JSONEq(t, want, jsonOf(t, u.document()))
}

func TestApplyToMerges(t *testing.T) {
	// As a server returned it: the extension, an unmanaged attribute and
	// read-only ones.
	doc := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(`{
		"schemas":["`+userSchema+`","`+enterpriseSchema+`"],
		"id":"u1","meta":{"resourceType":"User"},"groups":[{"value":"g1"}],
		"UserName":"old","active":false,"nickName":"kept",
		"name":{"givenName":"Old","formatted":"Old Name"},
		"emails":[{"type":"work","value":"old@x"},{"type":"home","value":"h@x"}],
		"`+enterpriseSchema+`":{"department":"Old"}}`), &doc))

	u, err := newUser(connector.Fields{
		"userName":                       "new",
		"name.givenName":                 "New",
		"name.formatted":                 nil,
		`emails[type eq "work"].value`:   "new@x",
		enterpriseSchema + ":department": nil,
	})
	require.NoError(t, err)
	u.applyTo(doc)

	want := `{"schemas":["` + userSchema + `"],"id":"u1",
		"userName":"new","active":true,"nickName":"kept",
		"name":{"givenName":"New"},
		"emails":[{"type":"work","value":"new@x","primary":true}]}`
	require.JSONEq(t, want, jsonOf(t, doc))
}

func TestPatchOps(t *testing.T) {
	u, err := newUser(connector.Fields{
		"userName":                          "ada",
		"title":                             nil,
		"name.givenName":                    "Ada",
		"name.familyName":                   nil,
		`emails[type eq "work"].value`:      "w@x",
		`phoneNumbers[type eq "mobile"]`:    nil,
		enterpriseSchema + ":manager.value": "m-1",
	})
	require.NoError(t, err)
	want := `[
		{"op":"remove","path":"title"},
		{"op":"remove","path":"name.familyName"},
		{"op":"remove","path":"phoneNumbers"},
		{"op":"replace","path":"userName","value":"ada"},
		{"op":"replace","path":"name","value":{"givenName":"Ada"}},
		{"op":"replace","path":"emails","value":[{"primary":true,"type":"work","value":"w@x"}]},
		{"op":"replace","path":"` + enterpriseSchema + `:manager","value":{"value":"m-1"}},
		{"op":"replace","path":"active","value":true}]`
	got := jsonOf(t, u.patchOps())
	require.JSONEq(t, want, got, "patch ops:\n got %s\nwant %s", got, want)
}

func TestFilterFor(t *testing.T) {
	tests := []struct{ field, value, want string }{
		{"userName", "ada", `userName eq "ada"`},
		{"emails.value", `a"b@x`, `emails.value eq "a\"b@x"`},
		{`emails[type eq "work"].value`, "a@x", `emails.value eq "a@x"`},
		{"externalId", "e-1", `externalId eq "e-1"`},
		{enterpriseSchema + ":employeeNumber", "7", enterpriseSchema + `:employeeNumber eq "7"`},
	}
	for _, tt := range tests {
		got, err := filterFor(tt.field, tt.value)
		require.NoError(t, err, "filter for %s", tt.field)
		require.Equal(t, tt.want, got, "filter for %s: got %s, want %s", tt.field, got, tt.want)
	}
}

func TestMatchResults(t *testing.T) {
	sent := []bulkOp{
		{Method: "POST", BulkID: "op0", Path: "/Users"},
		{Method: "PATCH", Path: "/Users/a"},
		{Method: "DELETE", Path: "/Users/b"},
	}
	// Out of order, and the PATCH answer missing.
	answers := []bulkResult{
		{Method: "DELETE", Location: "https://x/scim/v2/Users/b", Status: json.RawMessage(`"204"`)},
		{Method: "POST", BulkID: "op0", Location: "/scim/v2/Users/new", Status: json.RawMessage(`201`)},
	}
	got := matchResults(sent, answers)
	require.Same(t, &answers[1], got[0], "create: got %+v", got[0])
	require.Nil(t, got[1], "patch: got %+v, want no answer", got[1])
	require.Same(t, &answers[0], got[2], "delete: got %+v", got[2])

	cl := &Client{}
	res := cl.result(connector.OpCreate, got[0])
	require.NoError(t, res.Err)
	require.Equal(t, "new", res.ID, "create id: got %q, want new", res.ID)
	res = cl.result(connector.OpUpdate, got[1])
	retry, _ := connector.Retryable(res.Err)
	require.True(t, retry, "missing answer: got %v, want a retryable error", res.Err)
}
