package admin_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/admin"
	"github.com/scim-bridge/scim-bridge/auth"
	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook"
	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook/webhooktest"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/mappings"
	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
)

// The apps every harness configures: hook has provisioning on and every
// user in scope; idle has provisioning off until a test switches it on.
const (
	appHook = "hook"
	appIdle = "idle"
)

// quick keeps the engine's waits short so that tests finish fast; the
// retry budget is large so a retryable failure never becomes a dead
// letter on its own.
var quick = bridge.Tuning{
	LeaseTTL:     3 * time.Second,
	CallTimeout:  time.Second,
	PollInterval: 50 * time.Millisecond,
	ClaimIdle:    2 * time.Second,
	BackoffBase:  20 * time.Millisecond,
	BackoffMax:   200 * time.Millisecond,
	MaxAttempts:  1000,
	StallAfter:   2 * time.Second,
}

// harness is the admin API over a real engine on a bolt store, provisioning
// into webhook receivers behind a gate that can make them fail.
type harness struct {
	t      *testing.T
	store  state.Store
	engine *bridge.Engine
	api    *httptest.Server // serves handler
	// handler is the API as admin.New built it.
	handler http.Handler
	key     auth.SigningKey
	// hook is the receiver of app hook, behind gate; idle that of app idle.
	hook *webhooktest.Receiver
	gate *gate
	idle *webhooktest.Receiver
}

// gate passes requests to the receiver behind it, or answers them with
// the status it is set to, as an application that is down or refuses.
type gate struct {
	next   http.Handler
	status atomic.Int32
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s := int(g.status.Load()); s != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s)
		_, _ = io.WriteString(w, `{"detail":"refused by the test gate"}`)
		return
	}
	g.next.ServeHTTP(w, r)
}

// set makes the gate answer status to every request; 0 opens it.
func (g *gate) set(status int) { g.status.Store(int32(status)) }

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	secret := []byte("webhook-signing-secret")
	secretFile := filepath.Join(dir, "hook-secret")
	require.NoError(t, os.WriteFile(secretFile, secret, 0o600))

	h := &harness{t: t, hook: webhooktest.New(secret), idle: webhooktest.New(secret)}
	h.gate = &gate{next: h.hook}
	hookSrv := httptest.NewServer(h.gate)
	t.Cleanup(hookSrv.Close)
	idleSrv := httptest.NewServer(h.idle)
	t.Cleanup(idleSrv.Close)

	store, err := boltstore.Open(filepath.Join(dir, "bridge.db"), boltstore.Options{})
	require.NoError(t, err)
	h.store = store

	cat, err := mappings.LoadCatalog()
	require.NoError(t, err)
	hookApp := func(name, url string, on bool) config.App {
		return config.App{
			Name: name, Catalog: "webhook", Provisioning: on,
			Scope:       config.Scope{All: true},
			Deprovision: bridge.PolicyDeactivate, Concurrency: 2,
			Connector: map[string]any{
				"kind": "webhook", "url": url,
				"secret": map[string]any{"file": secretFile},
			},
		}
	}
	h.engine, err = bridge.New(bridge.Options{
		Store:   store,
		Catalog: cat,
		Apps:    []config.App{hookApp(appHook, hookSrv.URL, true), hookApp(appIdle, idleSrv.URL, false)},
		Kinds:   bridge.Kinds{webhook.Kind: webhook.Factory()},
		Replica: "test",
		Tuning:  quick,
	})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.engine.Run(ctx) }()

	// A fresh key per harness: tokens of one harness mean nothing to another.
	h.key = auth.SigningKey{ID: "test", Algorithm: auth.AlgHS256, Secret: make([]byte, 32)}
	_, _ = rand.Read(h.key.Secret)
	verifier, err := auth.New(auth.Config{Realm: "scim-bridge-admin", Keys: []auth.Key{
		{ID: h.key.ID, Algorithm: h.key.Algorithm, Secret: h.key.Secret},
	}})
	require.NoError(t, err)
	h.handler = admin.New(admin.Options{Engine: h.engine, Auth: verifier})
	h.api = httptest.NewServer(h.handler)

	// Cleanups run last-in first-out: the API stops, then the engine, then
	// the store closes.
	t.Cleanup(func() { _ = store.Close() })
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	t.Cleanup(h.api.Close)
	return h
}

// token mints an admin API token for role.
func (h *harness) token(role string) string {
	h.t.Helper()
	tok, err := auth.Mint(h.key, auth.Claims{Subject: role + "-user", Role: role, TTL: time.Hour},
		time.Now())
	require.NoError(h.t, err)
	return tok
}

// reply is an answer of the API.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v, failing the test if it is not JSON.
func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// apiError decodes the body as the API's error shape.
func (r reply) apiError(t *testing.T) admin.Error {
	t.Helper()
	var e admin.Error
	r.decode(t, &e)
	return e
}

// do sends a request with the token (none when empty) and a raw body.
func (h *harness) do(method, path, token, body string) reply {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.api.URL+path, rd)
	require.NoError(h.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// get reads path as an owner and decodes a 200 answer into v.
func (h *harness) get(path string, v any) {
	h.t.Helper()
	r := h.do(http.MethodGet, path, h.token(admin.RoleOwner), "")
	require.Equal(h.t, http.StatusOK, r.status, "GET %s: %s", path, r.body)
	r.decode(h.t, v)
}

// putUser creates or replaces a directory user in the store, as the SCIM
// endpoint does, so that the change feed carries it to the engine.
func (h *harness) putUser(id, userName string, active bool) {
	h.t.Helper()
	ctx := context.Background()
	doc, err := json.Marshal(map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id":       id,
		"userName": userName,
		"name":     map[string]any{"givenName": "Given", "familyName": "Family"},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"active":   active,
	})
	require.NoError(h.t, err)
	op := state.OpCreate
	if _, err := h.store.Get(ctx, state.KindUser, id); err == nil {
		op = state.OpReplace
	}
	_, err = h.store.Commit(ctx, state.Write{Op: op, Resource: state.Resource{
		Kind: state.KindUser, ID: id, Data: doc,
		Unique: []state.IndexKey{{Name: "userName", Value: strings.ToLower(userName)}},
	}})
	require.NoError(h.t, err)
}

// userStatus reads one user's status through the API.
func (h *harness) userStatus(app, id string) bridge.UserStatus {
	h.t.Helper()
	var st bridge.UserStatus
	h.get("/admin/v1/apps/"+app+"/users/"+id, &st)
	return st
}

// waitState polls the API until the user's state is want.
func (h *harness) waitState(app, id string, want bridge.State) bridge.UserStatus {
	h.t.Helper()
	var st bridge.UserStatus
	eventually(h.t, func() bool {
		st = h.userStatus(app, id)
		return st.State == want
	}, "user %s of %s to be %s (last: %+v)", id, app, want, st)
	return st
}

// waitJob polls the API until the job is no longer running.
func (h *harness) waitJob(id string) bridge.Job {
	h.t.Helper()
	var j bridge.Job
	eventually(h.t, func() bool {
		h.get("/admin/v1/jobs/"+id, &j)
		return j.State != bridge.JobRunning
	}, "job %s to finish (last: %+v)", id, j)
	return j
}

// eventually polls cond until it holds, failing the test after a deadline
// generous enough for a busy machine.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: "+format, args...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
