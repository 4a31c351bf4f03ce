package mappings

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

//go:embed catalog/*.yaml
var builtinFiles embed.FS

// Catalog is the set of applications the bridge can provision: the built-in
// ones embedded in the binary and the custom ones loaded at start. It is
// immutable once loaded and safe for concurrent use.
type Catalog struct {
	apps map[string]*App
}

// LoadCatalog loads the built-in applications and then each custom
// application file, in the format of the built-in ones. It fails on a file
// that does not parse or check, and on a custom app named like another app.
func LoadCatalog(customFiles ...string) (*Catalog, error) {
	c := &Catalog{apps: map[string]*App{}}
	entries, err := fs.ReadDir(builtinFiles, "catalog")
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	for _, e := range entries {
		data, err := builtinFiles.ReadFile(path.Join("catalog", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("load catalog: %w", err)
		}
		if err := c.add(data, e.Name(), true); err != nil {
			return nil, fmt.Errorf("load catalog: built-in %w", err)
		}
	}
	for _, name := range customFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("load catalog: %w", err)
		}
		if err := c.add(data, name, false); err != nil {
			return nil, fmt.Errorf("load catalog: %w", err)
		}
	}
	return c, nil
}

func (c *Catalog) add(data []byte, file string, builtin bool) error {
	app, err := ParseApp(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if prev, dup := c.apps[app.Name]; dup {
		kind := "a custom"
		if prev.Builtin {
			kind = "a built-in"
		}
		return fmt.Errorf("%s: app %s is already defined by %s app; choose another name",
			file, app.Name, kind)
	}
	app.Builtin = builtin
	c.apps[app.Name] = app
	return nil
}

// App returns the application with the given name.
func (c *Catalog) App(name string) (*App, bool) {
	a, ok := c.apps[name]
	return a, ok
}

// Apps returns every application, sorted by name.
func (c *Catalog) Apps() []*App {
	out := make([]*App, 0, len(c.apps))
	for _, a := range c.apps {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *App) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names returns the names of every application, sorted.
func (c *Catalog) Names() []string {
	out := make([]string, 0, len(c.apps))
	for _, a := range c.Apps() {
		out = append(out, a.Name)
	}
	return out
}

// Lookup returns the application with the given name, or an error that
// names the closest app when the name looks like a typo.
func (c *Catalog) Lookup(name string) (*App, error) {
	if a, ok := c.apps[name]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("app %q is not in the catalog%s", name, suggest(name, c.Names()))
}
