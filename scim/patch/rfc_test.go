package patch

import (
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/scim-bridge/scim-bridge/scim/attr"
)

// The examples of RFC 7644 section 3.5.2.
const certificate = "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"

func TestApplyRFCExamples(t *testing.T) {
	group := `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
		"id": "acbf3ae7-8463-4692-b4fd-9b4da3f908ce", "displayName": "Tour Guides",
		"members": [
		  {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
		  {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}]}`
	groupWith := func(members string) func(*testing.T) map[string]any {
		return func(t *testing.T) map[string]any {
			m := decode(t, group)
			if members == "" {
				delete(m, "members")
			} else {
				m["members"] = raw(t, members)
			}
			return m
		}
	}
	user := `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "2819c223",
		"userName": "bjensen",
		"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
		           {"value": "babs@jensen.org", "type": "home"}],
		"addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza",
		  "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA"},
		  {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}],
		"x509Certificates": [{"value": "` + certificate + `"}]}`
	userWith := func(changes string) func(*testing.T) map[string]any {
		return func(t *testing.T) map[string]any {
			m := decode(t, user)
			for k, v := range decode(t, changes) {
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
			}
			return m
		}
	}

	cases := []struct {
		name, rt, res, ops string
		want               func(*testing.T) map[string]any
	}{
		{"add a member", attr.Group, group,
			`[{"op": "add", "path": "members", "value": [{"display": "James Smith",
			  "$ref": "https://example.com/v2/Users/08e1d05d-121c-4561-8b96-473d93df9210",
			  "value": "08e1d05d-121c-4561-8b96-473d93df9210"}]}]`,
			groupWith(`[
			  {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
			  {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"},
			  {"value": "08e1d05d-121c-4561-8b96-473d93df9210", "display": "James Smith",
			   "$ref": "https://example.com/v2/Users/08e1d05d-121c-4561-8b96-473d93df9210"}]`)},
		{"path-less add", attr.User, user,
			`[{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"},
			  {"value": "b@jensen.org", "type": "other"}], "nickname": "Babs"}}]`,
			userWith(`{"nickName": "Babs", "emails": [
			  {"value": "bjensen@example.com", "type": "work", "primary": true},
			  {"value": "babs@jensen.org", "type": "home"},
			  {"value": "b@jensen.org", "type": "other"}]}`)},
		{"remove all members", attr.Group, group,
			`[{"op": "remove", "path": "members"}]`, groupWith("")},
		{"remove one member", attr.Group, group,
			`[{"op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}]`,
			groupWith(`[{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}]`)},
		{"remove by a complex filter", attr.User, user,
			`[{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]`,
			userWith(`{"emails": [{"value": "babs@jensen.org", "type": "home"}]}`)},
		{"remove then add to replace the members", attr.Group, group,
			`[{"op": "remove", "path": "members"},
			  {"op": "add", "path": "members", "value": [
			    {"display": "Babs Jensen", "value": "2819c223-7f76-453a-919d-413861904646"},
			    {"display": "James Smith", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}]}]`,
			groupWith(`[{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
			  {"value": "08e1d05d-121c-4561-8b96-473d93df9210", "display": "James Smith"}]`)},
		{"replace the members", attr.Group, group,
			`[{"op": "replace", "path": "members", "value": [
			    {"display": "Babs Jensen", "value": "2819c223-7f76-453a-919d-413861904646"},
			    {"display": "James Smith", "value": "08e1d05d-121c-4561-8b96-473d93df9210"}]}]`,
			groupWith(`[{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
			  {"value": "08e1d05d-121c-4561-8b96-473d93df9210", "display": "James Smith"}]`)},
		{"replace the work address", attr.User, user,
			`[{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {"type": "work",
			  "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "region": "CA",
			  "postalCode": "91608", "country": "US",
			  "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true}}]`,
			userWith(`{"addresses": [{"type": "work", "streetAddress": "911 Universal City Plaza",
			  "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "US",
			  "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true},
			  {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}]}`)},
		{"replace a sub-attribute of the work address", attr.User, user,
			`[{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress",
				"value": "1010 Broadway Ave"}]`,
			userWith(`{"addresses": [{"type": "work", "streetAddress": "1010 Broadway Ave",
			  "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA"},
			  {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}]}`)},
		{"path-less replace", attr.User, user,
			`[{"op": "replace", "value": {"emails": [
			    {"value": "bjensen@example.com", "type": "work", "primary": true},
			    {"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}}]`,
			userWith(`{"nickName": "Babs"}`)},
		{"remove a certificate", attr.User, user,
			`[{"op": "remove",
				"path": "x509Certificates[value eq \"` + certificate + `\"]"}]`,
			userWith(`{"x509Certificates": null}`)},
	}
	var pc []patchCase
	for _, c := range cases {
		pc = append(pc, patchCase{name: c.name, rt: c.rt, res: c.res, ops: c.ops, want: c.want(t)})
	}
	runCases(t, pc)
}

func TestApplyErrors(t *testing.T) {
	withCode := `{"schemas": ["` + coreUser + `", "` + custom + `"], "id": "1", "userName": "u",
		"` + custom + `": {"costCode": "CC-1"}}`
	group := `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g",
		"displayName": "G", "members": [{"value": "u1"}]}`
	runCases(t, []patchCase{
		{name: "unknown op", ops: `[{"op": "copy", "path": "title", "value": "x"}]`,
			errType: scimerrors.ScimTypeInvalidSyntax, errSub: "operation 1 (copy \"title\")"},
		{name: "remove without a path", ops: `[{"op": "remove"}]`,
			errType: scimerrors.ScimTypeNoTarget, errSub: "remove needs a path"},
		{name: "path-less add of a string", ops: `[{"op": "add", "value": "x"}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: "must be an object"},
		{name: "unknown attribute", ops: `[{"op": "add", "path": "shoeSize", "value": "9"}]`,
			errType: scimerrors.ScimTypeInvalidPath, errSub: `"shoeSize" is not an attribute of User`},
		{name: "unknown path-less key", ops: `[{"op": "replace", "value": {"shoeSize": "9"}}]`,
			errType: scimerrors.ScimTypeInvalidPath, errSub: "shoeSize"},
		{name: "malformed path", ops: `[{"op": "add", "path": "emails[type eq", "value": "x"}]`,
			errType: scimerrors.ScimTypeInvalidPath, errSub: "invalid path"},
		{name: "unknown sub-attribute", ops: `[{"op": "replace", "path": "name.nope", "value": "x"}]`,
			errType: scimerrors.ScimTypeInvalidPath, errSub: `has no sub-attribute "nope"`},
		{name: "value filter on a singular attribute",
			ops: `[{"op": "replace", "path": "name[givenName eq \"Barbara\"].familyName",
				"value": "x"}]`,
			errType: scimerrors.ScimTypeInvalidPath, errSub: "single-valued"},
		{name: "value filter on an unknown sub-attribute",
			ops:     `[{"op": "replace", "path": "emails[kind eq \"work\"].value", "value": "x"}]`,
			errType: scimerrors.ScimTypeInvalidPath, errSub: `no sub-attribute "kind"`},
		{name: "filter matching nothing and describing no value",
			ops:     `[{"op": "replace", "path": "emails[value co \"@nowhere\"].type", "value": "work"}]`,
			errType: scimerrors.ScimTypeNoTarget, errSub: `no value of "emails" matches`},
		{name: "or filter matching nothing",
			ops: `[{"op": "add", "path": "emails[type eq \"home\" or type eq \"other\"].value",
				"value": "x"}]`,
			errType: scimerrors.ScimTypeNoTarget},
		{name: "id", ops: `[{"op": "replace", "path": "id", "value": "other"}]`,
			errType: scimerrors.ScimTypeMutability, errSub: `"id" is readOnly`},
		{name: "meta", ops: `[{"op": "replace", "path": "meta.created",
			"value": "2020-01-01T00:00:00Z"}]`,
			errType: scimerrors.ScimTypeMutability, errSub: "readOnly"},
		{name: "remove meta", ops: `[{"op": "remove", "path": "meta"}]`,
			errType: scimerrors.ScimTypeMutability, errSub: `"meta" is readOnly`},
		{name: "groups", ops: `[{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]`,
			errType: scimerrors.ScimTypeMutability, errSub: `"groups" is readOnly`},
		{name: "manager displayName by path",
			ops:     `[{"op": "add", "path": "` + enterprise + `:manager.displayName", "value": "x"}]`,
			errType: scimerrors.ScimTypeMutability, errSub: "manager.displayName\" is readOnly"},
		{name: "remove a required attribute", ops: `[{"op": "remove", "path": "userName"}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: `"userName" is required`},
		{name: "replace a required attribute with null",
			ops:     `[{"op": "replace", "path": "userName", "value": null}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: "required"},
		{name: "add null", ops: `[{"op": "add", "path": "title", "value": null}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: "add needs a value"},
		{name: "boolean", ops: `[{"op": "replace", "path": "active", "value": "yes"}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: `"active" must be a boolean`},
		{name: "string", ops: `[{"op": "replace", "path": "title", "value": 5}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: `"title" must be a string`},
		{name: "integer", ops: `[{"op": "add", "path": "` + custom + `:badge", "value": 1.5}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: "must be an integer"},
		{name: "number", ops: `[{"op": "add", "path": "` + custom + `:score", "value": "NaN"}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: "must be a number"},
		{name: "dateTime", ops: `[{"op": "add", "path": "` + custom + `:hired", "value": "yesterday"}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: "xsd:dateTime"},
		{name: "complex given a list", ops: `[{"op": "replace", "path": "name", "value": ["x"]}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: `"name" must be an object`},
		{name: "two primaries", ops: `[{"op": "add", "path": "emails", "value": [
			{"value": "a@x.org", "primary": true}, {"value": "b@x.org", "primary": "True"}]}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: "only one value"},
		{name: "duplicate sub-attribute", ops: `[{"op": "replace", "path": "name",
			"value": {"givenName": "a", "GIVENNAME": "b"}}]`,
			errType: scimerrors.ScimTypeInvalidSyntax, errSub: "given twice"},
		{name: "immutable once set", res: withCode,
			ops:     `[{"op": "replace", "path": "` + custom + `:costCode", "value": "CC-2"}]`,
			errType: scimerrors.ScimTypeMutability, errSub: "immutable and already set"},
		{name: "remove immutable", res: withCode,
			ops:     `[{"op": "remove", "path": "` + custom + `:costCode"}]`,
			errType: scimerrors.ScimTypeMutability, errSub: "immutable"},
		{name: "immutable member value", rt: attr.Group, res: group,
			ops:     `[{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u9"}]`,
			errType: scimerrors.ScimTypeMutability, errSub: `"members.value" is immutable`},
		{name: "extension given a string",
			ops:     `[{"op": "add", "path": "` + enterprise + `", "value": "x"}]`,
			errType: scimerrors.ScimTypeInvalidValue, errSub: "must be an object"},
		{name: "core schema URN as a path", ops: `[{"op": "remove", "path": "` + coreUser + `"}]`,
			errType: scimerrors.ScimTypeInvalidPath, errSub: "names the core schema"},
		{name: "the second operation fails, nothing applies",
			ops: `[{"op": "replace", "path": "title", "value": "ok"},
			       {"op": "replace", "path": "id", "value": "no"}]`,
			errType: scimerrors.ScimTypeMutability, errSub: "operation 2 (replace \"id\")"},
	})
}
