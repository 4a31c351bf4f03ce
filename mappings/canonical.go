package mappings

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// bufPool recycles the buffers canonical JSON is written into for hashing.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// hash returns the hex SHA-256 of the canonical JSON of a record's fields.
// The fields are written in name order using the projector's presorted
// index, so hashing allocates only the returned string.
func (p *Projector) hash(out *outputs) string {
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], '{')
	first := true
	for _, i := range p.byName {
		if !out.has[i] {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, p.plans[i].key...)
		b = appendJSON(b, out.vals[i])
	}
	b = append(b, '}')
	sum := sha256.Sum256(b)
	*bp = b
	bufPool.Put(bp)
	return hex.EncodeToString(sum[:])
}

// CanonicalJSON writes a JSON-like value as canonical JSON: object keys in
// byte order, no insignificant space, no HTML escaping, numbers as
// encoding/json writes them. Record.Hash is the SHA-256 of this encoding of
// Record.Fields.
func CanonicalJSON(v any) []byte { return appendJSON(nil, v) }

func appendJSON(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, t)
	case bool:
		if t {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case []any:
		b = append(b, '[')
		for i, item := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, item)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(t)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendJSON(b, t[k])
		}
		return append(b, '}')
	}
	if f, ok := toFloat(v); ok {
		return appendNumber(b, f)
	}
	// Values outside the JSON-like set never come out of a projection; write
	// them as null rather than fail.
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// plainByte marks the ASCII bytes a JSON string holds unescaped.
var plainByte = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString writes s as a JSON string the way encoding/json does with
// HTML escaping off: invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are
// escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plainByte[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// keyNames indexes attribute names for canonicalising a user's keys.
type keyNames struct {
	exact map[string]*keyNames // canonical name -> names of its sub-attributes (nil if none)
	lower map[string]string    // lower-cased name -> canonical name
}

func newKeyNames() *keyNames {
	return &keyNames{exact: map[string]*keyNames{}, lower: map[string]string{}}
}

func (n *keyNames) add(name string, sub *keyNames) {
	n.exact[name] = sub
	n.lower[strings.ToLower(name)] = name
}

func attrKeyNames(attrs []Attribute) *keyNames {
	n := newKeyNames()
	for _, a := range attrs {
		var sub *keyNames
		if len(a.SubAttributes) > 0 {
			sub = attrKeyNames(a.SubAttributes)
		}
		n.add(a.Name, sub)
	}
	return n
}

// canonicalUser returns the user with every attribute name the directory
// knows spelt as the directory spells it, so that expressions can read
// user.name.givenName whatever case the identity provider used. A user
// already in canonical form is returned as it is, without copying.
func (d *Directory) canonicalUser(user map[string]any) map[string]any {
	n := d.names
	if n == nil || !needsCanon(user, n) {
		return user
	}
	out, _ := canonCopy(user, n).(map[string]any)
	return out
}

func needsCanon(v any, n *keyNames) bool {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if sub, ok := n.exact[k]; ok {
				if sub != nil && needsCanon(val, sub) {
					return true
				}
				continue
			}
			if _, ok := n.lower[strings.ToLower(k)]; ok {
				return true
			}
		}
	case []any:
		for _, item := range t {
			if needsCanon(item, n) {
				return true
			}
		}
	}
	return false
}

// canonCopy copies v with canonical keys. When several keys differ only in
// case, the canonically spelt one wins, else the smallest, so the result
// never depends on map order.
func canonCopy(v any, n *keyNames) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		exact := map[string]bool{}
		for _, k := range slices.Sorted(maps.Keys(t)) {
			name, sub := k, (*keyNames)(nil)
			if s, ok := n.exact[k]; ok {
				sub = s
			} else if c, ok := n.lower[strings.ToLower(k)]; ok {
				name, sub = c, n.exact[c]
			}
			if _, taken := out[name]; taken && (exact[name] || name != k) {
				continue
			}
			exact[name] = name == k
			if sub != nil {
				out[name] = canonCopy(t[k], sub)
			} else {
				out[name] = t[k]
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, item := range t {
			out[i] = canonCopy(item, n)
		}
		return out
	}
	return v
}
