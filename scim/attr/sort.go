package attr

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Sorter orders resources by one attribute (RFC 7644 section 3.4.2.3).
// It is a small value, safe for concurrent use.
type Sorter struct {
	top  *Attribute // the top-level attribute
	leaf *Attribute // the simple attribute compared
}

// SortBy resolves the sortBy parameter for resource type rt. It must name
// a simple attribute, a sub-attribute, or a complex multi-valued attribute
// with a "value" sub-attribute (which then sorts by that). Errors are SCIM
// invalidPath errors.
func (s *Schemas) SortBy(rt, sortBy string) (Sorter, error) {
	p, err := ParsePath(strings.TrimSpace(sortBy))
	if err != nil {
		return Sorter{}, err
	}
	if p.Filter != nil {
		return Sorter{}, invalidPath("sortBy %q must not hold a value filter", sortBy)
	}
	t, err := s.Resolve(rt, p)
	if err != nil {
		return Sorter{}, err
	}
	if t.Attr == nil {
		return Sorter{}, invalidPath("sortBy %q names a schema, not an attribute", sortBy)
	}
	leaf := t.Leaf()
	if leaf.Type == Complex {
		if leaf = leaf.Sub("value"); leaf == nil || !t.Attr.MultiValued {
			return Sorter{}, invalidPath("sortBy %q names a complex attribute; "+
				"name one of its sub-attributes", sortBy)
		}
	}
	return Sorter{top: t.Attr, leaf: leaf}, nil
}

// SortKey is the value a resource sorts by, computed once per resource.
// The zero SortKey is a missing value.
type SortKey struct {
	kind keyKind
	str  string
	num  float64
	at   time.Time
}

type keyKind uint8

// Kinds in the order mixed kinds sort in; missing values sort last.
const (
	keyMissing keyKind = iota
	keyBool
	keyNumber
	keyTime
	keyString
)

// Key computes the sort key of res. A multi-valued attribute sorts by its
// primary value, or else its first; strings that are not caseExact sort
// case-insensitively; dateTimes sort as instants. A nil Sorter or a value
// of an unexpected type gives a missing key.
func (o Sorter) Key(res map[string]any) SortKey {
	if o.top == nil {
		return SortKey{}
	}
	v, ok := o.top.ValueIn(res)
	if !ok {
		return SortKey{}
	}
	if o.top.MultiValued {
		v = pickValue(v)
	}
	if o.leaf != o.top {
		m, _ := v.(map[string]any)
		_, v, _ = Field(m, o.leaf.Name)
	}
	return keyOf(o.leaf, v)
}

// pickValue returns the primary element of a multi-valued attribute, or
// else its first.
func pickValue(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	for _, el := range list {
		if m, ok := el.(map[string]any); ok {
			if _, p, _ := Field(m, "primary"); p == true {
				return el
			}
		}
	}
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

func keyOf(a *Attribute, v any) SortKey {
	switch a.Type {
	case Boolean:
		if b, ok := v.(bool); ok {
			k := SortKey{kind: keyBool}
			if b {
				k.num = 1
			}
			return k
		}
	case Decimal, Integer:
		if f, ok := Number(v); ok {
			return SortKey{kind: keyNumber, num: f}
		}
	case DateTime:
		if t, ok := Instant(v); ok {
			return SortKey{kind: keyTime, at: t}
		}
	}
	s, ok := v.(string)
	if !ok {
		return SortKey{}
	}
	if !a.CaseExact {
		s = strings.ToLower(s)
	}
	return SortKey{kind: keyString, str: s}
}

// Compare orders two keys ascending: it returns a negative number when a
// sorts before b, zero when they tie and a positive number otherwise.
// Missing values sort after all others; for a descending sort, negate the
// result (missing values then come first).
func Compare(a, b SortKey) int {
	if a.kind != b.kind {
		if a.kind == keyMissing {
			return 1
		}
		if b.kind == keyMissing {
			return -1
		}
		return cmp.Compare(a.kind, b.kind)
	}
	switch a.kind {
	case keyBool, keyNumber:
		return cmp.Compare(a.num, b.num)
	case keyTime:
		return a.at.Compare(b.at)
	case keyString:
		return strings.Compare(a.str, b.str)
	}
	return 0
}

// Sort sorts resources in place by o, ascending unless descending is set.
// The sort is stable, so resources that tie keep their order.
func (o Sorter) Sort(resources []map[string]any, descending bool) {
	type item struct {
		res map[string]any
		key SortKey
	}
	items := make([]item, len(resources))
	for i, r := range resources {
		items[i] = item{res: r, key: o.Key(r)}
	}
	slices.SortStableFunc(items, func(x, y item) int {
		if descending {
			return Compare(y.key, x.key)
		}
		return Compare(x.key, y.key)
	})
	for i := range items {
		resources[i] = items[i].res
	}
}
