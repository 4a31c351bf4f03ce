package scimclient

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// user is what a set of fields says about a SCIM User, grouped the way the
// resource nests its attributes. A nil value means the attribute is to be
// cleared.
//
// A multi-valued attribute the fields name (emails, phoneNumbers...) is
// written whole: its entries are exactly those the fields give, one per
// type, and the first of them (work sorts first) is marked primary unless
// a field sets primary itself.
type user struct {
	scopes map[string]*scope // by extension URN; "" is the core schema
	active bool              // whether the fields name the active attribute
}

type scope struct {
	simple  map[string]any                       // attr → value
	complex map[string]map[string]any            // attr → sub → value
	multi   map[string]map[string]map[string]any // attr → type → sub → value
}

// newUser groups fields by attribute. It fails on a field that is not a
// SCIM attribute path or that names an attribute two incompatible ways.
func newUser(fields connector.Fields) (*user, error) {
	u := &user{scopes: map[string]*scope{}}
	for field, v := range fields {
		p, err := parsePath(field)
		if err != nil {
			return nil, err
		}
		s := u.scopes[p.schema]
		if s == nil {
			s = &scope{simple: map[string]any{}, complex: map[string]map[string]any{},
				multi: map[string]map[string]map[string]any{}}
			u.scopes[p.schema] = s
		}
		switch {
		case p.multi:
			byType := s.multi[p.attr]
			if byType == nil {
				byType = map[string]map[string]any{}
				s.multi[p.attr] = byType
			}
			if byType[p.typ] == nil {
				byType[p.typ] = map[string]any{}
			}
			byType[p.typ][p.sub] = v
		case p.sub != "":
			if s.complex[p.attr] == nil {
				s.complex[p.attr] = map[string]any{}
			}
			s.complex[p.attr][p.sub] = v
		default:
			s.simple[p.attr] = v
			if p.schema == "" && p.attr == "active" {
				u.active = true
			}
		}
	}

	for urn, s := range u.scopes {
		for attr := range s.multi {
			if _, ok := s.complex[attr]; ok {
				return nil, fmt.Errorf("field %s: both filtered and unfiltered", s.name(urn, attr))
			}
		}
		for attr := range s.simple {
			_, c := s.complex[attr]
			_, m := s.multi[attr]
			if c || m {
				return nil, fmt.Errorf("field %s: both whole and by sub-attribute", s.name(urn, attr))
			}
		}
	}
	return u, nil
}

func (s *scope) name(urn, attr string) string {
	return attrPath{schema: urn}.qualified(attr)
}

// sortedScopes lists the scope URNs, core first.
func (u *user) sortedScopes() []string { return slices.Sorted(maps.Keys(u.scopes)) }

// entries builds the value of a multi-valued attribute from its entries by
// type, leaving out entries without a value.
func entries(byType map[string]map[string]any) []any {
	types := slices.SortedFunc(maps.Keys(byType), func(a, b string) int {
		if a == "work" || b == "work" {
			return boolCmp(a != "work", b != "work")
		}
		return cmp.Compare(a, b)
	})
	explicit := false
	for _, e := range byType {
		if e["primary"] != nil {
			explicit = true
		}
	}

	var list []any
	for _, typ := range types {
		e := map[string]any{}
		for sub, v := range byType[typ] {
			if v != nil {
				e[sub] = v
			}
		}
		if len(e) == 0 {
			continue
		}
		if typ != "" {
			e["type"] = typ
		}
		if !explicit && len(list) == 0 {
			e["primary"] = true
		}
		list = append(list, e)
	}
	return list
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// applyTo writes the user's values into doc, a SCIM User document: simple
// values are set or removed, sub-attributes are merged into their complex
// attribute, and multi-valued attributes are replaced whole. An account
// whose fields do not say otherwise is made active. Read-only attributes
// a server returned (meta, groups) are dropped, so doc can be PUT back.
func (u *user) applyTo(doc map[string]any) {
	for _, urn := range u.sortedScopes() {
		s := u.scopes[urn]
		target := doc
		if urn != "" {
			ext, _ := getKey(doc, urn).(map[string]any)
			if ext == nil {
				ext = map[string]any{}
			}
			target = ext
		}

		for attr, v := range s.simple {
			setKey(target, attr, v)
		}
		for attr, subs := range s.complex {
			c, _ := getKey(target, attr).(map[string]any)
			if c == nil {
				c = map[string]any{}
			}
			for sub, v := range subs {
				setKey(c, sub, v)
			}
			setKey(target, attr, emptyToNil(c))
		}
		for attr, byType := range s.multi {
			setKey(target, attr, emptyToNil(entries(byType)))
		}

		if urn != "" {
			setKey(doc, urn, emptyToNil(target))
		}
	}

	if !u.active {
		setKey(doc, "active", true)
	}
	setSchemas(doc)
	delete(doc, "meta")
	delete(doc, "groups")
}

// document is the SCIM User to create.
func (u *user) document() map[string]any {
	doc := map[string]any{}
	u.applyTo(doc)
	return doc
}

// setSchemas lists the core schema and every extension doc holds.
func setSchemas(doc map[string]any) {
	schemas := []any{userSchema}
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if strings.HasPrefix(strings.ToLower(k), "urn:") {
			schemas = append(schemas, k)
		}
	}
	doc["schemas"] = schemas
}

// getKey returns m's value for key, matched without regard to case as
// SCIM attribute names are.
func getKey(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// setKey sets key in m, replacing any spelling of it; nil removes it.
func setKey(m map[string]any, key string, v any) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
	if v != nil {
		m[key] = v
	}
}

// emptyToNil turns an empty map or list into nil, so that setKey removes
// the attribute instead of writing an empty value.
func emptyToNil[T map[string]any | []any](v T) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// patchOp is one operation of a PATCH request (RFC 7644 section 3.5.2).
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// patchOps are the operations that make an account hold the user's values:
// removals first, then one replace per simple or multi-valued attribute
// and per complex attribute (with its sub-attributes as an object, which
// the server merges). The account is made active unless the fields say.
func (u *user) patchOps() []patchOp {
	var removes, replaces []patchOp
	for _, urn := range u.sortedScopes() {
		s := u.scopes[urn]
		for _, attr := range slices.Sorted(maps.Keys(s.simple)) {
			if v := s.simple[attr]; v == nil {
				removes = append(removes, patchOp{Op: "remove", Path: s.name(urn, attr)})
			} else {
				replaces = append(replaces, patchOp{Op: "replace", Path: s.name(urn, attr), Value: v})
			}
		}
		for _, attr := range slices.Sorted(maps.Keys(s.complex)) {
			set := map[string]any{}
			for _, sub := range slices.Sorted(maps.Keys(s.complex[attr])) {
				if v := s.complex[attr][sub]; v != nil {
					set[sub] = v
				} else {
					removes = append(removes, patchOp{Op: "remove", Path: s.name(urn, attr+"."+sub)})
				}
			}
			if len(set) > 0 {
				replaces = append(replaces, patchOp{Op: "replace", Path: s.name(urn, attr), Value: set})
			}
		}
		for _, attr := range slices.Sorted(maps.Keys(s.multi)) {
			if list := entries(s.multi[attr]); len(list) > 0 {
				replaces = append(replaces, patchOp{Op: "replace", Path: s.name(urn, attr), Value: list})
			} else {
				removes = append(removes, patchOp{Op: "remove", Path: s.name(urn, attr)})
			}
		}
	}
	if !u.active {
		replaces = append(replaces, patchOp{Op: "replace", Path: "active", Value: true})
	}
	return append(removes, replaces...)
}

// patchBody is a PatchOp message.
func patchBody(ops []patchOp) map[string]any {
	return map[string]any{"schemas": []string{patchOpSchema}, "Operations": ops}
}
