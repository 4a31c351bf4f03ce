package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook"
	"github.com/scim-bridge/scim-bridge/internal/bridgetest"
	"github.com/scim-bridge/scim-bridge/internal/redistest"
)

// hookSecret signs the webhook requests of the reliability tests.
const hookSecret = "e2e-reliability-hook-secret"

// reliableConfig configures one webhook app delivering to url. The sync
// tuning shortens leases, polls and backoffs so that a killed bridge's work
// is taken over in seconds, not minutes; the call timeout stays well above
// what a request takes on a busy machine.
const reliableConfig = `
sync:
  lease_ttl: 5s
  call_timeout: 2s
  poll_interval: 200ms
  claim_idle: 3s
  backoff_base: 50ms
  backoff_max: 1s
  max_attempts: 40
apps:
  - name: hook
    catalog: webhook
    provisioning: true
    scope: {all: true}
    concurrency: 8
    connector:
      kind: webhook
      url: %s
      secret: {env: E2E_RELIABILITY_SECRET}
`

// startBridge runs a bridge delivering to the recorder under sender (a
// path that tells the recorder which bridge sent a request).
func startBridge(t *testing.T, rec *recorder, sender, store string) *bridgetest.Process {
	t.Helper()
	return bridgetest.Start(t, bridgetest.Options{
		Config: fmt.Sprintf(reliableConfig, rec.srv.URL+sender),
		Store:  store,
		Env:    []string{"E2E_RELIABILITY_SECRET=" + hookSecret},
	})
}

// account is an account as the recorder holds it.
type account struct {
	fields map[string]any
	active bool
}

// recorder is a receiver of the webhook protocol (see package webhook)
// built to catch what reliability failures look like from the far side:
//   - it does not refuse a second account for a user_name, so a duplicate
//     create shows as two accounts instead of being hidden by a 409;
//   - it notes every moment two requests about one user are in flight at
//     once, which would mean two workers pushed that user together;
//   - it can refuse every request for a while with 500 and 429
//     (Retry-After: 1), and notes any request that arrives inside the
//     Retry-After window of a 429;
//   - it can hold the writes of one sender until that sender disconnects,
//     and then either apply them, as a target does whose answer is lost
//     when the bridge dies (the write happened, the bridge never heard of
//     it), or drop them, as when the request itself dies with the bridge.
//
// It verifies every request's signature. The URL path names the sender.
type recorder struct {
	srv *httptest.Server

	mu       sync.Mutex
	accounts map[string]*account // by account id
	byName   map[string][]string // user_name → account ids
	inFlight map[string]int      // user_name → requests in flight
	overlaps []string
	seq      int
	writes   map[string]int // operation → writes applied
	// Every request until failUntil is refused; failed counts refusals.
	failUntil time.Time
	failed    int
	// quietUntil ends the Retry-After window of the last 429; early lists
	// the requests that arrived inside such a window.
	quietUntil time.Time
	early      []string
	// holdSender's writes of operation holdOp are held once writes of that
	// operation reach holdFrom, and then applied when holdLands; held
	// counts those waiting now.
	holdSender, holdOp string
	holdFrom, held     int
	holdLands          bool
	// heldUsers are the user_names of every write held.
	heldUsers []string
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{
		accounts: map[string]*account{},
		byName:   map[string][]string{},
		inFlight: map[string]int{},
		writes:   map[string]int{},
	}
	rec.srv = httptest.NewServer(http.HandlerFunc(rec.serve))
	t.Cleanup(rec.srv.Close)
	return rec
}

// failFor makes the recorder refuse every request for d, alternately
// with 500 and with 429 and Retry-After: 1.
func (rec *recorder) failFor(d time.Duration) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.failUntil = time.Now().Add(d)
}

// holdWrites holds every op write of sender once the recorder has applied
// from writes of that operation, until the sender disconnects; then the
// write is applied if land is set, else dropped.
func (rec *recorder) holdWrites(sender, op string, from int, land bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.holdSender, rec.holdOp, rec.holdFrom, rec.holdLands = sender, op, from, land
}

// stopHolding ends holdWrites for requests that arrive from now on.
func (rec *recorder) stopHolding() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.holdSender, rec.holdOp = "", ""
}

type hookRequest struct {
	Operation string         `json:"operation"`
	ID        string         `json:"id"`
	Fields    map[string]any `json:"fields"`
	Key       *struct {
		Field string `json:"field"`
		Value string `json:"value"`
	} `json:"key"`
}

func (rec *recorder) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		answer(w, http.StatusBadRequest, map[string]string{"detail": "unreadable body"})
		return
	}
	err = webhook.Verify([]byte(hookSecret), r.Header, body, time.Now(), time.Minute)
	if err != nil {
		answer(w, http.StatusUnauthorized, map[string]string{"detail": err.Error()})
		return
	}
	var m hookRequest
	if err := json.Unmarshal(body, &m); err != nil {
		answer(w, http.StatusBadRequest, map[string]string{"detail": "malformed body"})
		return
	}

	user := rec.userOf(m)
	defer rec.enter(user)()
	// A short pause widens the window in which an overlap would be seen.
	time.Sleep(time.Millisecond)
	if status, ok := rec.refuse(user); ok {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		answer(w, status, map[string]string{"detail": "try again later"})
		return
	}
	if land, held := rec.holds(path.Clean(r.URL.Path), m.Operation, user); held {
		// The bridge's kill (or its call timeout) closes the connection;
		// then the write lands with nobody to hear the answer, or is lost.
		<-r.Context().Done()
		if land {
			rec.apply(m)
		}
		rec.mu.Lock()
		rec.held--
		rec.mu.Unlock()
		return
	}
	status, out := rec.apply(m)
	answer(w, status, out)
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// userOf names the user a request is about: its user_name.
func (rec *recorder) userOf(m hookRequest) string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch {
	case m.Operation == "create":
		name, _ := m.Fields["user_name"].(string)
		return name
	case m.Operation == "lookup" && m.Key != nil:
		return m.Key.Value
	case rec.accounts[m.ID] != nil:
		name, _ := rec.accounts[m.ID].fields["user_name"].(string)
		return name
	}
	return "account:" + m.ID
}

// enter marks a request about user in flight and returns the function
// that ends it.
func (rec *recorder) enter(user string) func() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.inFlight[user]++
	if rec.inFlight[user] > 1 {
		rec.overlaps = append(rec.overlaps, user)
	}
	return func() {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.inFlight[user]--
	}
}

// earlyTolerance allows for the two processes reading the clock at
// slightly different moments around one answer.
const earlyTolerance = 20 * time.Millisecond

// refuse decides whether a request about user is refused, and notes it
// when it arrived inside the Retry-After window of a 429.
func (rec *recorder) refuse(user string) (int, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	now := time.Now()
	if now.Before(rec.quietUntil.Add(-earlyTolerance)) {
		rec.early = append(rec.early, fmt.Sprintf("%s %v before the end of Retry-After",
			user, rec.quietUntil.Sub(now)))
	}
	if !now.Before(rec.failUntil) {
		return 0, false
	}
	rec.failed++
	if rec.failed%2 == 0 {
		// The window starts before the answer leaves, which only makes
		// it shorter than the bridge's.
		rec.quietUntil = now.Add(time.Second)
		return http.StatusTooManyRequests, true
	}
	return http.StatusInternalServerError, true
}

// holds reports whether a write is to be held, and if so whether it lands.
func (rec *recorder) holds(sender, op, user string) (land, held bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if sender != rec.holdSender || op != rec.holdOp || rec.writes[op] < rec.holdFrom {
		return false, false
	}
	rec.held++
	rec.heldUsers = append(rec.heldUsers, user)
	return rec.holdLands, true
}

// apply performs one operation and returns the answer.
func (rec *recorder) apply(m hookRequest) (int, any) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if m.Operation == "lookup" {
		if m.Key == nil {
			return http.StatusBadRequest, map[string]string{"detail": "lookup without a key"}
		}
		for id, a := range rec.accounts {
			if v, _ := a.fields[m.Key.Field].(string); v == m.Key.Value {
				return http.StatusOK, map[string]string{"id": id}
			}
		}
		return http.StatusNotFound, map[string]string{"detail": "no such account"}
	}
	if m.Operation == "create" {
		rec.seq++
		id := fmt.Sprintf("acct-%d", rec.seq)
		rec.accounts[id] = &account{fields: withoutNulls(m.Fields), active: true}
		name, _ := m.Fields["user_name"].(string)
		rec.byName[name] = append(rec.byName[name], id)
		rec.writes[m.Operation]++
		return http.StatusCreated, map[string]string{"id": id}
	}
	a := rec.accounts[m.ID]
	if a == nil {
		return http.StatusNotFound, map[string]string{"detail": "no such account"}
	}
	switch m.Operation {
	case "update":
		a.fields, a.active = withoutNulls(m.Fields), true
	case "deactivate":
		a.active = false
	default:
		return http.StatusBadRequest, map[string]string{"detail": "unknown operation"}
	}
	rec.writes[m.Operation]++
	return http.StatusOK, nil
}

func withoutNulls(fields map[string]any) map[string]any {
	out := maps.Clone(fields)
	maps.DeleteFunc(out, func(_ string, v any) bool { return v == nil })
	return out
}

// wantUser is a directory user as the app should end up holding it.
type wantUser struct {
	id, userName, title string
	inactive            bool
}

// mismatches lists the users the recorder does not hold as wanted (first
// few only), and every user_name that has more than one account.
func (rec *recorder) mismatches(users []wantUser) (wrong []string, duplicates []string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, u := range users {
		ids := rec.byName[u.userName]
		if len(ids) > 1 {
			duplicates = append(duplicates, u.userName)
		}
		if len(ids) == 0 {
			wrong = append(wrong, u.userName+": no account")
			continue
		}
		a := rec.accounts[ids[0]]
		if a.active == u.inactive || (!u.inactive && a.fields["title"] != u.title) {
			wrong = append(wrong, fmt.Sprintf("%s: active %v, title %v", u.userName, a.active,
				a.fields["title"]))
		}
	}
	return wrong, duplicates
}

// tamper sets the title of every account to "tampered", as someone
// editing the app directly would.
func (rec *recorder) tamper() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, a := range rec.accounts {
		a.fields["title"] = "tampered"
	}
}

func (rec *recorder) heldNow() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.held
}

// heldSoFar returns the user_names of every write held so far.
func (rec *recorder) heldSoFar() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.heldUsers)
}

func (rec *recorder) count(op string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.writes[op]
}

func (rec *recorder) overlapping() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.overlaps)
}

// awaitDelivered waits until the recorder holds every user as wanted and
// then checks that no user has a second account.
func awaitDelivered(t *testing.T, rec *recorder, users []wantUser, timeout time.Duration) {
	t.Helper()
	var wrong, dups []string
	await(t, timeout, func() bool {
		wrong, dups = rec.mismatches(users)
		return len(wrong) == 0 || len(dups) > 0
	}, func() string {
		return fmt.Sprintf("%d users not delivered as wanted, e.g. %v", len(wrong),
			wrong[:min(len(wrong), 5)])
	})
	require.Empty(t, dups, "user_names with more than one account")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.accounts, len(users), "one account per user, none else")
}

// await polls cond every 50ms until it holds or timeout passes.
func await(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// send sends a request to p and decodes a JSON answer into out (when not
// nil), failing the test unless the status is want.
func send(t *testing.T, p *bridgetest.Process, method, path, token string, body []byte, want int,
	out any) {
	t.Helper()
	resp, err := p.Do(context.Background(), method, path, token, body)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "%s %s: %s", method, path, raw)
	}
}

// bulkCreate creates users through SCIM /Bulk, 1,000 a request, and
// returns them with their ids, in order.
func bulkCreate(t *testing.T, p *bridgetest.Process, prefix string, n int) []wantUser {
	t.Helper()
	users := make([]wantUser, 0, n)
	for start := 0; start < n; start += 1000 {
		var ops []map[string]any
		for i := start; i < min(n, start+1000); i++ {
			name := fmt.Sprintf("%s%05d@example.com", prefix, i)
			ops = append(ops, map[string]any{
				"method": "POST", "path": "/Users", "bulkId": fmt.Sprint(i),
				"data": map[string]any{
					"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName": name,
					"name":     map[string]any{"givenName": "Reli", "familyName": "Able"},
					"emails": []any{
						map[string]any{"value": name, "type": "work", "primary": true},
					},
					"title": "start",
				},
			})
			users = append(users, wantUser{userName: name, title: "start"})
		}
		body, err := json.Marshal(map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"},
			"Operations": ops,
		})
		require.NoError(t, err)
		var out struct {
			Operations []struct {
				BulkID, Location, Status string
			}
		}
		send(t, p, http.MethodPost, "/scim/v2/Bulk", p.SCIMToken, body, http.StatusOK, &out)
		require.Len(t, out.Operations, len(ops))
		for _, op := range out.Operations {
			require.Equal(t, "201", op.Status, "bulk create %s", op.BulkID)
			var i int
			_, err := fmt.Sscan(op.BulkID, &i)
			require.NoError(t, err)
			users[i].id = op.Location[strings.LastIndex(op.Location, "/")+1:]
		}
	}
	return users
}

// patchUsers sets the title of users (or deactivates them) through SCIM
// PATCH, from 8 clients at once, spreading the requests over bridges.
func patchUsers(t *testing.T, bridges []*bridgetest.Process, users []*wantUser, title string,
	deactivate bool) {
	t.Helper()
	op := fmt.Sprintf(`{"op": "replace", "path": "title", "value": %q}`, title)
	if deactivate {
		op = `{"op": "replace", "path": "active", "value": false}`
	}
	body := []byte(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [` + op + `]}`)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := bridges[i%len(bridges)]
				send(t, p, http.MethodPatch, "/scim/v2/Users/"+users[i].id, p.SCIMToken, body,
					http.StatusOK, nil)
			}
		}()
	}
	for i := range users {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, u := range users {
		if deactivate {
			u.inactive = true
		} else {
			u.title = title
		}
	}
}

// every returns pointers to every k-th user from first on.
func every(users []wantUser, first, k int) []*wantUser {
	var out []*wantUser
	for i := first; i < len(users); i += k {
		out = append(out, &users[i])
	}
	return out
}

// requireNoDeadLetters checks the app's dead letters through the admin API.
func requireNoDeadLetters(t *testing.T, p *bridgetest.Process) {
	t.Helper()
	var out struct {
		DeadLetters []map[string]any `json:"dead_letters"`
	}
	send(t, p, http.MethodGet, "/admin/v1/apps/hook/deadletters", p.AdminToken, nil,
		http.StatusOK, &out)
	require.Empty(t, out.DeadLetters)
}

// killHolding waits until the recorder holds a write of the bridge, kills
// the bridge with SIGKILL, and waits until the held writes have landed.
func killHolding(t *testing.T, rec *recorder, p *bridgetest.Process) {
	t.Helper()
	await(t, 2*time.Minute, func() bool { return rec.heldNow() > 0 },
		func() string { return "the bridge to send a write that the recorder holds" })
	p.Kill()
	await(t, time.Minute, func() bool { return rec.heldNow() == 0 },
		func() string { return "held writes to land after the kill" })
	rec.stopHolding()
}

// TestKillDuringProvisioningAndQuickSync kills the bridge with SIGKILL
// twice: while it creates 10,000 users in a webhook app, and during a quick
// sync of them while the directory changes. Each time some writes reach
// the app while their answers are lost. After each restart every user
// must reach the app in its latest state with exactly one account. It
// takes 30 to 90 s: 10,000 users are pushed twice over HTTP, through the
// real binary, plus two lease expiries.
func TestKillDuringProvisioningAndQuickSync(t *testing.T) {
	const n = 10_000
	rec := newRecorder(t)
	p := startBridge(t, rec, "/r0", "")

	// Provisioning: the creates flow as the users arrive; the kill comes
	// once 3,000 exist, with creates in flight.
	rec.holdWrites("/r0", "create", 3000, true)
	users := bulkCreate(t, p, "kill", n)
	killHolding(t, rec, p)
	t.Logf("killed while creating: %d creates landed, %d with their answers lost",
		rec.count("create"), len(rec.heldSoFar()))
	p.Restart()
	awaitDelivered(t, rec, users, 3*time.Minute)

	// Quick sync: the directory changes while it runs, and the kill comes
	// after 2,000 more updates, with updates in flight. The quick sync
	// must still push every user, and account for each in its counters.
	var job struct {
		ID, State                    string
		Done, Failed, Skipped, Total int
	}
	// Every account is changed behind the bridge's back first: the updates
	// that the directory changes cause repair a few, and only the forced
	// push of the quick sync can repair the rest.
	rec.tamper()
	send(t, p, http.MethodPost, "/admin/v1/apps/hook/sync", p.AdminToken, []byte(`{}`),
		http.StatusAccepted, &job)
	rec.holdWrites("/r0", "update", rec.count("update")+2000, false)
	bridges := []*bridgetest.Process{p}
	patchUsers(t, bridges, every(users, 0, 20), "changed during sync", false)
	patchUsers(t, bridges, every(users, 7, 100), "", true)
	killHolding(t, rec, p)
	p.Restart()

	await(t, 3*time.Minute, func() bool {
		send(t, p, http.MethodGet, "/admin/v1/jobs/"+job.ID, p.AdminToken, nil, http.StatusOK, &job)
		return job.State != "running"
	}, func() string { return fmt.Sprintf("the quick sync to finish (last: %+v)", job) })
	require.Equal(t, "done", job.State)
	require.Zero(t, job.Failed)
	require.Equal(t, n, job.Total, "users the quick sync covered")
	require.Equal(t, job.Total, job.Done+job.Skipped+job.Failed,
		"done + skipped + failed (%+v)", job)
	awaitDelivered(t, rec, users, 3*time.Minute)
	requireNoDeadLetters(t, p)
}

// outageConfig configures one webhook app with the default number of
// tries and backoffs short enough that several fit in an outage. The app
// has one call in flight at a time, so that the recorder can tell that a
// request inside a Retry-After window was sent inside it.
const outageConfig = `
sync:
  poll_interval: 200ms
  backoff_base: 100ms
  backoff_max: 1s
apps:
  - name: hook
    catalog: webhook
    provisioning: true
    scope: {all: true}
    concurrency: 1
    connector:
      kind: webhook
      url: %s
      secret: {env: E2E_RELIABILITY_SECRET}
`

// TestTargetOutageIsRiddenOut has the app refuse every request for five
// seconds, alternately with 500 and with 429 (Retry-After: 1), while users
// are created, and again while they change. With the default number of
// tries every user must be delivered once the app recovers, none may end
// as a dead letter, and no request may reach the app inside the
// Retry-After window of a 429.
func TestTargetOutageIsRiddenOut(t *testing.T) {
	const outage = 5 * time.Second
	rec := newRecorder(t)
	p := bridgetest.Start(t, bridgetest.Options{
		Config: fmt.Sprintf(outageConfig, rec.srv.URL+"/r0"),
		Env:    []string{"E2E_RELIABILITY_SECRET=" + hookSecret},
	})

	rec.failFor(outage)
	began := time.Now()
	users := bulkCreate(t, p, "outage", 200)
	awaitDelivered(t, rec, users, 2*time.Minute)
	requireOutageRiddenOut(t, rec, p, began.Add(outage))

	// The same for changes during a second outage.
	rec.failFor(outage)
	began = time.Now()
	patchUsers(t, []*bridgetest.Process{p}, every(users, 0, 2), "after the outage", false)
	awaitDelivered(t, rec, users, 2*time.Minute)
	requireOutageRiddenOut(t, rec, p, began.Add(outage))
}

// requireOutageRiddenOut checks, once every user is delivered, that the
// outage refused requests with both statuses, that delivery came after
// it, that nothing is a dead letter, and that Retry-After was honoured.
func requireOutageRiddenOut(t *testing.T, rec *recorder, p *bridgetest.Process, over time.Time) {
	t.Helper()
	rec.mu.Lock()
	failed, early := rec.failed, slices.Clone(rec.early)
	rec.failed = 0
	rec.mu.Unlock()
	require.False(t, time.Now().Before(over), "delivered before the outage was over")
	require.GreaterOrEqual(t, failed, 2, "refused requests: want both a 500 and a 429")
	t.Logf("the outage refused %d requests", failed)
	requireNoDeadLetters(t, p)
	require.Empty(t, early, "requests inside a 429's Retry-After window")
}

// TestReplicasOnRedis runs two and three bridges on one Redis. Users are
// created and changed through different replicas; the recorder checks
// that no two requests about one user are ever in flight at once. Then
// one replica is killed with SIGKILL while writes it sent are held at the
// app: the others must take its work over, so that every user still
// reaches the app in its latest state with one account and no dead
// letter. Each case takes 15 to 40 s (a lease expiry and a feed claim
// included).
func TestReplicasOnRedis(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) {
			redis := redistest.Start(t, redistest.Options{})
			rec := newRecorder(t)
			var bridges []*bridgetest.Process
			for i := range n {
				bridges = append(bridges, startBridge(t, rec, fmt.Sprintf("/r%d", i), redis.URL()))
			}

			users := bulkCreate(t, bridges[1], "replica", 1000)
			awaitDelivered(t, rec, users, 2*time.Minute)
			patchUsers(t, bridges, every(users, 0, 1), "wave 1", false)
			awaitDelivered(t, rec, users, 2*time.Minute)

			// Replica 0 dies with work in hand: the updates it sends are
			// held, and lost with it.
			rec.holdWrites("/r0", "update", 0, false)
			survivors := bridges[1:]
			patchUsers(t, survivors, every(users, 0, 1), "wave 2", false)
			killHolding(t, rec, bridges[0])
			killed := time.Now()
			awaitDelivered(t, rec, users, 2*time.Minute)
			t.Logf("replica 0 killed holding %d users' updates; the others took over within %v",
				len(rec.heldSoFar()), time.Since(killed))

			// The survivors go on alone.
			patchUsers(t, survivors, every(users, 3, 10), "", true)
			awaitDelivered(t, rec, users, 2*time.Minute)
			require.Empty(t, rec.overlapping(), "users pushed by two workers at once")
			requireNoDeadLetters(t, survivors[0])
		})
	}
}
