package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook/webhooktest"
	"github.com/scim-bridge/scim-bridge/internal/bridgetest"
)

// syncConfig configures two apps: downstream, a SCIM service (another
// bridge), and hook, a webhook receiver. Their credentials come from the
// environment the test gives the bridge.
const syncConfig = `
apps:
  - name: downstream
    catalog: scim
    provisioning: true
    scope: {all: true}
    connector:
      kind: scim
      base_url: %s/scim/v2
      token: {env: E2E_TARGET_TOKEN}
  - name: hook
    catalog: webhook
    provisioning: true
    scope: {all: true}
    connector:
      kind: webhook
      url: %s/hook
      secret: {env: E2E_HOOK_SECRET}
`

// call sends a request to p with token and decodes a JSON answer into out
// (when not nil); it returns the status.
func call(t *testing.T, p *bridgetest.Process, method, path, token string, body []byte, out any) int {
	t.Helper()
	resp, err := p.Do(context.Background(), method, path, token, body)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, out), "%s %s answered %d: %s", method, path,
			resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// waitUntil polls cond until it holds; the deadline is generous because
// two bridges and the test share a busy machine.
func waitUntil(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scimAccount is the part of a SCIM user the test looks at.
type scimAccount struct {
	ID         string `json:"id"`
	UserName   string `json:"userName"`
	ExternalID string `json:"externalId"`
	Active     *bool  `json:"active"`
}

// findUser looks a user up by userName on a bridge's SCIM endpoint.
func findUser(t *testing.T, p *bridgetest.Process, userName string) (scimAccount, bool) {
	t.Helper()
	filter := url.QueryEscape(fmt.Sprintf(`userName eq "%s"`, userName))
	var list struct {
		TotalResults int           `json:"totalResults"`
		Resources    []scimAccount `json:"Resources"`
	}
	status := call(t, p, http.MethodGet, "/scim/v2/Users?filter="+filter, p.SCIMToken, nil, &list)
	require.Equal(t, http.StatusOK, status)
	if list.TotalResults != 1 {
		return scimAccount{}, false
	}
	return list.Resources[0], true
}

// userStatus is the part of the admin API's user status the test reads.
type userStatus struct {
	State     string `json:"state"`
	AccountID string `json:"account_id"`
	Active    bool   `json:"active"`
}

func TestDirectoryChangesReachSCIMAndWebhookApps(t *testing.T) {
	// The SCIM target is a second bridge: a real SCIM service provider.
	downstream := bridgetest.Start(t, bridgetest.Options{})
	const secret = "e2e-webhook-signing-secret"
	hook := webhooktest.New([]byte(secret))
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)

	p := bridgetest.Start(t, bridgetest.Options{
		Config: fmt.Sprintf(syncConfig, downstream.URL, hookSrv.URL),
		Env:    []string{"E2E_TARGET_TOKEN=" + downstream.SCIMToken, "E2E_HOOK_SECRET=" + secret},
	})

	// An identity provider creates a user.
	var created scimAccount
	status := call(t, p, http.MethodPost, "/scim/v2/Users", p.SCIMToken,
		userBody("grace@example.com"), &created)
	require.Equal(t, http.StatusCreated, status)

	var target scimAccount
	waitUntil(t, func() bool {
		var ok bool
		target, ok = findUser(t, downstream, "grace@example.com")
		return ok
	}, "the user to reach the SCIM app")
	require.Equal(t, created.ID, target.ExternalID, "externalId carries the directory id")
	require.NotNil(t, target.Active)
	require.True(t, *target.Active)

	var st userStatus
	waitUntil(t, func() bool {
		status := call(t, p, http.MethodGet, "/admin/v1/apps/hook/users/"+created.ID, p.AdminToken, nil, &st)
		require.Equal(t, http.StatusOK, status)
		return st.State == "synced"
	}, "the user to be synced to the webhook app (last: %+v)", st)
	acct, ok := hook.Account(st.AccountID)
	require.True(t, ok, "the receiver has no account %s", st.AccountID)
	require.Equal(t, "grace@example.com", acct.Fields["user_name"])
	require.True(t, acct.Active)

	// The identity provider deactivates the user: both apps follow.
	patch := []byte(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "replace", "path": "active", "value": false}]}`)
	status = call(t, p, http.MethodPatch, "/scim/v2/Users/"+created.ID, p.SCIMToken, patch, nil)
	require.Equal(t, http.StatusOK, status)
	waitUntil(t, func() bool {
		target, _ = findUser(t, downstream, "grace@example.com")
		return target.Active != nil && !*target.Active
	}, "the SCIM app to deactivate the user")
	waitUntil(t, func() bool {
		acct, _ = hook.Account(st.AccountID)
		return !acct.Active
	}, "the webhook app to deactivate the user")

	// A quick sync with the sync command of the same binary succeeds and
	// keeps the user as the directory has it.
	out, err := exec.Command(bridgetest.Binary(t), "sync", "--app", "downstream",
		"--url", p.URL, "--token", p.AdminToken).CombinedOutput()
	require.NoError(t, err, "sync:\n%s", out)
	require.Contains(t, string(out), "quick sync of downstream done: 1 pushed, 0 failed, 0 skipped\n")
	target, _ = findUser(t, downstream, "grace@example.com")
	require.False(t, *target.Active, "a quick sync pushes the user as the directory has it")

	// The same through the admin API directly.
	var job struct {
		ID, State   string
		Done, Total int
	}
	status = call(t, p, http.MethodPost, "/admin/v1/apps/hook/sync", p.AdminToken, []byte(`{}`), &job)
	require.Equal(t, http.StatusAccepted, status)
	waitUntil(t, func() bool {
		require.Equal(t, http.StatusOK, call(t, p, http.MethodGet, "/admin/v1/jobs/"+job.ID,
			p.AdminToken, nil, &job))
		return job.State != "running"
	}, "the quick sync of hook to end")
	require.Equal(t, "done", job.State)
	require.Equal(t, 1, job.Done)

	// The bridge stops cleanly with its engine running.
	p.Stop(30 * time.Second)
}
