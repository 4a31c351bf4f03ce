package mappings

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldType is the kind of value an application field holds.
type FieldType string

// The field types. A reference holds an id of an object in the application
// (a role, a profile, a department), always as text.
const (
	TypeString    FieldType = "string"
	TypeEmail     FieldType = "email"
	TypePhone     FieldType = "phone"
	TypeEnum      FieldType = "enum"
	TypeBoolean   FieldType = "boolean"
	TypeNumber    FieldType = "number"
	TypeDate      FieldType = "date"
	TypeReference FieldType = "reference"
)

// Field is one field of an application's user record.
type Field struct {
	Name  string    `json:"name" yaml:"name"`
	Label string    `json:"label" yaml:"label"`
	Type  FieldType `json:"type" yaml:"type"`
	// MaxLength is the most characters the application accepts; 0 means no
	// documented limit. Longer free text is truncated, anything else refused.
	MaxLength int `json:"maxLength,omitempty" yaml:"maxLength,omitempty"`
	// Values are the allowed values of an enum field.
	Values []string `json:"values,omitempty" yaml:"values,omitempty"`
	// Mandatory fields must have a value when an account is created: mapped,
	// or supplied per assignment.
	Mandatory bool `json:"mandatory,omitempty" yaml:"mandatory,omitempty"`
	// ReadOnly fields are shown but cannot be set by the bridge (the
	// application lets only the user change them, for instance).
	ReadOnly bool `json:"readOnly,omitempty" yaml:"readOnly,omitempty"`
	// MultiValued fields hold a list of values.
	MultiValued bool   `json:"multiValued,omitempty" yaml:"multiValued,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// App is one application of the catalog: its user fields, which of them
// identify an existing account, which must be mapped together, and the
// mapping that applies when provisioning is switched on. An App is immutable
// once loaded and safe for concurrent use; methods that return a Mapping
// return a copy.
type App struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// Connector is the kind of connector that speaks the application's API.
	Connector string `json:"connector"`
	// Notes say what the public documentation left open and what was assumed.
	Notes  string  `json:"notes,omitempty"`
	Fields []Field `json:"fields"`
	// Identity lists the fields that identify an account in the application
	// (an email, a user name), used to adopt an existing account rather than
	// create a duplicate.
	Identity []string `json:"identity"`
	// Dependent lists groups of fields that must all be mapped or all be left
	// unmapped.
	Dependent [][]string `json:"dependent,omitempty"`
	Default   Mapping    `json:"default"`
	// Builtin is true for the applications of the embedded catalog.
	Builtin bool `json:"builtin"`

	index map[string]int
}

// appFile is the on-disk form of an application definition.
type appFile struct {
	Name      string                    `yaml:"name"`
	Label     string                    `yaml:"label"`
	Connector string                    `yaml:"connector"`
	Notes     string                    `yaml:"notes"`
	Identity  []string                  `yaml:"identity"`
	Fields    []Field                   `yaml:"fields"`
	Dependent [][]string                `yaml:"dependent"`
	Default   yaml.Node                 `yaml:"default"`
	Tables    map[string]map[string]any `yaml:"tables"`
}

var appNameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// ParseApp reads an application definition (the format of the catalog
// files) and checks it: names, types, enum values, identity and dependent
// fields, and that the default mapping has no error-severity problem apart
// from naming directory extensions not declared yet.
func ParseApp(data []byte) (*App, error) {
	var f appFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse app: %w", err)
	}
	app := &App{
		Name: f.Name, Label: f.Label, Connector: f.Connector, Notes: strings.TrimSpace(f.Notes),
		Identity: f.Identity, Fields: f.Fields, Dependent: f.Dependent,
	}
	if app.Label == "" {
		app.Label = app.Name
	}
	if app.Connector == "" {
		app.Connector = app.Name
	}
	if err := app.check(); err != nil {
		return nil, fmt.Errorf("parse app %s: %w", app.Name, err)
	}

	app.Default = Mapping{App: app.Name, Fields: map[string]Source{}, Tables: f.Tables}
	if !f.Default.IsZero() {
		wrapped := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			strNode("fields"), &f.Default}}
		if err := app.Default.UnmarshalYAML(wrapped); err != nil {
			return nil, fmt.Errorf("parse app %s: default: %w", app.Name, err)
		}
		app.Default.App, app.Default.Tables = app.Name, f.Tables
	}
	var errs []error
	for _, p := range app.validate(app.Default, DefaultDirectory(), true) {
		if p.Severity == SeverityError {
			errs = append(errs, errors.New(p.String()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("parse app %s: default mapping: %w", app.Name, err)
	}
	return app, nil
}

func (a *App) check() error {
	if !appNameRE.MatchString(a.Name) {
		return fmt.Errorf("name %q must be a short lowercase id such as zoho-crm", a.Name)
	}
	if len(a.Fields) == 0 {
		return errors.New("it has no fields")
	}
	a.index = make(map[string]int, len(a.Fields))
	for i := range a.Fields {
		f := &a.Fields[i]
		if err := f.check(); err != nil {
			return err
		}
		if _, dup := a.index[f.Name]; dup {
			return fmt.Errorf("field %s is declared twice", f.Name)
		}
		a.index[f.Name] = i
	}
	if len(a.Identity) == 0 {
		return errors.New("identity must name the fields that identify an account")
	}
	for _, name := range a.Identity {
		f, ok := a.Field(name)
		if !ok || f.ReadOnly {
			return fmt.Errorf("identity field %s is not a writable field", name)
		}
	}
	for _, group := range a.Dependent {
		if len(group) < 2 {
			return fmt.Errorf("dependent group %v needs at least two fields", group)
		}
		for _, name := range group {
			f, ok := a.Field(name)
			if !ok || f.ReadOnly {
				return fmt.Errorf("dependent group %v: %s is not a writable field", group, name)
			}
		}
	}
	return nil
}

func (f *Field) check() error {
	if strings.TrimSpace(f.Name) == "" {
		return errors.New("a field has no name")
	}
	if f.Label == "" {
		f.Label = f.Name
	}
	switch f.Type {
	case TypeString, TypeEmail, TypePhone, TypeBoolean, TypeNumber, TypeDate, TypeReference:
		if len(f.Values) > 0 {
			return fmt.Errorf("field %s: only an enum field lists values", f.Name)
		}
	case TypeEnum:
		if len(f.Values) == 0 {
			return fmt.Errorf("field %s: an enum field must list its values", f.Name)
		}
	case "":
		return fmt.Errorf("field %s has no type", f.Name)
	default:
		return fmt.Errorf("field %s: unknown type %q (string, email, phone, enum, boolean, "+
			"number, date, reference)", f.Name, f.Type)
	}
	if f.MaxLength < 0 {
		return fmt.Errorf("field %s: maxLength must not be negative", f.Name)
	}
	if f.ReadOnly && f.Mandatory {
		return fmt.Errorf("field %s cannot be both mandatory and read-only", f.Name)
	}
	return nil
}

// Field returns the field with the given name.
func (a *App) Field(name string) (Field, bool) {
	i, ok := a.index[name]
	if !ok {
		return Field{}, false
	}
	return a.Fields[i], true
}

func (a *App) field(name string) *Field {
	if i, ok := a.index[name]; ok {
		return &a.Fields[i]
	}
	return nil
}

// Mandatory lists the names of the mandatory fields, in the app's order.
func (a *App) Mandatory() []string {
	var out []string
	for _, f := range a.Fields {
		if f.Mandatory {
			out = append(out, f.Name)
		}
	}
	return out
}

// Unmapped lists, in the app's field order, the writable fields the mapping
// gives no source; these are left alone, or supplied per assignment when
// mandatory.
func (a *App) Unmapped(m Mapping) []string {
	var out []string
	for _, f := range a.Fields {
		if _, ok := m.Fields[f.Name]; !ok && !f.ReadOnly {
			out = append(out, f.Name)
		}
	}
	return out
}

// DefaultMapping returns a copy of the application's default mapping.
func (a *App) DefaultMapping() Mapping { return a.Default.Clone() }

// Reset returns a copy of m with the named fields set back to their default
// source (or unmapped, when the default maps them to nothing). With no names
// it returns the whole default mapping, as "reset fields" does.
func (a *App) Reset(m Mapping, fields ...string) Mapping {
	if len(fields) == 0 {
		return a.DefaultMapping()
	}
	out := m.Clone()
	out.App = a.Name
	for _, name := range fields {
		if s, ok := a.Default.Fields[name]; ok {
			out.Fields[name] = s
		} else {
			delete(out.Fields, name)
		}
	}
	for name, t := range a.Default.Tables {
		if _, ok := out.Tables[name]; !ok {
			if out.Tables == nil {
				out.Tables = map[string]map[string]any{}
			}
			out.Tables[name] = t
		}
	}
	return out
}

// FormatMapping writes m as YAML for people: fields in the application's
// order, each unmapped field listed in a closing comment, the mandatory ones
// marked. ParseMapping reads the result back to the same mapping.
func (a *App) FormatMapping(m Mapping) ([]byte, error) {
	root, err := m.MarshalYAML()
	if err != nil {
		return nil, fmt.Errorf("format mapping: %w", err)
	}
	node := root.(*yaml.Node)
	fields := node.Content[3]
	ps := pairs(fields.Content)
	slices.SortStableFunc(ps, func(x, y [2]*yaml.Node) int {
		return a.order(x[0].Value) - a.order(y[0].Value)
	})
	fields.Content = flatten(ps)

	var notes []string
	for _, name := range a.Unmapped(m) {
		f := a.field(name)
		if f.Mandatory {
			name += " (mandatory: supply per assignment)"
		}
		notes = append(notes, "  "+name)
	}
	if len(notes) > 0 {
		fields.FootComment = "unmapped:\n" + strings.Join(notes, "\n")
	}
	out, err := encodeYAML(node)
	if err != nil {
		return nil, fmt.Errorf("format mapping: %w", err)
	}
	return out, nil
}

// order ranks a field name by its position in the app; unknown names last.
func (a *App) order(name string) int {
	if i, ok := a.index[name]; ok {
		return i
	}
	return len(a.Fields)
}

func pairs(content []*yaml.Node) [][2]*yaml.Node {
	out := make([][2]*yaml.Node, 0, len(content)/2)
	for i := 0; i+1 < len(content); i += 2 {
		out = append(out, [2]*yaml.Node{content[i], content[i+1]})
	}
	return out
}

func flatten(ps [][2]*yaml.Node) []*yaml.Node {
	out := make([]*yaml.Node, 0, 2*len(ps))
	for _, p := range ps {
		out = append(out, p[0], p[1])
	}
	return out
}
