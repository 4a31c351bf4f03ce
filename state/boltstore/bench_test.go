package boltstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
)

// preloadUsers is the size of the directory the read benchmarks run on.
const preloadUsers = 100_000

// BenchmarkCreate commits one user create (with its change record, as the
// SCIM endpoint does) per operation from 32 goroutines, each waiting for
// its own fsync'd acknowledgement, and reports acknowledged creates per
// second.
func BenchmarkCreate(b *testing.B) {
	benchCreate(b, 32)
}

// BenchmarkCreateOneWriter is BenchmarkCreate with a single writer: the
// latency of a lone durable write, which group commit must not delay.
func BenchmarkCreateOneWriter(b *testing.B) {
	benchCreate(b, 1)
}

func benchCreate(b *testing.B, writers int) {
	s := open(b, filepath.Join(b.TempDir(), "state.db"))
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
	if writers == 1 {
		for b.Loop() {
			id := fmt.Sprintf("u%09d", next.Add(1))
			if _, err := s.Commit(ctx, userWrite(id, "name-"+id)); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := fmt.Sprintf("u%09d", next.Add(1))
				if _, err := s.Commit(ctx, userWrite(id, "name-"+id)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

// BenchmarkGet reads one user by id from a directory of preloadUsers.
func BenchmarkGet(b *testing.B) {
	s := preload(b)
	ctx := context.Background()
	for b.Loop() {
		id := fmt.Sprintf("u%09d", rand.IntN(preloadUsers))
		if _, err := s.Get(ctx, state.KindUser, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup finds one user by userName in a directory of
// preloadUsers.
func BenchmarkLookup(b *testing.B) {
	s := preload(b)
	ctx := context.Background()
	for b.Loop() {
		key := state.IndexKey{Name: "userName", Value: fmt.Sprintf("name-u%09d", rand.IntN(preloadUsers))}
		if _, err := s.Lookup(ctx, state.KindUser, key); err != nil {
			b.Fatal(err)
		}
	}
}

// preload returns a store holding preloadUsers users, u000000000 onwards.
func preload(b *testing.B) *boltstore.Store {
	b.Helper()
	s := open(b, filepath.Join(b.TempDir(), "state.db"))
	ctx := context.Background()
	const perCommit = 1000
	for start := 0; start < preloadUsers; start += perCommit {
		writes := make([]state.Write, 0, perCommit)
		for i := start; i < start+perCommit; i++ {
			id := fmt.Sprintf("u%09d", i)
			writes = append(writes, userWrite(id, "name-"+id))
		}
		_, err := s.Commit(ctx, writes...)
		require.NoError(b, err)
	}
	return s
}
