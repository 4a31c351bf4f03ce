package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/admin"
	"github.com/scim-bridge/scim-bridge/bridge"
)

func TestApps(t *testing.T) {
	h := newHarness(t)

	var list struct{ Apps []bridge.AppInfo }
	h.get("/admin/v1/apps", &list)
	require.Len(t, list.Apps, 2)
	require.Equal(t, appHook, list.Apps[0].Name, "apps come in configuration order")
	require.Equal(t, appIdle, list.Apps[1].Name)
	require.Equal(t, "webhook", list.Apps[0].Connector)
	require.True(t, list.Apps[0].Provisioning)
	require.False(t, list.Apps[1].Provisioning)
	require.Equal(t, "default", list.Apps[0].MappingSource)

	var one bridge.AppInfo
	h.get("/admin/v1/apps/hook", &one)
	require.Equal(t, list.Apps[0].Name, one.Name)
	require.True(t, one.Scope.All)
}

func TestUnknownAppIs404(t *testing.T) {
	h := newHarness(t)
	owner := h.token(admin.RoleOwner)
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/admin/v1/apps/nope", ""},
		{http.MethodGet, "/admin/v1/apps/nope/users", ""},
		{http.MethodGet, "/admin/v1/apps/nope/users/u1", ""},
		{http.MethodGet, "/admin/v1/apps/nope/deadletters", ""},
		{http.MethodGet, "/admin/v1/apps/nope/log", ""},
		{http.MethodPost, "/admin/v1/apps/nope/sync", ""},
		{http.MethodPut, "/admin/v1/apps/nope/provisioning", `{"enabled": true}`},
		{http.MethodPost, "/admin/v1/apps/nope/deadletters/u1/replay", ""},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := h.do(c.method, c.path, owner, c.body)
			require.Equal(t, http.StatusNotFound, r.status, "body: %s", r.body)
			e := r.apiError(t)
			require.Equal(t, "not_found", e.Code)
			require.Contains(t, e.Message, `unknown app "nope"`)
		})
	}
}

func TestBadRequestsAre400(t *testing.T) {
	h := newHarness(t)
	owner := h.token(admin.RoleOwner)
	big := `{"enabled": true, "pad": "` + strings.Repeat("x", 70<<10) + `"}`
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		message                  string
	}{
		{"no body", http.MethodPut, "/admin/v1/apps/idle/provisioning", "",
			http.StatusBadRequest, "a JSON body is required"},
		{"cut JSON", http.MethodPut, "/admin/v1/apps/idle/provisioning", `{"enabled":`,
			http.StatusBadRequest, "malformed JSON body"},
		{"wrong type", http.MethodPut, "/admin/v1/apps/idle/provisioning", `{"enabled": "yes"}`,
			http.StatusBadRequest, "malformed JSON body"},
		{"no switch", http.MethodPut, "/admin/v1/apps/idle/provisioning", `{}`,
			http.StatusBadRequest, `"enabled" (true or false) is required`},
		{"unknown field", http.MethodPut, "/admin/v1/apps/idle/provisioning",
			`{"enabled": true, "force": true}`, http.StatusBadRequest, "unknown field"},
		{"two values", http.MethodPut, "/admin/v1/apps/idle/provisioning",
			`{"enabled": true} {"enabled": false}`, http.StatusBadRequest, "one JSON value expected"},
		{"too big", http.MethodPut, "/admin/v1/apps/idle/provisioning", big,
			http.StatusRequestEntityTooLarge, "body larger than"},
		{"sync option type", http.MethodPost, "/admin/v1/apps/hook/sync", `{"all_in_scope": 1}`,
			http.StatusBadRequest, "malformed JSON body"},
		{"sync not JSON", http.MethodPost, "/admin/v1/apps/hook/sync", `all`,
			http.StatusBadRequest, "malformed JSON body"},
		{"bad state", http.MethodGet, "/admin/v1/apps/hook/users?state=gone", "",
			http.StatusBadRequest, "state must be"},
		{"limit zero", http.MethodGet, "/admin/v1/apps/hook/users?limit=0", "",
			http.StatusBadRequest, "limit must be"},
		{"limit word", http.MethodGet, "/admin/v1/apps/hook/deadletters?limit=ten", "",
			http.StatusBadRequest, "limit must be"},
		{"limit too high", http.MethodGet, "/admin/v1/apps/hook/log?limit=100000", "",
			http.StatusBadRequest, "limit must be"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do(c.method, c.path, owner, c.body)
			require.Equal(t, c.status, r.status, "body: %s", r.body)
			e := r.apiError(t)
			require.Equal(t, "invalid_request", e.Code)
			require.Contains(t, e.Message, c.message)
		})
	}

	// None of the refused requests changed anything.
	var idle bridge.AppInfo
	h.get("/admin/v1/apps/idle", &idle)
	require.False(t, idle.Provisioning)
	require.False(t, idle.ProvisioningSet)
}

func TestUserStatus(t *testing.T) {
	h := newHarness(t)
	h.putUser("u1", "alice@example.test", true)

	st := h.waitState(appHook, "u1", bridge.StateSynced)
	require.NotEmpty(t, st.AccountID)
	require.True(t, st.InDirectory)
	require.True(t, st.InScope)
	require.True(t, st.Active)
	acct, ok := h.hook.Account(st.AccountID)
	require.True(t, ok, "the receiver has no account %s", st.AccountID)
	require.Equal(t, "alice@example.test", acct.Fields["user_name"])
	require.True(t, acct.Active)

	// The app with provisioning off has nothing for the user.
	idle := h.userStatus(appIdle, "u1")
	require.Equal(t, bridge.StateNotInScope, idle.State)
	require.Empty(t, idle.AccountID)

	var synced, failed struct {
		Users []bridge.UserStatus
		Next  string
	}
	h.get("/admin/v1/apps/hook/users?state=synced", &synced)
	require.Len(t, synced.Users, 1)
	require.Equal(t, "u1", synced.Users[0].User)
	require.Empty(t, synced.Next)
	h.get("/admin/v1/apps/hook/users?state=failed", &failed)
	require.Empty(t, failed.Users)
	r := h.do(http.MethodGet, "/admin/v1/apps/hook/users?state=failed", h.token("viewer"), "")
	require.Contains(t, string(r.body), `"users": []`, "an empty list is [] rather than null")

	// A directory user the app never heard of, or no user at all.
	r = h.do(http.MethodGet, "/admin/v1/apps/hook/users/nobody", h.token("viewer"), "")
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, "not_found", r.apiError(t).Code)

	// Deactivation in the directory reaches the app.
	h.putUser("u1", "alice@example.test", false)
	eventually(t, func() bool {
		a, _ := h.hook.Account(st.AccountID)
		return !a.Active
	}, "account %s to be deactivated", st.AccountID)
	st = h.waitState(appHook, "u1", bridge.StateSynced)
	require.False(t, st.Active)
}

func TestUsersPaging(t *testing.T) {
	h := newHarness(t)
	ids := []string{"u1", "u2", "u3"}
	for _, id := range ids {
		h.putUser(id, id+"@example.test", true)
	}
	for _, id := range ids {
		h.waitState(appHook, id, bridge.StateSynced)
	}

	var got []string
	after := ""
	for range ids {
		var page struct {
			Users []bridge.UserStatus
			Next  string
		}
		h.get("/admin/v1/apps/hook/users?limit=1&after="+after, &page)
		require.Len(t, page.Users, 1)
		got = append(got, page.Users[0].User)
		after = page.Next
	}
	require.Equal(t, ids, got)
}

func TestProvisioningSwitch(t *testing.T) {
	h := newHarness(t)
	owner := h.token(admin.RoleOwner)
	h.putUser("u1", "bob@example.test", true)
	h.waitState(appHook, "u1", bridge.StateSynced)

	// Switching on reconciles the app's whole scope in a job.
	r := h.do(http.MethodPut, "/admin/v1/apps/idle/provisioning", owner, `{"enabled": true}`)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var on struct {
		App bridge.AppInfo
		Job *bridge.Job
	}
	r.decode(t, &on)
	require.True(t, on.App.Provisioning)
	require.True(t, on.App.ProvisioningSet)
	require.NotNil(t, on.Job, "switching on starts a job")
	require.Equal(t, bridge.JobDone, h.waitJob(on.Job.ID).State)
	st := h.waitState(appIdle, "u1", bridge.StateSynced)
	acct, ok := h.idle.Account(st.AccountID)
	require.True(t, ok)
	require.Equal(t, "bob@example.test", acct.Fields["user_name"])

	// Setting the current value again starts nothing.
	r = h.do(http.MethodPut, "/admin/v1/apps/idle/provisioning", owner, `{"enabled": true}`)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), `"job": null`)

	// Switched off, directory changes stop flowing to the app.
	r = h.do(http.MethodPut, "/admin/v1/apps/hook/provisioning", owner, `{"enabled": false}`)
	require.Equal(t, http.StatusOK, r.status)
	var off struct{ App bridge.AppInfo }
	r.decode(t, &off)
	require.False(t, off.App.Provisioning)
	h.putUser("u2", "carol@example.test", true)
	h.waitState(appIdle, "u2", bridge.StateSynced)
	require.Equal(t, bridge.StateNotInScope, h.userStatus(appHook, "u2").State,
		"a user created while provisioning is off reached the app")
}

func TestQuickSyncJobLifecycle(t *testing.T) {
	h := newHarness(t)
	owner := h.token(admin.RoleOwner)
	h.putUser("u1", "dan@example.test", true)
	h.putUser("u2", "eve@example.test", true)
	h.waitState(appHook, "u1", bridge.StateSynced)
	h.waitState(appHook, "u2", bridge.StateSynced)

	// While the app is down, a quick sync cannot finish.
	h.gate.set(http.StatusServiceUnavailable)
	r := h.do(http.MethodPost, "/admin/v1/apps/hook/sync", owner, "")
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	var job bridge.Job
	r.decode(t, &job)
	require.Equal(t, "/admin/v1/jobs/"+job.ID, r.header.Get("Location"))
	require.Equal(t, bridge.JobRunning, job.State)
	require.True(t, job.Force)
	require.False(t, job.AllInScope)

	var got bridge.Job
	h.get("/admin/v1/jobs/"+job.ID, &got)
	require.Equal(t, job.ID, got.ID)
	require.Equal(t, appHook, got.App)
	require.Equal(t, bridge.JobRunning, got.State)

	// One quick sync of an app at a time; the refusal names the running one.
	r = h.do(http.MethodPost, "/admin/v1/apps/hook/sync", owner, `{"all_in_scope": true}`)
	require.Equal(t, http.StatusConflict, r.status, "body: %s", r.body)
	e := r.apiError(t)
	require.Equal(t, "conflict", e.Code)
	require.Equal(t, job.ID, e.JobID)

	// Cancelling asks; the job stops at its next look at the record.
	r = h.do(http.MethodDelete, "/admin/v1/jobs/"+job.ID, owner, "")
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	r.decode(t, &got)
	require.True(t, got.CancelRequested)
	got = h.waitJob(job.ID)
	require.Equal(t, bridge.JobCancelled, got.State)
	require.False(t, got.Finished.IsZero())

	// Cancelling a finished job changes nothing.
	r = h.do(http.MethodPost, "/admin/v1/jobs/"+job.ID+"/cancel", owner, "")
	require.Equal(t, http.StatusAccepted, r.status)
	r.decode(t, &got)
	require.Equal(t, bridge.JobCancelled, got.State)

	// Once the app is back, a quick sync of the whole scope succeeds.
	h.gate.set(0)
	r = h.do(http.MethodPost, "/admin/v1/apps/hook/sync", owner, `{"all_in_scope": true}`)
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	r.decode(t, &job)
	require.True(t, job.AllInScope)
	got = h.waitJob(job.ID)
	require.Equal(t, bridge.JobDone, got.State, "job: %+v", got)
	require.Equal(t, 2, got.Total)
	require.Equal(t, 2, got.Done)
	require.Zero(t, got.Failed)

	for _, path := range []string{"/admin/v1/jobs/no-such-job", "/admin/v1/jobs/no-such-job/cancel"} {
		method := http.MethodGet
		if strings.HasSuffix(path, "/cancel") {
			method = http.MethodPost
		}
		r = h.do(method, path, owner, "")
		require.Equal(t, http.StatusNotFound, r.status, "%s %s: %s", method, path, r.body)
	}
	r = h.do(http.MethodDelete, "/admin/v1/jobs/no-such-job", owner, "")
	require.Equal(t, http.StatusNotFound, r.status)
}

func TestDeadLettersAndReplay(t *testing.T) {
	h := newHarness(t)
	owner := h.token(admin.RoleOwner)

	// The app refuses the user for good: it becomes a dead letter at once.
	h.gate.set(http.StatusUnprocessableEntity)
	h.putUser("u1", "frank@example.test", true)
	var dead struct {
		DeadLetters []bridge.DeadLetter `json:"dead_letters"`
		Next        string
	}
	eventually(t, func() bool {
		h.get("/admin/v1/apps/hook/deadletters", &dead)
		return len(dead.DeadLetters) == 1
	}, "a dead letter for u1")
	require.Equal(t, "u1", dead.DeadLetters[0].User)
	require.Equal(t, "create", dead.DeadLetters[0].Op)
	require.Contains(t, dead.DeadLetters[0].Error, "422")

	st := h.waitState(appHook, "u1", bridge.StateFailed)
	require.NotEmpty(t, st.Error)
	var failed struct{ Users []bridge.UserStatus }
	h.get("/admin/v1/apps/hook/users?state=failed", &failed)
	require.Len(t, failed.Users, 1)
	require.Equal(t, "u1", failed.Users[0].User)
	var info bridge.AppInfo
	h.get("/admin/v1/apps/hook", &info)
	require.Equal(t, 1, info.DeadLetters)

	// Replaying needs a writer and an existing dead letter.
	r := h.do(http.MethodPost, "/admin/v1/apps/hook/deadletters/u1/replay", h.token("viewer"), "")
	require.Equal(t, http.StatusForbidden, r.status)
	r = h.do(http.MethodPost, "/admin/v1/apps/hook/deadletters/u9/replay", owner, "")
	require.Equal(t, http.StatusNotFound, r.status, "body: %s", r.body)

	// Once the cause is fixed, a replay provisions the user.
	h.gate.set(0)
	r = h.do(http.MethodPost, "/admin/v1/apps/hook/deadletters/u1/replay", owner, "")
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	st = h.waitState(appHook, "u1", bridge.StateSynced)
	acct, ok := h.hook.Account(st.AccountID)
	require.True(t, ok)
	require.Equal(t, "frank@example.test", acct.Fields["user_name"])
	h.get("/admin/v1/apps/hook/deadletters", &dead)
	require.Empty(t, dead.DeadLetters)
	r = h.do(http.MethodPost, "/admin/v1/apps/hook/deadletters/u1/replay", owner, "")
	require.Equal(t, http.StatusNotFound, r.status, "a dead letter is replayed once")

	// The provisioning log shows the refused create and the good one.
	var log struct{ Operations []bridge.Operation }
	eventually(t, func() bool {
		h.get("/admin/v1/apps/hook/log?limit=10", &log)
		return len(log.Operations) >= 2
	}, "two operations in the log")
	require.Equal(t, "ok", log.Operations[0].Outcome, "newest first")
	require.Equal(t, "create", log.Operations[0].Op)
	require.Equal(t, "error", log.Operations[len(log.Operations)-1].Outcome)
}
