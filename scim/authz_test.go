package scim_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/auth"
	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
)

// TestEveryRouteNeedsCredentials walks every route of the router and
// checks that none answers without a valid bearer token; the SCIM
// endpoint has no unauthenticated route at all (health probes live on the
// main mux, outside this handler).
func TestEveryRouteNeedsCredentials(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "b.db"), boltstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	v, err := auth.New(auth.Config{Realm: "scim-bridge",
		SecretHashes: []string{auth.HashSecret(testToken)}})
	require.NoError(t, err)
	s, err := scim.New(scim.Config{Store: store, Auth: v,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	routes := s.Routes()
	require.Greater(t, len(routes), 20, "the walk must see the whole router")
	seen := 0
	for _, rt := range append(routes, scim.RouteSpec{Path: scim.Prefix + "/Unknown",
		Methods: []string{http.MethodGet}}) {
		for _, method := range rt.Methods {
			p := strings.ReplaceAll(rt.Path, "{id}", "some-id")
			for _, authz := range []string{"", "Bearer wrong-token", "Basic dXNlcjpwYXNz"} {
				req, err := http.NewRequest(method, srv.URL+p, strings.NewReader(`{}`))
				require.NoError(t, err)
				if authz != "" {
					req.Header.Set("Authorization", authz)
				}
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s with %q", method, p, authz)
				require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"),
					`Bearer realm="scim-bridge"`), "%s %s", method, p)
				seen++
			}
		}
	}
	require.Greater(t, seen, 60)
}

func TestJWTAuthentication(t *testing.T) {
	secret := []byte("an-hs256-secret-of-32-bytes-or-more!")
	h := newHarness(t, func(c *scim.Config) {
		v, err := auth.New(auth.Config{Keys: []auth.Key{{ID: "idp", Algorithm: auth.AlgHS256,
			Secret: secret, Issuer: "https://idp.example", Audience: "scim-bridge"}}})
		require.NoError(t, err)
		c.Auth = v
	})
	tok, err := auth.Mint(auth.SigningKey{ID: "idp", Algorithm: auth.AlgHS256, Secret: secret},
		auth.Claims{Subject: "entra", Issuer: "https://idp.example", Audience: "scim-bridge",
			TTL: time.Minute}, time.Now())
	require.NoError(t, err)
	r := h.send(t, http.MethodGet, "/Users", nil, "Authorization", "Bearer "+tok)
	mustStatus(t, r, http.StatusOK)
	mustStatus(t, h.do(t, http.MethodGet, "/Users", nil), http.StatusUnauthorized)

	spc := h.send(t, http.MethodGet, "/ServiceProviderConfig", nil,
		"Authorization", "Bearer "+tok).obj(t)
	schemes := spc["authenticationSchemes"].([]any)
	require.Len(t, schemes, 1, "only the configured scheme is advertised")
	require.Equal(t, "JSON Web Token", path(schemes, 0, "name"))
}
