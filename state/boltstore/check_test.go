package boltstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/scim-bridge/scim-bridge/state"
)

// TestCheckFindsDamage damages a consistent file in one way at a time,
// behind the store's back, and expects Check to name the damage.
func TestCheckFindsDamage(t *testing.T) {
	users := func(tx *bbolt.Tx) kindBuckets { return readKind(tx, state.KindUser) }
	tests := []struct {
		name   string
		damage func(tx *bbolt.Tx) error
		want   string
	}{
		{"index entry missing", func(tx *bbolt.Tx) error {
			return users(tx).index.Delete(indexKey(state.IndexKey{Name: "userName", Value: "alice"}))
		}, `index "userName" value "alice" is held by ""`},
		{"index entry of a missing resource", func(tx *bbolt.Tx) error {
			return users(tx).index.Put(indexKey(state.IndexKey{Name: "userName", Value: "x"}), []byte("u9"))
		}, `points at missing "u9"`},
		{"index entry the resource does not hold", func(tx *bbolt.Tx) error {
			return users(tx).index.Put(indexKey(state.IndexKey{Name: "userName", Value: "x"}), []byte("u1"))
		}, "which does not hold it"},
		{"refs entry missing", func(tx *bbolt.Tx) error {
			return readKind(tx, state.KindGroup).refs.Delete(prefixed("u1", "g1"))
		}, `refs entry "u1" missing`},
		{"count off", func(tx *bbolt.Tx) error {
			return addCount(users(tx).docs, 1)
		}, "count is 3, holds 2"},
		{"pending change trimmed", func(tx *bbolt.Tx) error {
			return tx.Bucket(bucketFeed).Delete(seqKey(1))
		}, "missing from feed"},
		{"queue index entry missing", func(tx *bbolt.Tx) error {
			return readQueue(tx, "q").ready.Delete(timeKey(0, "k"))
		}, "index entry missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{})
			require.NoError(t, err)
			defer s.Close()
			_, err = s.Commit(ctx,
				state.Write{Op: state.OpCreate, Resource: state.Resource{Kind: state.KindUser, ID: "u1",
					Unique: []state.IndexKey{{Name: "userName", Value: "alice"}}}},
				state.Write{Op: state.OpCreate, Resource: state.Resource{Kind: state.KindUser, ID: "u2",
					Unique: []state.IndexKey{{Name: "userName", Value: "bob"}}}},
				state.Write{Op: state.OpCreate, Resource: state.Resource{Kind: state.KindGroup, ID: "g1",
					Refs: []string{"u1", "u2"}}})
			require.NoError(t, err)
			_, err = s.Read(ctx, "engine", "c1", 10, 0)
			require.NoError(t, err)
			require.NoError(t, s.Enqueue(ctx, "q", []string{"k"}, time.Unix(0, 0)))
			require.NoError(t, s.Check(ctx), "before the damage")

			require.NoError(t, s.db.Update(tt.damage))
			err = s.Check(ctx)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}
