package patch

import (
	"strings"

	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/scim-bridge/scim-bridge/scim/filter"
)

// indexFrom is the list length from which look-ups by "value" go through a
// map, so adding or removing many group members stays linear.
const indexFrom = 16

// elements edits the values of a multi-valued attribute. The slice is a
// copy; an element map is copied before its first change, so the
// resource's own values are never changed in place.
type elements struct {
	a     *attr.Attribute
	list  []any
	owned []bool // list[i] is a copy this edit may change
	fresh []bool // list[i] was written by this operation
	gone  []bool // list[i] is removed
	index map[string][]int
}

func newElements(a *attr.Attribute, cur any) *elements {
	var list []any
	switch v := cur.(type) {
	case nil:
	case []any:
		list = append(list, v...)
	default:
		list = []any{v}
	}
	n := len(list)
	return &elements{a: a, list: list, owned: make([]bool, n), fresh: make([]bool, n),
		gone: make([]bool, n)}
}

// key is the index key of a value: its "value" (or itself, for a simple
// attribute) when that is a string, folded unless caseExact.
func (e *elements) key(v any) (string, bool) {
	leaf := e.a
	if e.a.Type == attr.Complex {
		if leaf = e.a.Sub("value"); leaf == nil {
			return "", false
		}
		m, _ := v.(map[string]any)
		_, v, _ = attr.Field(m, "value")
	}
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	if !leaf.CaseExact {
		s = strings.ToLower(s)
	}
	return s, true
}

// find returns the index of a held value that is the same as v, or -1.
func (e *elements) find(v any) int {
	if k, ok := e.key(v); ok && len(e.list) >= indexFrom {
		if e.index == nil {
			e.index = map[string][]int{}
			for i, el := range e.list {
				if ek, ok := e.key(el); ok {
					e.index[ek] = append(e.index[ek], i)
				}
			}
		}
		for _, i := range e.index[k] {
			if !e.gone[i] && same(e.a, e.list[i], v) {
				return i
			}
		}
		return -1
	}
	for i, el := range e.list {
		if !e.gone[i] && same(e.a, el, v) {
			return i
		}
	}
	return -1
}

// append adds v as a new value.
func (e *elements) append(v any) {
	e.list = append(e.list, v)
	e.owned = append(e.owned, true)
	e.fresh = append(e.fresh, true)
	e.gone = append(e.gone, false)
	if e.index != nil {
		if k, ok := e.key(v); ok {
			e.index[k] = append(e.index[k], len(e.list)-1)
		}
	}
}

// add adds v unless the same value is held; then it fills in and updates
// the held value's sub-attributes, keeping immutable ones that are set.
func (e *elements) add(v any) {
	i := e.find(v)
	if i < 0 {
		e.append(v)
		return
	}
	if m, ok := v.(map[string]any); ok {
		// Leniency over immutable sub-attributes cannot fail.
		_ = e.merge(i, m, false)
	}
	e.fresh[i] = true
}

// remove drops every held value that is the same as v.
func (e *elements) remove(v any) {
	for i := e.find(v); i >= 0; i = e.find(v) {
		e.gone[i] = true
	}
}

// matching returns the indexes of the values satisfying value filter f.
func (e *elements) matching(f attr.Expr) []int {
	var out []int
	for i, el := range e.list {
		if !e.gone[i] && filter.MatchValue(f, el, e.a) {
			out = append(out, i)
		}
	}
	return out
}

func (e *elements) drop(indexes []int) {
	for _, i := range indexes {
		e.gone[i] = true
	}
}

// own returns list[i] as a map this edit may change.
func (e *elements) own(i int) map[string]any {
	m, _ := e.list[i].(map[string]any)
	if !e.owned[i] {
		m = cloneMap(m)
		e.list[i] = m
		e.owned[i] = true
	}
	if m == nil {
		m = map[string]any{}
		e.list[i] = m
	}
	return m
}

// setSub sets sub-attribute sub of value i to nv, or removes it when nv is
// nil; a value left empty is removed.
func (e *elements) setSub(i int, sub *attr.Attribute, nv any) error {
	m, _ := e.list[i].(map[string]any)
	_, old, _ := attr.Field(m, sub.Name)
	if nv != nil {
		e.fresh[i] = true
	}
	if equalJSON(old, nv) {
		return nil
	}
	if err := subWritable(sub, old); err != nil {
		return err
	}
	m = e.own(i)
	deleteField(m, sub.Name)
	if nv != nil {
		m[sub.Name] = nv
	} else if len(m) == 0 {
		e.gone[i] = true
	}
	return nil
}

// replace replaces value i by nv, keeping the readOnly sub-attributes the
// old value had; an immutable sub-attribute may not change.
func (e *elements) replace(i int, nv any) error {
	next, ok := nv.(map[string]any)
	if !ok {
		if !equalJSON(e.list[i], nv) && e.a.Mutability == attr.Immutable {
			return mutability("%q is immutable", e.a.FullName())
		}
		e.list[i], e.owned[i], e.fresh[i] = nv, true, true
		return nil
	}
	old, _ := e.list[i].(map[string]any)
	next = cloneMap(next)
	for _, sub := range e.a.SubAttributes {
		_, was, _ := attr.Field(old, sub.Name)
		if was == nil {
			continue
		}
		_, now, _ := attr.Field(next, sub.Name)
		switch {
		case sub.Mutability == attr.ReadOnly || now == nil && sub.Mutability == attr.Immutable:
			next[sub.Name] = was
		case sub.Mutability == attr.Immutable && !sub.Equal(was, now):
			return mutability("%q is immutable", sub.FullName())
		}
	}
	e.list[i], e.owned[i], e.fresh[i] = next, true, true
	return nil
}

// merge sets the sub-attributes nv gives on value i. When strict, changing
// a set immutable sub-attribute is an error; otherwise it is kept.
func (e *elements) merge(i int, nv any, strict bool) error {
	next, ok := nv.(map[string]any)
	if !ok {
		return e.replace(i, nv)
	}
	old, _ := e.list[i].(map[string]any)
	merged, err := mergeComplex(e.a, old, next, strict)
	if err != nil {
		return err
	}
	e.list[i], e.owned[i], e.fresh[i] = merged, true, true
	return nil
}

// create appends a value built from the sub-attributes a value filter
// tests (base), with nv as sub-attribute sub, or merged over base when sub
// is nil.
func (e *elements) create(base map[string]any, sub *attr.Attribute, nv any) error {
	if sub != nil {
		if err := subWritable(sub, nil); err != nil {
			return err
		}
		base[sub.Name] = nv
	} else if m, ok := nv.(map[string]any); ok {
		for k, v := range m {
			base[k] = v
		}
	}
	e.append(base)
	return nil
}

// result returns the edited list, nil when empty. When this operation made
// one value primary, the others stop being primary (RFC 7643 section 2.4:
// "true" appears at most once); making two values primary is an error.
func (e *elements) result() (any, error) {
	primary := e.a.Sub("primary")
	freshPrimaries := 0
	out := make([]any, 0, len(e.list))
	for i, el := range e.list {
		if e.gone[i] || isEmpty(el) {
			continue
		}
		if primary != nil && e.fresh[i] && isPrimary(el) {
			freshPrimaries++
		}
	}
	if freshPrimaries > 1 {
		return nil, invalidValue("only one value of %q may be primary", e.a.FullName())
	}
	for i, el := range e.list {
		if e.gone[i] || isEmpty(el) {
			continue
		}
		if freshPrimaries == 1 && !e.fresh[i] && isPrimary(el) {
			m := e.own(i)
			m[primary.Name] = false
			el = m
		}
		out = append(out, el)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func isPrimary(el any) bool {
	m, _ := el.(map[string]any)
	_, v, _ := attr.Field(m, "primary")
	return v == true
}

// same reports whether x and y are the same value of multi-valued a: equal
// "value" sub-attributes (and equal "type" when both have one), or equal
// as a whole when there is no "value".
func same(a *attr.Attribute, x, y any) bool {
	if a.Type != attr.Complex {
		return a.Equal(x, y)
	}
	xm, xok := x.(map[string]any)
	ym, yok := y.(map[string]any)
	if !xok || !yok {
		return equalJSON(x, y)
	}
	if vs := a.Sub("value"); vs != nil {
		_, xv, _ := attr.Field(xm, "value")
		_, yv, _ := attr.Field(ym, "value")
		if xv != nil || yv != nil {
			if !vs.Equal(xv, yv) {
				return false
			}
			if ts := a.Sub("type"); ts != nil {
				_, xt, _ := attr.Field(xm, "type")
				_, yt, _ := attr.Field(ym, "type")
				if xt != nil && yt != nil && !ts.Equal(xt, yt) {
					return false
				}
			}
			return true
		}
	}
	return a.Equal(xm, ym)
}

// derive builds the value a value filter describes, when it is a
// conjunction of "eq" tests on sub-attributes: type eq "work" and primary
// eq true gives {"type": "work", "primary": true}.
func derive(a *attr.Attribute, f attr.Expr) (map[string]any, bool) {
	if a.Type != attr.Complex {
		return nil, false
	}
	switch f := f.(type) {
	case *attr.Comparison:
		p := f.Path
		if f.Op != attr.Eq || f.Value == nil || p.URI != "" || p.Sub != "" || p.Filter != nil {
			return nil, false
		}
		sub := a.Sub(p.Name)
		if sub == nil || sub.Mutability == attr.ReadOnly {
			return nil, false
		}
		v, err := coerce(sub, f.Value)
		if err != nil {
			return nil, false
		}
		return map[string]any{sub.Name: v}, true
	case *attr.And:
		left, ok := derive(a, f.Left)
		if !ok {
			return nil, false
		}
		right, ok := derive(a, f.Right)
		if !ok {
			return nil, false
		}
		for k, v := range right {
			if lv, clash := left[k]; clash && !equalJSON(lv, v) {
				return nil, false
			}
			left[k] = v
		}
		return left, true
	}
	return nil, false
}

// mergeComplex returns a copy of cur with the sub-attributes of next set.
// Changing a set immutable sub-attribute is an error when strict and is
// skipped otherwise.
func mergeComplex(a *attr.Attribute, cur, next map[string]any,
	strict bool) (map[string]any, error) {
	out := cloneMap(cur)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range next {
		sub := a.Sub(k)
		_, old, _ := attr.Field(out, k)
		// An equal value keeps its stored spelling ("W@X.ORG" is a@x.org).
		if sub == nil || equalJSON(old, v) || old != nil && sub.Equal(old, v) {
			continue
		}
		if err := subWritable(sub, old); err != nil {
			if strict {
				return nil, err
			}
			continue
		}
		deleteField(out, sub.Name)
		out[sub.Name] = v
	}
	return out, nil
}

// setSub returns a copy of complex value cur with sub set to nv, or
// removed when nv is nil.
func setSub(sub *attr.Attribute, cur map[string]any, nv any) (map[string]any, error) {
	_, old, _ := attr.Field(cur, sub.Name)
	if equalJSON(old, nv) {
		return cur, nil
	}
	if err := subWritable(sub, old); err != nil {
		return nil, err
	}
	out := cloneMap(cur)
	if out == nil {
		out = map[string]any{}
	}
	deleteField(out, sub.Name)
	if nv != nil {
		out[sub.Name] = nv
	}
	return out, nil
}

// subWritable checks that a sub-attribute holding old may change.
func subWritable(sub *attr.Attribute, old any) error {
	switch {
	case sub.Mutability == attr.ReadOnly:
		return mutability("%q is readOnly", sub.FullName())
	case sub.Mutability == attr.Immutable && old != nil:
		return mutability("%q is immutable and already set", sub.FullName())
	}
	return nil
}
