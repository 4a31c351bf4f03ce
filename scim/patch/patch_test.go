package patch

import (
	"encoding/json"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/stretchr/testify/require"
)

const (
	coreUser   = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	custom     = "urn:example:params:scim:schemas:extension:acme:2.0"
)

// testSchemas is User (with the enterprise extension and a custom one whose
// URN ends in a version) and Group.
func testSchemas() *attr.Schemas {
	ext := schema.Schema{ID: custom, Attributes: []schema.CoreAttribute{
		schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{
			Name: "badge", Type: schema.AttributeTypeInteger()})),
		schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{
			Name: "score", Type: schema.AttributeTypeDecimal()})),
		schema.SimpleCoreAttribute(schema.SimpleDateTimeParams(schema.DateTimeParams{
			Name: "hired"})),
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name: "costCode", Mutability: schema.AttributeMutabilityImmutable()})),
		schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name: "tags", MultiValued: true})),
	}}
	return attr.Default(ext)
}

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}

func decodeOps(t testing.TB, s string) []Operation {
	t.Helper()
	var ops []Operation
	require.NoError(t, json.Unmarshal([]byte(s), &ops))
	return ops
}

// baseUser is the user most cases start from.
const baseUser = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "id": "2819c223",
  "externalId": "0a21f0f2",
  "userName": "bjensen@example.com",
  "name": {"familyName": "Jensen", "givenName": "Barbara"},
  "active": true,
  "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
  "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"}
}`

// withUser returns baseUser with the given top-level keys replaced
// (a nil value deletes the key).
func withUser(t *testing.T, changes map[string]any) map[string]any {
	t.Helper()
	m := decode(t, baseUser)
	for k, v := range changes {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

func raw(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

type patchCase struct {
	name    string
	rt      string // attr.User when empty
	res     string // baseUser when empty
	ops     string
	want    map[string]any
	errType scimerrors.ScimType
	errSub  string
}

func runCases(t *testing.T, cases []patchCase) {
	t.Helper()
	s := testSchemas()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt := tc.rt
			if rt == "" {
				rt = attr.User
			}
			doc := tc.res
			if doc == "" {
				doc = baseUser
			}
			res := decode(t, doc)
			got, err := Apply(res, decodeOps(t, tc.ops), s, rt)
			require.Equal(t, decode(t, doc), res, "input untouched")
			if tc.errType != "" {
				require.Error(t, err)
				require.IsType(t, scimerrors.ScimError{}, err, "a ScimError value")
				se := err.(scimerrors.ScimError)
				require.Equal(t, tc.errType, se.ScimType, "detail: %s", se.Detail)
				require.Equal(t, 400, se.Status)
				require.Contains(t, se.Detail, tc.errSub)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestApplyEntra(t *testing.T) {
	runCases(t, []patchCase{
		{
			name: "tutorial: multi-valued properties",
			ops: `[{"op": "Replace", "path": "emails[type eq \"work\"].value",
				"value": "updatedEmail@microsoft.com"},
			       {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]`,
			want: withUser(t, map[string]any{
				"emails": raw(t, `[{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}]`),
				"name":   raw(t, `{"familyName": "updatedFamilyName", "givenName": "Barbara"}`),
			}),
		},
		{
			name: "tutorial: single-valued property",
			ops:  `[{"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"}]`,
			want: withUser(t, map[string]any{"userName": "5b50642d@testuser.com"}),
		},
		{
			name: "tutorial: disable user",
			ops:  `[{"op": "Replace", "path": "active", "value": false}]`,
			want: withUser(t, map[string]any{"active": false}),
		},
		{
			name: "without the compliance flag: active as a string",
			ops:  `[{"op": "Replace", "path": "active", "value": "False"}]`,
			want: withUser(t, map[string]any{"active": false}),
		},
		{
			name: "path-less active",
			ops:  `[{"op": "replace", "value": {"active": "False"}}]`,
			want: withUser(t, map[string]any{"active": false}),
		},
		{
			name: "add a single-value string",
			ops:  `[{"op": "Add", "path": "nickName", "value": "Babs"}]`,
			want: withUser(t, map[string]any{"nickName": "Babs"}),
		},
		{
			name: "with the compliance flag: path-less replace of several attributes",
			ops: `[{"op": "replace", "path": "emails[type eq \"work\"].value",
				"value": "TestMhvaes@test.microsoft.com"},
			       {"op": "replace", "value": {
			         "displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
			         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"}}]`,
			want: withUser(t, map[string]any{
				"schemas":     raw(t, `["`+coreUser+`", "`+enterprise+`"]`),
				"displayName": "Bjfe",
				"name":        raw(t, `{"givenName": "Kkom", "familyName": "Unua"}`),
				"emails": raw(t, `[{"value": "TestMhvaes@test.microsoft.com", "type": "work",
					"primary": true}]`),
				enterprise: raw(t, `{"employeeNumber": "Aklq"}`),
			}),
		},
		{
			name: "without the compliance flag: one replace per attribute",
			ops: `[{"op": "Replace", "path": "displayName", "value": "Pvlo"},
			       {"op": "Replace", "path": "emails[type eq \"work\"].value",
			        "value": "TestBcwqnm@test.microsoft.com"},
			       {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
			       {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
			       {"op": "Replace", "path": "externalId", "value": "Eqpj"},
			       {"op": "Replace", "path": "` + enterprise + `:employeeNumber", "value": "Eqpj"}]`,
			want: withUser(t, map[string]any{
				"schemas":     raw(t, `["`+coreUser+`", "`+enterprise+`"]`),
				"displayName": "Pvlo",
				"externalId":  "Eqpj",
				"name":        raw(t, `{"givenName": "Gtfd", "familyName": "Pkqf"}`),
				"emails": raw(t, `[{"value": "TestBcwqnm@test.microsoft.com", "type": "work",
					"primary": true}]`),
				enterprise: raw(t, `{"employeeNumber": "Eqpj"}`),
			}),
		},
		{
			name: "add a work email the user lacks",
			res:  `{"schemas": ["` + coreUser + `"], "id": "1", "userName": "u"}`,
			ops:  `[{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "u@contoso.com"}]`,
			want: decode(t, `{"schemas": ["`+coreUser+`"], "id": "1", "userName": "u",
				"emails": [{"type": "work", "value": "u@contoso.com"}]}`),
		},
		{
			name: "replace a work address the user lacks",
			ops:  `[{"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Columbus"}]`,
			want: withUser(t, map[string]any{
				"addresses": raw(t, `[{"type": "work", "locality": "Columbus"}]`),
			}),
		},
		{
			name: "add to a second typed value keeps the first",
			ops: `[{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
			        {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0199"},
			        {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value",
			         "value": "+1 555 0101"}]`,
			want: withUser(t, map[string]any{
				"phoneNumbers": raw(t, `[{"type": "mobile", "value": "+1 555 0101"},
					{"type": "work", "value": "+1 555 0199"}]`),
			}),
		},
		{
			name: "manager as a bare id",
			ops: `[{"op": "Add",
				"path": "` + enterprise + `:manager", "value": "26118915"}]`,
			want: withUser(t, map[string]any{
				"schemas":  raw(t, `["`+coreUser+`", "`+enterprise+`"]`),
				enterprise: raw(t, `{"manager": {"value": "26118915"}}`),
			}),
		},
		{
			name: "manager as an object, displayName ignored",
			ops: `[{"op": "Replace",
				"path": "` + enterprise + `:manager",
				"value": {"value": "26118915", "displayName": "John Smith"}}]`,
			want: withUser(t, map[string]any{
				"schemas":  raw(t, `["`+coreUser+`", "`+enterprise+`"]`),
				enterprise: raw(t, `{"manager": {"value": "26118915"}}`),
			}),
		},
		{
			name: "department by URN, then removed, drops the extension",
			ops: `[{"op": "Add",
				"path": "` + enterprise + `:department", "value": "Sales"},
			       {"op": "Remove", "path": "` + enterprise + `:department"}]`,
			want: decode(t, baseUser),
		},
		{
			name: "path-less employeeNumber key",
			ops: `[{"op": "Add",
				"value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "1"}}]`,
			want: withUser(t, map[string]any{
				"schemas":  raw(t, `["`+coreUser+`", "`+enterprise+`"]`),
				enterprise: raw(t, `{"employeeNumber": "1"}`),
			}),
		},
		{
			name: "path-less key with a value filter",
			ops:  `[{"op": "Replace", "value": {"emails[type eq \"work\"].value": "new@example.com"}}]`,
			want: withUser(t, map[string]any{
				"emails": raw(t, `[{"value": "new@example.com", "type": "work", "primary": true}]`),
			}),
		},
		{
			name: "custom extension attribute the schema does not define",
			ops: `[{"op": "Add",
				"path": "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag",
				"value": "701984"}]`,
			errType: scimerrors.ScimTypeInvalidPath, errSub: "is not a schema of User",
		},
	})
}

func TestApplyEntraGroups(t *testing.T) {
	group := `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1",
		"displayName": "Sales", "members": [{"value": "u1"}, {"value": "u2", "display": "Two"}]}`
	members := func(list string) map[string]any {
		m := decode(t, group)
		if list == "" {
			delete(m, "members")
		} else {
			m["members"] = raw(t, list)
		}
		return m
	}
	runCases(t, []patchCase{
		{
			name: "add members with $ref null", rt: attr.Group, res: group,
			ops:  `[{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u3"}]}]`,
			want: members(`[{"value": "u1"}, {"value": "u2", "display": "Two"}, {"value": "u3"}]`),
		},
		{
			name: "adding a held member changes nothing", rt: attr.Group, res: group,
			ops: `[{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"},
				{"value": "U2"}]}]`,
			want: decode(t, group),
		},
		{
			name: "remove members by value list", rt: attr.Group, res: group,
			ops:  `[{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "missing"}]}]`,
			want: members(`[{"value": "u2", "display": "Two"}]`),
		},
		{
			name: "remove a member by filter", rt: attr.Group, res: group,
			ops:  `[{"op": "remove", "path": "members[value eq \"u2\"]"}]`,
			want: members(`[{"value": "u1"}]`),
		},
		{
			name: "removing an absent member succeeds", rt: attr.Group, res: group,
			ops:  `[{"op": "remove", "path": "members[value eq \"nobody\"]"}]`,
			want: decode(t, group),
		},
		{
			name: "remove the last members leaves none", rt: attr.Group, res: group,
			ops:  `[{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]`,
			want: members(""),
		},
		{
			name: "rename", rt: attr.Group, res: group,
			ops: `[{"op": "Replace", "path": "displayName", "value": "1879db59updatedDisplayName"}]`,
			want: func() map[string]any {
				m := decode(t, group)
				m["displayName"] = "1879db59updatedDisplayName"
				return m
			}(),
		},
	})
}

func TestApplyOkta(t *testing.T) {
	group := `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
		"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2",
		"members": [{"value": "89bb1940-b905-4575-9e7f-6f887cfb368e", "display": "old"}]}`
	runCases(t, []patchCase{
		{
			name: "deactivate",
			ops:  `[{"op": "replace", "value": {"active": false}}]`,
			want: withUser(t, map[string]any{"active": false}),
		},
		{
			name: "rename echoing the id", rt: attr.Group, res: group,
			ops: `[{"op": "replace", "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
				"displayName": "Test SCIMv20"}}]`,
			want: func() map[string]any {
				m := decode(t, group)
				m["displayName"] = "Test SCIMv20"
				return m
			}(),
		},
		{
			name: "remove and add members", rt: attr.Group, res: group,
			ops: `[{"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
			       {"op": "add", "path": "members",
			        "value": [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
			         "display": "test.user@okta.local"}]}]`,
			want: func() map[string]any {
				m := decode(t, group)
				m["members"] = raw(t, `[{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
					"display": "test.user@okta.local"}]`)
				return m
			}(),
		},
		{
			name: "full membership push", rt: attr.Group, res: group,
			ops: `[{"op": "replace", "path": "members", "value": [
			        {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"},
			        {"value": "89bb1940-b905-4575-9e7f-6f887cfb368e", "display": "test.user@okta.local"}]}]`,
			want: func() map[string]any {
				m := decode(t, group)
				m["members"] = raw(t, `[
					{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"},
					{"value": "89bb1940-b905-4575-9e7f-6f887cfb368e", "display": "test.user@okta.local"}]`)
				return m
			}(),
		},
		{
			name: "rename to another id", rt: attr.Group, res: group,
			ops:     `[{"op": "replace", "value": {"id": "other", "displayName": "x"}}]`,
			errType: scimerrors.ScimTypeMutability, errSub: `"id" is readOnly`,
		},
	})
}
