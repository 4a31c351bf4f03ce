package patch

import (
	"strings"

	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/scim-bridge/scim-bridge/scim/filter"
)

// applyAttr applies op to a whole top-level attribute.
func (p *patcher) applyAttr(op string, a *attr.Attribute, value any) error {
	switch {
	case op == opRemove && value != nil && a.MultiValued:
		return p.removeValues(a, value)
	case op == opRemove, op == opReplace && value == nil:
		return p.unassign(a)
	case value == nil:
		return invalidValue("add needs a value for %q", a.FullName())
	}
	incoming, err := coerce(a, value)
	if err != nil {
		return err
	}
	if !a.MultiValued {
		if a.Type == attr.Complex {
			// add and replace both set the sub-attributes given and leave
			// the others (RFC 7644 section 3.5.2.3).
			cur, _ := p.current(a).(map[string]any)
			merged, err := mergeComplex(a, cur, incoming.(map[string]any), true)
			if err != nil {
				return err
			}
			return p.write(a, merged)
		}
		return p.write(a, incoming)
	}

	// replace starts from no values, add from the held ones.
	var e *elements
	if op == opReplace {
		e = newElements(a, nil)
	} else {
		e = newElements(a, p.current(a))
	}
	for _, v := range incoming.([]any) {
		e.add(v)
	}
	return p.writeElements(e)
}

// removeValues removes from multi-valued attribute a the values listed,
// as Microsoft Entra ID removes group members; values not held are
// ignored.
func (p *patcher) removeValues(a *attr.Attribute, value any) error {
	gone, err := coerce(a, value)
	if err != nil {
		return err
	}
	e := newElements(a, p.current(a))
	for _, v := range gone.([]any) {
		e.remove(v)
	}
	return p.writeElements(e)
}

// applySub applies op to a sub-attribute named without a value filter:
// name.givenName, or emails.value on every email.
func (p *patcher) applySub(op string, a, sub *attr.Attribute, value any) error {
	if op == opAdd && value == nil {
		return invalidValue("add needs a value for %q", sub.FullName())
	}
	var nv any
	if op != opRemove && value != nil {
		v, err := coerce(sub, value)
		if err != nil {
			return err
		}
		nv = v
	}
	if !a.MultiValued {
		cur, _ := p.current(a).(map[string]any)
		el, err := setSub(sub, cur, nv)
		if err != nil {
			return err
		}
		return p.write(a, el)
	}

	e := newElements(a, p.current(a))
	if len(e.list) == 0 && nv != nil {
		e.append(map[string]any{sub.Name: nv})
		return p.writeElements(e)
	}
	for i := range e.list {
		if err := e.setSub(i, sub, nv); err != nil {
			return err
		}
	}
	return p.writeElements(e)
}

// applyFiltered applies op through a value filter, as in
// emails[type eq "work"].value or members[value eq "id"].
func (p *patcher) applyFiltered(op string, a *attr.Attribute, f attr.Expr, sub *attr.Attribute,
	value any) error {
	if !a.MultiValued {
		return invalidPath("%q is single-valued and takes no value filter", a.FullName())
	}
	if err := filter.ValidateValue(f, a); err != nil {
		return invalidPath("%s", detail(err))
	}
	if op == opAdd && value == nil {
		return invalidValue("add needs a value for %q", a.FullName())
	}
	if op == opReplace && value == nil {
		op = opRemove
	}

	e := newElements(a, p.current(a))
	matched := e.matching(f)
	if op == opRemove {
		if sub == nil {
			e.drop(matched)
			return p.writeElements(e)
		}
		for _, i := range matched {
			if err := e.setSub(i, sub, nil); err != nil {
				return err
			}
		}
		return p.writeElements(e)
	}

	var nv any
	var err error
	if sub != nil {
		nv, err = coerce(sub, value)
	} else {
		nv, err = coerceOne(a, value)
	}
	if err != nil {
		return err
	}
	if len(matched) == 0 {
		el, ok := derive(a, f)
		if !ok {
			return noTarget("no value of %q matches [%s], and the filter does not "+
				"describe a value to create", a.FullName(), f.String())
		}
		if err := e.create(el, sub, nv); err != nil {
			return err
		}
		return p.writeElements(e)
	}
	for _, i := range matched {
		var err error
		switch {
		case sub != nil:
			err = e.setSub(i, sub, nv)
		case op == opReplace:
			err = e.replace(i, nv)
		default:
			err = e.merge(i, nv, true)
		}
		if err != nil {
			return err
		}
	}
	return p.writeElements(e)
}

// writeElements writes the outcome of an edit of a multi-valued attribute.
func (p *patcher) writeElements(e *elements) error {
	v, err := e.result()
	if err != nil {
		return err
	}
	return p.write(e.a, v)
}

// current returns the value a holds, or nil.
func (p *patcher) current(a *attr.Attribute) any {
	v, _ := a.ValueIn(p.res)
	return v
}

// unassign removes a's value.
func (p *patcher) unassign(a *attr.Attribute) error { return p.write(a, nil) }

// write sets a's value to v (nil unassigns it), enforcing a's mutability
// and requiredness unless the value does not change.
func (p *patcher) write(a *attr.Attribute, v any) error {
	if isEmpty(v) {
		v = nil
	}
	cur := p.current(a)
	if isEmpty(cur) {
		cur = nil
	}
	if equalJSON(cur, v) {
		return nil
	}
	switch {
	case a.Mutability == attr.ReadOnly:
		return mutability("%q is readOnly", a.FullName())
	case a.Mutability == attr.Immutable && cur != nil:
		return mutability("%q is immutable and already set", a.FullName())
	case v == nil && a.Required:
		return invalidValue("%q is required and cannot be removed", a.FullName())
	}
	box := p.container(a, v != nil)
	if box == nil {
		return nil
	}
	deleteField(box, a.Name)
	if v != nil {
		box[a.Name] = v
	}
	return nil
}

// container returns the map holding a: the resource, or the object of a's
// extension, created on demand when create is set.
func (p *patcher) container(a *attr.Attribute, create bool) map[string]any {
	if !a.Extension {
		return p.res
	}
	key, v, _ := attr.Field(p.res, a.Schema)
	if m, ok := v.(map[string]any); ok {
		return m
	}
	if !create {
		return nil
	}
	if key != "" {
		delete(p.res, key)
	}
	m := map[string]any{}
	p.res[a.Schema] = m
	return m
}

// syncSchemas drops empty extension objects and makes the schemas list
// name exactly the extensions the resource holds.
func (p *patcher) syncSchemas() {
	for _, urn := range p.s.Extensions(p.rt) {
		key, v, ok := attr.Field(p.res, urn)
		m, _ := v.(map[string]any)
		held := len(m) > 0
		if ok && !held {
			delete(p.res, key)
		}
		p.listSchema(urn, held)
	}
}

// listSchema adds urn to or removes it from the schemas list. A resource
// without a schemas list gets one only when an extension must be listed.
func (p *patcher) listSchema(urn string, want bool) {
	key, v, _ := attr.Field(p.res, "schemas")
	list, _ := v.([]any)
	at := -1
	for i, s := range list {
		if str, ok := s.(string); ok && strings.EqualFold(str, urn) {
			at = i
		}
	}
	switch {
	case want && at < 0:
		if key == "" {
			key = "schemas"
			if core := p.s.CoreSchema(p.rt); core != "" {
				list = []any{core}
			}
		}
		p.res[key] = append(append([]any(nil), list...), urn)
	case !want && at >= 0:
		p.res[key] = append(append([]any(nil), list[:at]...), list[at+1:]...)
	}
}

// deleteField deletes name from m in every spelling.
func deleteField(m map[string]any, name string) {
	for k := range m {
		if strings.EqualFold(k, name) {
			delete(m, k)
		}
	}
}

// isEmpty reports a value that stands for "unassigned": nil, an empty
// array or an empty object (RFC 7643 section 2.5).
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}
