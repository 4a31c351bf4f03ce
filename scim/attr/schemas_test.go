package attr

import (
	"encoding/json"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/stretchr/testify/require"
)

const custom = "urn:example:params:scim:schemas:extension:acme:1.0"

// customSchema is an extension with one attribute of each simple type the
// built-in schemas lack.
func customSchema() schema.Schema {
	return schema.Schema{
		ID:   custom,
		Name: optional.NewString("Acme"),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{
				Name: "badge", Type: schema.AttributeTypeInteger(),
			})),
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{
				Name: "score", Type: schema.AttributeTypeDecimal(),
			})),
			schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{
				Name: "remote",
			})),
			schema.SimpleCoreAttribute(schema.SimpleDateTimeParams(schema.DateTimeParams{
				Name: "hired",
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name: "code", CaseExact: true,
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name: "secret", Returned: schema.AttributeReturnedRequest(),
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name: "tags", MultiValued: true,
			})),
		},
	}
}

func testSchemas(t *testing.T) *Schemas {
	t.Helper()
	s, err := New(UserType(customSchema()), GroupType())
	require.NoError(t, err)
	return s
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}

func TestResolve(t *testing.T) {
	s := testSchemas(t)
	tests := []struct {
		rt, path   string
		want       string // FullName of the leaf; "" for a whole extension
		extension  string
		wantErrSub string
	}{
		{rt: User, path: "userName", want: "userName"},
		{rt: "user", path: "USERNAME", want: "userName"},
		{rt: User, path: "name.FamilyName", want: "name.familyName"},
		{rt: User, path: "urn:ietf:params:scim:schemas:core:2.0:User:userName", want: "userName"},
		{rt: User, path: "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.givenName",
			want: "name.givenName"},
		{rt: User, path: enterprise + ":department", want: enterprise + ":department"},
		{rt: User, path: enterprise + ":manager.value", want: enterprise + ":manager.value"},
		{rt: User, path: "department", want: enterprise + ":department"},
		{rt: User, path: custom + ":badge", want: custom + ":badge"},
		{rt: User, path: `emails[type eq "work"].value`, want: "emails.value"},
		{rt: User, path: "id", want: "id"},
		{rt: User, path: "meta.created", want: "meta.created"},
		{rt: User, path: "META.LASTMODIFIED", want: "meta.lastModified"},
		{rt: User, path: "externalId", want: "externalId"},
		{rt: User, path: "schemas", want: "schemas"},
		{rt: Group, path: "members.$ref", want: "members.$ref"},
		{rt: Group, path: "displayName", want: "displayName"},
		{rt: User, path: enterprise, extension: enterprise},
		{rt: "Device", path: "id", want: "id"},

		{rt: User, path: "nickname.x", wantErrSub: `has no sub-attribute "x"`},
		{rt: User, path: "members", wantErrSub: `"members" is not an attribute of User`},
		{rt: Group, path: "userName", wantErrSub: "not an attribute of Group"},
		{rt: User, path: "urn:example:unknown:User:x", wantErrSub: "is not a schema of User"},
		{rt: User, path: enterprise + ":userName", wantErrSub: "not an attribute"},
		{rt: User, path: enterprise + `[x eq 1]`, wantErrSub: "names a schema"},
		{rt: "Device", path: "userName", wantErrSub: "not an attribute of this resource type"},
	}
	for _, tt := range tests {
		t.Run(tt.rt+" "+tt.path, func(t *testing.T) {
			p, err := ParsePath(tt.path)
			require.NoError(t, err)
			got, err := s.Resolve(tt.rt, p)
			if tt.wantErrSub != "" {
				requireScimError(t, err, scimerrors.ScimTypeInvalidPath, tt.wantErrSub)
				return
			}
			require.NoError(t, err)
			if tt.extension != "" {
				require.Nil(t, got.Attr)
				require.Equal(t, tt.extension, got.Extension)
				return
			}
			require.Equal(t, tt.want, got.Leaf().FullName())
		})
	}
}

func TestAttributeCharacteristics(t *testing.T) {
	s := testSchemas(t)
	tests := []struct {
		rt, path    string
		typ         Type
		multiValued bool
		caseExact   bool
		mutability  Mutability
		returned    Returned
		uniqueness  Uniqueness
	}{
		{User, "id", String, false, true, ReadOnly, Always, Server},
		{User, "schemas", String, true, false, Immutable, Always, None},
		{User, "userName", String, false, false, ReadWrite, ByDefault, Server},
		{User, "password", String, false, false, WriteOnly, Never, None},
		{User, "active", Boolean, false, false, ReadWrite, ByDefault, None},
		{User, "emails", Complex, true, false, ReadWrite, ByDefault, None},
		{User, "groups", Complex, true, false, ReadOnly, ByDefault, None},
		{User, "meta.created", DateTime, false, false, ReadOnly, ByDefault, None},
		{User, "profileUrl", Reference, false, true, ReadWrite, ByDefault, None},
		{User, enterprise + ":manager.displayName", String, false, false, ReadOnly, ByDefault, None},
		{User, custom + ":badge", Integer, false, false, ReadWrite, ByDefault, None},
		{User, custom + ":secret", String, false, false, ReadWrite, OnRequest, None},
		{Group, "members.value", String, false, false, Immutable, ByDefault, None},
		{Group, "externalId", String, false, true, ReadWrite, ByDefault, None},
	}
	for _, tt := range tests {
		t.Run(tt.rt+" "+tt.path, func(t *testing.T) {
			a, err := s.Lookup(tt.rt, tt.path)
			require.NoError(t, err)
			require.Equal(t, tt.typ, a.Type, "type")
			require.Equal(t, tt.multiValued, a.MultiValued, "multiValued")
			require.Equal(t, tt.caseExact, a.CaseExact, "caseExact")
			require.Equal(t, tt.mutability, a.Mutability, "mutability")
			require.Equal(t, tt.returned, a.Returned, "returned")
			require.Equal(t, tt.uniqueness, a.Uniqueness, "uniqueness")
		})
	}
}

func TestSchemasMetadata(t *testing.T) {
	s := testSchemas(t)
	require.True(t, s.Known("user"))
	require.False(t, s.Known("Device"))
	require.Equal(t, "urn:ietf:params:scim:schemas:core:2.0:User", s.CoreSchema(User))
	require.Equal(t, []string{enterprise, custom}, s.Extensions(User))
	require.Empty(t, s.Extensions(Group))
	urn, ok := s.Extension(User, "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER")
	require.True(t, ok)
	require.Equal(t, enterprise, urn)

	var names []string
	for _, a := range s.Attributes(Group) {
		names = append(names, a.Name)
	}
	require.Equal(t, []string{"schemas", "id", "externalId", "meta", "displayName", "members"},
		names)
}

func TestNewRejectsDuplicates(t *testing.T) {
	_, err := New(UserType(), UserType())
	require.ErrorContains(t, err, "declared twice")

	_, err = New(UserType(schema.ExtensionEnterpriseUser()))
	require.ErrorContains(t, err, "declared twice")
}

func TestValueIn(t *testing.T) {
	s := testSchemas(t)
	res := decode(t, `{"USERNAME": "bjensen", "title": null,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D"}}`)
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"userName", "bjensen", true},
		{"title", nil, false},
		{"nickName", nil, false},
		{enterprise + ":department", "R&D", true},
		{enterprise + ":division", nil, false},
		{custom + ":badge", nil, false},
	}
	for _, tt := range tests {
		a, err := s.Lookup(User, tt.path)
		require.NoError(t, err)
		got, ok := a.ValueIn(res)
		require.Equal(t, tt.ok, ok, tt.path)
		require.Equal(t, tt.want, got, tt.path)
	}
}

func TestEqual(t *testing.T) {
	s := testSchemas(t)
	lookup := func(path string) *Attribute {
		a, err := s.Lookup(User, path)
		require.NoError(t, err)
		return a
	}
	tests := []struct {
		path string
		x, y any
		want bool
	}{
		{"userName", "BJensen", "bjensen", true},
		{"id", "Abc", "abc", false},
		{"externalId", "abc", "abc", true},
		{custom + ":badge", 3.0, json.Number("3"), true},
		{custom + ":badge", 3.0, 4, false},
		{custom + ":hired", "2015-10-10T14:38:21-07:00", "2015-10-10T21:38:21Z", true},
		{custom + ":remote", true, true, true},
		{custom + ":remote", true, "true", false},
		{"emails", map[string]any{"value": "A@x.org", "type": "work"},
			map[string]any{"VALUE": "a@x.org", "type": "work"}, true},
		{"emails", map[string]any{"value": "a@x.org"}, map[string]any{"value": "a@x.org",
			"primary": true}, false},
		{"emails", map[string]any{"value": "a@x.org"}, "a@x.org", false},
		{"userName", nil, nil, true},
		{"userName", "a", nil, false},
		{"userName", []any{"a"}, []any{"a"}, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, lookup(tt.path).Equal(tt.x, tt.y), "%s: %v vs %v",
			tt.path, tt.x, tt.y)
	}
}

func TestInstant(t *testing.T) {
	tests := []struct {
		in   any
		want string // RFC 3339 in UTC; "" when not a dateTime
	}{
		{"2015-10-10T14:38:21.8617979-07:00", "2015-10-10T21:38:21.8617979Z"},
		{"2015-10-10T14:38:21.0861Z", "2015-10-10T14:38:21.0861Z"},
		{"2011-05-13T04:42:34Z", "2011-05-13T04:42:34Z"},
		{"2011-05-13T04:42:34", "2011-05-13T04:42:34Z"},
		{"2011-05-13T04:42:34.5+00:00", "2011-05-13T04:42:34.5Z"},
		{"2011-05-13", ""},
		{"yesterday", ""},
		{"2011-13-13T04:42:34Z", ""},
		{12.0, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		got, ok := Instant(tt.in)
		if tt.want == "" {
			require.False(t, ok, "%v", tt.in)
			continue
		}
		require.True(t, ok, "%v", tt.in)
		require.Equal(t, tt.want, got.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"))
	}
}
