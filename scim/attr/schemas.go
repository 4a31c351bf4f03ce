package attr

import (
	"fmt"
	"strings"

	"github.com/elimity-com/scim/schema"
)

// Names of the resource types the SCIM endpoint serves.
const (
	User  = "User"
	Group = "Group"
)

// ResourceType describes one resource type: its name, core schema and
// schema extensions, as the schema library defines them.
type ResourceType struct {
	Name       string
	Schema     schema.Schema
	Extensions []schema.Schema
}

// UserType is the User resource type with the enterprise extension and any
// further extensions.
func UserType(extensions ...schema.Schema) ResourceType {
	ext := append([]schema.Schema{schema.ExtensionEnterpriseUser()}, extensions...)
	return ResourceType{Name: User, Schema: schema.CoreUserSchema(), Extensions: ext}
}

// GroupType is the Group resource type with any extensions.
func GroupType(extensions ...schema.Schema) ResourceType {
	return ResourceType{Name: Group, Schema: schema.CoreGroupSchema(), Extensions: extensions}
}

// Schemas answers questions about the attributes of a set of resource
// types. It is immutable once built and safe for concurrent use.
type Schemas struct {
	types map[string]*resourceType
	empty *resourceType
}

type resourceType struct {
	name       string
	core       string
	attrs      []*Attribute          // common then core, in schema order
	byName     map[string]*Attribute // by lower-case and by canonical name
	extensions []*extension
}

type extension struct {
	urn    string
	attrs  []*Attribute
	byName map[string]*Attribute // by lower-case and by canonical name
}

// New builds Schemas for the given resource types. It fails when two types
// share a name, a schema is declared twice within a type or a core
// attribute collides with a common one.
func New(types ...ResourceType) (*Schemas, error) {
	s := &Schemas{types: map[string]*resourceType{}, empty: newResourceType("", "")}
	for _, t := range types {
		key := strings.ToLower(t.Name)
		if _, dup := s.types[key]; dup || s.types[t.Name] != nil {
			return nil, fmt.Errorf("attr: resource type %q declared twice", t.Name)
		}
		rt, err := buildType(t)
		if err != nil {
			return nil, err
		}
		s.types[key] = rt
		s.types[t.Name] = rt // the usual spelling, found without lower-casing
	}
	return s, nil
}

// Default returns Schemas for User (core and enterprise extension, plus
// userExtensions) and Group. It panics when an extension repeats a schema
// URN, a programming error; New reports it as an error instead.
func Default(userExtensions ...schema.Schema) *Schemas {
	s, err := New(UserType(userExtensions...), GroupType())
	if err != nil {
		// The built-in schemas cannot collide; only a bad extension can.
		panic(err)
	}
	return s
}

func newResourceType(name, core string) *resourceType {
	rt := &resourceType{name: name, core: core, byName: map[string]*Attribute{}}
	for _, c := range schema.CommonAttributes() {
		a := fromCore(c, "", false)
		// RFC 7643 section 3: every response carries id and schemas.
		if a.Name == "id" || a.Name == "schemas" {
			a.Returned = Always
		}
		rt.add(a)
	}
	return rt
}

func (rt *resourceType) add(a *Attribute) bool {
	key := strings.ToLower(a.Name)
	if _, dup := rt.byName[key]; dup {
		return false
	}
	rt.byName[key] = a
	rt.byName[a.Name] = a
	rt.attrs = append(rt.attrs, a)
	return true
}

// get looks name up by its canonical spelling, then in any case.
func get(byName map[string]*Attribute, name string) *Attribute {
	if a, ok := byName[name]; ok {
		return a
	}
	return byName[strings.ToLower(name)]
}

func buildType(t ResourceType) (*resourceType, error) {
	rt := newResourceType(t.Name, t.Schema.ID)
	for _, c := range t.Schema.Attributes {
		if !rt.add(fromCore(c, t.Schema.ID, false)) {
			return nil, fmt.Errorf("attr: %s: attribute %q declared twice", t.Name, c.Name())
		}
	}
	seen := map[string]bool{strings.ToLower(t.Schema.ID): true}
	for _, e := range t.Extensions {
		if seen[strings.ToLower(e.ID)] {
			return nil, fmt.Errorf("attr: %s: schema %q declared twice", t.Name, e.ID)
		}
		seen[strings.ToLower(e.ID)] = true
		ext := &extension{urn: e.ID, byName: map[string]*Attribute{}}
		for _, c := range e.Attributes {
			a := fromCore(c, e.ID, true)
			ext.byName[strings.ToLower(a.Name)] = a
			ext.byName[a.Name] = a
			ext.attrs = append(ext.attrs, a)
		}
		rt.extensions = append(rt.extensions, ext)
	}
	return rt, nil
}

// lookup returns the resource type called name (any case). An unknown name
// yields a type holding only the common attributes.
func (s *Schemas) lookup(name string) *resourceType {
	if s == nil {
		return newResourceType("", "")
	}
	if rt, ok := s.types[name]; ok {
		return rt
	}
	if rt, ok := s.types[strings.ToLower(name)]; ok {
		return rt
	}
	return s.empty
}

// Known reports whether rt names a resource type of s.
func (s *Schemas) Known(rt string) bool {
	return s != nil && s.types[strings.ToLower(rt)] != nil
}

// CoreSchema returns the URN of the core schema of resource type rt, or ""
// when rt is unknown.
func (s *Schemas) CoreSchema(rt string) string { return s.lookup(rt).core }

// Extensions returns the URNs of the schema extensions of resource type rt.
func (s *Schemas) Extensions(rt string) []string {
	var urns []string
	for _, e := range s.lookup(rt).extensions {
		urns = append(urns, e.urn)
	}
	return urns
}

// Attributes returns the top-level attributes of resource type rt: the
// common attributes, the core schema's, then each extension's.
func (s *Schemas) Attributes(rt string) []*Attribute {
	t := s.lookup(rt)
	all := append([]*Attribute(nil), t.attrs...)
	for _, e := range t.extensions {
		all = append(all, e.attrs...)
	}
	return all
}

// Extension returns the canonical URN of the extension of rt called urn
// (any case), and whether there is one.
func (s *Schemas) Extension(rt, urn string) (string, bool) {
	if e := s.lookup(rt).extension(urn); e != nil {
		return e.urn, true
	}
	return "", false
}

func (rt *resourceType) extension(urn string) *extension {
	for _, e := range rt.extensions {
		if strings.EqualFold(e.urn, urn) {
			return e
		}
	}
	return nil
}

// Target is what a path names within a resource type.
type Target struct {
	// Attr is the top-level attribute; nil when the path names a whole
	// schema extension.
	Attr *Attribute
	// Sub is the named sub-attribute, or nil.
	Sub *Attribute
	// Extension is the URN of the whole extension the path names, set only
	// when Attr is nil.
	Extension string
}

// Leaf is the deepest attribute the target names: Sub when set, else Attr.
func (t Target) Leaf() *Attribute {
	if t.Sub != nil {
		return t.Sub
	}
	return t.Attr
}

// Resolve finds what path p names in resource type rt. A path without a URN
// names a common or core attribute and, failing that, the attribute of that
// name in the first extension defining it. The value filter of p is not
// checked. Errors are SCIM invalidPath errors.
func (s *Schemas) Resolve(rt string, p Path) (Target, error) {
	return s.lookup(rt).resolve(p)
}

func (t *resourceType) resolve(p Path) (Target, error) {
	var a *Attribute
	switch {
	case p.URI == "":
		a = t.find(p.Name)
	case strings.EqualFold(p.URI, t.core) && t.core != "":
		a = get(t.byName, p.Name)
	default:
		if e := t.extension(p.URI); e != nil {
			a = get(e.byName, p.Name)
		} else if e := t.extension(p.URI + ":" + p.Name); e != nil {
			if p.Filter != nil || p.Sub != "" {
				return Target{}, invalidPath("%q names a schema, not an attribute", p.String())
			}
			return Target{Extension: e.urn}, nil
		} else {
			return Target{}, invalidPath("%q is not a schema of %s", p.URI, t.label())
		}
	}
	if a == nil {
		return Target{}, invalidPath("%q is not an attribute of %s", p.attrString(), t.label())
	}
	target := Target{Attr: a}
	if p.Sub == "" {
		return target, nil
	}
	if target.Sub = a.Sub(p.Sub); target.Sub == nil {
		return Target{}, invalidPath("%q has no sub-attribute %q", a.Name, p.Sub)
	}
	return target, nil
}

// find looks a bare name up in the common and core attributes, then in the
// extensions.
func (rt *resourceType) find(name string) *Attribute {
	if a := get(rt.byName, name); a != nil {
		return a
	}
	for _, e := range rt.extensions {
		if a := get(e.byName, name); a != nil {
			return a
		}
	}
	return nil
}

func (rt *resourceType) label() string {
	if rt.name == "" {
		return "this resource type"
	}
	return rt.name
}

// Lookup parses path and returns the deepest attribute it names in rt. A
// value filter in path is parsed but not checked. Errors are SCIM
// invalidPath errors.
func (s *Schemas) Lookup(rt, path string) (*Attribute, error) {
	p, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	t, err := s.Resolve(rt, p)
	if err != nil {
		return nil, err
	}
	if t.Attr == nil {
		return nil, invalidPath("%q names a schema, not an attribute", path)
	}
	return t.Leaf(), nil
}
