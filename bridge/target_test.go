package bridge_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// target is a small SCIM 2.0 Users service (RFC 7644 sections 3.3 to 3.6)
// the engine provisions into through the real scim connector: POST, GET,
// PUT and DELETE of /Users, the `userName eq` filter, case-insensitive
// userName uniqueness answered with 409, and no PATCH (so updates are a
// GET and a PUT). It can fail on demand with 500 and 429 + Retry-After,
// and it watches for two requests about one account in flight at once,
// which would mean two workers pushed one user at the same time.
type target struct {
	srv *httptest.Server

	mu       sync.Mutex
	accounts map[string]map[string]any // by id
	byName   map[string]string         // lower-cased userName → id
	inFlight map[string]int            // account key → requests in flight
	overlaps []string
	nextID   int
	// arrivals holds when each request came; active and peak count the
	// requests in flight, now and at most.
	arrivals     []time.Time
	active, peak int
	// throttledAt holds when each answer of throttle was sent.
	throttledAt []time.Time
	// refuse makes creates of userNames with this prefix fail with 400.
	refuse string

	creates, puts, deletes, requests atomic.Int64
	// failing makes every request fail until the time it holds (unix
	// nanoseconds), alternating 500 and 429 with Retry-After: 1.
	failing atomic.Int64
	failed  atomic.Int64
	// delay holds each request this long (nanoseconds) before answering.
	delay atomic.Int64
	// unauthorized makes every request fail with 401, as when the bridge's
	// credential was revoked; refused counts those answers.
	unauthorized atomic.Bool
	refused      atomic.Int64
	// broken makes every request fail with 500.
	broken atomic.Bool
	// throttle is how many of the next requests get 429 with
	// Retry-After: 1.
	throttle atomic.Int64
}

func newTarget(t testing.TB) *target {
	tg := &target{
		accounts: map[string]map[string]any{},
		byName:   map[string]string{},
		inFlight: map[string]int{},
	}
	tg.srv = httptest.NewServer(http.HandlerFunc(tg.serve))
	t.Cleanup(tg.srv.Close)
	return tg
}

// failFor makes the target fail every request for d.
func (tg *target) failFor(d time.Duration) {
	tg.failing.Store(time.Now().Add(d).UnixNano())
}

var filterRE = regexp.MustCompile(`^(userName|externalId|emails\.value) eq "(.*)"$`)

func (tg *target) serve(w http.ResponseWriter, r *http.Request) {
	tg.requests.Add(1)
	defer tg.arrive()()
	if tg.takeThrottle() {
		tg.mu.Lock()
		tg.throttledAt = append(tg.throttledAt, time.Now())
		tg.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		scimError(w, http.StatusTooManyRequests, "slow down")
		return
	}
	if d := tg.delay.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	if tg.broken.Load() {
		tg.failed.Add(1)
		scimError(w, http.StatusInternalServerError, "outage")
		return
	}
	if tg.unauthorized.Load() {
		tg.refused.Add(1)
		scimError(w, http.StatusUnauthorized, "invalid token")
		return
	}
	if time.Now().UnixNano() < tg.failing.Load() {
		if tg.failed.Add(1)%2 == 0 {
			w.Header().Set("Retry-After", "1")
			scimError(w, http.StatusTooManyRequests, "slow down")
		} else {
			scimError(w, http.StatusInternalServerError, "outage")
		}
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case path == "ServiceProviderConfig":
		writeSCIM(w, http.StatusOK, map[string]any{
			"patch": map[string]any{"supported": false},
			"bulk":  map[string]any{"supported": false},
		})
	case path == "Users" && r.Method == http.MethodPost:
		tg.create(w, r)
	case path == "Users" && r.Method == http.MethodGet:
		tg.search(w, r)
	case strings.HasPrefix(path, "Users/"):
		id := strings.TrimPrefix(path, "Users/")
		defer tg.enter("id:" + id)()
		switch r.Method {
		case http.MethodGet:
			tg.get(w, id)
		case http.MethodPut:
			tg.put(w, r, id)
		case http.MethodDelete:
			tg.delete(w, id)
		default:
			scimError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	default:
		scimError(w, http.StatusNotFound, "no such endpoint")
	}
}

// arrive records a request's arrival and counts it in flight until the
// function it returns is called.
func (tg *target) arrive() func() {
	tg.mu.Lock()
	tg.arrivals = append(tg.arrivals, time.Now())
	tg.active++
	tg.peak = max(tg.peak, tg.active)
	tg.mu.Unlock()
	return func() {
		tg.mu.Lock()
		tg.active--
		tg.mu.Unlock()
	}
}

func (tg *target) takeThrottle() bool {
	for {
		n := tg.throttle.Load()
		if n <= 0 {
			return false
		}
		if tg.throttle.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// traffic returns the arrival times, the most requests seen in flight at
// once, and when the throttle answers went out.
func (tg *target) traffic() (arrivals []time.Time, peak int, throttled []time.Time) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]time.Time(nil), tg.arrivals...), tg.peak,
		append([]time.Time(nil), tg.throttledAt...)
}

// enter marks a request about key in flight, noting any overlap, and
// returns the function that ends it. The small sleep widens the window in
// which an overlap would be seen.
func (tg *target) enter(key string) func() {
	tg.mu.Lock()
	tg.inFlight[key]++
	if tg.inFlight[key] > 1 {
		tg.overlaps = append(tg.overlaps, key)
	}
	tg.mu.Unlock()
	time.Sleep(200 * time.Microsecond)
	return func() {
		tg.mu.Lock()
		tg.inFlight[key]--
		tg.mu.Unlock()
	}
}

func (tg *target) create(w http.ResponseWriter, r *http.Request) {
	var doc map[string]any
	if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
		scimError(w, http.StatusBadRequest, "malformed body")
		return
	}
	name, _ := doc["userName"].(string)
	if name == "" {
		scimError(w, http.StatusBadRequest, "userName is required")
		return
	}
	defer tg.enter("name:" + strings.ToLower(name))()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.refuse != "" && strings.HasPrefix(name, tg.refuse) {
		scimError(w, http.StatusBadRequest, "this userName is not allowed")
		return
	}
	if _, taken := tg.byName[strings.ToLower(name)]; taken {
		scimError(w, http.StatusConflict, "userName is taken")
		return
	}
	for _, email := range emailsOf(doc) {
		for _, other := range tg.accounts {
			if matches(other, "emails.value", email) {
				scimError(w, http.StatusConflict, "email is taken")
				return
			}
		}
	}
	tg.nextID++
	id := fmt.Sprintf("acct-%06d", tg.nextID)
	doc["id"] = id
	if _, ok := doc["active"]; !ok {
		doc["active"] = true
	}
	tg.accounts[id] = doc
	tg.byName[strings.ToLower(name)] = id
	tg.creates.Add(1)
	writeSCIM(w, http.StatusCreated, doc)
}

func (tg *target) search(w http.ResponseWriter, r *http.Request) {
	m := filterRE.FindStringSubmatch(r.URL.Query().Get("filter"))
	if m == nil {
		scimError(w, http.StatusBadRequest, "only userName, externalId and emails.value eq "+
			"are supported")
		return
	}
	tg.mu.Lock()
	var found []any
	for _, doc := range tg.accounts {
		if matches(doc, m[1], m[2]) {
			found = append(found, doc)
		}
	}
	tg.mu.Unlock()
	writeSCIM(w, http.StatusOK, map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": len(found), "Resources": found,
	})
}

func (tg *target) get(w http.ResponseWriter, id string) {
	tg.mu.Lock()
	doc, ok := tg.accounts[id]
	tg.mu.Unlock()
	if !ok {
		scimError(w, http.StatusNotFound, "no such user")
		return
	}
	writeSCIM(w, http.StatusOK, doc)
}

func (tg *target) put(w http.ResponseWriter, r *http.Request, id string) {
	var doc map[string]any
	if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
		scimError(w, http.StatusBadRequest, "malformed body")
		return
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	old, ok := tg.accounts[id]
	if !ok {
		scimError(w, http.StatusNotFound, "no such user")
		return
	}
	name, _ := doc["userName"].(string)
	oldName, _ := old["userName"].(string)
	if other, taken := tg.byName[strings.ToLower(name)]; taken && other != id {
		scimError(w, http.StatusConflict, "userName is taken")
		return
	}
	delete(tg.byName, strings.ToLower(oldName))
	tg.byName[strings.ToLower(name)] = id
	doc["id"] = id
	tg.accounts[id] = doc
	tg.puts.Add(1)
	writeSCIM(w, http.StatusOK, doc)
}

func (tg *target) delete(w http.ResponseWriter, id string) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	doc, ok := tg.accounts[id]
	if !ok {
		scimError(w, http.StatusNotFound, "no such user")
		return
	}
	name, _ := doc["userName"].(string)
	delete(tg.byName, strings.ToLower(name))
	delete(tg.accounts, id)
	tg.deletes.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// matches reports whether an account's attribute (userName and
// emails.value compared without regard to case) equals value.
func matches(doc map[string]any, attr, value string) bool {
	switch attr {
	case "userName":
		name, _ := doc["userName"].(string)
		return strings.EqualFold(name, value)
	case "externalId":
		ext, _ := doc["externalId"].(string)
		return ext == value
	}
	for _, email := range emailsOf(doc) {
		if strings.EqualFold(email, value) {
			return true
		}
	}
	return false
}

func emailsOf(doc map[string]any) []string {
	list, _ := doc["emails"].([]any)
	var out []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		if v, _ := m["value"].(string); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// account returns a copy of the account holding userName, or nil.
func (tg *target) account(userName string) map[string]any {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	id, ok := tg.byName[strings.ToLower(userName)]
	if !ok {
		return nil
	}
	out := map[string]any{}
	for k, v := range tg.accounts[id] {
		out[k] = v
	}
	return out
}

func (tg *target) count() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.accounts)
}

func (tg *target) overlapping() []string {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]string(nil), tg.overlaps...)
}

func writeSCIM(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func scimError(w http.ResponseWriter, status int, detail string) {
	writeSCIM(w, status, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":  fmt.Sprint(status), "detail": detail,
	})
}
