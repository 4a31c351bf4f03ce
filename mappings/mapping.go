package mappings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Mapping says, for one application, where each field's value comes from.
// A field absent from Fields is unmapped: it is either left alone or, when
// mandatory, supplied per assignment.
//
// On disk and over the admin API a mapping reads like this (YAML, or the
// same shape in JSON):
//
//	app: zoho-crm
//	fields:
//	  first_name: name.givenName                # a profile attribute
//	  role: {value: "4150868000000026005"}      # a hardcoded value
//	  email:
//	    expression: lower(attr("emails[type eq \"work\"].value"))
//	  profile:
//	    expression: lookup("profiles", enterprise.department, "Standard")
//	tables:
//	  profiles: {Sales: "4150868000000026011", Support: "4150868000000026014"}
//
// Tables are named lookup tables that expressions read with lookup.
type Mapping struct {
	App    string                    `json:"app" yaml:"app"`
	Fields map[string]Source         `json:"fields" yaml:"fields"`
	Tables map[string]map[string]any `json:"tables,omitempty" yaml:"tables,omitempty"`
}

// Source is where one field's value comes from. Exactly one of its members is
// set:
//   - Attribute, a profile attribute of the directory user as a SCIM
//     attribute path: "name.givenName", `emails[type eq "work"].value`,
//     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
//   - Value, a hardcoded JSON-like value (string, bool, number, or a list of
//     them for a multi-valued field); numbers read from YAML or JSON are kept
//     as json.Number so that long numeric ids survive unchanged;
//   - Expression, an expr-lang expression over the user (see the package
//     documentation of the functions it may call).
//
// In YAML a bare string is shorthand for an attribute; a hardcoded value is
// always written {value: ...}, so a value can never be mistaken for a path.
type Source struct {
	Attribute  string `json:"attribute,omitempty" yaml:"attribute,omitempty"`
	Value      any    `json:"value,omitempty" yaml:"value,omitempty"`
	Expression string `json:"expression,omitempty" yaml:"expression,omitempty"`
}

// SourceKind names where a projected value came from.
type SourceKind string

// The source kinds a preview reports.
const (
	SourceAttribute  SourceKind = "attribute"
	SourceValue      SourceKind = "value"
	SourceExpression SourceKind = "expression"
	SourceGiven      SourceKind = "given"
	SourceNone       SourceKind = "none"
)

// Kind reports which member of the source is set, or SourceNone when none is.
// A source with several members set reports the first of attribute, value,
// expression; validation rejects it.
func (s Source) Kind() SourceKind {
	switch {
	case s.Attribute != "":
		return SourceAttribute
	case s.Value != nil:
		return SourceValue
	case s.Expression != "":
		return SourceExpression
	}
	return SourceNone
}

// count returns how many members of the source are set.
func (s Source) count() int {
	n := 0
	if s.Attribute != "" {
		n++
	}
	if s.Value != nil {
		n++
	}
	if s.Expression != "" {
		n++
	}
	return n
}

// String renders the source the way an administrator wrote it, for messages.
func (s Source) String() string {
	switch s.Kind() {
	case SourceAttribute:
		return s.Attribute
	case SourceValue:
		b, err := json.Marshal(s.Value)
		if err != nil {
			return fmt.Sprint(s.Value)
		}
		return "value " + string(b)
	case SourceExpression:
		return "expression " + s.Expression
	}
	return "no source"
}

// Clone returns a deep copy of the mapping, so that callers may edit it
// without touching a catalog default.
func (m Mapping) Clone() Mapping {
	out := Mapping{App: m.App, Fields: make(map[string]Source, len(m.Fields))}
	for k, s := range m.Fields {
		if list, ok := s.Value.([]any); ok {
			s.Value = slices.Clone(list)
		}
		out.Fields[k] = s
	}
	if m.Tables != nil {
		out.Tables = make(map[string]map[string]any, len(m.Tables))
		for k, t := range m.Tables {
			out.Tables[k] = maps.Clone(t)
		}
	}
	return out
}

// ParseMapping reads a mapping from YAML (or JSON, which is YAML too). It
// checks only the shape of the file: unknown keys, a field with no source or
// with several, values that are not scalars. Whether the mapping suits its
// application is [App.Validate]'s job.
func ParseMapping(data []byte) (Mapping, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Mapping{}, fmt.Errorf("parse mapping: %w", err)
	}
	if len(doc.Content) == 0 {
		return Mapping{}, errors.New("parse mapping: the file is empty")
	}
	var m Mapping
	if err := m.UnmarshalYAML(doc.Content[0]); err != nil {
		return Mapping{}, fmt.Errorf("parse mapping: %w", err)
	}
	return m, nil
}

// MarshalMapping writes the mapping as YAML in the format ParseMapping reads:
// app, fields in name order, then tables. Attributes use the bare-string
// shorthand.
func MarshalMapping(m Mapping) ([]byte, error) {
	out, err := encodeYAML(m)
	if err != nil {
		return nil, fmt.Errorf("marshal mapping: %w", err)
	}
	return out, nil
}

// encodeYAML writes v as YAML indented by two spaces.
func encodeYAML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalYAML implements yaml.Unmarshaler with the checks of ParseMapping.
// A field written with no value at all ("role:") is read as unmapped.
func (m *Mapping) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a mapping is a YAML map with app and fields", n.Line)
	}
	*m = Mapping{Fields: map[string]Source{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		switch key.Value {
		case "app":
			if val.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: app must be an application name", val.Line)
			}
			m.App = val.Value
		case "fields":
			if err := m.decodeFields(val); err != nil {
				return err
			}
		case "tables":
			if err := m.decodeTables(val); err != nil {
				return err
			}
		default:
			return fmt.Errorf("line %d: unknown key %q (expected app, fields or tables)",
				key.Line, key.Value)
		}
	}
	return nil
}

func (m *Mapping) decodeFields(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: fields must map field names to sources", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if _, dup := m.Fields[key.Value]; dup {
			return fmt.Errorf("line %d: field %s is mapped twice", key.Line, key.Value)
		}
		if val.Kind == yaml.ScalarNode && val.ShortTag() == "!!null" {
			continue
		}
		var s Source
		if err := s.UnmarshalYAML(val); err != nil {
			return fmt.Errorf("field %s: %w", key.Value, err)
		}
		m.Fields[key.Value] = s
	}
	return nil
}

func (m *Mapping) decodeTables(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: tables must map table names to tables", n.Line)
	}
	m.Tables = map[string]map[string]any{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if val.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: table %s must map keys to values", val.Line, key.Value)
		}
		t := make(map[string]any, len(val.Content)/2)
		for j := 0; j+1 < len(val.Content); j += 2 {
			v, err := yamlScalar(val.Content[j+1])
			if err != nil {
				return fmt.Errorf("table %s: key %s: %w", key.Value, val.Content[j].Value, err)
			}
			t[val.Content[j].Value] = v
		}
		m.Tables[key.Value] = t
	}
	return nil
}

// MarshalYAML implements yaml.Marshaler: app, then fields in name order, then
// tables.
func (m Mapping) MarshalYAML() (any, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	root.Content = append(root.Content, strNode("app"), strNode(m.App))

	fields := &yaml.Node{Kind: yaml.MappingNode}
	for _, name := range slices.Sorted(maps.Keys(m.Fields)) {
		val, err := m.Fields[name].node()
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", name, err)
		}
		fields.Content = append(fields.Content, strNode(name), val)
	}
	root.Content = append(root.Content, strNode("fields"), fields)

	if len(m.Tables) > 0 {
		tables := &yaml.Node{Kind: yaml.MappingNode}
		for _, name := range slices.Sorted(maps.Keys(m.Tables)) {
			t := &yaml.Node{Kind: yaml.MappingNode}
			for _, k := range slices.Sorted(maps.Keys(m.Tables[name])) {
				v, err := valueNode(m.Tables[name][k])
				if err != nil {
					return nil, fmt.Errorf("table %s: key %s: %w", name, k, err)
				}
				t.Content = append(t.Content, strNode(k), v)
			}
			tables.Content = append(tables.Content, strNode(name), t)
		}
		root.Content = append(root.Content, strNode("tables"), tables)
	}
	return root, nil
}
