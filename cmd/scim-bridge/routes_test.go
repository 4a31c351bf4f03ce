package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/admin"
	"github.com/scim-bridge/scim-bridge/internal/telemetry"
)

// TestEveryRouteNeedsCredentials walks the whole router that serve mounts
// and checks that only the two probes answer without credentials. The SCIM
// endpoint and the admin API are mounted as prefixes; each has its own
// walk of every route inside it (package scim and package admin), so this
// test probes one path under each prefix and insists that the router holds
// no route it does not know.
func TestEveryRouteNeedsCredentials(t *testing.T) {
	cfg := testConfig(t, "")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	store, err := openStore(ctx, cfg, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	ext, err := loadExtensions(nil)
	require.NoError(t, err)
	reg := telemetry.NewRegistry()
	engine, err := newEngine(cfg, store, ext.directory, log, reg)
	require.NoError(t, err)
	creds, err := loadCredentials(ctx, cfg, store)
	require.NoError(t, err)
	h, err := routes(cfg, store, engine, creds, ext, "http://bridge.test", reg, log)
	require.NoError(t, err)
	router, ok := h.(*mux.Router)
	require.True(t, ok, "routes returns %T, want the *mux.Router this test walks", h)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	// Each route template of the top-level router, with the path to probe
	// and whether it may answer without credentials.
	known := map[string]struct {
		probe string
		open  bool
	}{
		"/healthz":         {probe: "/healthz", open: true},
		"/readyz":          {probe: "/readyz", open: true},
		"/metrics":         {probe: "/metrics"},
		"/scim/":           {probe: "/scim/v2/Users"},
		admin.Prefix + "/": {probe: admin.Prefix + "/apps"},
	}
	seen := map[string]bool{}
	err = router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := r.GetPathTemplate()
		require.NoError(t, err)
		want, ok := known[tmpl]
		require.True(t, ok, "route %s is not known to this test: add it with its expected answer", tmpl)
		seen[tmpl] = true
		methods, err := r.GetMethods()
		if err != nil {
			methods = []string{http.MethodGet, http.MethodPost}
		}
		for _, method := range methods {
			for _, authz := range []string{"", "Bearer not-a-credential"} {
				req, err := http.NewRequest(method, srv.URL+want.probe, strings.NewReader("{}"))
				require.NoError(t, err)
				if authz != "" {
					req.Header.Set("Authorization", authz)
				}
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				if want.open {
					require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s", method, want.probe)
					continue
				}
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode,
					"%s %s with %q", method, want.probe, authz)
				require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer "),
					"%s %s has no bearer challenge", method, want.probe)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, seen, len(known), "the walk saw %v", seen)
}

func TestMetricsTakeAnAdminTokenOrAMetricsSecret(t *testing.T) {
	cfg := testConfig(t, "metrics: {tokens: [prometheus-scrape-secret]}\n")
	s := startServer(t, cfg)

	get := func(token string) int {
		req, err := http.NewRequest(http.MethodGet, s.url+"/metrics", nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			require.Contains(t, string(body), "scim_bridge_sync_changes_total")
		}
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, get(""))
	require.Equal(t, http.StatusUnauthorized, get(testSCIMToken), "a SCIM token is not a metrics credential")
	require.Equal(t, http.StatusOK, get("prometheus-scrape-secret"))
	require.Equal(t, http.StatusOK, get(adminToken(t, "viewer")))
}
