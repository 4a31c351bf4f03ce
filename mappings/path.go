package mappings

import (
	"fmt"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// attrPath is a compiled SCIM attribute path naming a profile attribute of
// the directory user: attr, attr.sub, attr[filter], attr[filter].sub, each
// optionally prefixed by a schema URN. It is immutable once parsed and safe
// for concurrent use.
type attrPath struct {
	text   string            // as the administrator wrote it
	urn    string            // extension schema URN; "" for the core schema
	name   string            // top-level attribute
	sub    string            // sub-attribute, "" for none
	filter filter.Expression // value filter over a multi-valued attribute, or nil
}

// parsePath parses a SCIM attribute path. It checks syntax only; whether the
// directory has the attribute is checked by check.
func parsePath(text string) (*attrPath, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("the attribute path is empty")
	}
	p, err := filter.ParsePathNumber([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("%q is not a SCIM attribute path "+
			"(name.givenName, emails[type eq \"work\"].value, urn:...:User:department)", text)
	}
	ap := &attrPath{
		text:   text,
		urn:    p.AttributePath.URI(),
		name:   p.AttributePath.AttributeName,
		sub:    p.AttributePath.SubAttributeName(),
		filter: p.ValueExpression,
	}
	if p.SubAttribute != nil {
		if ap.sub != "" {
			return nil, fmt.Errorf("%q: a filter applies to a multi-valued attribute, "+
				"not to a sub-attribute", text)
		}
		ap.sub = *p.SubAttribute
	}
	if strings.EqualFold(ap.urn, CoreUserURN) {
		ap.urn = ""
	}
	return ap, nil
}

// check verifies the path against the directory schema and returns the
// definition of the attribute it yields (the sub-attribute when there is
// one). A filter may compare only sub-attributes of the filtered attribute.
func (p *attrPath) check(dir *Directory) (*Attribute, error) {
	if dir.schema(p.urn+":"+p.name) != nil {
		return nil, fmt.Errorf("%s names a whole schema; add an attribute, "+
			"as in %s:department", p.text, p.text)
	}
	a, sa, err := dir.resolve(p.urn, p.name, p.sub)
	if err != nil {
		return nil, err
	}
	if p.filter != nil {
		if !a.MultiValued {
			return nil, fmt.Errorf("a filter needs a multi-valued attribute and "+
				"%s holds one value", a.Name)
		}
		if err := checkFilter(p.filter, a); err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
	}
	if sa != nil {
		return sa, nil
	}
	return a, nil
}

func checkFilter(e filter.Expression, a *Attribute) error {
	switch f := e.(type) {
	case *filter.AttributeExpression:
		name := f.AttributePath.AttributeName
		if f.AttributePath.URIPrefix != nil || f.AttributePath.SubAttribute != nil {
			return fmt.Errorf("a filter on %s compares its own sub-attributes only", a.Name)
		}
		if findAttr(a.SubAttributes, name) == nil {
			return fmt.Errorf("%s has no sub-attribute %s%s",
				a.Name, name, suggest(name, attrNames(a.SubAttributes)))
		}
	case *filter.LogicalExpression:
		if err := checkFilter(f.Left, a); err != nil {
			return err
		}
		return checkFilter(f.Right, a)
	case *filter.NotExpression:
		return checkFilter(f.Expression, a)
	default:
		return fmt.Errorf("a filter on %s cannot nest another filter", a.Name)
	}
	return nil
}

// container returns the object holding the path's top-level attribute: the
// user itself, or the extension object under its URN key.
func (p *attrPath) container(user map[string]any) map[string]any {
	if p.urn == "" {
		return user
	}
	ext, _ := lookupKey(user, p.urn)
	m, _ := ext.(map[string]any)
	return m
}

// one returns the single value the path yields for the user: for a
// multi-valued attribute, the primary entry's value, else the first entry
// that has one. Filters narrow the entries first. It returns nil when the
// user has no such value, and never allocates. Each path picks its entry on
// its own, so when the primary address lacks a city, addresses.locality comes
// from another address while addresses.streetAddress still comes from the
// primary one.
func (p *attrPath) one(user map[string]any) any {
	c := p.container(user)
	if c == nil {
		return nil
	}
	v, _ := lookupKey(c, p.name)
	switch t := v.(type) {
	case []any:
		var first any
		for _, entry := range t {
			val, primary, ok := p.entry(entry)
			if !ok {
				continue
			}
			if primary {
				return val
			}
			if first == nil {
				first = val
			}
		}
		return first
	case map[string]any:
		if p.filter != nil && !matches(p.filter, t) {
			return nil
		}
		if p.sub == "" {
			return t
		}
		sv, _ := lookupKey(t, p.sub)
		return sv
	}
	if p.sub != "" || p.filter != nil {
		return nil
	}
	return v
}

// all appends to dst every non-empty value the path yields, in the order the
// user holds them, and returns the extended slice.
func (p *attrPath) all(user map[string]any, dst []any) []any {
	c := p.container(user)
	if c == nil {
		return dst
	}
	v, _ := lookupKey(c, p.name)
	list, ok := v.([]any)
	if !ok {
		if one := p.one(user); !isEmpty(one) {
			dst = append(dst, one)
		}
		return dst
	}
	for _, entry := range list {
		if val, _, ok := p.entry(entry); ok {
			dst = append(dst, val)
		}
	}
	return dst
}

// entry reads one entry of a multi-valued attribute: the value it yields
// (its sub-attribute, or "value" for a complex entry when the path names
// none), whether it is marked primary, and whether it matched the filter and
// held a non-empty value.
func (p *attrPath) entry(entry any) (any, bool, bool) {
	m, isMap := entry.(map[string]any)
	if !isMap {
		if p.filter != nil || p.sub != "" || isEmpty(entry) {
			return nil, false, false
		}
		return entry, false, true
	}
	if p.filter != nil && !matches(p.filter, m) {
		return nil, false, false
	}
	key := p.sub
	if key == "" {
		key = "value"
	}
	val, _ := lookupKey(m, key)
	if isEmpty(val) {
		return nil, false, false
	}
	pv, _ := lookupKey(m, "primary")
	primary, _ := toBool(pv)
	return val, primary, true
}

// explain says, for a preview, why the path yields nothing for the user.
func (p *attrPath) explain(user map[string]any) string {
	c := p.container(user)
	if c == nil {
		return "the user has no " + p.urn + " extension"
	}
	v, ok := lookupKey(c, p.name)
	if !ok || v == nil {
		return "the user has no " + p.name
	}
	list, isList := v.([]any)
	switch {
	case isList && len(list) == 0:
		return "the user's " + p.name + " is an empty list"
	case isList && p.filter != nil:
		return fmt.Sprintf("no entry of the user's %s matches [%v] with a value", p.name, p.filter)
	case isList:
		return fmt.Sprintf("no entry of the user's %s has a %s", p.name, orValue(p.sub))
	case p.sub != "":
		return "the user has no " + p.name + "." + p.sub
	}
	return "the user's " + p.name + " is empty"
}

func orValue(sub string) string {
	if sub == "" {
		return "value"
	}
	return sub
}

// lookupKey finds key in m, first exactly, then ignoring case, because
// identity providers do not all send SCIM's canonical attribute names. When
// several keys differ only in case, the smallest one wins, so the answer
// never depends on map order.
func lookupKey(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	var found string
	var val any
	ok := false
	for k, v := range m {
		if len(k) != len(key) || !strings.EqualFold(k, key) {
			continue
		}
		if !ok || k < found {
			found, val, ok = k, v, true
		}
	}
	return val, ok
}

// matches evaluates a value filter against one entry of a multi-valued
// attribute. Text compares ignoring case, as SCIM does for attributes that
// are not caseExact; "True" and "False" strings count as booleans because
// some identity providers send them.
func matches(e filter.Expression, entry map[string]any) bool {
	switch f := e.(type) {
	case *filter.AttributeExpression:
		v, present := lookupKey(entry, f.AttributePath.AttributeName)
		return compare(v, present, f.Operator, f.CompareValue)
	case *filter.LogicalExpression:
		if f.Operator == filter.AND {
			return matches(f.Left, entry) && matches(f.Right, entry)
		}
		return matches(f.Left, entry) || matches(f.Right, entry)
	case *filter.NotExpression:
		return !matches(f.Expression, entry)
	}
	return false
}

func compare(v any, present bool, op filter.CompareOperator, want any) bool {
	if op == filter.PR {
		return present && !isEmpty(v)
	}
	if b, ok := want.(bool); ok {
		got, isBool := toBool(v)
		switch op {
		case filter.EQ:
			return isBool && got == b
		case filter.NE:
			return !isBool || got != b
		}
		return false
	}
	if wf, ok := toFloat(want); ok {
		gf, isNum := toFloat(v)
		if !isNum {
			return op == filter.NE
		}
		return orderOK(op, cmpFloat(gf, wf))
	}
	ws, _ := want.(string)
	gs, isText := v.(string)
	if want == nil {
		return (op == filter.EQ) == isEmpty(v)
	}
	if !isText {
		return op == filter.NE
	}
	switch op {
	case filter.EQ:
		return strings.EqualFold(gs, ws)
	case filter.NE:
		return !strings.EqualFold(gs, ws)
	case filter.CO:
		return strings.Contains(strings.ToLower(gs), strings.ToLower(ws))
	case filter.SW:
		return len(gs) >= len(ws) && strings.EqualFold(gs[:len(ws)], ws)
	case filter.EW:
		return len(gs) >= len(ws) && strings.EqualFold(gs[len(gs)-len(ws):], ws)
	}
	return orderOK(op, strings.Compare(strings.ToLower(gs), strings.ToLower(ws)))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func orderOK(op filter.CompareOperator, c int) bool {
	switch op {
	case filter.EQ:
		return c == 0
	case filter.NE:
		return c != 0
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	}
	return false
}
