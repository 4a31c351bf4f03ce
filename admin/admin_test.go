package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/admin"
	"github.com/scim-bridge/scim-bridge/bridge"
)

// route is one method and path of the API, its variables filled in.
type route struct{ method, path string }

// routes walks the API's router and returns every route it serves.
func routes(t *testing.T, h http.Handler) []route {
	t.Helper()
	router, ok := h.(*mux.Router)
	require.True(t, ok, "admin.New returns a %T, not a *mux.Router", h)
	fill := strings.NewReplacer("{app}", appHook, "{id}", "nobody")
	var out []route
	err := router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, err := r.GetMethods()
		if err != nil {
			return nil // the prefix route of the subrouter
		}
		tmpl, err := r.GetPathTemplate()
		if err != nil {
			return err
		}
		for _, m := range methods {
			out = append(out, route{m, fill.Replace(tmpl)})
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestEveryRouteNeedsCredentials(t *testing.T) {
	h := newHarness(t)
	all := routes(t, h.handler)
	// Twelve paths: seven reads answering GET and HEAD, five writes.
	require.Len(t, all, 19, "the walk found other routes than expected: %v", all)
	// Neither an unknown path nor a known one with another method tells an
	// anonymous caller anything.
	all = append(all, route{http.MethodGet, "/admin/v1/no-such-endpoint"},
		route{http.MethodPut, "/admin/v1/apps"})

	for _, rt := range all {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := h.do(rt.method, rt.path, "", "")
			require.Equal(t, http.StatusUnauthorized, r.status, "body: %s", r.body)
			require.Equal(t, `Bearer realm="scim-bridge-admin"`, r.header.Get("WWW-Authenticate"))
			if rt.method != http.MethodHead {
				require.Equal(t, "unauthorized", r.apiError(t).Code)
			}

			r = h.do(rt.method, rt.path, "not-a-token", "")
			require.Equal(t, http.StatusUnauthorized, r.status, "body: %s", r.body)
			require.Contains(t, r.header.Get("WWW-Authenticate"), `error="invalid_token"`)
		})
	}
}

func TestTokenOfAnotherKeyIsRefused(t *testing.T) {
	h := newHarness(t)
	other := newHarness(t)
	r := h.do(http.MethodGet, "/admin/v1/apps", other.token(admin.RoleOwner), "")
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Contains(t, r.header.Get("WWW-Authenticate"), `error="invalid_token"`)
}

func TestUnknownEndpointAnswers404ToAuthenticatedCaller(t *testing.T) {
	h := newHarness(t)
	r := h.do(http.MethodGet, "/admin/v1/no-such-endpoint", h.token("viewer"), "")
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, "not_found", r.apiError(t).Code)

	r = h.do(http.MethodPut, "/admin/v1/apps", h.token(admin.RoleOwner), "{}")
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
	require.Equal(t, "method_not_allowed", r.apiError(t).Code)
}

func TestWritesNeedOwnerOrAdmin(t *testing.T) {
	h := newHarness(t)
	writes := []struct{ method, path, body string }{
		{http.MethodPost, "/admin/v1/apps/hook/sync", ""},
		{http.MethodPost, "/admin/v1/apps/hook/sync", `{"all_in_scope": true}`},
		{http.MethodPut, "/admin/v1/apps/hook/provisioning", `{"enabled": false}`},
		{http.MethodPut, "/admin/v1/apps/idle/provisioning", `{"enabled": true}`},
		{http.MethodPost, "/admin/v1/apps/hook/deadletters/u1/replay", ""},
		{http.MethodDelete, "/admin/v1/jobs/some-job", ""},
		{http.MethodPost, "/admin/v1/jobs/some-job/cancel", ""},
	}
	for _, role := range []string{"viewer", "auditor", ""} {
		for _, w := range writes {
			r := h.do(w.method, w.path, h.token(role), w.body)
			require.Equal(t, http.StatusForbidden, r.status, "role %q: %s %s: %s",
				role, w.method, w.path, r.body)
			e := r.apiError(t)
			require.Equal(t, "forbidden", e.Code)
			require.Contains(t, e.Message, "owner or admin")
		}
	}

	// Nothing the refused writes asked for happened.
	var hook, idle bridge.AppInfo
	h.get("/admin/v1/apps/hook", &hook)
	h.get("/admin/v1/apps/idle", &idle)
	require.Empty(t, hook.SyncJob, "a refused sync started a job")
	require.True(t, hook.Provisioning)
	require.False(t, hook.ProvisioningSet)
	require.False(t, idle.Provisioning)

	// Reads are open to every authenticated caller.
	r := h.do(http.MethodGet, "/admin/v1/apps", h.token("viewer"), "")
	require.Equal(t, http.StatusOK, r.status)

	// Both writer roles may write, and the record names who asked.
	for _, role := range []string{admin.RoleAdmin, admin.RoleOwner} {
		r = h.do(http.MethodPost, "/admin/v1/apps/hook/sync", h.token(role), "")
		require.Equal(t, http.StatusAccepted, r.status, "role %s: %s", role, r.body)
		var job bridge.Job
		r.decode(t, &job)
		require.Equal(t, role+"-user", job.RequestedBy)
		h.waitJob(job.ID)
	}
	r = h.do(http.MethodPut, "/admin/v1/apps/idle/provisioning", h.token(admin.RoleAdmin),
		`{"enabled": true}`)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
}
