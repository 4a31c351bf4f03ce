package redisstore

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scim-bridge/scim-bridge/internal/redistest"
	"github.com/scim-bridge/scim-bridge/state"
)

// benchClients is how many goroutines the benchmarks run at once: as many
// as concurrent SCIM requests and sync workers of a busy replica.
const benchClients = 32

// benchUsers is how many users the read benchmarks load first.
const benchUsers = 10000

// benchStore starts a redis-server with the append-only file on, fsynced
// as fsync says, and opens a store on it.
func benchStore(b *testing.B, fsync string) *Store {
	b.Helper()
	srv := redistest.Start(b, redistest.Options{AppendOnly: true, AppendFsync: fsync})
	return openStore(b, srv.URL(), Options{})
}

// runClients runs fn from benchClients goroutines over b.N iterations.
func runClients(b *testing.B, fn func(i int64) error) {
	b.Helper()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchClients + procs - 1) / procs)
	var seq atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := fn(seq.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchUser is a directory user of a realistic size (about 700 bytes),
// with the two unique indexes the SCIM endpoint keeps.
func benchUser(i int64) state.Resource {
	id := benchID(i)
	name := fmt.Sprintf("user%d@example.com", i)
	data := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":%q,`+
		`"externalId":"ext-%d","userName":%q,"name":{"givenName":"Barbara","familyName":`+
		`"Jensen","formatted":"Ms. Barbara J Jensen III"},"displayName":"Babs Jensen",`+
		`"emails":[{"value":%q,"type":"work","primary":true}],"active":true,`+
		`"title":"Tour Guide","preferredLanguage":"en-US","locale":"en-US",`+
		`"timezone":"America/Los_Angeles","urn:ietf:params:scim:schemas:extension:`+
		`enterprise:2.0:User":{"employeeNumber":"%d","costCenter":"4130",`+
		`"organization":"Universal Studios","division":"Theme Park","department":`+
		`"Tour Operations","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}},`+
		`"meta":{"resourceType":"User","created":"2026-01-23T04:56:22Z"}}`,
		id, i, name, name, i)
	return state.Resource{
		Kind: state.KindUser,
		ID:   id,
		Data: []byte(data),
		Unique: []state.IndexKey{
			{Name: "userName", Value: name},
			{Name: "externalId", Value: fmt.Sprintf("ext-%d", i)},
		},
	}
}

func benchID(i int64) string { return fmt.Sprintf("2819c223-7f76-453a-919d-%012d", i) }

// BenchmarkCreate commits one new user per call from 32 goroutines. The
// headline is fsync=everysec; fsync=always shows the cost of an fsync
// before every reply.
func BenchmarkCreate(b *testing.B) {
	for _, fsync := range []string{"everysec", "always"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			s := benchStore(b, fsync)
			ctx := context.Background()
			runClients(b, func(i int64) error {
				_, err := s.Commit(ctx, create(benchUser(i)))
				return err
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}

// loadUsers creates benchUsers users, from benchClients goroutines.
func loadUsers(b *testing.B, s *Store) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < benchClients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= benchUsers; i = next.Add(1) {
				if _, err := s.Commit(ctx, create(benchUser(i))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkGet reads users by id from 32 goroutines.
func BenchmarkGet(b *testing.B) {
	s := benchStore(b, "everysec")
	loadUsers(b, s)
	ctx := context.Background()
	runClients(b, func(i int64) error {
		_, err := s.Get(ctx, state.KindUser, benchID(i%benchUsers+1))
		return err
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

// BenchmarkLookup finds users by userName from 32 goroutines, as an
// identity provider's `userName eq` filter does.
func BenchmarkLookup(b *testing.B) {
	s := benchStore(b, "everysec")
	loadUsers(b, s)
	ctx := context.Background()
	runClients(b, func(i int64) error {
		name := fmt.Sprintf("user%d@example.com", i%benchUsers+1)
		_, err := s.Lookup(ctx, state.KindUser, state.IndexKey{Name: "userName", Value: name})
		return err
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
