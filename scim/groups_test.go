package scim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

func TestGroupMembership(t *testing.T) {
	h := newHarness(t)
	ann := h.createUser(t, map[string]any{"userName": "ann"})
	ben := h.createUser(t, map[string]any{"userName": "ben"})
	gid := h.createGroup(t, "Staff", ann, ben, ann)

	g := h.do(t, http.MethodGet, "/Groups/"+gid, nil)
	mustStatus(t, g, http.StatusOK)
	members := g.obj(t)["members"].([]any)
	require.Len(t, members, 2, "a repeated member is kept once")
	require.Equal(t, "User", path(members, 0, "type"))

	res := h.stored(t, state.KindGroup, gid)
	require.ElementsMatch(t, []string{ann, ben}, h.members(t, gid))
	require.Empty(t, res.Unique, "displayName is not unique")
	require.Len(t, res.Refs, 3, "the members and the displayName index entry")

	// A user's groups are derived from the groups' members.
	u := h.do(t, http.MethodGet, "/Users/"+ann, nil).obj(t)
	require.Equal(t, []any{map[string]any{"value": gid, "display": "Staff", "type": "direct"}},
		u["groups"])

	// Deleting a user removes it from its groups in the same commit.
	mustStatus(t, h.do(t, http.MethodDelete, "/Users/"+ann, nil), http.StatusNoContent)
	g2 := h.do(t, http.MethodGet, "/Groups/"+gid, nil).obj(t)
	require.Len(t, g2["members"], 1)
	require.Equal(t, ben, path(g2, "members", 0, "value"))
	require.Equal(t, []string{ben}, h.members(t, gid))

	excluded := h.do(t, http.MethodGet, "/Groups/"+gid+"?excludedAttributes=members", nil).obj(t)
	require.Nil(t, excluded["members"])
	require.Equal(t, "Staff", excluded["displayName"])
}

func TestGroupRules(t *testing.T) {
	h := newHarness(t)
	u := h.createUser(t, map[string]any{"userName": "uma"})
	gid := h.createGroup(t, "Ops", u)

	tests := []struct {
		name     string
		method   string
		path     string
		body     any
		status   int
		scimType string
	}{
		{"unknown member", http.MethodPost, "/Groups", map[string]any{"schemas": []string{groupSchema},
			"displayName": "New", "members": []any{map[string]any{"value": "ghost"}}}, 400, "invalidValue"},
		{"member without value", http.MethodPost, "/Groups", map[string]any{
			"schemas": []string{groupSchema}, "displayName": "New2",
			"members": []any{map[string]any{"display": "x"}}}, 400, "invalidValue"},
		{"group in itself", http.MethodPatch, "/Groups/" + gid,
			patchOp(op("add", "members", []any{map[string]any{"value": gid}})), 400, "invalidValue"},
		{"no displayName", http.MethodPost, "/Groups",
			map[string]any{"schemas": []string{groupSchema}}, 400, "invalidValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, tt.method, tt.path, tt.body)
			mustStatus(t, r, tt.status)
			require.Equal(t, tt.scimType, r.obj(t)["scimType"])
		})
	}
}

func TestNestedGroup(t *testing.T) {
	h := newHarness(t)
	inner := h.createGroup(t, "Inner")
	outer := h.createGroup(t, "Outer", inner)
	g := h.do(t, http.MethodGet, "/Groups/"+outer, nil).obj(t)
	require.Equal(t, "Group", path(g, "members", 0, "type"))

	mustStatus(t, h.do(t, http.MethodDelete, "/Groups/"+inner, nil), http.StatusNoContent)
	g = h.do(t, http.MethodGet, "/Groups/"+outer, nil).obj(t)
	require.Nil(t, g["members"], "a deleted group leaves the groups it was in")
}

func TestGroupPatchMembers(t *testing.T) {
	h := newHarness(t)
	a := h.createUser(t, map[string]any{"userName": "a"})
	b := h.createUser(t, map[string]any{"userName": "b"})
	c := h.createUser(t, map[string]any{"userName": "c"})
	gid := h.createGroup(t, "Team", a)

	steps := []struct {
		name string
		body map[string]any
		want []string
	}{
		{"add", patchOp(op("add", "members", []any{map[string]any{"value": b}})), []string{a, b}},
		{"remove by filter", patchOp(op("remove", `members[value eq "`+a+`"]`, nil)), []string{b}},
		{"entra add", patchOp(op("Add", "members",
			[]any{map[string]any{"$ref": nil, "value": c}})), []string{b, c}},
		{"entra remove with value", patchOp(op("Remove", "members",
			[]any{map[string]any{"$ref": nil, "value": b}})), []string{c}},
		{"replace all", patchOp(op("replace", "members", []any{
			map[string]any{"value": a}, map[string]any{"value": b}})), []string{a, b}},
		{"remove all", patchOp(op("remove", "members", nil)), nil},
	}
	for _, st := range steps {
		r := h.do(t, http.MethodPatch, "/Groups/"+gid+"?attributes=members", st.body)
		mustStatus(t, r, http.StatusOK)
		require.ElementsMatch(t, st.want, h.members(t, gid), st.name)
		var got []string
		for _, m := range anyList(r.obj(t)["members"]) {
			got = append(got, m.(map[string]any)["value"].(string))
		}
		require.ElementsMatch(t, st.want, got, st.name)
	}
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestGroupPatchStatus checks the answer to a successful PATCH: 204 with
// the new ETag for a group unless the client names attributes or
// excludedAttributes, and always 200 with the resource for a user.
func TestGroupPatchStatus(t *testing.T) {
	h := newHarness(t)
	uid := h.createUser(t, map[string]any{"userName": "pat"})
	gid := h.createGroup(t, "Status", uid)
	rename := func(name string) map[string]any {
		return patchOp(op("replace", "displayName", name))
	}

	r := h.do(t, http.MethodPatch, "/Groups/"+gid, rename("One"))
	mustStatus(t, r, http.StatusNoContent)
	require.Empty(t, r.body)
	require.Equal(t, `W/"2"`, r.header.Get("Etag"))

	r = h.do(t, http.MethodPatch, "/Groups/"+gid+"?attributes=displayName", rename("Two"))
	mustStatus(t, r, http.StatusOK)
	body := r.obj(t)
	require.Equal(t, "Two", body["displayName"])
	require.Nil(t, body["members"], "only the attributes asked for")
	require.Equal(t, `W/"3"`, r.header.Get("Etag"))

	r = h.do(t, http.MethodPatch, "/Groups/"+gid+"?excludedAttributes=members", rename("Three"))
	mustStatus(t, r, http.StatusOK)
	require.Equal(t, "Three", r.obj(t)["displayName"])

	// A patch that changes nothing keeps the version.
	r = h.do(t, http.MethodPatch, "/Groups/"+gid, rename("Three"))
	mustStatus(t, r, http.StatusNoContent)
	require.Equal(t, `W/"4"`, r.header.Get("Etag"))

	r = h.do(t, http.MethodPatch, "/Users/"+uid, patchOp(op("replace", "title", "T")))
	mustStatus(t, r, http.StatusOK)
	require.Equal(t, "T", r.obj(t)["title"])
}

// TestGroupDisplayNameNotUnique checks RFC 7643 section 4.2: two groups
// may share a displayName, and an equality filter on it, answered from the
// reference index, finds each of them whatever the case, and follows
// renames.
func TestGroupDisplayNameNotUnique(t *testing.T) {
	h := newHarness(t)
	uid := h.createUser(t, map[string]any{"userName": "twin"})
	first := h.createGroup(t, "Twins", uid)
	second := h.createGroup(t, "TWINS")
	other := h.createGroup(t, "Others")

	find := func(name string) []string {
		t.Helper()
		r := h.do(t, http.MethodGet, "/Groups?filter="+
			url.QueryEscape(`displayName eq "`+name+`"`), nil)
		mustStatus(t, r, http.StatusOK)
		var ids []string
		for _, g := range anyList(r.obj(t)["Resources"]) {
			ids = append(ids, g.(map[string]any)["id"].(string))
		}
		return ids
	}
	require.ElementsMatch(t, []string{first, second}, find("twins"))
	require.Equal(t, []string{other}, find("Others"))

	mustStatus(t, h.do(t, http.MethodPatch, "/Groups/"+other,
		patchOp(op("replace", "displayName", "Twins"))), http.StatusNoContent)
	require.ElementsMatch(t, []string{first, second, other}, find("Twins"))
	require.Empty(t, find("Others"))

	mustStatus(t, h.do(t, http.MethodPut, "/Groups/"+second, map[string]any{
		"schemas": []string{groupSchema}, "displayName": "Solo"}), http.StatusOK)
	require.Equal(t, []string{second}, find("solo"))
	require.Equal(t, []string{uid}, h.members(t, first), "members are untouched")

	// A member value shaped like the index entry is not a member.
	ref := ""
	for _, r := range h.stored(t, state.KindGroup, first).Refs {
		if strings.HasPrefix(r, "displayName:") {
			ref = r
		}
	}
	require.NotEmpty(t, ref)
	r := h.do(t, http.MethodPatch, "/Groups/"+first,
		patchOp(op("add", "members", []any{map[string]any{"value": ref}})))
	mustStatus(t, r, http.StatusBadRequest)
}

// TestGroupMemberRefs checks that every member in a response carries its
// "$ref", the member's location under the server's base URL, on the
// stored-bytes path, with a projection and in lists, and that the stored
// document holds none.
func TestGroupMemberRefs(t *testing.T) {
	h := newHarness(t)
	uid := h.createUser(t, map[string]any{"userName": "reffed"})
	inner := h.createGroup(t, "Inner", uid)
	outer := h.createGroup(t, "Outer", uid, inner)
	want := map[string]string{uid: h.base + "/Users/" + uid, inner: h.base + "/Groups/" + inner}

	check := func(name string, group any) {
		t.Helper()
		members := anyList(path(group, "members"))
		require.Len(t, members, 2, name)
		for _, el := range members {
			m := el.(map[string]any)
			require.Equal(t, want[m["value"].(string)], m["$ref"], "%s: member %v", name, m)
		}
	}
	check("get", h.do(t, http.MethodGet, "/Groups/"+outer, nil).obj(t))
	check("projection", h.do(t, http.MethodGet, "/Groups/"+outer+"?attributes=members", nil).obj(t))
	list := h.do(t, http.MethodGet, "/Groups?filter="+url.QueryEscape(`displayName eq "outer"`), nil)
	check("list", path(list.obj(t), "Resources", 0))
	patched := h.do(t, http.MethodPatch, "/Groups/"+outer+"?attributes=members",
		patchOp(op("replace", "displayName", "Outer2")))
	mustStatus(t, patched, http.StatusOK)
	check("patch", patched.obj(t))

	require.NotContains(t, string(h.stored(t, state.KindGroup, outer).Data), "$ref")
	require.Equal(t, h.base+"/Users/"+uid,
		path(h.do(t, http.MethodGet, "/Groups/"+inner, nil).obj(t), "members", 0, "$ref"))
}
