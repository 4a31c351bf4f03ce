package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/scim-bridge/scim-bridge/mappings"
)

func newMappingsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mappings",
		Short: "Check, preview and start field mappings, offline",
		Long: `Work with mapping files offline: the YAML files that say where each application
field comes from, in the format the admin API accepts and returns.`,
	}
	cmd.AddCommand(newMappingsValidateCmd(), newMappingsPreviewCmd(), newMappingsDefaultCmd())
	return cmd
}

func newMappingsValidateCmd() *cobra.Command {
	var f catalogFlags
	var strict bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check mapping files against their applications and the directory schema",
		Long: `Check mapping files and print one line per problem, naming the file, the line,
the application and the field. Exits 1 when any file has an error (or, with
--strict, a warning). Mandatory fields left unmapped are warnings: they must
then be given per assignment.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, dir, err := f.load()
			if err != nil {
				return err
			}
			failed := false
			for _, file := range args {
				if !validateFile(cmd.OutOrStdout(), cat, dir, file, strict) {
					failed = true
				}
			}
			if failed {
				return exitCode(1)
			}
			return nil
		},
	}
	f.register(cmd)
	f.registerSchemas(cmd)
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings as failures")
	return cmd
}

// load reads the catalog and the directory schema with its extensions.
func (f *catalogFlags) load() (*mappings.Catalog, *mappings.Directory, error) {
	cat, err := f.catalog()
	if err != nil {
		return nil, nil, err
	}
	dir := mappings.DefaultDirectory()
	for _, file := range f.schemas {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, err
		}
		if err := dir.AddSchemaJSON(data); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	return cat, dir, nil
}

// validateFile prints the problems of one mapping file and reports whether
// it passed.
func validateFile(out io.Writer, cat *mappings.Catalog, dir *mappings.Directory,
	file string, strict bool) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(out, "%s: %v\n", file, err)
		return false
	}
	m, err := mappings.ParseMapping(data)
	if err != nil {
		fmt.Fprintf(out, "%s: %v\n", file, err)
		return false
	}
	if m.App == "" {
		fmt.Fprintf(out, "%s: the mapping names no app; add a line such as \"app: zoho-crm\"\n", file)
		return false
	}
	app, err := cat.Lookup(m.App)
	if err != nil {
		fmt.Fprintf(out, "%s: %v\n", file, err)
		return false
	}

	lines := fieldLines(data)
	ok := true
	for _, p := range app.Validate(m, dir) {
		loc := file
		if line, found := lines[p.Field]; found && p.Field != "" {
			loc = fmt.Sprintf("%s:%d", file, line)
		}
		if p.Severity == mappings.SeverityWarning {
			fmt.Fprintf(out, "%s: warning: %s\n", loc, p)
			ok = ok && !strict
			continue
		}
		fmt.Fprintf(out, "%s: %s\n", loc, p)
		ok = false
	}
	if ok {
		fmt.Fprintf(out, "%s: ok\n", file)
	}
	return ok
}

// fieldLines finds the line of each field name under "fields:" in a mapping
// file, so that problems point at the line to edit.
func fieldLines(data []byte) map[string]int {
	var doc yaml.Node
	lines := map[string]int{}
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return lines
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "fields" {
			continue
		}
		fields := root.Content[i+1]
		for j := 0; j+1 < len(fields.Content); j += 2 {
			lines[fields.Content[j].Value] = fields.Content[j].Line
		}
	}
	return lines
}

type previewFlags struct {
	catalogFlags
	app, mapping, user, given string
	json                      bool
}

func newMappingsPreviewCmd() *cobra.Command {
	var f previewFlags
	cmd := &cobra.Command{
		Use:   "preview --app APP [--mapping FILE] --user USER.json",
		Short: "Show the record an application would receive for a sample user",
		Long: `Project a sample directory user (its SCIM JSON) through a mapping, by default
the application's default mapping, and print the application record as JSON.
Where each value came from, why a field is empty, the unmapped fields and the
mandatory fields still missing follow on standard error. Nothing is sent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPreview(cmd, f)
		},
	}
	f.register(cmd)
	f.registerSchemas(cmd)
	flags := cmd.Flags()
	flags.StringVar(&f.app, "app", "", "application `name` (optional when the mapping names it)")
	flags.StringVar(&f.mapping, "mapping", "",
		"mapping `file` (default: the app's default mapping)")
	flags.StringVar(&f.user, "user", "", "sample directory user as SCIM JSON `file` (- for stdin)")
	flags.StringVar(&f.given, "given", "",
		"JSON `file` of per-assignment values for fields the mapping leaves empty")
	flags.BoolVar(&f.json, "json", false,
		"print the whole preview, explanations included, as JSON")
	if err := cmd.MarkFlagRequired("user"); err != nil {
		panic(err) // the flag is defined just above
	}
	return cmd
}

func runPreview(cmd *cobra.Command, f previewFlags) error {
	cat, dir, err := f.load()
	if err != nil {
		return err
	}
	app, m, err := f.mappingFor(cat)
	if err != nil {
		return err
	}
	if err := mappings.Errors(app.Validate(m, dir)); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), err)
		return exitCode(1)
	}
	proj, err := mappings.Compile(app, m, dir)
	if err != nil {
		return err
	}
	user, err := readObject(f.user, cmd.InOrStdin())
	if err != nil {
		return fmt.Errorf("user: %w", err)
	}
	var given map[string]any
	if f.given != "" {
		if given, err = readObject(f.given, cmd.InOrStdin()); err != nil {
			return fmt.Errorf("given: %w", err)
		}
	}

	pv := proj.Preview(user, given)
	if f.json {
		return writeJSON(cmd.OutOrStdout(), pv)
	}
	if err := writeJSON(cmd.OutOrStdout(), pv.Record.Fields); err != nil {
		return err
	}
	return explain(cmd.ErrOrStderr(), pv)
}

// mappingFor picks the application and the mapping the flags name.
func (f previewFlags) mappingFor(cat *mappings.Catalog) (*mappings.App, mappings.Mapping, error) {
	var m mappings.Mapping
	if f.mapping != "" {
		data, err := os.ReadFile(f.mapping)
		if err != nil {
			return nil, m, err
		}
		if m, err = mappings.ParseMapping(data); err != nil {
			return nil, m, fmt.Errorf("%s: %w", f.mapping, err)
		}
	}
	name := f.app
	switch {
	case name == "" && m.App == "":
		return nil, m, errors.New("name the application with --app")
	case name == "":
		name = m.App
	case m.App != "" && m.App != name:
		return nil, m, fmt.Errorf("%s is a mapping for %s, not %s", f.mapping, m.App, name)
	}
	app, err := cat.Lookup(name)
	if err != nil {
		return nil, m, err
	}
	if f.mapping == "" {
		m = app.DefaultMapping()
	}
	m.App = app.Name
	return app, m, nil
}

func readObject(file string, stdin io.Reader) (map[string]any, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%s: expected a JSON object: %w", file, err)
	}
	return obj, nil
}

func writeJSON(out io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := out.Write(buf.Bytes())
	return err
}

// explain writes, for people, where each value came from or why it is empty.
func explain(out io.Writer, pv mappings.Preview) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tSOURCE\tFROM\tNOTE")
	for _, f := range pv.Fields {
		name := f.Field
		if f.Mandatory {
			name += " *"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, f.Source, dash(cut(f.From, 48)), dash(f.Why))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "(* mandatory)")
	if len(pv.Unmapped) > 0 {
		fmt.Fprintf(out, "unmapped fields: %s\n", strings.Join(pv.Unmapped, ", "))
	}
	if len(pv.Record.Missing) > 0 {
		fmt.Fprintf(out, "mandatory fields still empty (give them per assignment): %s\n",
			strings.Join(pv.Record.Missing, ", "))
	}
	for _, p := range pv.Record.Problems {
		fmt.Fprintf(out, "warning: %s\n", p)
	}
	return nil
}

// cut shortens s to at most n characters for a table column.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newMappingsDefaultCmd() *cobra.Command {
	var f catalogFlags
	var app string
	cmd := &cobra.Command{
		Use:   "default --app APP",
		Short: "Print an application's default mapping as a mapping file to start from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := f.catalog()
			if err != nil {
				return err
			}
			a, err := cat.Lookup(app)
			if err != nil {
				return err
			}
			out, err := a.FormatMapping(a.DefaultMapping())
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&app, "app", "", "application `name`")
	if err := cmd.MarkFlagRequired("app"); err != nil {
		panic(err) // the flag is defined just above
	}
	return cmd
}
