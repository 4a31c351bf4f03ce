package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// runCmd runs the command line args under ctx and returns its output.
func runCmd(ctx context.Context, args ...string) (string, string, error) {
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// syncServer starts a server with app hook provisioning into a receiver
// and the users given already synced to it.
func syncServer(t *testing.T, userNames ...string) (*server, *receiver) {
	t.Helper()
	hook := newReceiver(t)
	s := startServer(t, testConfig(t, "apps:"+hook.hookApp("hook")))
	for _, name := range userNames {
		s.waitSynced("hook", s.createUser(scimUser(name)))
	}
	return s, hook
}

// syncArgs are the arguments that point sync at s with a role's token.
func (s *server) syncArgs(role string, args ...string) []string {
	return append(args, "--url", s.url, "--token", adminToken(s.t, role), "--interval", "20ms")
}

// runningJob waits until app has a quick sync running and returns its id.
func (s *server) runningJob(app string) string {
	s.t.Helper()
	var id string
	waitFor(s.t, func() bool {
		status, info := s.call(http.MethodGet, "/admin/v1/apps/"+app, adminToken(s.t, "viewer"), nil)
		require.Equal(s.t, http.StatusOK, status)
		id, _ = info["sync_job"].(string)
		return id != ""
	}, "a quick sync of %s to run", app)
	return id
}

// jobState reads a job's state through the admin API.
func (s *server) jobState(id string) bridge.JobState {
	s.t.Helper()
	status, job := s.call(http.MethodGet, "/admin/v1/jobs/"+id, adminToken(s.t, "viewer"), nil)
	require.Equal(s.t, http.StatusOK, status)
	return bridge.JobState(job["state"].(string))
}

func TestSyncWatchesJobToTheEnd(t *testing.T) {
	s, _ := syncServer(t, "a@example.test", "b@example.test")

	out, _, err := runCmd(context.Background(), s.syncArgs("admin", "sync", "--app", "hook")...)
	require.NoError(t, err, "output:\n%s", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Regexp(t, `^job [0-9a-f-]{36} running: 0/0 users \(0%\), 0 failed, 0 skipped, -$`, lines[0],
		"a plain first line when the output is not a terminal")
	require.Regexp(t, `^job [0-9a-f-]{36} done: 2/2 users \(100%\), 0 failed, 0 skipped, [0-9.]+ users/s$`,
		lines[len(lines)-2], "the final state is printed")
	require.Equal(t, "quick sync of hook done: 2 pushed, 0 failed, 0 skipped", lines[len(lines)-1])
}

func TestSyncFromEnvironmentAllInScope(t *testing.T) {
	s, _ := syncServer(t, "c@example.test")
	t.Setenv(envBridgeURL, s.url)
	t.Setenv(envAdminToken, adminToken(t, "owner"))

	out, _, err := runCmd(context.Background(),
		"sync", "--app", "hook", "--all-in-scope", "--interval", "20ms")
	require.NoError(t, err, "output:\n%s", out)
	require.Contains(t, out, "quick sync of hook done: 1 pushed, 0 failed, 0 skipped\n")
}

func TestSyncNoWaitThenWatch(t *testing.T) {
	s, _ := syncServer(t, "d@example.test")

	args := s.syncArgs("owner", "sync", "--app", "hook", "--no-wait")
	out, _, err := runCmd(context.Background(), args...)
	require.NoError(t, err)
	id := strings.TrimSuffix(out, "\n")
	require.Regexp(t, `^[0-9a-f-]{36}$`, id, "--no-wait prints the job id alone")

	out, _, err = runCmd(context.Background(), s.syncArgs("viewer", "sync", "watch", id)...)
	require.NoError(t, err, "output:\n%s", out)
	require.Contains(t, out, "quick sync of hook done: 1 pushed")
	require.Equal(t, bridge.JobDone, s.jobState(id))
}

func TestSyncRefusals(t *testing.T) {
	s, _ := syncServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	t.Setenv(envBridgeURL, "")
	t.Setenv(envAdminToken, "")

	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad token", []string{"sync", "--app", "hook", "--url", s.url, "--token", "nonsense"},
			[]string{"refused the admin token (401)", "invalid bearer token"}},
		{"viewer", s.syncArgs("viewer", "sync", "--app", "hook"),
			[]string{"may not do this (403)", "this needs the owner or admin role"}},
		{"unknown app", s.syncArgs("owner", "sync", "--app", "nope"),
			[]string{"start quick sync of nope", "(404)", `unknown app "nope"`}},
		{"unknown job", s.syncArgs("owner", "sync", "watch", "no-such-job"),
			[]string{"(404)", `job "no-such-job"`}},
		{"cancel unknown job", s.syncArgs("owner", "sync", "cancel", "no-such-job"),
			[]string{"(404)", `job "no-such-job"`}},
		{"no token", []string{"sync", "--app", "hook", "--url", s.url},
			[]string{"no admin token: pass --token or set BRIDGE_ADMIN_TOKEN"}},
		{"bad url", []string{"sync", "--app", "hook", "--url", "ftp://host", "--token", "x"},
			[]string{`bridge url "ftp://host": want an http or https URL`}},
		{"nobody listening", []string{"sync", "--app", "hook", "--url", closed, "--token", "x"},
			[]string{"call the bridge", "connection refused"}},
		{"no app", []string{"sync", "--url", s.url, "--token", "x"},
			[]string{`required flag(s) "app" not set`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runCmd(context.Background(), c.args...)
			require.Error(t, err)
			for _, w := range c.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestSyncWithFailedUsersFails(t *testing.T) {
	s, hook := syncServer(t, "e@example.test", "f@example.test")
	hook.fail(http.StatusUnprocessableEntity)

	_, _, err := runCmd(context.Background(), s.syncArgs("owner", "sync", "--app", "hook")...)
	require.EqualError(t, err, "quick sync of hook done, but 2 users failed (0 pushed, 2 failed, 0 skipped); "+
		"list them with GET /admin/v1/apps/hook/users?state=failed")
	var ec exitCode
	require.False(t, errors.As(err, &ec), "main prints the error and exits with 1")
}

func TestSyncCancel(t *testing.T) {
	s, hook := syncServer(t, "g@example.test")
	hook.fail(http.StatusServiceUnavailable) // the job cannot end while the app is down
	defer hook.fail(0)

	type result struct {
		out string
		err error
	}
	watched := make(chan result, 1)
	go func() {
		out, _, err := runCmd(context.Background(), s.syncArgs("owner", "sync", "--app", "hook")...)
		watched <- result{out, err}
	}()
	id := s.runningJob("hook")

	// Another quick sync of the app is refused and names the running one.
	_, _, err := runCmd(context.Background(), s.syncArgs("owner", "sync", "--app", "hook")...)
	require.ErrorContains(t, err, "a quick sync of hook is already running: job "+id)
	require.ErrorContains(t, err, "scim-bridge sync cancel "+id)

	out, _, err := runCmd(context.Background(), s.syncArgs("admin", "sync", "cancel", id)...)
	require.NoError(t, err)
	require.Equal(t, "cancel of job "+id+" requested; it stops at its next checkpoint\n", out)

	var r result
	select {
	case r = <-watched:
	case <-time.After(60 * time.Second):
		t.Fatal("sync did not return after its job was cancelled")
	}
	require.EqualError(t, r.err, "quick sync of hook cancelled (0 pushed, 0 failed, 0 skipped)")
	require.Contains(t, r.out, "job "+id+" cancelled: ")

	out, _, err = runCmd(context.Background(), s.syncArgs("admin", "sync", "cancel", id)...)
	require.NoError(t, err)
	require.Equal(t, "job "+id+" has already ended: cancelled\n", out)
}

func TestSyncInterruptLeavesJobRunning(t *testing.T) {
	s, hook := syncServer(t, "h@example.test")
	hook.fail(http.StatusServiceUnavailable)
	defer hook.fail(0)

	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	type result struct {
		errOut string
		err    error
	}
	watched := make(chan result, 1)
	go func() {
		_, errOut, err := runCmd(ctx, s.syncArgs("owner", "sync", "--app", "hook")...)
		watched <- result{errOut, err}
	}()
	id := s.runningJob("hook")
	interrupt() // what Ctrl-C does to the command's context

	var r result
	select {
	case r = <-watched:
	case <-time.After(60 * time.Second):
		t.Fatal("sync did not return after the interrupt")
	}
	requireExit(t, r.err, exitInterrupted)
	require.Contains(t, r.errOut, "stopped watching job "+id+"; it goes on in the bridge.\n")
	require.Contains(t, r.errOut,
		"cancel it: scim-bridge sync cancel "+id+"  (DELETE /admin/v1/jobs/"+id+")\n")
	require.Equal(t, bridge.JobRunning, s.jobState(id), "the interrupt stops watching, not the job")

	_, _, err := runCmd(context.Background(), s.syncArgs("owner", "sync", "cancel", id)...)
	require.NoError(t, err)
}

func TestProgressOnATerminal(t *testing.T) {
	var out bytes.Buffer
	p := &progress{out: &out, terminal: true, now: time.Now}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	j := bridge.Job{ID: "j1", State: bridge.JobRunning, Total: 200, Created: start, Updated: start}
	p.show(j)
	j.Done, j.Failed, j.Skipped, j.Updated = 90, 6, 4, start.Add(4*time.Second)
	p.show(j)
	j.State, j.Done, j.Finished = bridge.JobDone, 190, start.Add(8*time.Second)
	p.show(j)
	p.stop()

	want := "\rrunning   [------------------------]   0%  0/200  failed 0  skipped 0  -\x1b[K" +
		"\rrunning   [############------------]  50%  100/200  failed 6  skipped 4  25 users/s\x1b[K" +
		"\rdone      [########################] 100%  200/200  failed 6  skipped 4  25 users/s\x1b[K" +
		"\n"
	require.Equal(t, want, out.String())
}

func TestProgressInALog(t *testing.T) {
	var out bytes.Buffer
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := start
	p := &progress{out: &out, now: func() time.Time { return now }}
	j := bridge.Job{ID: "j1", State: bridge.JobRunning, Total: 10, Created: start, Updated: start}
	for i := range 6 {
		now = start.Add(time.Duration(i) * time.Second)
		j.Done, j.Updated = i, now
		p.show(j)
	}
	now = now.Add(2 * time.Second)
	j.State, j.Done, j.Finished = bridge.JobDone, 10, now
	p.show(j)
	p.stop()

	require.Equal(t, "job j1 running: 0/10 users (0%), 0 failed, 0 skipped, -\n"+
		"job j1 running: 5/10 users (50%), 0 failed, 0 skipped, 1.0 users/s\n"+
		"job j1 done: 10/10 users (100%), 0 failed, 0 skipped, 1.4 users/s\n", out.String(),
		"a line every five seconds, and the final state")
}
