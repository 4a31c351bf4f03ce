// Package filter evaluates SCIM filters (RFC 7644 section 3.4.2.2) against
// resources held as JSON-decoded maps.
//
// Evaluation follows the schema: attribute names are case-insensitive;
// strings compare case-insensitively unless the attribute is caseExact;
// dateTimes compare as instants; a multi-valued attribute matches when any
// of its values does; a complex multi-valued attribute named without a
// sub-attribute (emails co "@example.com") compares its "value"
// sub-attribute. Core and extension attributes mix freely in one filter.
//
// Choices where the RFC is silent:
//   - "attr eq null" matches when attr has no value (RFC 7643 section 2.5
//     makes null and unassigned the same) and "attr ne null" when it has;
//   - "ne" is the negation of "eq": it matches a resource lacking the
//     attribute, and a multi-valued attribute only when no value is equal;
//   - an attribute the schema does not define has no values;
//   - a literal of the wrong type for its attribute matches nothing, except
//     that "true"/"false" strings compare with booleans and numbers with
//     numeric strings, as Microsoft Entra ID writes them.
//
// Match never panics, whatever the resource holds.
package filter

import (
	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// Expr is a parsed filter; see attr.Expr for its node types.
type Expr = attr.Expr

// Parse parses a filter. Errors are SCIM invalidFilter errors
// (github.com/elimity-com/scim/errors.ScimError values) whose detail says
// what is wrong and where. See attr.ParseFilter for the grammar and limits.
func Parse(s string) (Expr, error) { return attr.ParseFilter(s) }

// Match reports whether resource res of resource type rt satisfies e.
func Match(e Expr, res map[string]any, s *attr.Schemas, rt string) bool {
	if e == nil {
		return true
	}
	return evaluator{s: s, rt: rt}.eval(e, res)
}

// MatchValue reports whether one value of complex attribute a satisfies
// the value filter e, whose paths name sub-attributes of a: it is the test
// emails[type eq "work"] applies to each email. A value of a multi-valued
// simple attribute is tested as the sub-attribute "value".
func MatchValue(e Expr, value any, a *attr.Attribute) bool {
	if e == nil {
		return true
	}
	return evaluator{parent: a}.evalValue(e, value)
}

// evaluator evaluates at the top level of a resource (parent nil) or
// within one value of a complex attribute.
type evaluator struct {
	s      *attr.Schemas
	rt     string
	parent *attr.Attribute
}

func (ev evaluator) eval(e Expr, res map[string]any) bool {
	switch e := e.(type) {
	case *attr.And:
		return ev.eval(e.Left, res) && ev.eval(e.Right, res)
	case *attr.Or:
		return ev.eval(e.Left, res) || ev.eval(e.Right, res)
	case *attr.Not:
		return !ev.eval(e.X, res)
	case *attr.Comparison:
		t, err := ev.s.Resolve(ev.rt, e.Path)
		if err != nil || t.Attr == nil {
			return compareNone(e)
		}
		v, _ := t.Attr.ValueIn(res)
		return compareAttr(e, t.Attr, v, e.Path.Filter, t.Sub)
	case *attr.ValuePath:
		t, err := ev.s.Resolve(ev.rt, e.Path)
		if err != nil || t.Attr == nil {
			return false
		}
		v, _ := t.Attr.ValueIn(res)
		return anyValue(t.Attr, v, e.Path.Filter)
	}
	return false
}

// evalValue evaluates a value filter against one value of ev.parent.
func (ev evaluator) evalValue(e Expr, value any) bool {
	switch e := e.(type) {
	case *attr.And:
		return ev.evalValue(e.Left, value) && ev.evalValue(e.Right, value)
	case *attr.Or:
		return ev.evalValue(e.Left, value) || ev.evalValue(e.Right, value)
	case *attr.Not:
		return !ev.evalValue(e.X, value)
	case *attr.Comparison:
		if e.Path.Filter != nil || e.Path.Sub != "" {
			return compareNone(e)
		}
		m, ok := value.(map[string]any)
		if !ok {
			// An element of a multi-valued simple attribute is its "value".
			if ev.parent != nil && ev.parent.Type != attr.Complex && e.Path.Name == "value" {
				return compareLeaf(e, ev.parent, value)
			}
			return compareNone(e)
		}
		sub := ev.parent.Sub(e.Path.Name)
		if sub == nil {
			return compareNone(e)
		}
		_, v, _ := attr.Field(m, sub.Name)
		return compareLeaf(e, sub, v)
	}
	return false
}

// anyValue reports whether a has a value satisfying the value filter f.
func anyValue(a *attr.Attribute, v any, f Expr) bool {
	for _, el := range elements(a, v) {
		if MatchValue(f, el, a) {
			return true
		}
	}
	return false
}

// elements lists the values of an attribute: the elements of a
// multi-valued one, the value itself otherwise.
func elements(a *attr.Attribute, v any) []any {
	if v == nil {
		return nil
	}
	if list, ok := v.([]any); ok && a.MultiValued {
		return list
	}
	return []any{v}
}
