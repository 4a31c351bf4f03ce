package scimclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/bridge/connector/scimclient"
	"github.com/scim-bridge/scim-bridge/internal/scimmytest"
)

const (
	testClientID     = "scim-bridge-test"
	testClientSecret = "client-secret-for-tests"
)

// tokenServer is an OAuth 2.0 token endpoint for the client credentials
// grant (RFC 6749 section 4.4) that hands out the target's bearer token.
type tokenServer struct {
	url      string
	requests atomic.Int32
	// failWith, when not zero, is the status every token request gets.
	failWith atomic.Int32
}

func startTokenServer(t *testing.T, accessToken string, expiresIn int) *tokenServer {
	t.Helper()
	ts := &tokenServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if status := int(ts.failWith.Load()); status != 0 {
			w.Header().Set("Retry-After", "4")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":"temporarily_unavailable"}`))
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		if r.PostFormValue("grant_type") != "client_credentials" ||
			id != testClientID || secret != testClientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		if r.PostFormValue("scope") != "scim" || r.PostFormValue("audience") != "scimmy" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_scope"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": accessToken, "token_type": "Bearer", "expires_in": expiresIn,
		})
	}))
	t.Cleanup(srv.Close)
	ts.url = srv.URL
	return ts
}

// settings authenticate through ts, with the client secret in a file.
func (ts *tokenServer) settings(t *testing.T) scimclient.Settings {
	t.Helper()
	file := filepath.Join(t.TempDir(), "client-secret")
	require.NoError(t, os.WriteFile(file, []byte(testClientSecret+"\n"), 0o600))
	return scimclient.Settings{OAuth: &scimclient.OAuth{
		TokenURL:     ts.url,
		ClientID:     testClientID,
		ClientSecret: connector.Secret{File: file},
		Scopes:       []string{"scim"},
		Params:       map[string]string{"audience": "scimmy"},
	}}
}

func TestOAuthTokenCached(t *testing.T) {
	srv := scimmytest.Start(t, scimmytest.Options{})
	ctx := context.Background()

	tests := []struct {
		name       string
		expiresIn  int
		calls      int
		wantTokens int32
	}{
		// A long-lived token is fetched once and reused.
		{"long lived", 3600, 5, 1},
		// One that expires within the library's safety margin is fetched
		// again for every call.
		{"expiring", 1, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens := startTokenServer(t, srv.Token, tt.expiresIn)
			s := tokens.settings(t)
			s.BaseURL = srv.URL
			c, err := scimclient.New(s)
			require.NoError(t, err)

			for i := range tt.calls {
				_, err := c.Lookup(ctx, connector.Key{Field: connector.KeyUserName, Value: "nobody"})
				require.ErrorIs(t, err, connector.ErrNotFound, "call %d: got %v", i, err)
			}
			got := tokens.requests.Load()
			require.Equal(t, tt.wantTokens, got, "token requests: got %d, want %d", got, tt.wantTokens)
		})
	}
}

func TestOAuthTokenErrors(t *testing.T) {
	srv := scimmytest.Start(t, scimmytest.Options{})
	tests := []struct {
		name      string
		failWith  int
		secret    string
		wantRetry bool
		wantAfter string
		wantAuth  bool
	}{
		{"token endpoint unavailable", http.StatusServiceUnavailable, testClientSecret, true, "4s", false},
		{"wrong client secret", 0, "not-the-secret", false, "0s", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens := startTokenServer(t, srv.Token, 3600)
			tokens.failWith.Store(int32(tt.failWith))
			s := tokens.settings(t)
			require.NoError(t, os.WriteFile(s.OAuth.ClientSecret.File, []byte(tt.secret), 0o600))
			s.BaseURL = srv.URL
			c, err := scimclient.New(s)
			require.NoError(t, err)

			_, err = c.Create(context.Background(), connector.Fields{"userName": "oauth-fail"})
			require.Error(t, err, "create without a token: got no error")
			require.NotErrorIs(t, err, connector.ErrNotFound, "a token failure is not about the account")
			retry, after := connector.Retryable(err)
			require.Equal(t, tt.wantRetry, retry,
				"retryable: got %v, want %v (err %v)", retry, tt.wantRetry, err)
			require.Equal(t, tt.wantAfter, after.String(),
				"retry after: got %v, want %s", after, tt.wantAfter)
			require.Equal(t, tt.wantAuth, errors.Is(err, connector.ErrUnauthorized),
				"ErrUnauthorized: got %v, want %v (err %v)", !tt.wantAuth, tt.wantAuth, err)
			require.NotContains(t, err.Error(), tt.secret, "the error shows the client secret")
		})
	}
}
