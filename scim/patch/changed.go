package patch

import "github.com/scim-bridge/scim-bridge/scim/attr"

// Changed reports whether after differs from before, so a caller can skip
// a write (and keep meta.version) when a PATCH changed nothing, as an
// identity provider's retry usually does. Maps compare key by key, arrays
// element by element in order, numbers numerically whatever their Go type.
func Changed(before, after map[string]any) bool { return !equalJSON(before, after) }

// equalJSON compares two JSON values without panicking on any input.
func equalJSON(x, y any) bool {
	switch xv := x.(type) {
	case nil:
		return y == nil
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for k, e := range xv {
			f, ok := yv[k]
			if !ok || !equalJSON(e, f) {
				return false
			}
		}
		return true
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for i := range xv {
			if !equalJSON(xv[i], yv[i]) {
				return false
			}
		}
		return true
	case string:
		yv, ok := y.(string)
		return ok && xv == yv
	case bool:
		yv, ok := y.(bool)
		return ok && xv == yv
	}
	xf, xok := attr.Number(x)
	yf, yok := attr.Number(y)
	return xok && yok && xf == yf
}

// cloneMap deep-copies a JSON object; nil stays nil.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}
