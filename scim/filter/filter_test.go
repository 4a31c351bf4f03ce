package filter

import (
	"encoding/json"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/stretchr/testify/require"
)

// user is a typical directory user as Microsoft Entra ID provisions it,
// with RFC 7643's enterprise extension.
const user = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
  "userName": "BJensen@Example.com",
  "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "O'Malley",
    "givenName": "Barbara"},
  "displayName": "Babs Jensen",
  "title": "Tour Guide",
  "userType": "Employee",
  "active": true,
  "emails": [
    {"value": "bjensen@example.com", "type": "work", "primary": true},
    {"value": "babs@jensen.org", "type": "home"}],
  "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
  "ims": [{"value": "someaimhandle", "type": "aim"}],
  "addresses": [{"type": "work", "locality": "Hollywood", "postalCode": "91608",
    "country": "USA", "primary": true}],
  "meta": {"resourceType": "User", "created": "2015-10-10T14:38:21.8617979-07:00",
    "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3694e05e9dff591\""},
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984", "department": "Tour Operations",
    "manager": {"value": "26118915", "displayName": "John Smith"}}
}`

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

const group = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
  "displayName": "Tour Guides",
  "members": [
    {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
    {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}]
}`

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}

func TestMatch(t *testing.T) {
	s := attr.Default()
	tests := []struct {
		filter string
		want   bool
	}{
		// RFC 7644 section 3.4.2.2 examples.
		{`userName eq "bjensen@example.com"`, true},
		{`name.familyName co "O'Malley"`, true},
		{`userName sw "J"`, false},
		{`userName sw "b"`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "BJ"`, true},
		{`title pr`, true},
		{`nickName pr`, false},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, false},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, true},
		{`meta.lastModified lt "2011-05-13T04:42:34Z"`, false},
		{`meta.lastModified le "2011-05-13T04:42:34Z"`, true},
		{`title pr and userType eq "Employee"`, true},
		{`title pr or userType eq "Intern"`, true},
		{`nickName pr or userType eq "Intern"`, false},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, true},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
			true},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
			false},
		{`userType eq "Employee" and (emails.type eq "work")`, true},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "work" and value co "@example.com"] or ` +
			`ims[type eq "xmpp" and value co "@foo.com"]`,
			true},
		{`emails[type eq "home" and value co "@example.com"]`, false},

		// Case: names always, values unless caseExact.
		{`USERNAME EQ "bjensen@EXAMPLE.com"`, true},
		{`DisplayName eq "babs jensen"`, true},
		{`name.FamilyName eq "o'malley"`, true},
		{`id eq "2819C223-7F76-453A-919D-413861904646"`, false},
		{`id eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{`externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"`, false},
		{`meta.version eq "W/\"3694e05e9dff591\""`, true},
		{`userName co "JENSEN@"`, true},
		{`userName ew ".COM"`, true},
		{`userName gt "a"`, true},
		{`userName lt "B"`, false},

		// Multi-valued and complex.
		{`emails.value eq "babs@jensen.org"`, true},
		{`emails eq "babs@jensen.org"`, true},
		{`emails.type eq "other"`, false},
		{`emails[type eq "work"].value eq "bjensen@example.com"`, true},
		{`emails[type eq "work"].value eq "babs@jensen.org"`, false},
		{`emails[type eq "work" and primary eq true]`, true},
		{`emails[type eq "home" and primary eq true]`, false},
		{`emails[not (type eq "work")]`, true},
		{`emails[type eq "work" or type eq "home" and primary eq true]`, true},
		{`emails pr`, true},
		{`emails.display pr`, false},
		{`addresses[type eq "work"].postalCode eq "91608"`, true},
		{`name pr`, true},
		{`name eq "Barbara"`, false},
		{`name[givenName eq "Barbara"]`, true},

		// Extensions, alone and mixed with core attributes.
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Tour Operations"`,
			true},
		{`userName eq "bjensen@example.com" and ` + enterprise + `:employeeNumber eq "701984"`,
			true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`,
			true},
		{`department sw "tour"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter pr`, false},

		// Dates compare as instants.
		{`meta.created gt "2015-10-10T14:38:21.8617979-07:00"`, false},
		{`meta.created eq "2015-10-10T21:38:21.8617979Z"`, true},
		{`meta.created gt "2015-10-10T21:38:21Z"`, true},
		{`meta.created lt "2015-10-10T14:38:22-07:00"`, true},
		{`meta.created sw "2015-10-10T14"`, true},
		{`meta.created gt "not a date"`, false},

		// Booleans and the literals Entra writes.
		{`active eq true`, true},
		{`active eq false`, false},
		{`active eq "True"`, true},
		{`active ne false`, true},
		{`active gt false`, false},

		// null, ne and absent attributes.
		{`nickName eq null`, true},
		{`title eq null`, false},
		{`title ne null`, true},
		{`nickName ne null`, false},
		{`nickName ne "x"`, true},
		{`title ne "Tour Guide"`, false},
		{`emails.value ne "babs@jensen.org"`, false},
		{`emails.value ne "nobody@example.com"`, true},
		{`nickName co "x"`, false},
		{`notAnAttribute eq "x"`, false},
		{`notAnAttribute ne "x"`, true},
		{`urn:example:unknown:2.0:User:x eq "y"`, false},

		// Logic.
		{`not (userName eq "nobody")`, true},
		{`not (not (title pr))`, true},
		{`userName eq "nobody" or title pr and userType eq "Employee"`, true},
		{`(userName eq "nobody" or title pr) and userType eq "Intern"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e, err := Parse(tt.filter)
			require.NoError(t, err)
			got := Match(e, decode(t, user), s, attr.User)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMatchGroup(t *testing.T) {
	s := attr.Default()
	tests := []struct {
		filter string
		want   bool
	}{
		{`displayName eq "tour guides"`, true},
		{`members[value eq "2819c223-7f76-453a-919d-413861904646"]`, true},
		{`members[value eq "missing"]`, false},
		{`members.value eq "902c246b-6245-4190-8e05-00816be7344a"`, true},
		{`members eq "902c246b-6245-4190-8e05-00816be7344a"`, true},
		{`userName eq "x"`, false},
	}
	for _, tt := range tests {
		e, err := Parse(tt.filter)
		require.NoError(t, err)
		require.Equal(t, tt.want, Match(e, decode(t, group), s, attr.Group), tt.filter)
	}
}

func TestMatchNumbers(t *testing.T) {
	ext := schema.Schema{ID: "urn:example:acme:1.0", Attributes: []schema.CoreAttribute{
		schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{
			Name: "badge", Type: schema.AttributeTypeInteger()})),
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name: "tags", MultiValued: true})),
	}}
	s := attr.Default(ext)
	res := map[string]any{"urn:example:acme:1.0": map[string]any{
		"badge": json.Number("42"), "tags": []any{"Blue", 7.0, nil, "green"}}}
	tests := []struct {
		filter string
		want   bool
	}{
		{`badge eq 42`, true},
		{`badge eq 42.0`, true},
		{`badge gt 41.5`, true},
		{`badge le 41`, false},
		{`badge eq "42"`, true},
		{`badge co "4"`, false},
		{`tags eq "blue"`, true},
		{`tags[value sw "gr"]`, true},
		{`tags eq 7`, false},
	}
	for _, tt := range tests {
		e, err := Parse(tt.filter)
		require.NoError(t, err)
		require.Equal(t, tt.want, Match(e, res, s, attr.User), tt.filter)
	}
}

func TestMatchOddData(t *testing.T) {
	s := attr.Default()
	odd := []string{
		`{}`,
		`{"userName": 5, "emails": "not a list", "name": [], "active": "yes"}`,
		`{"emails": [null, 3, [], {"value": 4, "type": null}], "meta": "x"}`,
		`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": [1, 2]}`,
		`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "id"}}`,
		`{"schemas": [[["deep"]]], "id": {"a": 1}}`,
	}
	filters := []string{
		`userName eq "x"`, `emails[type eq "work"].value eq "x"`, `emails co "x"`,
		`name.givenName pr`, `active eq true`, `meta.created gt "2020-01-01T00:00:00Z"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "id"`,
		`schemas eq "deep"`, `id pr`, `emails ne "x"`,
	}
	for _, doc := range odd {
		res := decode(t, doc)
		for _, f := range filters {
			e, err := Parse(f)
			require.NoError(t, err)
			require.NotPanics(t, func() { Match(e, res, s, attr.User) }, "%s on %s", f, doc)
		}
	}
	e, err := Parse(`emails ne "x"`)
	require.NoError(t, err)
	require.True(t, Match(e, decode(t, odd[1]), s, attr.User), "a malformed emails is no email")
	require.True(t, Match(nil, nil, s, attr.User), "no filter matches everything")
}

func TestValidate(t *testing.T) {
	s := attr.Default()
	tests := []struct {
		filter, rt string
		wantErrSub string
	}{
		{`userName eq "x" and ` + enterprise + `:department eq "y"`,
			attr.User, ""},
		{`emails[type eq "work"].value eq "x"`, attr.User, ""},
		{`emails co "x"`, attr.User, ""},
		{`name pr`, attr.User, ""},
		{`meta.created gt "2015-10-10T14:38:21Z"`, attr.User, ""},
		{`members[value eq "x"]`, attr.Group, ""},
		{`nope eq "x"`, attr.User, `"nope" is not an attribute of User`},
		{`userName eq "x" or nope pr`, attr.User, `"nope"`},
		{`emails[nope eq "x"]`, attr.User, `"emails" has no sub-attribute "nope"`},
		{`emails[value.x eq "x"]`, attr.User, "must be a sub-attribute name"},
		{`userName[value eq "x"]`, attr.User, "takes no value filter"},
		{`name eq "x"`, attr.User, "is complex"},
		{`active gt true`, attr.User, "cannot be ordered"},
		{`not (emails[primary lt true])`, attr.User, "cannot be ordered"},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User eq "x"`, attr.User,
			"names a schema"},
		{`userName eq "x"`, attr.Group, "not an attribute of Group"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e, err := Parse(tt.filter)
			require.NoError(t, err)
			err = Validate(e, s, tt.rt)
			if tt.wantErrSub == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.IsType(t, scimerrors.ScimError{}, err)
			se := err.(scimerrors.ScimError)
			require.Equal(t, scimerrors.ScimTypeInvalidFilter, se.ScimType)
			require.Contains(t, se.Detail, tt.wantErrSub)
		})
	}
}

func TestParseErrorIsInvalidFilter(t *testing.T) {
	_, err := Parse(`userName eq`)
	require.IsType(t, scimerrors.ScimError{}, err)
	require.Equal(t, scimerrors.ScimTypeInvalidFilter, err.(scimerrors.ScimError).ScimType)
}

func TestIndexLookup(t *testing.T) {
	tests := []struct {
		filter string
		attr   string
		value  any
		ok     bool
	}{
		{`userName eq "Test_User_00aa00aa"`, "userName", "Test_User_00aa00aa", true},
		{`USERNAME EQ "x"`, "userName", "x", true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`, "userName", "x", true},
		{`externalId eq "0a21f0f2"`, "externalId", "0a21f0f2", true},
		{`id eq "abc"`, "id", "abc", true},
		{`displayName eq "Group One"`, "displayName", "Group One", true},
		{`urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "g"`, "displayName", "g", true},
		{`userName eq "x" and active eq true`, "userName", "x", true},
		{`active eq true and (title pr and externalId eq "e")`, "externalId", "e", true},
		{`displayName eq "d" and userName eq "u"`, "userName", "u", true},
		{`externalId eq "e" and id eq "i"`, "id", "i", true},
		{`userName eq "x" or userName eq "y"`, "", nil, false},
		{`not (userName eq "x")`, "", nil, false},
		{`userName ne "x"`, "", nil, false},
		{`userName co "x"`, "", nil, false},
		{`userName eq null`, "", nil, false},
		{`userName eq 5`, "", nil, false},
		{`emails[type eq "work"].value eq "x"`, "", nil, false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"`, "", nil,
			false},
		{`urn:example:x:userName eq "x"`, "", nil, false},
		{`title eq "x"`, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e, err := Parse(tt.filter)
			require.NoError(t, err)
			name, value, ok := IndexLookup(e)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.attr, name)
			require.Equal(t, tt.value, value)
		})
	}
	_, _, ok := IndexLookup(nil)
	require.False(t, ok)
}
