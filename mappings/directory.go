package mappings

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The schema URNs of the directory user that every directory has.
const (
	CoreUserURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// AttributeType is a SCIM attribute data type (RFC 7643 section 2.3).
type AttributeType string

// The SCIM attribute data types.
const (
	AttrString    AttributeType = "string"
	AttrBoolean   AttributeType = "boolean"
	AttrDecimal   AttributeType = "decimal"
	AttrInteger   AttributeType = "integer"
	AttrDateTime  AttributeType = "dateTime"
	AttrReference AttributeType = "reference"
	AttrBinary    AttributeType = "binary"
	AttrComplex   AttributeType = "complex"
)

// Attribute describes one profile attribute of the directory user, in the
// shape of a SCIM schema attribute definition (RFC 7643 section 7).
type Attribute struct {
	Name          string        `json:"name"`
	Type          AttributeType `json:"type"`
	MultiValued   bool          `json:"multiValued,omitempty"`
	SubAttributes []Attribute   `json:"subAttributes,omitempty"`
}

// Directory is the schema of the directory user: the core User attributes
// and every extension schema the SCIM server declares. Mappings may name only
// the attributes it knows. Names are matched case-insensitively, as SCIM
// requires.
//
// A Directory is built once at start (DefaultDirectory, then AddExtension for
// each custom extension); after that it is read-only and safe for concurrent
// use. AddExtension must not run concurrently with any other method.
//
// The zero Directory knows no attributes at all; start from DefaultDirectory.
type Directory struct {
	schemas []*dirSchema // the core schema first, then extensions in the order added
	names   *keyNames    // attribute names for canonicalising users, rebuilt on change
}

type dirSchema struct {
	urn   string
	attrs []Attribute
}

// DefaultDirectory returns the schema of the core User (RFC 7643 section 4.1)
// with the enterprise User extension (section 4.3).
func DefaultDirectory() *Directory {
	d := &Directory{}
	d.setCore(coreUserAttributes())
	if err := d.AddExtension(EnterpriseUserURN, enterpriseAttributes()...); err != nil {
		panic(err) // The built-in definitions are constants; failing here is a bug.
	}
	return d
}

var (
	attrNameRE = regexp.MustCompile(`^\$?[A-Za-z][A-Za-z0-9_-]*$`)
	urnRE      = regexp.MustCompile(`^(?i:urn):[A-Za-z0-9][A-Za-z0-9-]*:[^\s\[\]"]+$`)
)

// AddExtension declares an extension schema of the directory user: its URN
// and its attributes. It fails if the URN is malformed or already declared,
// or if an attribute is unnamed, badly typed or declared twice.
func (d *Directory) AddExtension(urn string, attrs ...Attribute) error {
	if !urnRE.MatchString(urn) {
		return fmt.Errorf("add extension: %q is not a schema URN", urn)
	}
	if d.schema(urn) != nil {
		return fmt.Errorf("add extension: schema %s is already declared", urn)
	}
	if err := checkAttributes(attrs, true); err != nil {
		return fmt.Errorf("add extension %s: %w", urn, err)
	}
	if len(d.schemas) == 0 {
		d.setCore(nil)
	}
	d.schemas = append(d.schemas, &dirSchema{urn: urn, attrs: slices.Clone(attrs)})
	d.reindex()
	return nil
}

func (d *Directory) setCore(attrs []Attribute) {
	d.schemas = []*dirSchema{{urn: CoreUserURN, attrs: attrs}}
	d.reindex()
}

// core returns the core User schema; empty for the zero Directory.
func (d *Directory) core() *dirSchema {
	if len(d.schemas) == 0 {
		return &dirSchema{urn: CoreUserURN}
	}
	return d.schemas[0]
}

func (d *Directory) reindex() {
	n := attrKeyNames(d.core().attrs)
	for _, s := range d.schemas[1:] {
		n.add(s.urn, attrKeyNames(s.attrs))
	}
	d.names = n
}

// AddSchemaJSON declares an extension schema given as a SCIM schema resource
// (RFC 7643 section 7: "id" is the URN, "attributes" the definitions), the
// form in which the SCIM server publishes it at /Schemas.
func (d *Directory) AddSchemaJSON(data []byte) error {
	var s struct {
		ID         string      `json:"id"`
		Attributes []Attribute `json:"attributes"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("add schema: %w", err)
	}
	return d.AddExtension(s.ID, s.Attributes...)
}

// Extensions lists the URNs of the declared extension schemas.
func (d *Directory) Extensions() []string {
	var out []string
	if len(d.schemas) == 0 {
		return nil
	}
	for _, s := range d.schemas[1:] {
		out = append(out, s.urn)
	}
	return out
}

func checkAttributes(attrs []Attribute, top bool) error {
	seen := map[string]bool{}
	for _, a := range attrs {
		if !attrNameRE.MatchString(a.Name) {
			return fmt.Errorf("attribute name %q is not a SCIM attribute name", a.Name)
		}
		if seen[strings.ToLower(a.Name)] {
			return fmt.Errorf("attribute %s is declared twice", a.Name)
		}
		seen[strings.ToLower(a.Name)] = true
		switch a.Type {
		case AttrString, AttrBoolean, AttrDecimal, AttrInteger, AttrDateTime,
			AttrReference, AttrBinary:
			if len(a.SubAttributes) > 0 {
				return fmt.Errorf("attribute %s: only a complex attribute has sub-attributes", a.Name)
			}
		case AttrComplex:
			if !top {
				return fmt.Errorf("attribute %s: a sub-attribute cannot be complex", a.Name)
			}
			if err := checkAttributes(a.SubAttributes, false); err != nil {
				return fmt.Errorf("attribute %s: %w", a.Name, err)
			}
		case "":
			return fmt.Errorf("attribute %s has no type", a.Name)
		default:
			return fmt.Errorf("attribute %s: unknown type %q", a.Name, a.Type)
		}
	}
	return nil
}

// schema finds a schema by URN, ignoring case; nil when unknown.
func (d *Directory) schema(urn string) *dirSchema {
	for _, s := range d.schemas {
		if strings.EqualFold(s.urn, urn) {
			return s
		}
	}
	return nil
}

// findAttr looks a name up among attrs, ignoring case.
func findAttr(attrs []Attribute, name string) *Attribute {
	for i := range attrs {
		if strings.EqualFold(attrs[i].Name, name) {
			return &attrs[i]
		}
	}
	return nil
}

// resolve finds the definitions a path names: the attribute and, when the
// path has a sub-attribute, that sub-attribute. The error explains what is
// unknown and suggests a close name.
func (d *Directory) resolve(urn, name, sub string) (*Attribute, *Attribute, error) {
	s := d.core()
	if urn != "" {
		if s = d.schema(urn); s == nil {
			return nil, nil, fmt.Errorf("the directory has no extension schema %s%s",
				urn, suggest(urn, d.urns()))
		}
	}
	a := findAttr(s.attrs, name)
	if a == nil {
		return nil, nil, fmt.Errorf("%s has no attribute %s%s", schemaTitle(s.urn),
			name, suggest(name, attrNames(s.attrs)))
	}
	if sub == "" {
		return a, nil, nil
	}
	if a.Type != AttrComplex {
		return nil, nil, fmt.Errorf("%s is a %s attribute, it has no sub-attribute %s",
			a.Name, a.Type, sub)
	}
	sa := findAttr(a.SubAttributes, sub)
	if sa == nil {
		return nil, nil, fmt.Errorf("%s has no sub-attribute %s%s",
			a.Name, sub, suggest(sub, attrNames(a.SubAttributes)))
	}
	return a, sa, nil
}

// schemaTitle names a schema for messages.
func schemaTitle(urn string) string {
	switch urn {
	case CoreUserURN:
		return "the directory user"
	case EnterpriseUserURN:
		return "the enterprise extension"
	}
	return "extension " + urn
}

func (d *Directory) urns() []string {
	out := make([]string, 0, len(d.schemas))
	for _, s := range d.schemas {
		out = append(out, s.urn)
	}
	return out
}

func attrNames(attrs []Attribute) []string {
	out := make([]string, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a.Name)
	}
	return out
}

func multiComplex(name string, subs ...Attribute) Attribute {
	return Attribute{Name: name, Type: AttrComplex, MultiValued: true, SubAttributes: subs}
}

func str(name string) Attribute { return Attribute{Name: name, Type: AttrString} }

func coreUserAttributes() []Attribute {
	typed := func(valueType AttributeType) []Attribute {
		return []Attribute{
			{Name: "value", Type: valueType}, str("display"), str("type"),
			{Name: "primary", Type: AttrBoolean},
		}
	}
	return []Attribute{
		str("id"),
		str("externalId"),
		str("userName"),
		{Name: "name", Type: AttrComplex, SubAttributes: []Attribute{
			str("formatted"), str("familyName"), str("givenName"), str("middleName"),
			str("honorificPrefix"), str("honorificSuffix"),
		}},
		str("displayName"),
		str("nickName"),
		{Name: "profileUrl", Type: AttrReference},
		str("title"),
		str("userType"),
		str("preferredLanguage"),
		str("locale"),
		str("timezone"),
		{Name: "active", Type: AttrBoolean},
		multiComplex("emails", typed(AttrString)...),
		multiComplex("phoneNumbers", typed(AttrString)...),
		multiComplex("ims", typed(AttrString)...),
		multiComplex("photos", typed(AttrReference)...),
		multiComplex("addresses",
			str("formatted"), str("streetAddress"), str("locality"), str("region"),
			str("postalCode"), str("country"), str("type"),
			Attribute{Name: "primary", Type: AttrBoolean}),
		multiComplex("groups", str("value"), Attribute{Name: "$ref", Type: AttrReference},
			str("display"), str("type")),
		multiComplex("entitlements", typed(AttrString)...),
		multiComplex("roles", typed(AttrString)...),
		multiComplex("x509Certificates", typed(AttrBinary)...),
	}
}

func enterpriseAttributes() []Attribute {
	return []Attribute{
		str("employeeNumber"),
		str("costCenter"),
		str("organization"),
		str("division"),
		str("department"),
		{Name: "manager", Type: AttrComplex, SubAttributes: []Attribute{
			str("value"), {Name: "$ref", Type: AttrReference}, str("displayName"),
		}},
	}
}
