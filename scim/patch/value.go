package patch

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// coerce converts a request value to the stored form of attribute a: a
// []any for a multi-valued attribute (a single value is wrapped, nulls are
// dropped), one converted value otherwise.
func coerce(a *attr.Attribute, v any) (any, error) {
	if !a.MultiValued {
		return coerceOne(a, v)
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, el := range list {
		if el == nil {
			continue
		}
		c, err := coerceOne(a, el)
		if err != nil {
			return nil, err
		}
		if !isEmpty(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// coerceOne converts one value (one element of a multi-valued attribute).
// Booleans also come as "true"/"false" strings in any case and numbers as
// numeric strings; numbers are stored as float64. A complex attribute with
// a "value" sub-attribute also takes a bare value for it.
func coerceOne(a *attr.Attribute, v any) (any, error) {
	switch a.Type {
	case attr.Complex:
		m, ok := v.(map[string]any)
		if !ok {
			if _, isList := v.([]any); !isList && a.Sub("value") != nil {
				m = map[string]any{"value": v}
			} else {
				return nil, invalidValue("%q must be an object", a.FullName())
			}
		}
		return coerceComplex(a, m)
	case attr.Boolean:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if strings.EqualFold(b, "true") {
				return true, nil
			}
			if strings.EqualFold(b, "false") {
				return false, nil
			}
		}
		return nil, invalidValue("%q must be a boolean", a.FullName())
	case attr.Integer, attr.Decimal:
		f, ok := number(v)
		if !ok {
			return nil, invalidValue("%q must be a number", a.FullName())
		}
		if a.Type == attr.Integer && f != math.Trunc(f) {
			return nil, invalidValue("%q must be an integer", a.FullName())
		}
		return f, nil
	}

	s, ok := v.(string)
	if !ok {
		return nil, invalidValue("%q must be a string", a.FullName())
	}
	switch a.Type {
	case attr.DateTime:
		if _, ok := attr.Instant(s); !ok {
			return nil, invalidValue("%q must be an xsd:dateTime such as "+
				"2015-10-10T14:38:21Z", a.FullName())
		}
	case attr.Binary:
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return nil, invalidValue("%q must be base64", a.FullName())
		}
	}
	return s, nil
}

// coerceComplex converts the sub-attributes of a complex value, keyed by
// their canonical names. Null and undefined sub-attributes are dropped, and
// so are readOnly ones of a writable attribute, as RFC 7643 section 7 has a
// server ignore readOnly input (a readOnly attribute keeps them, so that
// writing it is refused unless nothing changes).
func coerceComplex(a *attr.Attribute, m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		sub := a.Sub(k)
		if sub == nil || v == nil || sub.Mutability == attr.ReadOnly && a.Mutability != attr.ReadOnly {
			continue
		}
		if _, dup := out[sub.Name]; dup {
			return nil, scimError(scimerrors.ScimTypeInvalidSyntax,
				"%q is given twice", sub.FullName())
		}
		c, err := coerce(sub, v)
		if err != nil {
			return nil, err
		}
		if !isEmpty(c) {
			out[sub.Name] = c
		}
	}
	return out, nil
}

// number accepts a JSON number of any Go representation or a numeric
// string, and rejects NaN and infinities.
func number(v any) (float64, bool) {
	f, ok := attr.Number(v)
	if s, isString := v.(string); isString {
		var err error
		f, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
		ok = err == nil
	}
	return f, ok && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// detail returns the client-facing text of an error.
func detail(err error) string {
	var se scimerrors.ScimError
	if errors.As(err, &se) {
		return se.Detail
	}
	return err.Error()
}
