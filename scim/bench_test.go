package scim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// seedUsers creates n users through Bulk and returns their ids.
func seedUsers(b *testing.B, h *harness, n int) []string {
	b.Helper()
	var ids []string
	for start := 0; start < n; start += 1000 {
		var ops []map[string]any
		for i := start; i < min(start+1000, n); i++ {
			ops = append(ops, bulkOp("POST", "/Users", strconv.Itoa(i), map[string]any{
				"schemas": []string{userSchema}, "userName": "bench" + strconv.Itoa(i),
				"name": map[string]any{"givenName": "Bench", "familyName": strconv.Itoa(i)},
			}))
		}
		r := h.do(b, http.MethodPost, "/Bulk", bulkRequest(ops...))
		mustStatus(b, r, http.StatusOK)
		for _, o := range r.obj(b)["Operations"].([]any) {
			loc := o.(map[string]any)["location"].(string)
			ids = append(ids, loc[len(loc)-36:])
		}
	}
	require.Len(b, ids, n)
	return ids
}

const benchPatches = 1000

// BenchmarkPatchSeparate applies 1,000 PATCH requests one after another,
// as an identity provider without Bulk does. Compare with
// BenchmarkPatchBulk: one op is the same 1,000 changes.
func BenchmarkPatchSeparate(b *testing.B) {
	h := newHarness(b)
	ids := seedUsers(b, h, benchPatches)
	round := 0
	for b.Loop() {
		round++
		title := "title-" + strconv.Itoa(round)
		for _, id := range ids {
			r := h.do(b, http.MethodPatch, "/Users/"+id, patchOp(op("replace", "title", title)))
			if r.status != http.StatusOK {
				b.Fatalf("patch: %d %s", r.status, r.body)
			}
		}
	}
}

// BenchmarkPatchSeparateConcurrent sends the same 1,000 PATCH requests
// from 8 clients at once, the best case for separate requests (their
// commits share fsyncs).
func BenchmarkPatchSeparateConcurrent(b *testing.B) {
	h := newHarness(b)
	ids := seedUsers(b, h, benchPatches)
	round := 0
	for b.Loop() {
		round++
		title := "title-" + strconv.Itoa(round)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(ids); i += 8 {
					r := h.fetch(b, http.MethodPatch, "/Users/"+ids[i],
						patchOp(op("replace", "title", title)))
					if r == nil {
						return
					}
					if r.status != http.StatusOK {
						b.Errorf("patch: %d %s", r.status, r.body)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}

// BenchmarkPatchBulk applies the same 1,000 PATCH operations in one Bulk
// request.
func BenchmarkPatchBulk(b *testing.B) {
	h := newHarness(b)
	ids := seedUsers(b, h, benchPatches)
	round := 0
	for b.Loop() {
		round++
		title := "title-" + strconv.Itoa(round)
		ops := make([]map[string]any, len(ids))
		for i, id := range ids {
			ops[i] = bulkOp("PATCH", "/Users/"+id, "", patchOp(op("replace", "title", title)))
		}
		r := h.do(b, http.MethodPost, "/Bulk", bulkRequest(ops...))
		if r.status != http.StatusOK {
			b.Fatalf("bulk: %d %s", r.status, r.body)
		}
		checkBulkStatuses(b, r, len(ops), "200")
	}
}

// BenchmarkGetUser reads users by id over real HTTP from parallel clients.
func BenchmarkGetUser(b *testing.B) {
	h := newHarness(b)
	ids := seedUsers(b, h, 2000)
	var n atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := h.fetch(b, http.MethodGet, "/Users/"+ids[int(n.Add(1))%len(ids)], nil)
			if r == nil {
				return
			}
			if r.status != http.StatusOK {
				b.Errorf("get: %d", r.status)
				return
			}
		}
	})
}

// BenchmarkFilterUserName looks users up by userName eq, in directories of
// 10 and 10,000 users: the index answers, so both cost the same.
func BenchmarkFilterUserName(b *testing.B) {
	for _, size := range []int{10, 10_000} {
		b.Run(strconv.Itoa(size)+"users", func(b *testing.B) {
			h := newHarness(b)
			seedUsers(b, h, size)
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					name := "bench" + strconv.Itoa(int(n.Add(1))%size)
					r := h.fetch(b, http.MethodGet,
						"/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), nil)
					if r == nil {
						return
					}
					if r.status != http.StatusOK {
						b.Errorf("filter: %d", r.status)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCreateUser creates users over real HTTP from parallel clients;
// each create is durable (fsync'd) before it is answered.
func BenchmarkCreateUser(b *testing.B) {
	h := newHarness(b)
	var n atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := h.fetch(b, http.MethodPost, "/Users", newUser("create"+strconv.Itoa(int(n.Add(1)))))
			if r == nil {
				return
			}
			if r.status != http.StatusCreated {
				b.Errorf("create: %d %s", r.status, r.body)
				return
			}
		}
	})
}

// checkBulkStatuses fails the benchmark unless the BulkResponse r lists n
// operations, each with status want: an HTTP 200 alone says nothing of the
// operations.
func checkBulkStatuses(b *testing.B, r *response, n int, want string) {
	b.Helper()
	var body struct {
		Operations []struct {
			Status string `json:"status"`
		} `json:"Operations"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		b.Fatalf("bulk response: %v", err)
	}
	if len(body.Operations) != n {
		b.Fatalf("bulk response lists %d operations, want %d", len(body.Operations), n)
	}
	for i, op := range body.Operations {
		if op.Status != want {
			b.Fatalf("bulk operation %d: status %s, want %s: %s", i, op.Status, want, r.body)
		}
	}
}
