package mappings

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// isEmpty reports whether a value counts as no value at all: nil, a string
// of only white space, or an empty list or object.
func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(t) == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

// toBool reads a boolean, accepting the strings "true" and "false" in any
// case, as identity providers such as Microsoft Entra send them.
func toBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		switch {
		case strings.EqualFold(t, "true"):
			return true, true
		case strings.EqualFold(t, "false"):
			return false, true
		}
	}
	return false, false
}

// toFloat reads a number from any Go numeric type or a json.Number.
func toFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, !math.IsNaN(t) && !math.IsInf(t, 0)
	case float32:
		return toFloat(float64(t))
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case int32:
		return float64(t), true
	case uint64:
		return float64(t), true
	case uint:
		return float64(t), true
	case json.Number:
		f, err := t.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	}
	return 0, false
}

// formatNumber writes a float the way encoding/json does, so that text and
// hashes of numbers agree with the JSON a connector sends. It reports false
// for NaN and infinities, which JSON cannot hold.
func formatNumber(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	return string(appendNumber(nil, f)), true
}

func appendNumber(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// toText renders a scalar as text for a text field: strings as they are,
// numbers as JSON writes them, booleans as true or false.
func toText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		return strconv.FormatBool(t), true
	case json.Number:
		if f, ok := toFloat(t); ok {
			if isIntegral(string(t)) {
				return string(t), true
			}
			return formatNumber(f)
		}
		return "", false
	}
	if f, ok := toFloat(v); ok {
		return formatNumber(f)
	}
	return "", false
}

// isIntegral reports whether s is a plain run of digits with an optional
// minus sign: such numbers keep every digit when they become text, so that
// numeric ids longer than a float64 can hold survive.
func isIntegral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// coerce converts a value from a source into what the field holds. It
// returns the value (nil when the source gave nothing), a note when the value
// was changed on the way (truncated), and an error saying why the field
// cannot take the value. It does not allocate when the value already fits.
func (f *Field) coerce(v any) (any, string, error) {
	if isEmpty(v) {
		return nil, "", nil
	}
	if f.MultiValued {
		return f.coerceList(v)
	}
	if list, ok := v.([]any); ok {
		if len(list) != 1 {
			return nil, "", fmt.Errorf("got a list of %d values and the field holds one", len(list))
		}
		return f.coerce(list[0])
	}
	return f.coerceOne(v)
}

func (f *Field) coerceList(v any) (any, string, error) {
	list, ok := v.([]any)
	if !ok {
		one, note, err := f.coerceOne(v)
		if err != nil || one == nil {
			return nil, note, err
		}
		return []any{one}, note, nil
	}
	out := make([]any, 0, len(list))
	var note string
	for i, item := range list {
		if isEmpty(item) {
			continue
		}
		one, n, err := f.coerceOne(item)
		if err != nil {
			return nil, "", fmt.Errorf("item %d: %w", i+1, err)
		}
		if n != "" {
			note = n
		}
		out = append(out, one)
	}
	if len(out) == 0 {
		return nil, "", nil
	}
	return out, note, nil
}

func (f *Field) coerceOne(v any) (any, string, error) {
	switch v.(type) {
	case map[string]any, []any:
		return nil, "", fmt.Errorf("got an object or list and %s is a %s field", f.Name, f.Type)
	}
	switch f.Type {
	case TypeBoolean:
		if b, ok := toBool(v); ok {
			if _, same := v.(bool); same {
				return v, "", nil
			}
			return b, "", nil
		}
		return nil, "", fmt.Errorf("%s is not a boolean (true or false)", show(v))
	case TypeNumber:
		return coerceNumber(v)
	}

	s, ok := toText(v)
	if !ok {
		return nil, "", fmt.Errorf("%s cannot be written as text", show(v))
	}
	switch f.Type {
	case TypeEmail:
		s = strings.TrimSpace(s)
		if !looksLikeEmail(s) {
			return nil, "", fmt.Errorf("%s is not an email address", show(s))
		}
	case TypePhone:
		s = strings.TrimSpace(s)
		if !looksLikePhone(s) {
			return nil, "", fmt.Errorf("%s is not a phone number", show(s))
		}
	case TypeEnum:
		canon, ok := f.allowed(s)
		if !ok {
			return nil, "", fmt.Errorf("%s is not one of %s", show(s), strings.Join(f.Values, ", "))
		}
		s = canon
	case TypeDate:
		d, ok := asDate(s)
		if !ok {
			return nil, "", fmt.Errorf("%s is not a date (YYYY-MM-DD)", show(s))
		}
		s = d
	}
	return f.fitLength(v, s)
}

// fitLength applies the maximum length. Free text is cut at the limit, on a
// character boundary, because a slightly shortened name or title is better
// than no account; an address, number or id cut short would be wrong, so
// those are refused instead.
func (f *Field) fitLength(orig any, s string) (any, string, error) {
	if f.MaxLength > 0 && utf8.RuneCountInString(s) > f.MaxLength {
		if f.Type != TypeString {
			return nil, "", fmt.Errorf("%s is longer than %d characters", show(s), f.MaxLength)
		}
		n, cut := 0, len(s)
		for i := range s {
			if n == f.MaxLength {
				cut = i
				break
			}
			n++
		}
		return s[:cut], fmt.Sprintf("truncated to %d characters", f.MaxLength), nil
	}
	if o, ok := orig.(string); ok && o == s {
		return orig, "", nil
	}
	return s, "", nil
}

func coerceNumber(v any) (any, string, error) {
	switch t := v.(type) {
	case float64:
		if _, ok := toFloat(t); ok {
			return v, "", nil
		}
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
			return n, "", nil
		}
		return nil, "", fmt.Errorf("%s is not a number", show(v))
	}
	if n, ok := toFloat(v); ok {
		return n, "", nil
	}
	return nil, "", fmt.Errorf("%s is not a number", show(v))
}

// allowed finds s among the enum's values, exactly or else ignoring case,
// and returns the value as the application spells it.
func (f *Field) allowed(s string) (string, bool) {
	for _, a := range f.Values {
		if a == s {
			return a, true
		}
	}
	for _, a := range f.Values {
		if strings.EqualFold(a, s) {
			return a, true
		}
	}
	return "", false
}

// asDate accepts a calendar date or a SCIM dateTime and returns the date as
// written (the time and zone of a dateTime are dropped, not converted).
func asDate(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return s, true
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return s[:10], true
	}
	return "", false
}

func looksLikeEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n,;<>") {
		return false
	}
	return !strings.HasPrefix(s[at+1:], ".") && !strings.HasSuffix(s, ".")
}

func looksLikePhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() ./x#*", r):
		default:
			return false
		}
	}
	return digits >= 3
}

// show quotes a value for a message, cutting long text short.
func show(v any) string {
	s, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
	if utf8.RuneCountInString(s) > 60 {
		r := []rune(s)
		s = string(r[:57]) + "..."
	}
	return strconv.Quote(s)
}
