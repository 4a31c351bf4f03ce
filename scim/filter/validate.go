package filter

import (
	"errors"
	"fmt"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// Validate checks e against the schema of resource type rt, as RFC 7644
// section 3.4.2.2 asks before a filter is evaluated: every attribute must
// exist; a value filter must apply to a complex attribute and name its
// sub-attributes; a singular complex attribute is only tested with "pr";
// gt, ge, lt and le do not apply to boolean or binary attributes. Errors
// are SCIM invalidFilter errors. Match does not need a valid filter: it
// treats what Validate rejects as matching nothing.
func Validate(e Expr, s *attr.Schemas, rt string) error {
	return validate(e, func(p attr.Path) (attr.Target, error) { return s.Resolve(rt, p) })
}

type resolver func(attr.Path) (attr.Target, error)

func validate(e Expr, resolve resolver) error {
	switch e := e.(type) {
	case *attr.And:
		return first(validate(e.Left, resolve), func() error { return validate(e.Right, resolve) })
	case *attr.Or:
		return first(validate(e.Left, resolve), func() error { return validate(e.Right, resolve) })
	case *attr.Not:
		return validate(e.X, resolve)
	case *attr.ValuePath:
		_, err := resolvePath(e.Path, resolve)
		return err
	case *attr.Comparison:
		leaf, err := resolvePath(e.Path, resolve)
		if err != nil {
			return err
		}
		return checkOperator(e, leaf)
	}
	return invalidFilter("unsupported filter expression")
}

// resolvePath resolves p and checks its value filter; it returns the
// attribute a comparison on p compares.
func resolvePath(p attr.Path, resolve resolver) (*attr.Attribute, error) {
	t, err := resolve(p)
	if err != nil {
		return nil, asInvalidFilter(err)
	}
	if t.Attr == nil {
		return nil, invalidFilter("%q names a schema, not an attribute", p.String())
	}
	if p.Filter != nil {
		if t.Attr.Type != attr.Complex {
			return nil, invalidFilter("%q is not complex and takes no value filter", t.Attr.Name)
		}
		inner := func(q attr.Path) (attr.Target, error) { return resolveSub(t.Attr, q) }
		if err := validate(p.Filter, inner); err != nil {
			return nil, err
		}
	}
	return t.Leaf(), nil
}

// resolveSub resolves a path inside the value filter of attribute a.
func resolveSub(a *attr.Attribute, p attr.Path) (attr.Target, error) {
	if p.URI != "" || p.Sub != "" || p.Filter != nil {
		return attr.Target{}, invalidFilter("%q inside the value filter of %q must be "+
			"a sub-attribute name", p.String(), a.Name)
	}
	if a.Type != attr.Complex && p.Name == "value" {
		return attr.Target{Attr: a}, nil
	}
	sub := a.Sub(p.Name)
	if sub == nil {
		return attr.Target{}, invalidFilter("%q has no sub-attribute %q", a.Name, p.Name)
	}
	return attr.Target{Attr: sub}, nil
}

func checkOperator(c *attr.Comparison, leaf *attr.Attribute) error {
	if c.Op == attr.Pr {
		return nil
	}
	if leaf.Type == attr.Complex {
		if !leaf.MultiValued || leaf.Sub("value") == nil {
			return invalidFilter("%q is complex: compare one of its sub-attributes", leaf.Name)
		}
		leaf = leaf.Sub("value")
	}
	switch c.Op {
	case attr.Gt, attr.Ge, attr.Lt, attr.Le:
		if leaf.Type == attr.Boolean || leaf.Type == attr.Binary {
			return invalidFilter("%q is %s and cannot be ordered with %q",
				leaf.Name, leaf.Type, c.Op)
		}
	}
	return nil
}

// first returns err, or else the error of next.
func first(err error, next func() error) error {
	if err != nil {
		return err
	}
	return next()
}

func invalidFilter(format string, args ...any) error {
	return scimerrors.ScimError{
		ScimType: scimerrors.ScimTypeInvalidFilter,
		Detail:   fmt.Sprintf(format, args...),
		Status:   400,
	}
}

// asInvalidFilter re-types a path error as a filter error.
func asInvalidFilter(err error) error {
	var se scimerrors.ScimError
	if errors.As(err, &se) {
		return invalidFilter("%s", se.Detail)
	}
	return invalidFilter("%v", err)
}

// ValidateValue checks value filter e against attribute a, whose
// sub-attributes its paths name (for a multi-valued simple attribute, the
// name "value" stands for the value itself). Errors are SCIM invalidFilter
// errors.
func ValidateValue(e Expr, a *attr.Attribute) error {
	return validate(e, func(q attr.Path) (attr.Target, error) { return resolveSub(a, q) })
}
