package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/mappings"
)

// runOffline runs the command tree in-process with args and stdin, and
// returns what it wrote and the error main would turn into an exit status.
func runOffline(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func requireExit(t *testing.T, err error, code int) {
	t.Helper()
	var ec exitCode
	require.True(t, errors.As(err, &ec), "want exit status %d, got %v", code, err)
	require.Equal(t, code, int(ec))
}

const sampleUser = `{
  "userName": "ada@example.com",
  "name": {"givenName": "Ada", "familyName": "Lovelace"},
  "emails": [{"value": "Ada@Example.com", "type": "work", "primary": true}],
  "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}],
  "locale": "en-GB",
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering"}
}`

func TestMappingsValidate(t *testing.T) {
	good := writeFile(t, "good.yaml", `app: zoho-crm
fields:
  first_name: name.givenName
  email: emails.value
  role: {value: "4150868000000026005"}
  profile: {value: "4150868000000026011"}
`)
	bad := writeFile(t, "bad.yaml", `app: zoho-crm
fields:
  first_name: name.givenNam
  email: emails.value
  role: {value: "4150868000000026005"}
  time_format: {value: HH}
  nickname: nickName
`)
	out, _, err := runOffline(t, "", "mappings", "validate", good)
	require.NoError(t, err)
	require.Equal(t, good+": ok\n", out)

	out, _, err = runOffline(t, "", "mappings", "validate", good, bad)
	requireExit(t, err, 1)
	require.Equal(t, []string{
		good + ": ok",
		bad + ":3: zoho-crm: first_name: profile attribute name.givenNam: " +
			"name has no sub-attribute givenNam (did you mean givenName?)",
		bad + ": warning: zoho-crm: profile: mandatory field has no source: " +
			"it must be supplied per assignment",
		bad + ":6: zoho-crm: time_format: hardcoded value \"HH\" is not one of HH:mm, hh:mm a",
		bad + ":7: zoho-crm: nickname: Zoho CRM has no field nickname",
		bad + ": zoho-crm: profile: dependent field: role is mapped, so profile must be " +
			"mapped too (or neither)",
	}, strings.Split(strings.TrimSuffix(out, "\n"), "\n"), "one line per problem")
}

func TestMappingsValidateWarningsAndStrict(t *testing.T) {
	desk := writeFile(t, "desk.yaml", "app: zoho-desk\nfields:\n  emailId: emails.value\n"+
		"  lastName: name.familyName\n")
	out, _, err := runOffline(t, "", "mappings", "validate", desk)
	require.NoError(t, err, "warnings alone pass")
	require.Contains(t, out, "warning: zoho-desk: associatedDepartmentIds: mandatory field")

	_, _, err = runOffline(t, "", "mappings", "validate", "--strict", desk)
	requireExit(t, err, 1)
}

func TestMappingsValidateFileErrors(t *testing.T) {
	noApp := writeFile(t, "noapp.yaml", "fields:\n  email: emails.value\n")
	typo := writeFile(t, "typo.yaml", "app: zoho-crmm\nfields: {}\n")
	broken := writeFile(t, "broken.yaml", "app: zoho-crm\nfields:\n  email: 12\n")
	absent := filepath.Join(t.TempDir(), "absent.yaml")

	out, _, err := runOffline(t, "", "mappings", "validate", noApp, typo, broken, absent)
	requireExit(t, err, 1)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 4)
	require.Equal(t, noApp+`: the mapping names no app; add a line such as "app: zoho-crm"`, lines[0])
	require.Equal(t, typo+`: app "zoho-crmm" is not in the catalog (did you mean zoho-crm?)`,
		lines[1])
	require.Contains(t, lines[2], broken+": parse mapping: field email: line 3: a bare 12")
	require.Contains(t, lines[3], absent+": open")

	_, _, err = runOffline(t, "", "mappings", "validate")
	require.Error(t, err, "at least one file is needed")
}

func TestMappingsValidateCustomAppAndSchema(t *testing.T) {
	app := writeFile(t, "hr.yaml", `name: acme-hr
identity: [login]
fields:
  - {name: login, type: email, mandatory: true}
  - {name: cost_code, type: string}
`)
	schema := writeFile(t, "acme.json", `{
		"id": "urn:example:params:scim:schemas:extension:acme:1.0:User",
		"attributes": [{"name": "costCode", "type": "string"}]}`)
	m := writeFile(t, "hr-mapping.yaml", `app: acme-hr
fields:
  login: userName
  cost_code: urn:example:params:scim:schemas:extension:acme:1.0:User:costCode
`)
	out, _, err := runOffline(t, "", "mappings", "validate", "--custom-app", app, m)
	requireExit(t, err, 1)
	require.Contains(t, out, "the directory has no extension schema")

	out, _, err = runOffline(t, "", "mappings", "validate", "--custom-app", app,
		"--schema", schema, m)
	require.NoError(t, err)
	require.Equal(t, m+": ok\n", out)
}

func TestMappingsPreviewDefault(t *testing.T) {
	user := writeFile(t, "user.json", sampleUser)
	out, errOut, err := runOffline(t, "", "mappings", "preview", "--app", "zoho-crm", "--user", user)
	require.NoError(t, err)

	var record map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &record), out)
	require.Equal(t, map[string]any{
		"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.com",
		"phone": "+44 20 7946 0000", "locale": "en_GB", "mobile": nil, "fax": nil,
		"street": nil, "city": nil, "state": nil, "zip": nil, "country": nil,
	}, record)
	require.Contains(t, errOut, "unmapped fields: role, profile, alias, website, dob, "+
		"country_locale, time_format, decimal_separator, number_separator, Reporting_To\n")
	require.Contains(t, errOut,
		"mandatory fields still empty (give them per assignment): role, profile\n")
	require.Regexp(t, `mobile +attribute +phoneNumbers\[type eq "mobile"\]\.value +`+
		`no entry of the user's phoneNumbers matches`, errOut)
	require.Regexp(t, `time_zone +none +- +read-only: only the user can change`, errOut)
}

func TestMappingsPreviewMappingGivenAndJSON(t *testing.T) {
	m := writeFile(t, "m.yaml", `app: zoho-desk
fields:
  emailId: {expression: 'lower(attr("emails.value"))'}
  lastName: name.familyName
  rolePermissionType: {value: AgentPublic}
`)
	given := writeFile(t, "given.json", `{"associatedDepartmentIds": ["6000000007233"]}`)
	out, errOut, err := runOffline(t, sampleUser, "mappings", "preview", "--mapping", m,
		"--user", "-", "--given", given)
	require.NoError(t, err)
	require.JSONEq(t, `{"emailId": "ada@example.com", "lastName": "Lovelace",
		"rolePermissionType": "AgentPublic", "associatedDepartmentIds": ["6000000007233"]}`, out)
	require.NotContains(t, errOut, "still empty")

	out, _, err = runOffline(t, sampleUser, "mappings", "preview", "--mapping", m,
		"--user", "-", "--json")
	require.NoError(t, err)
	var pv mappings.Preview
	require.NoError(t, json.Unmarshal([]byte(out), &pv))
	require.Equal(t, "zoho-desk", pv.App)
	require.Equal(t, []string{"associatedDepartmentIds"}, pv.Record.Missing)
	require.Equal(t, mappings.SourceExpression, pv.Fields[0].Source)
}

func TestMappingsPreviewErrors(t *testing.T) {
	user := writeFile(t, "user.json", sampleUser)
	crm := writeFile(t, "crm.yaml", "app: zoho-crm\nfields:\n  role: {value: '1'}\n")

	_, _, err := runOffline(t, "", "mappings", "preview", "--app", "zoho-desk", "--mapping", crm,
		"--user", user)
	require.ErrorContains(t, err, "is a mapping for zoho-crm, not zoho-desk")

	_, errOut, err := runOffline(t, "", "mappings", "preview", "--mapping", crm, "--user", user)
	requireExit(t, err, 1)
	require.Contains(t, errOut, "zoho-crm: profile: dependent field")

	_, _, err = runOffline(t, "", "mappings", "preview", "--user", user)
	require.ErrorContains(t, err, "name the application with --app")

	_, _, err = runOffline(t, "[1]", "mappings", "preview", "--app", "webhook", "--user", "-")
	require.ErrorContains(t, err, "expected a JSON object")

	_, _, err = runOffline(t, "", "mappings", "preview", "--app", "webhook")
	require.ErrorContains(t, err, `required flag(s) "user" not set`)
}

func TestMappingsDefault(t *testing.T) {
	out, _, err := runOffline(t, "", "mappings", "default", "--app", "zoho-bigin")
	require.NoError(t, err)
	require.Contains(t, out, "# unmapped:\n#   role (mandatory: supply per assignment)\n")

	m, err := mappings.ParseMapping([]byte(out))
	require.NoError(t, err)
	cat, err := mappings.LoadCatalog()
	require.NoError(t, err)
	app, _ := cat.App("zoho-bigin")
	require.Equal(t, app.Default, m)
}
