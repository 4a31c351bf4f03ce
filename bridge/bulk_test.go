package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/internal/bridgetest"
)

// farTokenEnv holds the SCIM token of the far bridge the bulk tests
// provision into.
const farTokenEnv = "BRIDGE_TEST_FAR_TOKEN"

// farBridge is a second, real scim-bridge used as a SCIM target that
// advertises Bulk, behind a proxy that counts and records what reaches it.
type farBridge struct {
	proc  *bridgetest.Process
	proxy *httptest.Server

	mu sync.Mutex
	// refuse is a userName whose bulk creates the proxy answers itself
	// with 400, as a target does that finds a value it cannot take.
	refuse string
	// refuseBulks are the statuses the next bulk requests are answered
	// with instead of being passed on; a 429 says Retry-After: 1.
	refuseBulks []int
	// quietUntil ends the Retry-After window of the last 429; early lists
	// the requests that arrived inside such a window.
	quietUntil time.Time
	early      []string
	// bulks holds, per bulk request, the status of each operation.
	bulks [][]string
	// writes counts single writes (POST, PUT, PATCH, DELETE of /Users).
	writes int
}

// startFar starts a far bridge taking at most maxOps operations a bulk
// request, and points farTokenEnv at its token.
func startFar(tb testing.TB, maxOps int) *farBridge {
	tb.Helper()
	proc := bridgetest.Start(tb, bridgetest.Options{
		Config: fmt.Sprintf("scim:\n  max_bulk_operations: %d\n", maxOps),
	})
	require.NoError(tb, os.Setenv(farTokenEnv, proc.SCIMToken))
	f := &farBridge{proc: proc}
	f.proxy = httptest.NewServer(http.HandlerFunc(f.forward))
	tb.Cleanup(f.proxy.Close)
	return f
}

// forward passes a request to the far bridge and records it.
func (f *farBridge) forward(w http.ResponseWriter, r *http.Request) {
	if status, ok := f.refused(r); ok {
		if status == http.StatusTooManyRequests {
			// A slow answer lets retried operations queue meanwhile,
			// which must then wait out the pause.
			time.Sleep(500 * time.Millisecond)
			f.mu.Lock()
			f.quietUntil = time.Now().Add(time.Second)
			f.mu.Unlock()
			w.Header().Set("Retry-After", "1")
		}
		scimError(w, status, "refused as a whole")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	var refused []int
	if strings.HasSuffix(r.URL.Path, "/Bulk") {
		body, refused = f.withoutRefused(body)
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, f.proc.URL+r.URL.RequestURI(),
		bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if len(refused) > 0 {
		out = withRefusals(out, refused)
	}
	f.record(r, out)
	for k, v := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// earlyTolerance allows for the proxy and the engine reading the clock at
// slightly different moments around one answer.
const earlyTolerance = 20 * time.Millisecond

// refused notes a request inside a Retry-After window, and says whether
// it is a bulk request to refuse as a whole, with which status.
func (f *farBridge) refused(r *http.Request) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if now.Before(f.quietUntil.Add(-earlyTolerance)) {
		f.early = append(f.early, fmt.Sprintf("%s %s %v before the end of Retry-After",
			r.Method, r.URL.Path, f.quietUntil.Sub(now)))
	}
	if !strings.HasSuffix(r.URL.Path, "/Bulk") || len(f.refuseBulks) == 0 {
		return 0, false
	}
	status := f.refuseBulks[0]
	f.refuseBulks = f.refuseBulks[1:]
	f.bulks = append(f.bulks, nil)
	return status, true
}

// withoutRefused drops from a bulk request the creates of the refused
// userName and returns where they were.
func (f *farBridge) withoutRefused(body []byte) ([]byte, []int) {
	f.mu.Lock()
	refuse := f.refuse
	f.mu.Unlock()
	var req map[string]any
	if refuse == "" || json.Unmarshal(body, &req) != nil {
		return body, nil
	}
	ops, _ := req["Operations"].([]any)
	var kept []any
	var refused []int
	for i, op := range ops {
		data, _ := op.(map[string]any)["data"].(map[string]any)
		if data["userName"] == refuse {
			refused = append(refused, i)
			continue
		}
		kept = append(kept, op)
	}
	req["Operations"] = kept
	out, _ := json.Marshal(req)
	return out, refused
}

// withRefusals puts a 400 result back at each refused position.
func withRefusals(answer []byte, refused []int) []byte {
	var resp map[string]any
	if json.Unmarshal(answer, &resp) != nil {
		return answer
	}
	ops, _ := resp["Operations"].([]any)
	for _, i := range refused {
		res := map[string]any{"method": "POST", "status": "400", "response": map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
			"status":   "400",
			"scimType": "invalidValue",
			"detail":   "title is not acceptable",
		}}
		ops = append(ops[:min(i, len(ops))], append([]any{res}, ops[min(i, len(ops)):]...)...)
	}
	resp["Operations"] = ops
	out, _ := json.Marshal(resp)
	return out
}

func (f *farBridge) record(r *http.Request, answer []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/Bulk"):
		var resp struct {
			Operations []struct {
				Status string `json:"status"`
			} `json:"Operations"`
		}
		_ = json.Unmarshal(answer, &resp)
		statuses := make([]string, len(resp.Operations))
		for i, op := range resp.Operations {
			statuses[i] = op.Status
		}
		f.bulks = append(f.bulks, statuses)
	case strings.Contains(r.URL.Path, "/Users") && r.Method != http.MethodGet:
		f.writes++
	}
}

// counts returns the bulk requests, the operations in them and the single
// writes seen so far.
func (f *farBridge) counts() (bulks, ops, writes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.bulks {
		ops += len(b)
	}
	return len(f.bulks), ops, f.writes
}

// bulkWith reports whether one bulk request answered every status in want.
func (f *farBridge) bulkWith(want ...string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.bulks {
		seen := map[string]bool{}
		for _, s := range b {
			seen[s] = true
		}
		all := true
		for _, s := range want {
			all = all && seen[s]
		}
		if all {
			return true
		}
	}
	return false
}

// farApp is a scim app provisioning into f through its proxy.
func farApp(name string, f *farBridge) config.App {
	return config.App{
		Name:         name,
		Catalog:      "scim",
		Provisioning: true,
		Connector: map[string]any{
			"kind": "scim", "base_url": f.proxy.URL + "/scim/v2",
			"token": map[string]any{"env": farTokenEnv},
		},
		Scope:       config.Scope{All: true},
		Deprovision: bridge.PolicyDeactivate,
		Concurrency: 4,
	}
}

// farAccount is the part of a far account the tests look at.
type farAccount struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Active bool   `json:"active"`
}

// farUser looks a user up by userName on the far bridge itself.
func (f *farBridge) farUser(tb testing.TB, userName string) (farAccount, int) {
	tb.Helper()
	var list struct {
		TotalResults int          `json:"totalResults"`
		Resources    []farAccount `json:"Resources"`
	}
	filter := url.QueryEscape(fmt.Sprintf(`userName eq "%s"`, userName))
	f.do(tb, http.MethodGet, "/scim/v2/Users?filter="+filter, nil, http.StatusOK, &list)
	if list.TotalResults == 0 {
		return farAccount{}, 0
	}
	return list.Resources[0], list.TotalResults
}

func (f *farBridge) do(tb testing.TB, method, path string, body []byte, want int, out any) {
	tb.Helper()
	resp, err := f.proc.Do(context.Background(), method, path, f.proc.SCIMToken, body)
	require.NoError(tb, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	require.Equal(tb, want, resp.StatusCode, "%s %s: %s", method, path, raw)
	if out != nil {
		require.NoError(tb, json.Unmarshal(raw, out))
	}
}

// bulkTuning is fastTuning with a linger long enough that batches fill
// on a busy machine; it changes how many requests a sync takes, never
// what the target ends up holding.
func bulkTuning() bridge.Tuning {
	t := fastTuning
	t.BulkLinger = 200 * time.Millisecond
	t.CallTimeout = 2 * time.Second
	t.LeaseTTL = 6 * time.Second
	return t
}

// TestBulkQuickSync provisions N users into a SCIM target that takes 25
// operations a bulk request, then quick-syncs them: both must go as bulk
// requests of about N/25, and the target must hold every user.
func TestBulkQuickSync(t *testing.T) {
	const n, maxOps = 300, 25
	far := startFar(t, maxOps)
	store := openBolt(t)
	users := people("bulk", n)
	putUsers(t, store, users...)
	e := newTunedEngine(t, store, "r1", bulkTuning(), farApp("far", far))
	start(t, e)

	for _, u := range users {
		waitState(t, e, "far", u.ID, bridge.StateSynced)
	}
	bulks, ops, writes := far.counts()
	t.Logf("provisioning: %d bulk requests holding %d operations, %d single writes",
		bulks, ops, writes)
	require.Equal(t, n, ops+writes, "one write per user")
	requireAbout(t, bulks, n/maxOps, "bulk requests to create %d users", n)

	// Users change behind the bridge's back; only the forced push of the
	// quick sync puts them right.
	for _, u := range users {
		acct, _ := far.farUser(t, u.UserName)
		far.do(t, http.MethodPatch, "/scim/v2/Users/"+acct.ID, []byte(`{"schemas":
			["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations": [{"op": "replace", "path": "title", "value": "tampered"}]}`),
			http.StatusOK, nil)
	}
	b0, o0, w0 := far.counts()
	job, err := e.StartSync(context.Background(), "far", bridge.SyncOptions{})
	require.NoError(t, err)
	j := waitJob(t, e, job.ID, time.Minute)
	require.Equal(t, bridge.JobDone, j.State)
	require.Equal(t, n, j.Done)
	bulks, ops, writes = far.counts()
	bulks, ops, writes = bulks-b0, ops-o0, writes-w0
	t.Logf("quick sync: %d bulk requests holding %d operations, %d single writes",
		bulks, ops, writes)
	require.Equal(t, n, ops+writes, "one write per user")
	requireAbout(t, bulks, n/maxOps, "bulk requests to quick-sync %d users", n)
	for _, u := range users {
		acct, count := far.farUser(t, u.UserName)
		require.Equal(t, 1, count, "accounts for %s", u.UserName)
		require.Equal(t, u.Title, acct.Title, "title of %s after the quick sync", u.UserName)
	}
}

// requireAbout checks that got is at least one and at most twice want:
// batches fill unless the operations stall for a whole linger time.
func requireAbout(t *testing.T, got, want int, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	require.GreaterOrEqual(t, got, 1, "%s: got %d, want about %d", what, got, want)
	require.LessOrEqual(t, got, 2*want, "%s: got %d, want about %d", what, got, want)
}

// TestBulkFailuresLandOnTheirUser sends creates in one bulk request in
// which one user already has an account (409, from the far bridge) and
// one is refused (400, put in by the proxy in place of the far bridge's
// answer, since the connector never sends what the far bridge refuses):
// the first must adopt its existing account, the second alone must fail,
// and the others must be created.
func TestBulkFailuresLandOnTheirUser(t *testing.T) {
	far := startFar(t, 25)
	var existing farAccount
	far.do(t, http.MethodPost, "/scim/v2/Users", []byte(`{"schemas":
		["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "mix00001",
		"title": "set up by hand"}`), http.StatusCreated, &existing)

	far.mu.Lock()
	far.refuse = "mix00002"
	far.mu.Unlock()

	store := openBolt(t)
	users := people("mix", 10)
	putUsers(t, store, users...)
	e := newTunedEngine(t, store, "r1", bulkTuning(), farApp("far", far))
	start(t, e)

	for i, u := range users {
		if i == 2 {
			continue
		}
		st := waitState(t, e, "far", u.ID, bridge.StateSynced)
		acct, count := far.farUser(t, u.UserName)
		require.Equal(t, 1, count, "accounts for %s", u.UserName)
		require.Equal(t, acct.ID, st.AccountID, "account linked to %s", u.UserName)
		require.Equal(t, u.Title, acct.Title, "title of %s", u.UserName)
		if i == 1 {
			require.Equal(t, existing.ID, st.AccountID, "the existing account is adopted")
		}
	}
	var st bridge.UserStatus
	eventually(t, 10*time.Second, func() bool {
		st = status(t, e, "far", "u00002")
		return st.State == bridge.StateFailed
	}, "the refused user to fail: %+v", &st)
	t.Logf("refused user: %+v", st)
	require.Contains(t, st.Error, "400")
	_, count := far.farUser(t, "mix00002")
	require.Zero(t, count, "the refused user has no account")
	require.True(t, far.bulkWith("201", "409", "400"),
		"one bulk request carried the creates, the conflict and the refusal")
}

// TestBulkRequestFailingAsAWhole has the target refuse whole bulk requests,
// first with 500 and then with 429 and Retry-After: 1. Each user must be
// retried on its own and delivered, none may be a dead letter, and no
// request may reach the target inside the Retry-After window; the app has
// one request in flight at a time, so such a request would have been sent
// inside it.
func TestBulkRequestFailingAsAWhole(t *testing.T) {
	far := startFar(t, 10)
	far.mu.Lock()
	far.refuseBulks = []int{http.StatusInternalServerError, http.StatusTooManyRequests}
	far.mu.Unlock()

	store := openBolt(t)
	users := people("whole", 30)
	putUsers(t, store, users...)
	app := farApp("far", far)
	app.Concurrency = 1
	e := newTunedEngine(t, store, "r1", bulkTuning(), app)
	start(t, e)

	for _, u := range users {
		waitState(t, e, "far", u.ID, bridge.StateSynced)
		acct, count := far.farUser(t, u.UserName)
		require.Equal(t, 1, count, "accounts for %s", u.UserName)
		require.Equal(t, u.Title, acct.Title, "title of %s", u.UserName)
	}
	far.mu.Lock()
	defer far.mu.Unlock()
	require.Empty(t, far.refuseBulks, "both refusals were served")
	require.Empty(t, far.early, "requests inside a 429's Retry-After window")
}
