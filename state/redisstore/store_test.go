package redisstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/redistest"
	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/statetest"
)

// orgs numbers the organizations of one test binary, so that every store a
// test opens on a shared server starts empty.
var orgs atomic.Int64

func freshOrg() string { return fmt.Sprintf("org%d", orgs.Add(1)) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens a store of a fresh organization on url, closed when the
// test ends.
func openStore(tb testing.TB, url string, opts Options) *Store {
	tb.Helper()
	if opts.Org == "" {
		opts.Org = freshOrg()
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := Open(context.Background(), url, opts)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func contractStores(url string) statetest.NewStore {
	return func(t *testing.T) state.Store {
		s, err := Open(context.Background(), url, Options{Org: freshOrg(), Logger: quietLogger()})
		require.NoError(t, err)
		return s
	}
}

func TestContract(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	statetest.Run(t, contractStores(srv.URL()))
}

// TestContractCluster runs the suite on a three-master Redis Cluster. Each
// subtest's organization hashes to its own slot, so the suite runs on all
// masters, and a script touching keys of two slots would fail with
// CROSSSLOT.
func TestContractCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3, redistest.Options{})
	statetest.Run(t, contractStores(cl.URL()))
}

// TestClusterKeepsEachOrgInOneSlot runs writes of many organizations on a
// three-master cluster and finds every organization's keys on one node.
func TestClusterKeepsEachOrgInOneSlot(t *testing.T) {
	cl := redistest.StartCluster(t, 3, redistest.Options{})
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		s := openStore(t, cl.URL(), Options{})
		_, err := s.Commit(ctx, create(user("u1", "alice")), create(group("g1", "staff", "u1")))
		require.NoError(t, err)
		_, err = s.PutRecord(ctx, "links", "k", []byte("v"), 0)
		require.NoError(t, err)
		require.NoError(t, s.Enqueue(ctx, "q", []string{"k"}, time.Now()))
	}

	home := map[string]string{} // organization tag -> node
	for _, n := range cl.Nodes {
		keys, err := n.Client().Keys(ctx, "*").Result()
		require.NoError(t, err)
		require.NotEmpty(t, keys, "node %s holds some organizations", n.Addr)
		for _, k := range keys {
			tag := k[:strings.IndexByte(k, '}')+1]
			if prev, ok := home[tag]; ok {
				require.Equal(t, prev, n.Addr, "keys of %s on two nodes", tag)
			}
			home[tag] = n.Addr
		}
	}
	require.Len(t, home, 12)
}

func user(id, name string, refs ...string) state.Resource {
	return state.Resource{
		Kind:   state.KindUser,
		ID:     id,
		Data:   []byte(fmt.Sprintf(`{"id":%q,"userName":%q}`, id, name)),
		Unique: []state.IndexKey{{Name: "userName", Value: name}},
		Refs:   refs,
	}
}

func group(id, name string, members ...string) state.Resource {
	return state.Resource{
		Kind:   state.KindGroup,
		ID:     id,
		Data:   []byte(fmt.Sprintf(`{"id":%q,"displayName":%q}`, id, name)),
		Unique: []state.IndexKey{{Name: "displayName", Value: name}},
		Refs:   members,
	}
}

func create(r state.Resource) state.Write { return state.Write{Op: state.OpCreate, Resource: r} }

func replace(r state.Resource, v uint64) state.Write {
	return state.Write{Op: state.OpReplace, Resource: r, IfVersion: v}
}

func remove(k state.Kind, id string, v uint64) state.Write {
	return state.Write{Op: state.OpDelete, Resource: state.Resource{Kind: k, ID: id}, IfVersion: v}
}

func TestOpenWarnsAboutRiskyServerConfig(t *testing.T) {
	tests := []struct {
		name string
		opts redistest.Options
		want []string
	}{
		{"no persistence", redistest.Options{}, []string{"keeps no persistence"}},
		{"evicting", redistest.Options{
			AppendOnly: true,
			Config:     []string{"maxmemory-policy allkeys-lru"},
		}, []string{"may evict keys"}},
		{"safe", redistest.Options{AppendOnly: true, AppendFsync: "always"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t, tt.opts)
			var logs strings.Builder
			openStore(t, srv.URL(), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if tt.want == nil {
				require.Empty(t, logs.String())
			}
			for _, w := range tt.want {
				require.Contains(t, logs.String(), w)
			}
		})
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	_, err := Open(ctx, "redis://127.0.0.1:1", Options{Org: "a{b}"})
	require.ErrorContains(t, err, "must not contain braces")
	_, err = Open(ctx, "memcached://x", Options{})
	require.ErrorContains(t, err, "unknown scheme")

	srv := redistest.Start(t, redistest.Options{})
	srv.Kill()
	_, err = Open(ctx, srv.URL(), Options{})
	require.ErrorContains(t, err, "redisstore: ping")
}
