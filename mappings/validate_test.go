package mappings

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testApp is a small application exercising every field type.
const testApp = `
name: test-app
label: Test App
identity: [email]
fields:
  - {name: email, type: email, mandatory: true, maxLength: 30}
  - {name: first_name, type: string, maxLength: 5}
  - {name: last_name, type: string, mandatory: true}
  - {name: phone, type: phone}
  - {name: level, type: enum, values: [Junior, Senior]}
  - {name: vip, type: boolean}
  - {name: rate, type: number}
  - {name: start, type: date}
  - {name: role, type: reference}
  - {name: profile, type: reference}
  - {name: teams, type: reference, multiValued: true}
  - {name: tz, type: string, readOnly: true, description: only the user sets it}
dependent:
  - [role, profile]
default:
  email: emails.value
  last_name: name.familyName
`

const acmeURN = "urn:example:params:scim:schemas:extension:acme:1.0:User"

func mustApp(t testing.TB, doc string) *App {
	t.Helper()
	app, err := ParseApp([]byte(doc))
	require.NoError(t, err)
	return app
}

func acmeDirectory(t testing.TB) *Directory {
	t.Helper()
	dir := DefaultDirectory()
	require.NoError(t, dir.AddSchemaJSON([]byte(`{"id": "`+acmeURN+`", "attributes": [
		{"name": "costCode", "type": "string"},
		{"name": "badges", "type": "complex", "multiValued": true,
		 "subAttributes": [{"name": "value", "type": "string"}, {"name": "kind", "type": "string"}]}
	]}`)))
	return dir
}

// base is a mapping of test-app without problems.
func base() map[string]Source {
	return map[string]Source{
		"email":     {Attribute: "emails.value"},
		"last_name": {Attribute: "name.familyName"},
	}
}

func TestValidateRules(t *testing.T) {
	app := mustApp(t, testApp)
	dir := acmeDirectory(t)
	cases := []struct {
		name     string
		app      string
		set      map[string]Source
		drop     []string
		field    string
		severity Severity
		want     string
	}{
		{name: "mandatory unmapped is a warning", drop: []string{"last_name"},
			field: "last_name", severity: SeverityWarning, want: "supplied per assignment"},
		{name: "dependent group partly mapped", set: map[string]Source{"role": {Value: "7"}},
			field: "profile", severity: SeverityError,
			want: "role is mapped, so profile must be mapped too (or neither)"},
		{name: "mapping for another app", app: "zoho-crm",
			severity: SeverityError, want: "the mapping is for app zoho-crm"},
		{name: "unknown field with suggestion", set: map[string]Source{"frist_name": {Value: "a"}},
			field: "frist_name", severity: SeverityError,
			want: "Test App has no field frist_name (did you mean first_name?)"},
		{name: "read-only field", set: map[string]Source{"tz": {Attribute: "timezone"}},
			field: "tz", severity: SeverityError, want: "read-only: only the user sets it"},
		{name: "no source", set: map[string]Source{"phone": {}},
			field: "phone", severity: SeverityError, want: "found none"},
		{name: "two sources", set: map[string]Source{"phone": {Attribute: "title", Value: "1"}},
			field: "phone", severity: SeverityError, want: "found attribute and value"},
		{name: "attribute does not parse", set: map[string]Source{"phone": {Attribute: "a b"}},
			field: "phone", severity: SeverityError, want: `"a b" is not a SCIM attribute path`},
		{name: "fixed value written as a path",
			set:   map[string]Source{"role": {Attribute: "12 34"}, "profile": {Value: "1"}},
			field: "role", severity: SeverityError, want: `write role: {value: "12 34"}`},
		{name: "unknown attribute", set: map[string]Source{"phone": {Attribute: "phoneNumber.value"}},
			field: "phone", severity: SeverityError,
			want: "the directory user has no attribute phoneNumber (did you mean phoneNumbers?)"},
		{name: "unknown sub-attribute", set: map[string]Source{"first_name": {Attribute: "name.given"}},
			field: "first_name", severity: SeverityError, want: "name has no sub-attribute given"},
		{name: "sub-attribute of a simple attribute",
			set:   map[string]Source{"first_name": {Attribute: "title.x"}},
			field: "first_name", severity: SeverityError, want: "title is a string attribute"},
		{name: "unknown extension schema",
			set:   map[string]Source{"first_name": {Attribute: "urn:example:other:1.0:User:costCode"}},
			field: "first_name", severity: SeverityError, want: "no extension schema"},
		{name: "unknown enterprise attribute",
			set: map[string]Source{"first_name": {
				Attribute: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:dept"}},
			field: "first_name", severity: SeverityError,
			want: "the enterprise extension has no attribute dept"},
		{name: "whole schema named",
			set:   map[string]Source{"first_name": {Attribute: EnterpriseUserURN}},
			field: "first_name", severity: SeverityError, want: "names a whole schema"},
		{name: "complex attribute without sub-attribute",
			set:   map[string]Source{"first_name": {Attribute: "name"}},
			field: "first_name", severity: SeverityError, want: "name one of its sub-attributes"},
		{name: "filter on a single-valued attribute",
			set:   map[string]Source{"first_name": {Attribute: `name[givenName eq "x"].givenName`}},
			field: "first_name", severity: SeverityError, want: "needs a multi-valued attribute"},
		{name: "filter on an unknown sub-attribute",
			set:   map[string]Source{"phone": {Attribute: `phoneNumbers[kind eq "work"].value`}},
			field: "phone", severity: SeverityError, want: "phoneNumbers has no sub-attribute kind"},
		{name: "boolean attribute into an email field",
			set:   map[string]Source{"email": {Attribute: "active"}},
			field: "email", severity: SeverityError, want: "active is a boolean and email is a email"},
		{name: "value of the wrong type: boolean", set: map[string]Source{"vip": {Value: "maybe"}},
			field: "vip", severity: SeverityError, want: `"maybe" is not a boolean`},
		{name: "value of the wrong type: number", set: map[string]Source{"rate": {Value: "ten"}},
			field: "rate", severity: SeverityError, want: `"ten" is not a number`},
		{name: "value of the wrong type: date", set: map[string]Source{"start": {Value: "3/4/25"}},
			field: "start", severity: SeverityError, want: "is not a date"},
		{name: "value of the wrong type: email", set: map[string]Source{"email": {Value: "ada"}},
			field: "email", severity: SeverityError, want: `"ada" is not an email address`},
		{name: "value of the wrong type: boolean for text",
			set:   map[string]Source{"first_name": {Value: true}},
			field: "first_name", severity: SeverityError, want: "quote it if you mean the text"},
		{name: "value of the wrong type: list for one value",
			set:   map[string]Source{"first_name": {Value: []any{"a", "b"}}},
			field: "first_name", severity: SeverityError, want: "is a list and first_name holds one"},
		{name: "value outside the allowed values", set: map[string]Source{"level": {Value: "Lead"}},
			field: "level", severity: SeverityError, want: `"Lead" is not one of Junior, Senior`},
		{name: "value too long", set: map[string]Source{"first_name": {Value: "Augusta"}},
			field: "first_name", severity: SeverityError, want: "longer than 5 characters"},
		{name: "email value too long",
			set:   map[string]Source{"email": {Value: "augusta.ada.king@lovelace.example.com"}},
			field: "email", severity: SeverityError, want: "longer than 30 characters"},
		{name: "expression does not compile",
			set:   map[string]Source{"first_name": {Expression: "lower(user.name.givenName"}},
			field: "first_name", severity: SeverityError, want: "expression does not compile"},
		{name: "expression names an unknown attribute",
			set:   map[string]Source{"first_name": {Expression: `attr("name.gvenName")`}},
			field: "first_name", severity: SeverityError,
			want: "attr: name has no sub-attribute gvenName (did you mean givenName?)"},
		{name: "expression reads an unknown user attribute",
			set:   map[string]Source{"first_name": {Expression: "upper(user.nmae.givenName)"}},
			field: "first_name", severity: SeverityError,
			want: "user.nmae: the directory user has no attribute nmae (did you mean name?)"},
		{name: "expression reads an unknown enterprise attribute",
			set:   map[string]Source{"first_name": {Expression: "enterprise.departement"}},
			field: "first_name", severity: SeverityError, want: "did you mean department?"},
		{name: "expression with a dynamic path",
			set:   map[string]Source{"first_name": {Expression: `attr("name." + "givenName")`}},
			field: "first_name", severity: SeverityError, want: "attr takes one quoted attribute path"},
		{name: "expression names an unknown table",
			set:   map[string]Source{"first_name": {Expression: `lookup("rols", user.title)`}},
			field: "first_name", severity: SeverityError, want: `the mapping has no table "rols"`},
		{name: "expression calls a disabled builtin",
			set:   map[string]Source{"first_name": {Expression: `string(now())`}},
			field: "first_name", severity: SeverityError, want: "expression does not compile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := Mapping{App: "test-app", Fields: base()}
			if tc.app != "" {
				m.App = tc.app
			}
			for k, s := range tc.set {
				m.Fields[k] = s
			}
			for _, k := range tc.drop {
				delete(m.Fields, k)
			}
			got := app.Validate(m, dir)
			require.Len(t, got, 1, "problems: %v", got)
			require.Equal(t, "test-app", got[0].App)
			require.Equal(t, tc.field, got[0].Field)
			require.Equal(t, tc.severity, got[0].Severity)
			require.Contains(t, got[0].Message, tc.want)
			require.NotContains(t, got[0].String(), "\n", "a problem is one line")
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	app := mustApp(t, testApp)
	dir := acmeDirectory(t)
	m := Mapping{App: "test-app", Fields: base(), Tables: map[string]map[string]any{
		"levels": {"L1": "Junior"}}}
	for k, s := range map[string]Source{
		"first_name": {Attribute: "NAME.GIVENNAME"}, // names are case-insensitive
		"phone":      {Attribute: `phoneNumbers[type eq "work" and primary eq true].value`},
		"level":      {Expression: `lookup("levels", attr("` + acmeURN + `:costCode"), "Senior")`},
		"vip":        {Value: "True"},
		"rate":       {Value: "12.5"},
		"start":      {Value: "2024-02-29"},
		"role":       {Value: 4150868000000026005},
		"profile":    {Attribute: "urn:ietf:params:scim:schemas:core:2.0:User:userType"},
		"teams":      {Attribute: acmeURN + `:badges[kind eq "team"]`},
	} {
		m.Fields[k] = s
	}
	require.Empty(t, app.Validate(m, dir))

	_, err := Compile(app, m, dir)
	require.NoError(t, err)
}

func TestValidateNilDirectoryIsDefault(t *testing.T) {
	app := mustApp(t, testApp)
	m := Mapping{Fields: base()}
	m.Fields["first_name"] = Source{Attribute: acmeURN + ":costCode"}
	got := app.Validate(m, nil)
	require.Len(t, got, 1)
	require.Contains(t, got[0].Message, "no extension schema")
}

func TestDependentGroupOfThree(t *testing.T) {
	app := mustApp(t, strings.Replace(testApp, "[role, profile]", "[role, profile, level]", 1))
	m := Mapping{Fields: base()}
	m.Fields["role"] = Source{Value: "1"}
	m.Fields["profile"] = Source{Value: "2"}
	got := app.Validate(m, nil)
	require.Len(t, got, 1)
	require.Equal(t, "level", got[0].Field)
	require.Equal(t, "dependent field: role and profile are mapped, so level must be mapped too "+
		"(or none of them)", got[0].Message)

	m.Fields["level"] = Source{Value: "Junior"}
	require.Empty(t, app.Validate(m, nil))
}

func TestCompileRefusesErrors(t *testing.T) {
	app := mustApp(t, testApp)
	m := Mapping{Fields: base()}
	m.Fields["role"] = Source{Value: "1"}
	_, err := Compile(app, m, nil)
	require.ErrorContains(t, err, "test-app: profile: dependent field")

	delete(m.Fields, "role")
	delete(m.Fields, "last_name") // a warning only
	_, err = Compile(app, m, nil)
	require.NoError(t, err)
}

func TestValidateGiven(t *testing.T) {
	app := mustApp(t, testApp)
	got := app.ValidateGiven(map[string]any{
		"role":  "4150868000000026005",
		"level": "senior", // matched ignoring case
		"vip":   "yes",
		"tz":    "UTC",
		"rloe":  "1",
	})
	require.Equal(t, []Problem{
		{App: "test-app", Field: "rloe", Severity: SeverityError,
			Message: "Test App has no field rloe (did you mean role?)"},
		{App: "test-app", Field: "tz", Severity: SeverityError,
			Message: "read-only: only the user sets it"},
		{App: "test-app", Field: "vip", Severity: SeverityError,
			Message: `given value "yes" is not a boolean (true or false)`},
	}, got)
}

func TestProblemString(t *testing.T) {
	require.Equal(t, "zoho-crm: role: dependent field: x",
		Problem{App: "zoho-crm", Field: "role", Message: "dependent field: x"}.String())
	require.Equal(t, "zoho-crm: the mapping is for app x",
		Problem{App: "zoho-crm", Message: "the mapping is for app x"}.String())
	require.NoError(t, Errors([]Problem{{Severity: SeverityWarning}}))
	require.Error(t, Errors([]Problem{{Severity: SeverityError}}))
}
