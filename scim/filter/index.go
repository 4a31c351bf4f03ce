package filter

import (
	"strings"

	"github.com/elimity-com/scim/schema"
	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// indexed lists the attributes a unique index may answer, best first.
var indexed = []string{"id", "userName", "externalId", "displayName"}

// IndexLookup finds in e an equality a unique index can answer: e itself,
// or one side of an "and" (at any depth of a chain of "and"), being
// `name eq "string"` where name is id, userName, externalId or displayName,
// optionally prefixed with the core User or Group schema URN. It returns
// the canonical attribute name and the literal, preferring id, then
// userName, externalId and displayName.
//
// The caller uses only the attributes it indexes for the resource type
// (userName and externalId for Users, displayName for Groups, id for both)
// and normalises the value as its index does: userName and displayName are
// not caseExact, so their index must be case-insensitive. The candidate
// found must still pass Match, since the rest of e is not checked here.
func IndexLookup(e Expr) (attribute string, value any, ok bool) {
	best := len(indexed)
	var found any
	var walk func(e Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *attr.And:
			walk(e.Left)
			walk(e.Right)
		case *attr.Comparison:
			if rank, v, ok := indexable(e); ok && rank < best {
				best, found = rank, v
			}
		}
	}
	walk(e)
	if best == len(indexed) {
		return "", nil, false
	}
	return indexed[best], found, true
}

func indexable(c *attr.Comparison) (int, string, bool) {
	p := c.Path
	if c.Op != attr.Eq || p.Filter != nil || p.Sub != "" {
		return 0, "", false
	}
	if p.URI != "" && !strings.EqualFold(p.URI, schema.UserSchema) &&
		!strings.EqualFold(p.URI, schema.GroupSchema) {
		return 0, "", false
	}
	s, ok := c.Value.(string)
	if !ok {
		return 0, "", false
	}
	for rank, name := range indexed {
		if strings.EqualFold(p.Name, name) {
			return rank, s, true
		}
	}
	return 0, "", false
}
