package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/auth"
	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook/webhooktest"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
)

// Credentials of the servers the tests start.
const (
	testSCIMToken = "scim-test-token-0123456789"
	testAdminKey  = "admin-test-signing-key-0123456789abcdef"
)

// receiver is a webhook receiver behind a gate that can make it answer an
// error status instead, as an application that is down or refuses.
type receiver struct {
	*webhooktest.Receiver
	srv    *httptest.Server
	status atomic.Int32
	secret string // path of the file holding the signing secret
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	secret := []byte("webhook-test-secret")
	r := &receiver{Receiver: webhooktest.New(secret)}
	r.secret = filepath.Join(t.TempDir(), "hook-secret")
	require.NoError(t, os.WriteFile(r.secret, secret, 0o600))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if s := int(r.status.Load()); s != 0 {
			w.WriteHeader(s)
			return
		}
		r.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// fail makes the receiver answer status to every request; 0 restores it.
func (r *receiver) fail(status int) { r.status.Store(int32(status)) }

// hookApp is the configuration of an app provisioning into r.
func (r *receiver) hookApp(name string) string {
	return fmt.Sprintf(`
  - name: %s
    catalog: webhook
    provisioning: true
    scope: {all: true}
    connector:
      kind: webhook
      url: %s
      secret: {file: %s}
`, name, r.srv.URL, r.secret)
}

// server is serve running in the test process.
type server struct {
	t   *testing.T
	url string
	out *lockedBuffer
	log *lockedBuffer
}

// lockedBuffer is a buffer safe to write from serve while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testConfig loads a configuration whose credentials the tests know, with
// the given YAML appended, on a fresh store and a free port.
func testConfig(t *testing.T, extra string) config.Config {
	t.Helper()
	body := fmt.Sprintf(`addr: 127.0.0.1:0
store: bolt:%s
scim:
  tokens: [%s]
admin:
  jwt:
    - {id: test, algorithm: HS256, secret: %s}
`, filepath.Join(t.TempDir(), "bridge.db"), testSCIMToken, testAdminKey) + extra
	path := writeFile(t, "bridge.yaml", body)
	cfg, err := config.Load(path, func(string) string { return "" })
	require.NoError(t, err)
	return cfg
}

// startServer runs serve until the test ends, when it must stop cleanly.
func startServer(t *testing.T, cfg config.Config) *server {
	t.Helper()
	s := &server{t: t, out: &lockedBuffer{}, log: &lockedBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, s.out, s.log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, "serve failed; log:\n%s", s.log.String())
		case <-time.After(60 * time.Second):
			t.Errorf("serve did not stop; log:\n%s", s.log.String())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		first, _, _ := strings.Cut(s.out.String(), "\n")
		if u, ok := strings.CutPrefix(first, "scim-bridge is serving on "); ok {
			s.url = u
			return s
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended at start: %v\nlog:\n%s", err, s.log.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no banner; log:\n%s", s.log.String())
		}
	}
}

// adminToken mints an admin API token for role with the test key.
func adminToken(t *testing.T, role string) string {
	t.Helper()
	key := auth.SigningKey{ID: "test", Algorithm: auth.AlgHS256, Secret: []byte(testAdminKey)}
	tok, err := auth.Mint(key, auth.Claims{Subject: "tester", Role: role, TTL: time.Hour}, time.Now())
	require.NoError(t, err)
	return tok
}

// call sends a JSON request and returns the status and decoded body.
func (s *server) call(method, path, token string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(s.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(s.t, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	return resp.StatusCode, out
}

// createUser pushes a directory user through the SCIM endpoint.
func (s *server) createUser(doc map[string]any) string {
	s.t.Helper()
	status, out := s.call(http.MethodPost, "/scim/v2/Users", testSCIMToken, doc)
	require.Equal(s.t, http.StatusCreated, status, "create user: %v", out)
	return out["id"].(string)
}

// waitSynced polls the admin API until the user is synced to app and
// returns its status.
func (s *server) waitSynced(app, id string) bridge.UserStatus {
	s.t.Helper()
	var st bridge.UserStatus
	waitFor(s.t, func() bool {
		status, out := s.call(http.MethodGet, "/admin/v1/apps/"+app+"/users/"+id,
			adminToken(s.t, "viewer"), nil)
		require.Equal(s.t, http.StatusOK, status, "%v", out)
		raw, _ := json.Marshal(out)
		require.NoError(s.t, json.Unmarshal(raw, &st))
		return st.State == bridge.StateSynced
	}, "user %s synced to %s (last: %+v)", id, app, st)
	return st
}

// waitFor polls cond until it holds, with a deadline generous enough for a
// busy machine.
func waitFor(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func scimUser(userName string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": "Test", "familyName": "User"},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
	}
}

func TestServeProvisionsApps(t *testing.T) {
	hook := newReceiver(t)
	s := startServer(t, testConfig(t, "apps:"+hook.hookApp("hook")))
	require.Contains(t, s.out.String(), "admin API      "+s.url+"/admin/v1\n")

	id := s.createUser(scimUser("ann@example.test"))
	st := s.waitSynced("hook", id)
	acct, ok := hook.Account(st.AccountID)
	require.True(t, ok, "the receiver has no account %s", st.AccountID)
	require.Equal(t, "ann@example.test", acct.Fields["user_name"])
	require.Equal(t, id, acct.Fields["external_id"])

	// The engine's metrics are served with the others.
	req, err := http.NewRequest(http.MethodGet, s.url+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken(t, "viewer"))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(raw),
		`scim_bridge_sync_operations_total{app="hook",op="create",outcome="ok"} 1`)
	require.Contains(t, string(raw),
		`scim_bridge_http_requests_total{code="200",method="GET",route="admin"}`)
}

func TestServeCustomAppWithExtension(t *testing.T) {
	hook := newReceiver(t)
	const urn = "urn:example:params:scim:schemas:extension:acme:1.0:User"
	app := writeFile(t, "acme-hr.yaml", `name: acme-hr
label: Acme HR
connector: webhook
identity: [login]
fields:
  - {name: login, type: string, mandatory: true}
  - {name: cost_code, type: string}
`)
	ext := writeFile(t, "acme.json", `{"id": "`+urn+`", "name": "Acme",
		"attributes": [{"name": "costCode", "type": "string", "multiValued": false,
		"required": false, "caseExact": false, "mutability": "readWrite",
		"returned": "default", "uniqueness": "none"}]}`)
	mapping := writeFile(t, "acme-mapping.yaml", `app: acme-hr
fields:
  login: userName
  cost_code: `+urn+`:costCode
`)
	cfg := testConfig(t, fmt.Sprintf(`catalog: [%s]
apps:
  - name: hr
    catalog: acme-hr
    provisioning: true
    scope: {all: true}
    mapping: %s
    connector: {url: %s, secret: {file: %s}}
`, app, mapping, hook.srv.URL, hook.secret))
	cfg.SCIM.Extensions = []string{ext}
	s := startServer(t, cfg)

	status, schemas := s.call(http.MethodGet, "/scim/v2/Schemas/"+urn, testSCIMToken, nil)
	require.Equal(t, http.StatusOK, status, "the SCIM endpoint does not serve the extension: %v", schemas)

	user := scimUser("bea@example.test")
	user["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:User", urn}
	user[urn] = map[string]any{"costCode": "CC-42"}
	id := s.createUser(user)
	st := s.waitSynced("hr", id)
	acct, ok := hook.Account(st.AccountID)
	require.True(t, ok)
	require.Equal(t, map[string]any{"login": "bea@example.test", "cost_code": "CC-42"}, acct.Fields)
}

func TestServeStartupErrorsNameTheCulprit(t *testing.T) {
	hook := newReceiver(t)
	badExt := writeFile(t, "bad-ext.json", `{"id": "not-a-urn", "attributes": []}`)
	badCatalog := writeFile(t, "bad-app.yaml", "name: broken\n")
	for _, c := range []struct {
		name  string
		extra string
		ext   []string
		want  []string
	}{
		{"extension", "", []string{badExt}, []string{"bad-ext.json", "not a urn"}},
		{"missing extension", "", []string{filepath.Join(t.TempDir(), "absent.json")},
			[]string{"absent.json"}},
		{"catalog file", "catalog: [" + badCatalog + "]\n", nil, []string{"bad-app.yaml"}},
		{"unknown catalog app", `apps:
  - {name: crm, catalog: zoho-crn, connector: {kind: webhook}}
`, nil, []string{"app crm", `"zoho-crn"`}},
		{"connector kind", `apps:
  - {name: crm, catalog: zoho-crm}
`, nil, []string{"app crm", `connector kind "zoho-crm" is not available`}},
		{"connector settings", `apps:
  - {name: hook, catalog: webhook, connector: {kind: webhook, url: ` + hook.srv.URL + `}}
`, nil, []string{"app hook", "secret is required"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t, c.extra)
			cfg.SCIM.Extensions = c.ext
			var out, log bytes.Buffer
			err := serve(context.Background(), cfg, &out, &log)
			require.Error(t, err)
			for _, w := range c.want {
				require.ErrorContains(t, err, w)
			}
			require.Empty(t, out.String(), "nothing is announced when the start fails")
		})
	}
}

func TestWelcomeBannerPrintsOnlyUsableCredentials(t *testing.T) {
	for _, c := range []struct {
		name            string
		yaml            string
		scimTok, admTok bool
	}{
		{"nothing configured", "", true, true},
		{"scim configured", "scim: {tokens: [" + testSCIMToken + "]}\n", false, true},
		{"admin configured", "admin: {jwt: [{id: k, algorithm: HS256, secret: " + testAdminKey + "}]}\n",
			true, false},
		{"both configured", "scim: {tokens: [" + testSCIMToken + "]}\n" +
			"admin: {jwt: [{id: k, algorithm: HS256, secret: " + testAdminKey + "}]}\n", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Load(writeFile(t, "bridge.yaml", c.yaml), func(string) string { return "" })
			require.NoError(t, err)
			store, err := boltstore.Open(filepath.Join(t.TempDir(), "bridge.db"), boltstore.Options{})
			require.NoError(t, err)
			defer store.Close()
			creds, err := loadCredentials(context.Background(), cfg, store)
			require.NoError(t, err)

			var out bytes.Buffer
			require.NoError(t, printWelcome(&out, "http://127.0.0.1:1", creds))
			banner := out.String()
			printed := func(label string) string {
				for _, line := range strings.Split(banner, "\n") {
					if v, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
						return strings.TrimSpace(v)
					}
				}
				return ""
			}
			scimTok, admTok := printed("SCIM token"), printed("admin token")
			require.Equal(t, c.scimTok, scimTok != "", "SCIM token printed:\n%s", banner)
			require.Equal(t, c.admTok, admTok != "", "admin token printed:\n%s", banner)
			if scimTok != "" {
				_, err := creds.scim.Verify("Bearer " + scimTok)
				require.NoError(t, err, "the printed SCIM token is refused")
				require.Contains(t, banner, "curl -H 'Authorization: Bearer "+scimTok+"' ")
			}
			if admTok != "" {
				p, err := creds.admin.Verify("Bearer " + admTok)
				require.NoError(t, err, "the printed admin token is refused")
				require.Equal(t, "owner", p.Role)
				require.Contains(t, banner, "scim-bridge sync --url http://127.0.0.1:1 --token "+admTok)
			}
			if !c.scimTok && !c.admTok {
				require.Contains(t, banner, "credentials: as configured")
			}
		})
	}
}
