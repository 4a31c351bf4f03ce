package redisstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/scim-bridge/scim-bridge/state"
)

// Stored values are lists of strings, each written as its byte length, a
// colon and the bytes ("5:alice"). The Lua scripts read the same form, so
// neither side needs an escaping scheme for the data itself, and a script
// can skip a document's data without copying it.

// appendItem appends one length-prefixed string to b.
func appendItem(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// errCorrupt reports a stored value the store cannot read back.
var errCorrupt = errors.New("corrupt stored value")

// cutItem reads the first length-prefixed string of s and returns it with
// the rest of s.
func cutItem(s string) (first, rest string, ok bool) {
	c := strings.IndexByte(s, ':')
	if c <= 0 {
		return "", "", false
	}
	n, err := strconv.Atoi(s[:c])
	if err != nil || n < 0 || c+1+n > len(s) {
		return "", "", false
	}
	return s[c+1 : c+1+n], s[c+1+n:], true
}

// items splits a value written with appendItem.
func items(s string) ([]string, error) {
	var out []string
	for len(s) > 0 {
		first, rest, ok := cutItem(s)
		if !ok {
			return nil, errCorrupt
		}
		out = append(out, first)
		s = rest
	}
	return out, nil
}

// Names that become part of a key or of a member with a separator (kinds,
// buckets, queues, index names, refs) are escaped so that no two distinct
// names produce the same key or member: ':' and '%' are percent-encoded.
var (
	escaper   = strings.NewReplacer("%", "%25", ":", "%3A")
	unescaper = strings.NewReplacer("%3A", ":", "%25", "%")
)

func esc(s string) string   { return escaper.Replace(s) }
func unesc(s string) string { return unescaper.Replace(s) }

// uniqueField is a unique index entry as stored in a kind's index hash:
// the escaped index name, a colon, and the value byte for byte.
func uniqueField(k state.IndexKey) string { return esc(k.Name) + ":" + k.Value }

func parseUniqueField(f string) (state.IndexKey, error) {
	name, value, ok := strings.Cut(f, ":")
	if !ok {
		return state.IndexKey{}, errCorrupt
	}
	return state.IndexKey{Name: unesc(name), Value: value}, nil
}

// encodeBody is a resource as the commit script receives it: data, the
// number of unique entries, the entries, then the escaped refs. The script
// stores it behind the version it assigns.
func encodeBody(r state.Resource) string {
	n := len(r.Data) + 16
	for _, u := range r.Unique {
		n += len(u.Name) + len(u.Value) + 16
	}
	for _, ref := range r.Refs {
		n += len(ref) + 8
	}
	b := make([]byte, 0, n)
	b = appendItem(b, string(r.Data))
	b = appendItem(b, strconv.Itoa(len(r.Unique)))
	for _, u := range r.Unique {
		b = appendItem(b, uniqueField(u))
	}
	for _, ref := range r.Refs {
		b = appendItem(b, esc(ref))
	}
	return string(b)
}

// decodeDoc reads a stored document: version, then the body.
func decodeDoc(kind state.Kind, id, doc string) (state.Resource, error) {
	parts, err := items(doc)
	if err != nil || len(parts) < 3 {
		return state.Resource{}, corrupt(kind, id)
	}
	v, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil {
		return state.Resource{}, corrupt(kind, id)
	}
	nu, err := strconv.Atoi(parts[2])
	if err != nil || nu < 0 || 3+nu > len(parts) {
		return state.Resource{}, corrupt(kind, id)
	}
	r := state.Resource{Kind: kind, ID: id, Version: v, Data: []byte(parts[1])}
	for _, f := range parts[3 : 3+nu] {
		k, err := parseUniqueField(f)
		if err != nil {
			return state.Resource{}, corrupt(kind, id)
		}
		r.Unique = append(r.Unique, k)
	}
	for _, ref := range parts[3+nu:] {
		r.Refs = append(r.Refs, unesc(ref))
	}
	return r, nil
}

func corrupt(kind state.Kind, id string) error {
	return fmt.Errorf("redisstore: %s %q: %w", kind, id, errCorrupt)
}

// decodeList reads a list of escaped strings (a feed entry's refs).
func decodeList(s string) ([]string, error) {
	parts, err := items(s)
	if err != nil {
		return nil, err
	}
	for i, p := range parts {
		parts[i] = unesc(p)
	}
	return parts, nil
}
