package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/redistest"
	"github.com/scim-bridge/scim-bridge/state"
)

// TestCheckFindsBrokenInvariants breaks one invariant at a time behind the
// store's back and wants Check to name it.
func TestCheckFindsBrokenInvariants(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	raw := srv.Client()
	ctx := context.Background()

	tests := []struct {
		name   string
		damage func(k keyspace) error
		want   string
	}{
		{"index entry lost", func(k keyspace) error {
			return raw.HDel(ctx, k.dir(state.KindUser).uniq, "userName:alice").Err()
		}, `unique userName is held by ""`},
		{"index entry without a document", func(k keyspace) error {
			return raw.HSet(ctx, k.dir(state.KindUser).uniq, "userName:ghost", "u9").Err()
		}, `owner "u9"`},
		{"document without an id", func(k keyspace) error {
			return raw.ZRem(ctx, k.dir(state.KindUser).ids, "u2").Err()
		}, "2 documents but 1 listed ids"},
		{"id without a document", func(k keyspace) error {
			return raw.ZAdd(ctx, k.dir(state.KindUser).ids, redis.Z{Member: "u7"}).Err()
		}, "listed without a document"},
		{"ref lost", func(k keyspace) error {
			return raw.ZRem(ctx, k.dir(state.KindGroup).refs, "u1:g1").Err()
		}, `ref "u1" is not indexed`},
		{"stray ref", func(k keyspace) error {
			return raw.ZAdd(ctx, k.dir(state.KindGroup).refs, redis.Z{Member: "u2:g1"}).Err()
		}, "does not hold the ref"},
		{"unreadable document", func(k keyspace) error {
			return raw.HSet(ctx, k.dir(state.KindUser).docs, "u1", "garbage").Err()
		}, "corrupt stored value"},
		{"record without a key", func(k keyspace) error {
			return raw.ZRem(ctx, k.bucket("links").index, "a").Err()
		}, "1 values but 0 listed keys"},
		{"key both ready and leased", func(k keyspace) error {
			return raw.ZAdd(ctx, k.queue("q").ready, redis.Z{Member: "leased"}).Err()
		}, "both ready and leased"},
		{"lease without a token", func(k keyspace) error {
			return raw.HDel(ctx, k.queue("q").lease, "leased").Err()
		}, "leased without a token"},
		{"run again but not leased", func(k keyspace) error {
			return raw.HSet(ctx, k.queue("q").again, "idle", "0").Err()
		}, "marked to run again but not leased"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, srv.URL(), Options{})
			_, err := s.Commit(ctx, create(user("u1", "alice")), create(user("u2", "bob")),
				create(group("g1", "staff", "u1")))
			require.NoError(t, err)
			_, err = s.PutRecord(ctx, "links", "a", []byte("x"), 0)
			require.NoError(t, err)
			now := time.Now()
			require.NoError(t, s.Enqueue(ctx, "q", []string{"leased"}, now))
			_, err = s.Lease(ctx, "q", "w", now, 1, time.Minute)
			require.NoError(t, err)
			require.NoError(t, s.Enqueue(ctx, "q", []string{"leased", "ready"}, now))
			require.NoError(t, s.Check(ctx), "a store written only through its methods is whole")

			require.NoError(t, tt.damage(s.keys))
			err = s.Check(ctx)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}
