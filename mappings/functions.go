package mappings

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
)

// functions returns the functions an administrator's expressions may call,
// on top of expr-lang's own; the package documentation lists them. They treat
// a missing value (nil) as empty rather than failing.
func functions(tables map[string]map[string]any) []expr.Option {
	one := new(func(any) any)
	two := new(func(any, any) any)
	three := new(func(any, any, any) any)
	return []expr.Option{
		expr.Function("lower", textFunc("lower", strings.ToLower), one),
		expr.Function("upper", textFunc("upper", strings.ToUpper), one),
		expr.Function("trim", textFunc("trim", strings.TrimSpace), one),
		expr.Function("join", join, one, two),
		expr.Function("split", split, two),
		expr.Function("coalesce", coalesce, new(func(...any) any)),
		expr.Function("default", coalesce, two),
		expr.Function("substring", substring, two, three),
		expr.Function("replace", replace, three),
		expr.Function("lookup", lookupFunc(tables), two, three),
	}
}

// textFunc lifts a string function to nil, scalars and lists.
func textFunc(name string, f func(string) string) func(...any) (any, error) {
	var apply func(v any) (any, error)
	apply = func(v any) (any, error) {
		switch t := v.(type) {
		case nil:
			return nil, nil
		case []any:
			out := make([]any, len(t))
			for i, item := range t {
				r, err := apply(item)
				if err != nil {
					return nil, err
				}
				out[i] = r
			}
			return out, nil
		}
		s, ok := toText(v)
		if !ok {
			return nil, fmt.Errorf("%s: expected text, got %T", name, v)
		}
		return f(s), nil
	}
	return func(args ...any) (any, error) { return apply(args[0]) }
}

func join(args ...any) (any, error) {
	sep := " "
	if len(args) > 1 {
		s, ok := args[1].(string)
		if !ok {
			return nil, fmt.Errorf("join: the separator must be text, got %T", args[1])
		}
		sep = s
	}
	list, ok := args[0].([]any)
	if !ok {
		list = []any{args[0]}
	}
	parts := make([]string, 0, len(list))
	for _, item := range list {
		if isEmpty(item) {
			continue
		}
		s, ok := toText(item)
		if !ok {
			return nil, fmt.Errorf("join: cannot join a %T", item)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return strings.Join(parts, sep), nil
}

func split(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	s, ok := toText(args[0])
	sep, sepOK := args[1].(string)
	if !ok || !sepOK {
		return nil, fmt.Errorf("split: expected text and a text separator")
	}
	var out []any
	for _, part := range strings.Split(s, sep) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out, nil
}

func coalesce(args ...any) (any, error) {
	for _, a := range args {
		if !isEmpty(a) {
			return a, nil
		}
	}
	return nil, nil
}

func substring(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	s, ok := toText(args[0])
	if !ok {
		return nil, fmt.Errorf("substring: expected text, got %T", args[0])
	}
	start, ok := toInt(args[1])
	if !ok {
		return nil, fmt.Errorf("substring: the start must be a whole number")
	}
	n := utf8.RuneCountInString(s)
	if len(args) > 2 {
		if n, ok = toInt(args[2]); !ok {
			return nil, fmt.Errorf("substring: the length must be a whole number")
		}
	}
	runes := []rune(s)
	start = min(max(start, 0), len(runes))
	end := start + min(max(n, 0), len(runes)-start)
	return string(runes[start:end]), nil
}

func toInt(v any) (int, bool) {
	f, ok := toFloat(v)
	if !ok || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

func replace(args ...any) (any, error) {
	oldS, ok1 := args[1].(string)
	newS, ok2 := args[2].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("replace: old and new must be text")
	}
	f := func(s string) string { return strings.ReplaceAll(s, oldS, newS) }
	return textFunc("replace", f)(args[0])
}

// lookupFunc reads a table: one of the mapping's named tables, or a map
// written inline in the expression.
func lookupFunc(tables map[string]map[string]any) func(...any) (any, error) {
	return func(args ...any) (any, error) {
		var table map[string]any
		switch t := args[0].(type) {
		case string:
			var ok bool
			if table, ok = tables[t]; !ok {
				return nil, fmt.Errorf("lookup: the mapping has no table %q", t)
			}
		case map[string]any:
			table = t
		default:
			return nil, fmt.Errorf("lookup: the table must be a table name or a map, got %T", t)
		}
		var fallback any
		if len(args) > 2 {
			fallback = args[2]
		}
		if isEmpty(args[1]) {
			return fallback, nil
		}
		key, ok := toText(args[1])
		if !ok {
			return nil, fmt.Errorf("lookup: the key must be text, got %T", args[1])
		}
		if v, found := lookupTable(table, key); found {
			return v, nil
		}
		return fallback, nil
	}
}

// lookupTable finds key exactly, else ignoring case and surrounding space;
// among keys equal but for case the smallest wins, so results never depend
// on map order.
func lookupTable(table map[string]any, key string) (any, bool) {
	if v, ok := table[key]; ok {
		return v, true
	}
	key = strings.TrimSpace(key)
	var candidates []string
	for k := range table {
		if strings.EqualFold(strings.TrimSpace(k), key) {
			candidates = append(candidates, k)
		}
	}
	if len(candidates) == 0 {
		return nil, false
	}
	return table[slices.Min(candidates)], true
}
