package attr

import (
	"encoding/json"
	"math"
	"strings"
	"time"
)

// Field returns the value stored in m under name, matching the key
// case-insensitively (an exact match wins), and the key as stored.
func Field(m map[string]any, name string) (key string, value any, ok bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}

// ValueIn returns the value top-level attribute a holds in resource res:
// under its name at the top level, or inside the object under its
// extension's URN. A JSON null counts as absent.
func (a *Attribute) ValueIn(res map[string]any) (any, bool) {
	m := res
	if a.Extension {
		_, ext, _ := Field(res, a.Schema)
		if m, _ = ext.(map[string]any); m == nil {
			return nil, false
		}
	}
	_, v, ok := Field(m, a.Name)
	return v, ok && v != nil
}

// Number converts a JSON-decoded number (float64, json.Number or a Go
// integer or float type) to float64.
func Number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	}
	return 0, false
}

// Instant parses an xsd:dateTime string (RFC 7643 section 2.3.5), such as
// "2015-10-10T14:38:21.8617979-07:00"; a value without a zone is UTC.
// Years before 1 or after 9999 are not supported.
func Instant(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	return t, err == nil
}

// Equal reports whether x and y are the same value of attribute a:
// strings compare as a.CaseExact says, numbers numerically, dateTimes as
// instants, and complex values sub-attribute by sub-attribute (absent
// equals absent; keys the schema does not define are ignored). Values of
// an unexpected type are equal only when identical.
func (a *Attribute) Equal(x, y any) bool {
	if x == nil || y == nil {
		return x == nil && y == nil
	}
	switch a.Type {
	case Complex:
		xm, xok := x.(map[string]any)
		ym, yok := y.(map[string]any)
		if !xok || !yok {
			return false
		}
		return a.equalComplex(xm, ym)
	case Decimal, Integer:
		xf, xok := Number(x)
		yf, yok := Number(y)
		if xok && yok {
			return xf == yf
		}
	case DateTime:
		if xt, ok := Instant(x); ok {
			if yt, ok := Instant(y); ok {
				return xt.Equal(yt)
			}
		}
	case Boolean:
		xb, xok := x.(bool)
		yb, yok := y.(bool)
		if xok && yok {
			return xb == yb
		}
	}
	xs, xok := x.(string)
	ys, yok := y.(string)
	if xok && yok {
		if a.CaseExact {
			return xs == ys
		}
		return strings.EqualFold(xs, ys)
	}
	return scalarIdentical(x, y)
}

func (a *Attribute) equalComplex(x, y map[string]any) bool {
	for _, sub := range a.SubAttributes {
		_, xv, _ := Field(x, sub.Name)
		_, yv, _ := Field(y, sub.Name)
		if !sub.Equal(xv, yv) {
			return false
		}
	}
	return true
}

// scalarIdentical compares values of comparable scalar types without
// panicking on maps or slices.
func scalarIdentical(x, y any) bool {
	switch xv := x.(type) {
	case string, bool, float64:
		return x == y
	case json.Number:
		yv, ok := y.(json.Number)
		return ok && xv == yv
	}
	xf, xok := Number(x)
	yf, yok := Number(y)
	return xok && yok && xf == yf
}
