package scimclient

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Schema URNs of RFC 7643 and the messages of RFC 7644.
const (
	userSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchOpSchema    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	bulkReqSchema    = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
)

// attrPath is a field name parsed as a SCIM attribute path, in the subset
// of RFC 7644 section 3.10 that names one value:
//
//	userName, name.givenName
//	emails[type eq "work"].value, emails.value (an entry without a type)
//	urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value
type attrPath struct {
	schema string // extension schema URN; empty for the core User schema
	attr   string // top-level attribute, e.g. "emails"
	multi  bool   // a [type eq "..."] filter selects one entry of attr
	typ    string // the type the filter selects
	sub    string // sub-attribute, e.g. "value"; empty for a simple attr
}

// multiValued are the multi-valued attributes of the core User schema
// (RFC 7643 section 4.1.2), lower-cased.
var multiValued = map[string]bool{
	"emails": true, "phonenumbers": true, "ims": true, "photos": true, "addresses": true,
	"groups": true, "entitlements": true, "roles": true, "x509certificates": true,
}

var (
	attrName   = regexp.MustCompile(`^\$?[A-Za-z][A-Za-z0-9_-]*$`)
	typeFilter = regexp.MustCompile(`(?i)^\s*type\s+eq\s+("(?:[^"\\]|\\.)*")\s*$`)
)

// parsePath parses a field name. It refuses what it cannot write as one
// value: filters other than on type, and deeper nesting.
func parsePath(field string) (attrPath, error) {
	var p attrPath
	rest := field
	if strings.HasPrefix(strings.ToLower(field), "urn:") {
		end := strings.IndexByte(field, '[')
		if end < 0 {
			end = len(field)
		}
		i := strings.LastIndexByte(field[:end], ':')
		p.schema, rest = field[:i], field[i+1:]
		if strings.EqualFold(p.schema, userSchema) {
			p.schema = ""
		}
	}

	if i := strings.IndexByte(rest, '['); i >= 0 {
		j := strings.IndexByte(rest, ']')
		if j < i {
			return attrPath{}, fmt.Errorf("field %q: unclosed filter", field)
		}
		m := typeFilter.FindStringSubmatch(rest[i+1 : j])
		if m == nil {
			return attrPath{}, fmt.Errorf("field %q: only [type eq \"...\"] filters are supported",
				field)
		}
		if err := json.Unmarshal([]byte(m[1]), &p.typ); err != nil {
			return attrPath{}, fmt.Errorf("field %q: filter value: %w", field, err)
		}
		p.multi = true
		p.attr = rest[:i]
		after := rest[j+1:]
		switch {
		case after == "":
			p.sub = "value"
		case strings.HasPrefix(after, "."):
			p.sub = after[1:]
		default:
			return attrPath{}, fmt.Errorf("field %q: want .subAttribute after the filter", field)
		}
	} else {
		p.attr, p.sub, _ = strings.Cut(rest, ".")
		// An unfiltered multi-valued attribute names an entry without a type.
		if p.schema == "" && multiValued[strings.ToLower(p.attr)] {
			p.multi = true
			if p.sub == "" {
				p.sub = "value"
			}
		}
	}

	if !attrName.MatchString(p.attr) || p.sub != "" && !attrName.MatchString(p.sub) {
		return attrPath{}, fmt.Errorf("field %q: not a SCIM attribute path", field)
	}
	if p.multi && strings.EqualFold(p.sub, "type") {
		return attrPath{}, fmt.Errorf("field %q: the type comes from the filter", field)
	}
	return p, nil
}

// qualified is the attribute path of p's top-level attribute as a PATCH
// operation or a filter names it: prefixed with its extension URN.
func (p attrPath) qualified(name string) string {
	if p.schema == "" {
		return name
	}
	return p.schema + ":" + name
}

// filterFor returns the SCIM filter (RFC 7644 section 3.4.2.2) that finds
// users whose field equals value.
func filterFor(field, value string) (string, error) {
	p, err := parsePath(field)
	if err != nil {
		return "", err
	}
	name := p.attr
	if p.sub != "" {
		name += "." + p.sub
	}
	// Filter literals are JSON strings.
	lit, err := json.Marshal(value)
	if err != nil {
		return "", fmt.Errorf("filter value: %w", err)
	}
	return p.qualified(name) + " eq " + string(lit), nil
}
