package mappings

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func loadCatalog(t testing.TB, custom ...string) *Catalog {
	t.Helper()
	c, err := LoadCatalog(custom...)
	require.NoError(t, err)
	return c
}

func TestCatalogApps(t *testing.T) {
	c := loadCatalog(t)
	require.Equal(t, []string{
		"scim", "webhook", "zoho-assist", "zoho-bigin", "zoho-billing", "zoho-books",
		"zoho-checkout", "zoho-connect", "zoho-crm", "zoho-desk", "zoho-expense",
		"zoho-inventory", "zoho-invoice", "zoho-lens", "zoho-projects", "zoho-sdp", "zoho-sign",
	}, c.Names())

	crm, ok := c.App("zoho-crm")
	require.True(t, ok)
	require.Equal(t, []string{"first_name", "email", "role", "profile"}, crm.Mandatory())
	require.Equal(t, [][]string{{"role", "profile"}}, crm.Dependent)
	require.Equal(t, []string{"email"}, crm.Identity)

	_, ok = c.App("zoho-crmm")
	require.False(t, ok)
	_, err := c.Lookup("zoho-crmm")
	require.EqualError(t, err, `app "zoho-crmm" is not in the catalog (did you mean zoho-crm?)`)
}

// TestBuiltinDefaults checks every built-in app's default mapping: no
// errors, only warnings for mandatory fields left to per-assignment input,
// identity fields mapped so existing accounts can be adopted, and notes that
// say what the documentation left open.
func TestBuiltinDefaults(t *testing.T) {
	for _, app := range loadCatalog(t).Apps() {
		t.Run(app.Name, func(t *testing.T) {
			require.True(t, app.Builtin)
			require.NotEmpty(t, app.Notes)
			for _, p := range app.Validate(app.Default, nil) {
				require.Equal(t, SeverityWarning, p.Severity, p.String())
				require.Contains(t, p.Message, "supplied per assignment")
			}
			for _, id := range app.Identity {
				require.Contains(t, app.Default.Fields, id, "identity fields are mapped")
			}
			_, err := Compile(app, app.Default, nil)
			require.NoError(t, err)

			// The default mapping, written for people, reads back the same.
			out, err := app.FormatMapping(app.DefaultMapping())
			require.NoError(t, err)
			back, err := ParseMapping(out)
			require.NoError(t, err)
			require.Equal(t, app.Default.Fields, back.Fields)
		})
	}
}

// TestGolden projects every sample user through every app's default mapping
// and compares with testdata/golden/<app>.json; go test -update rewrites them.
func TestGolden(t *testing.T) {
	users, err := filepath.Glob("testdata/users/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, users)

	for _, app := range loadCatalog(t).Apps() {
		t.Run(app.Name, func(t *testing.T) {
			p, err := Compile(app, app.Default, nil)
			require.NoError(t, err)
			got := map[string]Record{}
			for _, file := range users {
				data, err := os.ReadFile(file)
				require.NoError(t, err)
				rec, err := p.Project(decodeUser(t, string(data)), nil)
				require.NoError(t, err)
				got[strings.TrimSuffix(filepath.Base(file), ".json")] = rec
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(got))

			golden := filepath.Join("testdata", "golden", app.Name+".json")
			if *update {
				require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to create the golden file")
			require.Equal(t, string(want), buf.String())
		})
	}
}

func TestCustomApp(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
		return path
	}
	hr := write("hr.yaml", `
name: acme-hr
label: Acme HR
connector: webhook
identity: [login]
fields:
  - {name: login, type: email, mandatory: true}
  - {name: cost_code, type: string}
default:
  login: emails.value
  cost_code: urn:example:params:scim:schemas:extension:acme:1.0:User:costCode
`)
	c := loadCatalog(t, hr)
	app, ok := c.App("acme-hr")
	require.True(t, ok)
	require.False(t, app.Builtin)
	require.Equal(t, "webhook", app.Connector)
	require.Len(t, c.Apps(), 18)

	// The default names an extension the server declares at start; with it
	// the mapping is valid, without it the attribute is unknown.
	require.Empty(t, app.Validate(app.Default, acmeDirectory(t)))
	require.Len(t, app.Validate(app.Default, nil), 1)

	_, err := LoadCatalog(hr, hr)
	require.ErrorContains(t, err, "app acme-hr is already defined by a custom app")

	clash := write("crm.yaml", "name: zoho-crm\nidentity: [e]\nfields: [{name: e, type: email}]\n")
	_, err = LoadCatalog(clash)
	require.ErrorContains(t, err, "app zoho-crm is already defined by a built-in app")

	_, err = LoadCatalog(filepath.Join(dir, "absent.yaml"))
	require.Error(t, err)
}

func TestParseAppErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"bad name", "name: Zoho CRM\nidentity: [a]\nfields: [{name: a, type: email}]",
			"short lowercase id"},
		{"no fields", "name: x\nidentity: [a]", "it has no fields"},
		{"unknown key", "name: x\nlabl: X", "field labl not found"},
		{"unknown type", "name: x\nidentity: [a]\nfields: [{name: a, type: text}]",
			`unknown type "text"`},
		{"enum without values", "name: x\nidentity: [a]\nfields: [{name: a, type: enum}]",
			"must list its values"},
		{"values on a string", "name: x\nidentity: [a]\nfields: [{name: a, type: string, values: [b]}]",
			"only an enum field lists values"},
		{"duplicate field", "name: x\nidentity: [a]\nfields: [{name: a, type: email}, " +
			"{name: a, type: string}]", "declared twice"},
		{"no identity", "name: x\nfields: [{name: a, type: email}]", "identity must name"},
		{"identity unknown", "name: x\nidentity: [b]\nfields: [{name: a, type: email}]",
			"identity field b"},
		{"dependent unknown", "name: x\nidentity: [a]\nfields: [{name: a, type: email}]\n" +
			"dependent: [[a, b]]", "b is not a writable field"},
		{"mandatory read-only", "name: x\nidentity: [a]\nfields: [{name: a, type: email}, " +
			"{name: b, type: string, mandatory: true, readOnly: true}]", "both mandatory and read-only"},
		{"bad default", "name: x\nidentity: [a]\nfields: [{name: a, type: email}]\n" +
			"default: {a: name.givenNam}", "x: a: profile attribute name.givenNam"},
		{"default for another field", "name: x\nidentity: [a]\nfields: [{name: a, type: email}]\n" +
			"default: {b: userName}", "x has no field b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseApp([]byte(tc.doc))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestResetAndUnmapped(t *testing.T) {
	crm, ok := loadCatalog(t).App("zoho-crm")
	require.True(t, ok)

	m := crm.DefaultMapping()
	m.Fields["first_name"] = Source{Attribute: "nickName"}
	m.Fields["role"] = Source{Value: "1"}
	m.Fields["profile"] = Source{Value: "2"}
	delete(m.Fields, "city")

	require.NotContains(t, crm.Default.Fields, "role", "editing a copy leaves the default alone")
	require.Equal(t, []string{"alias", "website", "city", "dob", "country_locale", "time_format",
		"decimal_separator", "number_separator", "Reporting_To"}, crm.Unmapped(m))

	one := crm.Reset(m, "first_name", "city", "role")
	require.Equal(t, Source{Attribute: "name.givenName"}, one.Fields["first_name"])
	require.Equal(t, Source{Attribute: "addresses.locality"}, one.Fields["city"])
	require.NotContains(t, one.Fields, "role", "the default leaves role unmapped")
	require.Equal(t, Source{Value: "2"}, one.Fields["profile"], "other fields are kept")

	all := crm.Reset(m)
	require.Equal(t, crm.Default, all)
	require.True(t, slices.Contains(crm.Unmapped(all), "role"))
}
