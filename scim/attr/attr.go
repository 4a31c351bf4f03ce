// Package attr knows the attributes of SCIM resources: their definitions,
// the paths that name them, which of them a response returns and how they
// sort.
//
// Resources are held as the JSON decoder leaves them: map[string]any with
// string, bool, float64 (numbers), nil, []any and map[string]any values.
// Every function here also tolerates json.Number and Go integer types and
// never panics on values of an unexpected type; such values simply match
// nothing. Core attributes sit at the top level of a resource under their
// names; extension attributes sit in an object under the extension's schema
// URN, as RFC 7643 section 3.3 lays out.
//
// Attribute names are matched case-insensitively everywhere, as RFC 7643
// section 2.1 requires. The filter grammar also lives here, because a PATCH
// path embeds a value filter (emails[type eq "work"].value); package filter
// evaluates it.
package attr

import (
	"strings"

	"github.com/elimity-com/scim/schema"
)

// Type is an attribute data type (RFC 7643 section 2.3).
type Type string

// The attribute data types.
const (
	String    Type = "string"
	Boolean   Type = "boolean"
	Decimal   Type = "decimal"
	Integer   Type = "integer"
	DateTime  Type = "dateTime"
	Reference Type = "reference"
	Binary    Type = "binary"
	Complex   Type = "complex"
)

// Mutability says whether and when a client may write an attribute.
type Mutability string

// The mutability characteristics (RFC 7643 section 7).
const (
	ReadOnly  Mutability = "readOnly"
	ReadWrite Mutability = "readWrite"
	Immutable Mutability = "immutable"
	WriteOnly Mutability = "writeOnly"
)

// Returned says when a response carries an attribute.
type Returned string

// The returned characteristics (RFC 7643 section 7).
const (
	Always    Returned = "always"
	Never     Returned = "never"
	ByDefault Returned = "default"
	OnRequest Returned = "request"
)

// Uniqueness says over which set an attribute's value must be unique.
type Uniqueness string

// The uniqueness characteristics (RFC 7643 section 7).
const (
	None   Uniqueness = "none"
	Server Uniqueness = "server"
	Global Uniqueness = "global"
)

// Attribute is the definition of one attribute or sub-attribute. Schemas
// hands out shared definitions: treat them as read-only, and they are safe
// to use from many goroutines.
type Attribute struct {
	// Name is the canonical spelling, as the schema declares it.
	Name string
	// Schema is the URN of the schema that declares the attribute; it is
	// empty for the common attributes (id, externalId, meta, schemas).
	Schema string
	// Extension is true when the attribute belongs to a schema extension,
	// so its value lives in the object under the Schema URN.
	Extension       bool
	Type            Type
	MultiValued     bool
	CaseExact       bool
	Required        bool
	Mutability      Mutability
	Returned        Returned
	Uniqueness      Uniqueness
	CanonicalValues []string
	ReferenceTypes  []string
	// SubAttributes are the sub-attributes of a complex attribute.
	SubAttributes []*Attribute

	parent *Attribute
}

// Sub returns the sub-attribute called name (any case), or nil.
func (a *Attribute) Sub(name string) *Attribute {
	if a == nil {
		return nil
	}
	for _, s := range a.SubAttributes {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// Parent returns the attribute a sub-attribute belongs to, or nil for a
// top-level attribute.
func (a *Attribute) Parent() *Attribute { return a.parent }

// FullName is the attribute's dotted name within its schema, such as
// "name.givenName"; extension attributes are prefixed with their URN.
func (a *Attribute) FullName() string {
	name := a.Name
	top := a
	if a.parent != nil {
		name = a.parent.Name + "." + a.Name
		top = a.parent
	}
	if top.Extension {
		return top.Schema + ":" + name
	}
	return name
}

// fromCore converts a definition of the schema library.
func fromCore(c schema.CoreAttribute, urn string, extension bool) *Attribute {
	a := &Attribute{
		Name:            c.Name(),
		Schema:          urn,
		Extension:       extension,
		Type:            Type(c.AttributeType()),
		MultiValued:     c.MultiValued(),
		CaseExact:       c.CaseExact(),
		Required:        c.Required(),
		Mutability:      Mutability(c.Mutability()),
		Returned:        Returned(c.Returned()),
		Uniqueness:      Uniqueness(c.Uniqueness()),
		CanonicalValues: c.CanonicalValues(),
	}
	for _, r := range c.ReferenceTypes() {
		a.ReferenceTypes = append(a.ReferenceTypes, string(r))
	}
	// RFC 7643 section 7: a writeOnly attribute is never returned.
	if a.Mutability == WriteOnly {
		a.Returned = Never
	}
	for _, sc := range c.SubAttributes() {
		sub := fromCore(sc, urn, extension)
		sub.parent = a
		a.SubAttributes = append(a.SubAttributes, sub)
	}
	return a
}
