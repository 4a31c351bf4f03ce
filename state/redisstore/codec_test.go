package redisstore

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

func TestDocumentRoundTrip(t *testing.T) {
	r := state.Resource{
		Kind: state.KindGroup,
		ID:   "g:1%",
		Data: []byte("\x00binary:12:\xff"),
		Unique: []state.IndexKey{
			{Name: "displayName", Value: "a:b"},
			{Name: "odd:name%3A", Value: ""},
		},
		Refs: []string{"u:1", "%3A", ""},
	}
	got, err := decodeDoc(r.Kind, r.ID, "2:17"+encodeBody(r))
	require.NoError(t, err)
	r.Version = 17
	require.Equal(t, r, got)
}

func TestEscapingKeepsNamesApart(t *testing.T) {
	names := []string{"a:b", "a%3Ab", "a", "a:", "%", "%25", ":"}
	seen := map[string]string{}
	for _, n := range names {
		e := esc(n)
		require.NotContains(t, e, ":")
		require.Equal(t, n, unesc(e))
		if prev, ok := seen[e]; ok {
			t.Fatalf("%q and %q escape alike", prev, n)
		}
		seen[e] = n
	}
	k := newKeyspace("sb", "acme")
	require.NotEqual(t, k.bucket("x:values").values, k.bucket("x").values+":values")
}

func TestDecodeRejectsCorruptValues(t *testing.T) {
	for _, v := range []string{"", "x", "5:ab", "1:1", "1:x1:a1:0", "-1:"} {
		_, err := decodeDoc(state.KindUser, "u1", v)
		require.ErrorIs(t, err, errCorrupt, "value %q", v)
	}
	_, err := decodeRecord("b", "k", "3:1")
	require.ErrorIs(t, err, errCorrupt)
}
