package scim

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplice(t *testing.T) {
	stored := []byte(`{"id":"u1","userName":"a","meta":{"created":"2026-01-01T00:00:00.000Z",` +
		`"lastModified":"2026-01-01T00:00:00.000Z","resourceType":"User"}}`)
	out, ok := splice(stored, []groupRef{{id: "g1", display: `Ops "East"`}}, "https://x/Users/u1", 7)
	require.True(t, ok)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(out, &doc), "%s", out)
	meta := doc["meta"].(map[string]any)
	require.Equal(t, `W/"7"`, meta["version"])
	require.Equal(t, "https://x/Users/u1", meta["location"])
	require.Equal(t, "User", meta["resourceType"])
	require.Equal(t, []any{map[string]any{"value": "g1", "display": `Ops "East"`, "type": "direct"}},
		doc["groups"])

	for _, odd := range []string{
		`{"id":"u1"}`,
		`{"meta":{"created":"x"},"id":"u1"}`,
		`{"id":"u1","meta":{"nested":{"a":1}}}`,
		``,
	} {
		_, ok := splice([]byte(odd), nil, "l", 1)
		require.False(t, ok, "layout %s", odd)
	}
}

func TestRenderFallsBackForUnexpectedLayout(t *testing.T) {
	s := &Server{}
	require.NoError(t, s.buildTypes(nil))
	res := storedResource(`{"meta":{"resourceType":"User"},"id":"u1","schemas":` +
		`["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a"}`)
	out, err := s.render(s.users, res, nil, "https://x/Users/u1", projection{})
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(out, &doc))
	require.Equal(t, `W/"3"`, doc["meta"].(map[string]any)["version"])
	require.Equal(t, "a", doc["userName"])
}

func TestLeadingString(t *testing.T) {
	require.Equal(t, "Ops", leadingString([]byte(`{"displayName":"Ops","members":[]}`), "displayName"))
	require.Equal(t, "Ops",
		leadingString([]byte(`{"a":{"b":[1,2]},"displayName":"Ops"}`), "displayName"))
	require.Equal(t, "", leadingString([]byte(`{"a":1}`), "displayName"))
	require.Equal(t, "", leadingString([]byte(`not json`), "displayName"))
}

func TestETagMatches(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{`W/"3"`, true},
		{`"3"`, true},
		{`*`, true},
		{`W/"2", W/"3"`, true},
		{`W/"33"`, false},
		{`3`, false},
		{``, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, etagMatches(tt.header, 3), "header %q", tt.header)
	}
}

func TestRequestID(t *testing.T) {
	require.Equal(t, "abc-123_x.y:z", requestID("abc-123_x.y:z"))
	for _, bad := range []string{"", "has space", "new\nline", string(make([]byte, 200))} {
		got := requestID(bad)
		require.NotEqual(t, bad, got)
		require.NotEmpty(t, got)
	}
	require.NotEqual(t, requestID(""), requestID(""), "generated ids differ")
}

func TestBulkReferences(t *testing.T) {
	data := map[string]any{"members": []any{map[string]any{"value": "bulkId:u1"},
		map[string]any{"value": "bulkId:u2"}, map[string]any{"value": "plain"}}}
	require.Equal(t, []string{"g", "u1", "u2"}, bulkRefs("/Groups/bulkId:g", data))
	out := substitute(data, map[string]string{"u1": "id-1"}).(map[string]any)
	require.Equal(t, "id-1", out["members"].([]any)[0].(map[string]any)["value"])
	require.Equal(t, "bulkId:u2", out["members"].([]any)[1].(map[string]any)["value"])
	require.Equal(t, "bulkId:u1", data["members"].([]any)[0].(map[string]any)["value"],
		"substitute leaves its input alone")
}
