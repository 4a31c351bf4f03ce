package boltstore

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

func TestFeedIDs(t *testing.T) {
	tests := []struct {
		id   string
		want uint64
		ok   bool
	}{
		{feedID(1), 1, true},
		{feedID(1 << 40), 1 << 40, true},
		{"0000000000000000", 0, false},
		{"0-1", 0, false},
		{"000000000000000G", 0, false},
		{"00000000000000FF", 0, false},
		{"+00000000000000f", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseFeedID(tt.id)
		require.Equal(t, tt.ok, ok, "parseFeedID(%q)", tt.id)
		require.Equal(t, tt.want, got, "parseFeedID(%q)", tt.id)
	}
	require.Less(t, feedID(9), feedID(10), "ids sort as their sequence numbers")
	require.Less(t, feedID(0xff), feedID(0x100))
}

func TestDocRoundTripAndCorruption(t *testing.T) {
	in := doc{
		Version: 7,
		Data:    []byte(`{"a":1}`),
		Unique:  []state.IndexKey{{Name: "userName", Value: "alice"}, {Name: "externalId", Value: ""}},
		Refs:    []string{"g1", "g2"},
	}
	b := encodeDoc(in)
	got, err := decodeDoc(b)
	require.NoError(t, err)
	require.Equal(t, in, got)

	for cut := 0; cut < len(b); cut++ {
		_, err := decodeDoc(b[:cut])
		require.ErrorIs(t, err, errCorrupt, "cut at %d of %d", cut, len(b))
	}
	_, err = decodeDoc(append(b, 0))
	require.ErrorIs(t, err, errCorrupt, "trailing bytes")
}

func TestPrefixedKeysDoNotCollide(t *testing.T) {
	// Without the length, ("ab", "c") and ("a", "bc") would share a key.
	require.NotEqual(t, prefixed("ab", "c"), prefixed("a", "bc"))
	p, r, ok := splitPrefixed(prefixed("ref\x00x", "id"))
	require.True(t, ok)
	require.Equal(t, "ref\x00x", p)
	require.Equal(t, "id", r)
}
