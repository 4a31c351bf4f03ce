package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/bridge/connector/connectortest"
	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook"
	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook/webhooktest"
)

const secretEnv = "WEBHOOK_TEST_SECRET"

var testSecret = []byte("signing-secret-for-tests")

// receiver is a running webhooktest receiver behind a fault injector.
type receiver struct {
	*webhooktest.Receiver
	url    string
	faults *connectortest.Faults
}

func startReceiver(t *testing.T, wrap ...func(http.Handler) http.Handler) *receiver {
	t.Helper()
	r := &receiver{Receiver: webhooktest.New(testSecret), faults: &connectortest.Faults{}}
	var h http.Handler = r.Receiver
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(r.faults.Wrap(h))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// settings send create and lookup to /hooks and the rest to templated
// per-account URLs, as a REST-shaped receiver would want.
func (r *receiver) settings(t *testing.T) webhook.Settings {
	t.Helper()
	t.Setenv(secretEnv, string(testSecret))
	return webhook.Settings{
		URL: r.url + "/hooks",
		Operations: map[string]webhook.Endpoint{
			"update":     {URL: r.url + "/users/{id}", Method: "PUT"},
			"deactivate": {URL: r.url + "/users/{id}/deactivate"},
			"delete":     {URL: r.url + "/users/{id}", Method: "DELETE"},
		},
		Secret: connector.Secret{Env: secretEnv},
	}
}

func TestContract(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Target {
		r := startReceiver(t)
		c, err := webhook.New(r.settings(t))
		require.NoError(t, err)
		return connectortest.Target{
			Connector: c,
			Record:    record,
			Inspect: func(_ context.Context, id string) (connectortest.Account, error) {
				a, ok := r.Account(id)
				if !ok {
					return connectortest.Account{}, fmt.Errorf("account %s: %w", id, connector.ErrNotFound)
				}
				return connectortest.Account{Fields: a.Fields, Active: a.Active}, nil
			},
			Unique: true,
			Faults: r.faults,
		}
	})
}

func record(p connectortest.Person) connector.Fields {
	f := connector.Fields{
		"userName":   p.UserName,
		"email":      p.Email,
		"givenName":  p.GivenName,
		"familyName": p.FamilyName,
		"title":      nil,
	}
	if p.Title != "" {
		f["title"] = p.Title
	}
	return f
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"operation":"delete","id":"42"}`)
	signed := func(secret []byte, at time.Time, b []byte) http.Header {
		h := http.Header{}
		h.Set(webhook.TimestampHeader, fmt.Sprint(at.Unix()))
		h.Set(webhook.SignatureHeader, webhook.Sign(secret, at, b))
		return h
	}
	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		wantErr error
	}{
		{"valid", signed(testSecret, now, body), body, nil},
		{"valid within skew ahead", signed(testSecret, now.Add(4*time.Minute), body), body, nil},
		{"tampered body", signed(testSecret, now, body), []byte(`{"operation":"delete","id":"43"}`),
			webhook.ErrSignature},
		{"other secret", signed([]byte("other"), now, body), body, webhook.ErrSignature},
		{"stale", signed(testSecret, now.Add(-6*time.Minute), body), body, webhook.ErrStale},
		{"from the future", signed(testSecret, now.Add(6*time.Minute), body), body, webhook.ErrStale},
		{"no headers", http.Header{}, body, webhook.ErrSignature},
		{"timestamp swapped", func() http.Header {
			h := signed(testSecret, now, body)
			h.Set(webhook.TimestampHeader, fmt.Sprint(now.Unix()+1))
			return h
		}(), body, webhook.ErrSignature},
		{"not hex", func() http.Header {
			h := signed(testSecret, now, body)
			h.Set(webhook.SignatureHeader, "sha256=zz")
			return h
		}(), body, webhook.ErrSignature},
		{"other scheme", func() http.Header {
			h := signed(testSecret, now, body)
			h.Set(webhook.SignatureHeader, "sha1=00")
			return h
		}(), body, webhook.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(testSecret, tt.header, tt.body, now, 5*time.Minute)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr, "got %v, want %v", err, tt.wantErr)
		})
	}
}

// captured is one request as the receiver got it.
type captured struct {
	header http.Header
	path   string
	body   []byte
}

// capture records every request before the receiver handles it.
type capture struct {
	mu   sync.Mutex
	reqs []captured
}

func (c *capture) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, captured{header: r.Header.Clone(), path: r.URL.Path, body: body})
		c.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func TestWireFormat(t *testing.T) {
	cp := &capture{}
	r := startReceiver(t, cp.wrap)
	c, err := webhook.New(r.settings(t))
	require.NoError(t, err)
	ctx := context.Background()

	id, err := c.Create(ctx, connector.Fields{"userName": "ada", "email": "ada@x.test"})
	require.NoError(t, err)
	require.NoError(t, c.Update(ctx, id, connector.Fields{"userName": "ada", "title": nil}))
	require.NoError(t, c.Deactivate(ctx, id))
	_, err = c.Lookup(ctx, connector.Key{Field: connector.KeyEmail, Value: "ada@x.test"})
	require.NoError(t, err)
	require.NoError(t, c.Delete(ctx, id))

	want := []struct{ path, body string }{
		{"/hooks", `{"operation":"create","fields":{"userName":"ada","email":"ada@x.test"}}`},
		{"/users/" + id, `{"operation":"update","id":"` + id +
			`","fields":{"userName":"ada","title":null}}`},
		{"/users/" + id + "/deactivate", `{"operation":"deactivate","id":"` + id + `"}`},
		{"/hooks", `{"operation":"lookup","key":{"field":"email","value":"ada@x.test"}}`},
		{"/users/" + id, `{"operation":"delete","id":"` + id + `"}`},
	}
	require.Len(t, cp.reqs, len(want), "requests: got %d, want %d", len(cp.reqs), len(want))
	deliveries := map[string]bool{}
	for i, w := range want {
		got := cp.reqs[i]
		require.Equal(t, w.path, got.path, "request %d path: got %s, want %s", i, got.path, w.path)
		require.JSONEq(t, w.body, string(got.body), "request %d body", i)
		d := got.header.Get(webhook.DeliveryHeader)
		require.NotEmpty(t, d, "request %d: no delivery id", i)
		require.False(t, deliveries[d], "request %d: delivery id %s reused", i, d)
		deliveries[d] = true
	}
}

func TestReplayRefused(t *testing.T) {
	cp := &capture{}
	r := startReceiver(t, cp.wrap)
	c, err := webhook.New(r.settings(t))
	require.NoError(t, err)
	id, err := c.Create(context.Background(), connector.Fields{"userName": "once"})
	require.NoError(t, err)
	require.NoError(t, c.Delete(context.Background(), id))

	// Send the recorded create again, signature and all.
	first := cp.reqs[0]
	req, err := http.NewRequest(http.MethodPost, r.url+first.path, bytes.NewReader(first.body))
	require.NoError(t, err)
	req.Header = first.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "replayed request: got %d, want 401",
		resp.StatusCode)
	_, ok := r.Account(id)
	require.False(t, ok, "the replay recreated account %s", id)
}

func TestRefusedSignatures(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		clock  func() time.Time
	}{
		{"wrong secret", "not-the-secret", time.Now},
		{"clock far behind", string(testSecret), func() time.Time { return time.Now().Add(-time.Hour) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startReceiver(t)
			s := r.settings(t)
			t.Setenv(secretEnv, tt.secret)
			c, err := webhook.New(s, webhook.WithClock(tt.clock))
			require.NoError(t, err)
			_, err = c.Create(context.Background(), connector.Fields{"userName": "refused"})
			var ce *connector.Error
			require.ErrorAs(t, err, &ce, "got %v, want a *connector.Error", err)
			require.Equal(t, http.StatusUnauthorized, ce.Status, "status: got %d, want 401", ce.Status)
			require.False(t, ce.Retryable, "a refused signature: got retryable, want permanent")
			require.NotContains(t, err.Error(), tt.secret, "the error shows the secret")
		})
	}
}

func TestAnswerWithoutID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	t.Setenv(secretEnv, string(testSecret))
	c, err := webhook.New(webhook.Settings{URL: srv.URL, Secret: connector.Secret{Env: secretEnv}})
	require.NoError(t, err)

	_, err = c.Create(context.Background(), connector.Fields{"userName": "x"})
	require.ErrorContains(t, err, "without")
	_, err = c.Lookup(context.Background(), connector.Key{Field: "userName", Value: "x"})
	require.ErrorContains(t, err, "without")
}
