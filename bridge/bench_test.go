package bridge_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/auth"
	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/internal/redistest"
	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
)

// The benchmarks provision into webhook receivers on local HTTP servers
// through the real webhook connector, and QuickSyncBulk into a second
// scim-bridge process through the real scim connector. Run them with
//
//	go test -run '^$' -bench QuickSync -benchmem ./bridge/
//	go test -run '^$' -bench ChangeLatency -benchtime 1000x ./bridge/
//	go test -run '^$' -bench QuickSyncBulk ./bridge/
//
// (-bench . runs both, the latency one for about a second's worth of
// changes.)

// hookSecretEnv holds the secret the webhook connector signs with.
const hookSecretEnv = "BRIDGE_BENCH_HOOK_SECRET"

// benchConcurrency is each benchmark app's concurrency: the calls it may
// have in flight.
const benchConcurrency = 16

// benchTuning is the default tuning but for backoffs, which no benchmark
// should meet anyway.
var benchTuning = bridge.Tuning{BackoffBase: 20 * time.Millisecond, BackoffMax: time.Second}

// sink is the cheapest webhook receiver that still answers as the webhook
// protocol says: create returns a fresh id, every other write succeeds. It
// neither checks signatures nor keeps accounts, so that a benchmark
// measures the bridge rather than the receiver. It counts the writes it
// received and hands each update to onUpdate, when set.
type sink struct {
	srv      *httptest.Server
	seq      atomic.Int64
	creates  atomic.Int64
	writes   atomic.Int64
	onUpdate atomic.Pointer[func(fields map[string]any)]
}

func newSink(tb testing.TB) *sink {
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	var m struct {
		Operation string         `json:"operation"`
		Fields    map[string]any `json:"fields"`
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, `{"detail":"malformed body"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch m.Operation {
	case "create":
		s.creates.Add(1)
		s.writes.Add(1)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"acct-%d"}`, s.seq.Add(1))
	case "update":
		s.writes.Add(1)
		if f := s.onUpdate.Load(); f != nil {
			(*f)(m.Fields)
		}
		w.WriteHeader(http.StatusOK)
	case "deactivate", "delete":
		s.writes.Add(1)
		w.WriteHeader(http.StatusOK)
	default:
		// No accounts are kept, so a lookup finds none.
		w.WriteHeader(http.StatusNotFound)
	}
}

// benchKinds links the real scim and webhook connectors.
func benchKinds() bridge.Kinds {
	k := kinds()
	k[webhook.Kind] = webhook.Factory()
	return k
}

// hookApp is a webhook app with every user in scope, delivering to s.
func hookApp(name string, s *sink) config.App {
	return config.App{
		Name:         name,
		Catalog:      "webhook",
		Provisioning: true,
		Connector: map[string]any{
			"kind": "webhook", "url": s.srv.URL, "secret": map[string]any{"env": hookSecretEnv},
		},
		Scope:       config.Scope{All: true},
		Concurrency: benchConcurrency,
	}
}

func newBenchEngine(tb testing.TB, store state.Store, apps ...config.App) *bridge.Engine {
	tb.Helper()
	e, err := bridge.New(bridge.Options{
		Store: store, Catalog: catalog(tb), Apps: apps, Kinds: benchKinds(),
		Replica: "bench", Tuning: benchTuning, Logger: testLogger(tb),
	})
	require.NoError(tb, err)
	return e
}

// seedUsers creates n users straight in the store, in commits of 500.
func seedUsers(tb testing.TB, s state.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	batch := make([]state.Write, 0, 500)
	for i := range n {
		u := user{
			ID: fmt.Sprintf("u%07d", i), UserName: fmt.Sprintf("bench%07d", i),
			Given: "Given", Family: fmt.Sprintf("Family %d", i), Title: "Engineer",
		}
		batch = append(batch, state.Write{Op: state.OpCreate, Resource: u.resource()})
		if len(batch) == cap(batch) || i == n-1 {
			_, err := s.Commit(ctx, batch...)
			require.NoError(tb, err)
			batch = batch[:0]
		}
	}
}

// benchStore opens a fresh store of the named backend. For the embedded
// store it also returns the path of its file.
func benchStore(b *testing.B, backend string) (state.Store, string) {
	if backend == "redis" {
		return openRedis(b, redistest.Start(b, redistest.Options{})), ""
	}
	path := filepath.Join(b.TempDir(), "bridge.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	return s, path
}

// waitIdle waits until every queue of the engine is empty: no app has a
// key ready or leased, and no job is queued or running.
func waitIdle(tb testing.TB, e *bridge.Engine, store state.Store, timeout time.Duration) {
	tb.Helper()
	ctx := context.Background()
	eventually(tb, timeout, func() bool {
		st, err := store.QueueStats(ctx, "jobs")
		require.NoError(tb, err)
		if st.Ready+st.Leased > 0 {
			return false
		}
		apps, err := e.Apps(ctx)
		require.NoError(tb, err)
		for _, a := range apps {
			if a.Queue.Ready+a.Queue.Leased > 0 || a.SyncJob != "" {
				return false
			}
		}
		return true
	}, "the engine to be idle")
}

// BenchmarkQuickSync runs a quick sync of three webhook apps at once, each
// with every one of N users already linked, and reports the application
// writes per second and the peak memory of the process during the sync.
// The users are linked beforehand by the engine itself: it starts with
// the users in the directory and creates them in every app (that rate is
// logged). Then one iteration is one quick sync of each of the three apps
// (StartSync without AllInScope, which re-pushes every linked user).
func BenchmarkQuickSync(b *testing.B) {
	for _, backend := range []string{"bolt", "redis"} {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/users=%d", backend, n), func(b *testing.B) {
				benchQuickSync(b, backend, n)
			})
		}
	}
}

func benchQuickSync(b *testing.B, backend string, n int) {
	ctx := context.Background()
	store, path := benchStore(b, backend)
	seedUsers(b, store, n)

	var sinks []*sink
	var apps []config.App
	for i := range 3 {
		s := newSink(b)
		sinks = append(sinks, s)
		apps = append(apps, hookApp(fmt.Sprintf("app%d", i), s))
	}
	e := newBenchEngine(b, store, apps...)
	began := time.Now()
	start(b, e)
	eventually(b, time.Duration(n)*time.Millisecond+time.Minute, func() bool {
		return sinkCreates(sinks) == 3*n
	}, "every user created in every app")
	b.Logf("initial provisioning: %d creates at %.0f/s", 3*n,
		float64(3*n)/time.Since(began).Seconds())
	waitIdle(b, e, store, time.Minute)

	peak := watchMemory()
	defer peak.stop()
	var writes int64
	b.ReportAllocs()
	for b.Loop() {
		before := sinkWrites(sinks)
		var jobs []string
		for _, a := range apps {
			job, err := e.StartSync(ctx, a.Name, bridge.SyncOptions{RequestedBy: "bench"})
			require.NoError(b, err)
			jobs = append(jobs, job.ID)
		}
		for _, id := range jobs {
			j := waitJob(b, e, id, time.Duration(n)*time.Millisecond+time.Minute)
			require.Equal(b, bridge.JobDone, j.State)
			require.Equal(b, n, j.Done)
		}
		got := sinkWrites(sinks) - before
		require.Equal(b, int64(3*n), got, "one write per user and app")
		writes += got
	}
	b.StopTimer()
	m := peak.stop()
	b.ReportMetric(float64(writes)/b.Elapsed().Seconds(), "writes/s")
	b.ReportMetric(m.live/(1<<20), "peak-live-MB")
	b.ReportMetric(m.heap/(1<<20), "peak-heap-MB")
	b.ReportMetric(m.anon/(1<<20), "peak-anon-MB")
	b.ReportMetric(m.rss/(1<<20), "peak-rss-MB")
	if path != "" {
		if fi, err := os.Stat(path); err == nil {
			b.Logf("store file: %.0f MB", float64(fi.Size())/(1<<20))
		}
	}
}

func sinkWrites(sinks []*sink) int64 {
	var n int64
	for _, s := range sinks {
		n += s.writes.Load()
	}
	return n
}

func sinkCreates(sinks []*sink) int {
	var n int64
	for _, s := range sinks {
		n += s.creates.Load()
	}
	return int(n)
}

// memWatch samples the process's memory until stopped and keeps the peaks
// (in bytes) of:
//   - live: the heap the last garbage collection found reachable;
//   - heap: the heap in use, live or not yet collected (HeapInuse);
//   - anon: the anonymous resident memory (heap, stacks, runtime
//     structures; not the store's memory-mapped file);
//   - rss: the whole resident set (VmHWM), which also counts the pages of
//     a memory-mapped store file that were read.
type memWatch struct {
	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
	peaks    memPeaks
}

type memPeaks struct{ live, heap, anon, rss float64 }

func watchMemory() *memWatch {
	// Restart the kernel's high-water mark, so that VmHWM covers the
	// measured phase only.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	w := &memWatch{quit: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"}}
	go func() {
		defer close(w.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		p := &w.peaks
		for {
			metrics.Read(samples)
			p.live = max(p.live, float64(samples[0].Value.Uint64()))
			p.heap = max(p.heap, float64(samples[1].Value.Uint64()+samples[2].Value.Uint64()))
			if st, err := procStatus("RssAnon", "VmHWM"); err == nil {
				p.anon = max(p.anon, st[0])
				p.rss = max(p.rss, st[1])
			}
			select {
			case <-t.C:
			case <-w.quit:
				return
			}
		}
	}()
	return w
}

// stop ends the sampling and returns the peaks.
func (w *memWatch) stop() memPeaks {
	w.stopOnce.Do(func() { close(w.quit) })
	<-w.done
	return w.peaks
}

// procStatus reads fields given in kB from /proc/self/status, in bytes.
func procStatus(fields ...string) ([]float64, error) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(fields))
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		i := slices.Index(fields, name)
		if !ok || i < 0 {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if err != nil {
			return nil, fmt.Errorf("status field %s: %w", name, err)
		}
		out[i] = kb * 1024
	}
	return out, nil
}

// benchSCIMToken is the bearer secret of the SCIM endpoint the latency
// benchmark writes through.
const benchSCIMToken = "bench-scim-bearer-secret-0123456789"

// BenchmarkChangeLatency measures, on an idle engine, the time from a SCIM
// PATCH of a user (sent over HTTP to the real SCIM endpoint, which commits
// the change and its feed entry before answering) to the moment the
// app's webhook receiver gets the update. Changes are sequential: each
// waits for the previous one to arrive. It reports the 50th and 99th
// percentiles in milliseconds.
func BenchmarkChangeLatency(b *testing.B) {
	for _, backend := range []string{"bolt", "redis"} {
		b.Run(backend, func(b *testing.B) { benchChangeLatency(b, backend) })
	}
}

func benchChangeLatency(b *testing.B, backend string) {
	const users = 50
	store, _ := benchStore(b, backend)
	v, err := auth.New(auth.Config{SecretHashes: []string{auth.HashSecret(benchSCIMToken)}})
	require.NoError(b, err)
	srv, err := scim.New(scim.Config{Store: store, Auth: v})
	require.NoError(b, err)
	endpoint := httptest.NewServer(srv.Handler())
	b.Cleanup(endpoint.Close)

	s := newSink(b)
	e := newBenchEngine(b, store, hookApp("app", s))
	start(b, e)
	ids := make([]string, users)
	for i := range ids {
		ids[i] = scimCreate(b, endpoint.URL, fmt.Sprintf("lat%03d", i))
	}
	eventually(b, time.Minute, func() bool { return s.creates.Load() == users }, "users created")
	waitIdle(b, e, store, time.Minute)

	arrived := make(chan string, 16)
	onUpdate := func(fields map[string]any) {
		title, _ := fields["title"].(string)
		arrived <- title
	}
	s.onUpdate.Store(&onUpdate)

	var lat []time.Duration
	i := 0
	for b.Loop() {
		title := fmt.Sprintf("title %d", i)
		sent := time.Now()
		scimPatchTitle(b, endpoint.URL, ids[i%users], title)
		waitArrival(b, arrived, title)
		lat = append(lat, time.Since(sent))
		i++
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func waitArrival(b *testing.B, arrived <-chan string, title string) {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case got := <-arrived:
			if got == title {
				return
			}
		case <-timeout:
			b.Fatalf("update to %q never arrived", title)
		}
	}
}

// scimCreate creates a user through the SCIM endpoint and returns its id.
func scimCreate(b *testing.B, base, userName string) string {
	body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName":%q,"name":{"givenName":"Lat","familyName":"Ency"},"title":"start"}`, userName)
	var out struct{ ID string }
	scimDo(b, http.MethodPost, base+scim.Prefix+"/Users", body, http.StatusCreated, &out)
	return out.ID
}

// scimPatchTitle replaces a user's title with a SCIM PATCH.
func scimPatchTitle(b *testing.B, base, id, title string) {
	body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","path":"title","value":%q}]}`, title)
	scimDo(b, http.MethodPatch, base+scim.Prefix+"/Users/"+id, body, http.StatusOK, nil)
}

func scimDo(b *testing.B, method, url, body string, want int, out any) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(b, err)
	req.Header.Set("Authorization", "Bearer "+benchSCIMToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b, err)
	defer resp.Body.Close()
	require.Equal(b, want, resp.StatusCode, "%s %s", method, url)
	if out != nil {
		require.NoError(b, json.NewDecoder(resp.Body).Decode(out))
	}
}

// BenchmarkQuickSyncBulk runs a quick sync of N users linked to a SCIM app
// whose target (a second scim-bridge process) takes bulk requests, and
// reports the users pushed per second and the bulk requests each quick
// sync took. Check that it still works with -benchtime 1x.
func BenchmarkQuickSyncBulk(b *testing.B) {
	for _, n := range []int{2_000, 10_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) { benchQuickSyncBulk(b, n) })
	}
}

func benchQuickSyncBulk(b *testing.B, n int) {
	ctx := context.Background()
	store, _ := benchStore(b, "bolt")
	seedUsers(b, store, n)
	far := startFar(b, 1000)
	app := farApp("far", far)
	app.Concurrency = benchConcurrency
	e := newBenchEngine(b, store, app)
	start(b, e)
	eventually(b, time.Duration(n)*time.Millisecond+time.Minute, func() bool {
		_, ops, writes := far.counts()
		return ops+writes >= n
	}, "every user created")
	waitIdle(b, e, store, time.Minute)

	var pushed, requests int
	for b.Loop() {
		bulks0, ops0, writes0 := far.counts()
		job, err := e.StartSync(ctx, "far", bridge.SyncOptions{RequestedBy: "bench"})
		require.NoError(b, err)
		j := waitJob(b, e, job.ID, time.Duration(n)*time.Millisecond+time.Minute)
		require.Equal(b, bridge.JobDone, j.State)
		require.Equal(b, n, j.Done)
		bulks, ops, writes := far.counts()
		require.Equal(b, n, ops-ops0+writes-writes0, "one write per user")
		pushed += n
		requests += bulks - bulks0
	}
	b.ReportMetric(float64(pushed)/b.Elapsed().Seconds(), "users/s")
	b.ReportMetric(float64(requests)/float64(b.N), "bulk-requests/sync")
}
