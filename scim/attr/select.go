package attr

import "strings"

// Select returns the representation of res that a response carries, given
// the attributes and excludedAttributes query parameters (RFC 7644 sections
// 3.4.2.5 and 3.9) and each attribute's returned characteristic (RFC 7643
// section 7):
//   - "always" attributes (id, schemas) are returned whatever the lists say;
//   - "never" attributes (password) are never returned;
//   - "request" attributes only when attributes names them;
//   - "default" attributes when attributes is empty or names them, unless
//     excludedAttributes names them.
//
// List entries are attribute paths, case-insensitive, optionally
// URN-qualified ("name.givenName", "urn:...:enterprise:2.0:User:manager"),
// or the URN of an extension for all of it. Naming a complex attribute
// selects its default sub-attributes; naming a sub-attribute selects just
// that one. Entries that name nothing known are ignored, as are keys of res
// that the schema does not define; an attributes list naming only unknown
// attributes returns just the "always" ones. The result uses canonical
// attribute names and shares no map or slice with res; res is not modified.
func Select(res map[string]any, s *Schemas, rt string,
	attributes, excluded []string) map[string]any {
	t := s.lookup(rt)
	p := projection{include: t.selection(attributes), exclude: t.selection(excluded)}
	for _, a := range attributes {
		p.explicit = p.explicit || strings.TrimSpace(a) != ""
	}

	out := make(map[string]any, len(res))
	for key, v := range res {
		if e := t.extension(key); e != nil {
			if _, taken := out[e.urn]; taken && key != e.urn {
				continue
			}
			m, _ := v.(map[string]any)
			if ext := p.object(m, e.byName); len(ext) > 0 {
				out[e.urn] = ext
			}
			continue
		}
		p.put(out, key, v, get(t.byName, key))
	}
	return out
}

// object projects the attributes held in m, looked up in byName.
func (p projection) object(m map[string]any, byName map[string]*Attribute) map[string]any {
	out := make(map[string]any, len(m))
	for key, v := range m {
		p.put(out, key, v, get(byName, key))
	}
	return out
}

// put projects value v, stored under key, of attribute a (nil when the
// schema does not define key) into out under a's canonical name. A value
// under the canonical spelling wins over one under another spelling.
func (p projection) put(out map[string]any, key string, v any, a *Attribute) {
	if a == nil || v == nil {
		return
	}
	if _, taken := out[a.Name]; taken && key != a.Name {
		return
	}
	if pv, keep := p.top(a, v); keep {
		out[a.Name] = pv
	} else {
		delete(out, a.Name)
	}
}

// selection is a parsed attributes or excludedAttributes list.
type selection struct {
	// attrs maps each named top-level attribute to the sub-attributes
	// named under it; nil means the whole attribute.
	attrs map[*Attribute]map[*Attribute]bool
	exts  map[string]bool
}

func (rt *resourceType) selection(list []string) selection {
	sel := selection{attrs: map[*Attribute]map[*Attribute]bool{}, exts: map[string]bool{}}
	for _, item := range list {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if e := rt.extension(item); e != nil {
			sel.exts[e.urn] = true
			continue
		}
		path, err := ParsePath(item)
		if err != nil || path.Filter != nil {
			continue
		}
		target, err := rt.resolve(path)
		if err != nil {
			continue
		}
		if target.Attr == nil {
			sel.exts[target.Extension] = true
			continue
		}
		subs, seen := sel.attrs[target.Attr]
		switch {
		case target.Sub == nil:
			sel.attrs[target.Attr] = nil
		case !seen:
			sel.attrs[target.Attr] = map[*Attribute]bool{target.Sub: true}
		case subs != nil:
			subs[target.Sub] = true
		}
	}
	return sel
}

// whole reports whether the selection names all of a; some reports whether
// it names a or any of its sub-attributes.
func (s selection) whole(a *Attribute) bool {
	if a.Extension && s.exts[a.Schema] {
		return true
	}
	subs, ok := s.attrs[a]
	return ok && subs == nil
}

func (s selection) some(a *Attribute) bool {
	_, ok := s.attrs[a]
	return ok || a.Extension && s.exts[a.Schema]
}

func (s selection) sub(a, sub *Attribute) bool {
	return s.whole(a) || s.attrs[a][sub]
}

type projection struct {
	include, exclude selection
	explicit         bool // the attributes list is not empty
}

// top projects the value of top-level attribute a.
func (p projection) top(a *Attribute, v any) (any, bool) {
	switch a.Returned {
	case Never:
		return nil, false
	case Always:
	default:
		if p.explicit && !p.include.some(a) {
			return nil, false
		}
		if !p.explicit && a.Returned == OnRequest {
			return nil, false
		}
		if p.exclude.whole(a) {
			return nil, false
		}
	}
	if a.Type != Complex {
		return copyValue(v), true
	}
	if !a.MultiValued {
		m, _ := v.(map[string]any)
		pm := p.complex(a, m)
		return pm, pm != nil
	}
	var list []any
	switch v := v.(type) {
	case []any:
		list = v
	case map[string]any:
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, el := range list {
		m, _ := el.(map[string]any)
		if pm := p.complex(a, m); pm != nil {
			out = append(out, pm)
		}
	}
	return out, len(out) > 0
}

// complex projects one complex value; nil when nothing of it is returned.
func (p projection) complex(a *Attribute, m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := map[string]any{}
	for _, sub := range a.SubAttributes {
		_, v, ok := Field(m, sub.Name)
		if !ok || v == nil || !p.keepSub(a, sub) {
			continue
		}
		out[sub.Name] = copyValue(v)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (p projection) keepSub(a, sub *Attribute) bool {
	switch sub.Returned {
	case Never:
		return false
	case Always:
		return true
	}
	if a.Returned != Always && p.explicit && !p.include.whole(a) {
		return p.include.sub(a, sub)
	}
	if sub.Returned == OnRequest && !p.include.sub(a, sub) {
		return false
	}
	return !(a.Returned != Always && p.exclude.sub(a, sub))
}

// copyValue copies the maps and slices of a JSON value.
func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = copyValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}
