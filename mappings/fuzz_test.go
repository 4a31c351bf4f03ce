package mappings

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzProject feeds arbitrary SCIM JSON and mapping files through parsing,
// validation, compilation, projection and preview. None may panic, every
// problem must be one line, and projecting the same user twice must give the
// same record hash. The seed corpus lives in testdata/fuzz/FuzzProject and
// runs with every go test; go test -fuzz FuzzProject explores further.
func FuzzProject(f *testing.F) {
	users, err := filepath.Glob("testdata/users/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for i, file := range users {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, []byte("app: zoho-crm\nfields:\n  first_name: name.givenName\n"), uint8(i))
	}

	cat, err := LoadCatalog()
	if err != nil {
		f.Fatal(err)
	}
	apps := cat.Apps()
	dir := acmeDirectory(f)

	f.Fuzz(func(t *testing.T, userJSON, mappingYAML []byte, pick uint8) {
		var user map[string]any
		_ = json.Unmarshal(userJSON, &user) // not an object: project an empty user
		var given map[string]any
		if g, ok := user["given"].(map[string]any); ok {
			given = g
		}

		m, err := ParseMapping(mappingYAML)
		if err != nil {
			return
		}
		app := apps[int(pick)%len(apps)]
		if a, ok := cat.App(m.App); ok {
			app = a
		}
		for _, p := range app.Validate(m, dir) {
			if strings.Contains(p.String(), "\n") {
				t.Fatalf("problem spans lines: %q", p.String())
			}
		}
		_ = app.ValidateGiven(given)
		_, _ = MarshalMapping(m)
		_, _ = app.FormatMapping(m)

		proj, err := Compile(app, m, dir)
		if err != nil {
			return
		}
		first, err1 := proj.Project(user, given)
		second, err2 := proj.Project(user, given)
		if (err1 == nil) != (err2 == nil) || first.Hash != second.Hash {
			t.Fatalf("projection is not deterministic: %v/%v, %s/%s", err1, err2,
				first.Hash, second.Hash)
		}
		pv := proj.Preview(user, given)
		if err1 == nil && pv.Record.Hash != first.Hash {
			t.Fatalf("preview hash %s, project hash %s", pv.Record.Hash, first.Hash)
		}
	})
}
