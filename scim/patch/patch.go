// Package patch applies SCIM PATCH operations (RFC 7644 section 3.5.2) to
// resources held as JSON-decoded maps, enforcing the schema: attribute
// types, mutability, required attributes and the single primary value.
//
// It accepts what identity providers send besides the RFC's own forms:
//   - Microsoft Entra ID's capitalised ops ("Add", "Replace", "Remove"),
//     "True"/"False" strings for booleans and numeric strings for numbers;
//   - path-less values whose keys are paths ("name.givenName",
//     "urn:...:enterprise:2.0:User:employeeNumber",
//     "emails[type eq \"work\"].value") or extension URNs;
//   - "remove" of "members" with a list of values, which removes just those
//     members, and "$ref": null inside member values;
//   - a bare string for a complex attribute with a "value" sub-attribute, as
//     in {"path": "urn:...:User:manager", "value": "id"}.
//
// Choices where the RFC leaves room:
//   - "add" or "replace" through a value filter that matches nothing, such
//     as emails[type eq "work"].value on a user without a work email,
//     creates the value when the filter is a conjunction of "eq" tests
//     (type eq "work"), taking those tests as its sub-attributes. Entra ID
//     maps its mail, phone and address fields to such paths and sends them
//     with "Add" or "Replace" whether or not the value exists yet, and its
//     provisioning team advises servers to create the missing value. RFC
//     7644 asks for noTarget on a replace, which is what a filter that
//     cannot describe a new value (co, or, not...) still gets;
//   - "remove" through a value filter that matches nothing succeeds without
//     change, so an identity provider's retry of a removal is harmless;
//   - adding a value a multi-valued attribute already holds (the same
//     "value", and "type" if both have one) changes nothing but fills in
//     sub-attributes the held value lacks and updates mutable ones;
//   - "replace" with a null value unassigns the attribute, like "remove";
//   - a write that leaves a readOnly or immutable attribute unchanged is
//     accepted, so a client may echo id back;
//   - writes to "schemas" are ignored: Apply itself lists there the
//     extensions the resource comes to hold and drops those it no longer
//     holds;
//   - readOnly sub-attributes inside a value (manager.displayName) and
//     sub-attributes the schema does not define are ignored, as a POST or
//     PUT ignores them; an attribute path the schema does not define is an
//     invalidPath error.
//
// Numbers are stored as float64, the type encoding/json decodes them to.
package patch

import (
	"fmt"
	"slices"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// Operation is one PATCH operation as a request body carries it.
type Operation struct {
	// Op is "add", "replace" or "remove", in any case.
	Op string `json:"op"`
	// Path is the target; empty for a path-less add or replace.
	Path string `json:"path,omitempty"`
	// Value is the JSON-decoded value.
	Value any `json:"value,omitempty"`
}

// Apply applies ops in order to a copy of resource res of resource type rt
// and returns the copy; res itself is never modified. Either every
// operation applies or Apply returns an error, always an
// errors.ScimError value (invalidSyntax, invalidPath, invalidValue,
// mutability or noTarget) whose detail names the failing operation.
// Apply does not touch meta; the caller stamps it when Changed says so.
func Apply(res map[string]any, ops []Operation, s *attr.Schemas,
	rt string) (map[string]any, error) {
	p := &patcher{s: s, rt: rt, res: cloneMap(res)}
	for i, op := range ops {
		if err := p.apply(op); err != nil {
			return nil, annotate(err, i, op)
		}
	}
	p.syncSchemas()
	return p.res, nil
}

type patcher struct {
	s   *attr.Schemas
	rt  string
	res map[string]any
}

func (p *patcher) apply(op Operation) error {
	name := strings.ToLower(strings.TrimSpace(op.Op))
	switch name {
	case opAdd, opReplace, opRemove:
	default:
		return scimError(scimerrors.ScimTypeInvalidSyntax,
			"op must be \"add\", \"replace\" or \"remove\"")
	}
	path := strings.TrimSpace(op.Path)
	if path != "" {
		return p.applyKey(name, path, op.Value)
	}
	if name == opRemove {
		return scimError(scimerrors.ScimTypeNoTarget, "remove needs a path")
	}
	values, ok := op.Value.(map[string]any)
	if !ok {
		return invalidValue("without a path, the value must be an object of attributes")
	}
	return p.applyObject(name, "", values)
}

// The operation names, lower-cased.
const (
	opAdd     = "add"
	opReplace = "replace"
	opRemove  = "remove"
)

// applyObject applies each key of a path-less value, in sorted order so
// the outcome does not depend on map order. Keys are paths relative to
// prefix (a schema URN) when it is set.
func (p *patcher) applyObject(op, prefix string, values map[string]any) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		key := k
		if prefix != "" {
			key = prefix + ":" + k
		}
		if err := p.applyKey(op, key, values[k]); err != nil {
			return err
		}
	}
	return nil
}

// applyKey applies op to the target a path string names.
func (p *patcher) applyKey(op, path string, value any) error {
	// A whole extension is named by its URN, which need not parse as a path
	// (its last segment may be a version such as "2.0").
	if urn, ok := p.s.Extension(p.rt, path); ok {
		return p.applyExtension(op, urn, value)
	}
	if strings.EqualFold(path, p.s.CoreSchema(p.rt)) && path != "" {
		m, ok := value.(map[string]any)
		if !ok || op == opRemove {
			return invalidPath("%q names the core schema, not an attribute", path)
		}
		return p.applyObject(op, p.s.CoreSchema(p.rt), m)
	}
	parsed, err := attr.ParsePath(path)
	if err != nil {
		return err
	}
	t, err := p.s.Resolve(p.rt, parsed)
	if err != nil {
		return err
	}
	switch {
	case t.Attr != nil && t.Attr.Name == "schemas" && t.Attr.Schema == "":
		// The schemas list follows the extensions the resource holds.
		return nil
	case t.Attr == nil:
		return p.applyExtension(op, t.Extension, value)
	case parsed.Filter != nil:
		return p.applyFiltered(op, t.Attr, parsed.Filter, t.Sub, value)
	case t.Sub != nil:
		return p.applySub(op, t.Attr, t.Sub, value)
	}
	return p.applyAttr(op, t.Attr, value)
}

// applyExtension applies op to a whole schema extension: remove unassigns
// each of its attributes, add and replace apply each key of the value.
func (p *patcher) applyExtension(op, urn string, value any) error {
	if op == opRemove || value == nil && op == opReplace {
		for _, a := range p.s.Attributes(p.rt) {
			if a.Schema == urn && a.Extension {
				if err := p.unassign(a); err != nil {
					return err
				}
			}
		}
		// Keys the schema does not define go with the extension.
		if key, _, ok := attr.Field(p.res, urn); ok {
			delete(p.res, key)
		}
		return nil
	}
	m, ok := value.(map[string]any)
	if !ok {
		return invalidValue("the value for the extension %q must be an object", urn)
	}
	return p.applyObject(op, urn, m)
}

// annotate prefixes an error's detail with the operation it came from.
func annotate(err error, i int, op Operation) error {
	se, ok := err.(scimerrors.ScimError)
	if !ok {
		se = scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidValue, Status: 400,
			Detail: err.Error()}
	}
	where := fmt.Sprintf("operation %d (%s", i+1, strings.TrimSpace(op.Op))
	if op.Path != "" {
		where += fmt.Sprintf(" %q", op.Path)
	}
	se.Detail = where + "): " + se.Detail
	return se
}

func scimError(t scimerrors.ScimType, format string, args ...any) error {
	return scimerrors.ScimError{ScimType: t, Detail: fmt.Sprintf(format, args...), Status: 400}
}

func invalidValue(format string, args ...any) error {
	return scimError(scimerrors.ScimTypeInvalidValue, format, args...)
}

func invalidPath(format string, args ...any) error {
	return scimError(scimerrors.ScimTypeInvalidPath, format, args...)
}

func mutability(format string, args ...any) error {
	return scimError(scimerrors.ScimTypeMutability, format, args...)
}

func noTarget(format string, args ...any) error {
	return scimError(scimerrors.ScimTypeNoTarget, format, args...)
}
