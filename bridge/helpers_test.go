package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/connector/scimclient"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/internal/redistest"
	"github.com/scim-bridge/scim-bridge/mappings"
	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
	"github.com/scim-bridge/scim-bridge/state/redisstore"
)

// tokenEnv holds the bearer token the scim connector sends to targets.
const tokenEnv = "BRIDGE_TEST_TARGET_TOKEN"

// TestMain sets the credentials the tests' connectors read from the
// environment, once, before any test or benchmark runs.
func TestMain(m *testing.M) {
	_ = os.Setenv(tokenEnv, "test-token")
	_ = os.Setenv(hookSecretEnv, "bench-secret")
	os.Exit(m.Run())
}

// fastTuning keeps tests quick: short leases, polls and backoffs.
var fastTuning = bridge.Tuning{
	LeaseTTL:     3 * time.Second,
	CallTimeout:  time.Second,
	PollInterval: 100 * time.Millisecond,
	ClaimIdle:    2 * time.Second,
	BackoffBase:  20 * time.Millisecond,
	BackoffMax:   300 * time.Millisecond,
	MaxAttempts:  40,
	StallAfter:   2 * time.Second,
	SyncPage:     100,
}

func openBolt(tb testing.TB) state.Store {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "bridge.db"), boltstore.Options{})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func openRedis(tb testing.TB, srv *redistest.Server) state.Store {
	tb.Helper()
	s, err := redisstore.Open(context.Background(), srv.URL(), redisstore.Options{
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func catalog(tb testing.TB) *mappings.Catalog {
	tb.Helper()
	c, err := mappings.LoadCatalog()
	require.NoError(tb, err)
	return c
}

// kinds links the real scim connector.
func kinds() bridge.Kinds {
	return bridge.Kinds{scimclient.Kind: scimclient.Factory()}
}

// scimApp is an app instance of the scim catalog entry provisioning into tg.
func scimApp(name string, tg *target) config.App {
	return config.App{
		Name:         name,
		Catalog:      "scim",
		Provisioning: true,
		Connector: map[string]any{
			"kind": "scim", "base_url": tg.srv.URL, "token": map[string]any{"env": tokenEnv},
		},
		Scope:       config.Scope{All: true},
		Deprovision: bridge.PolicyDeactivate,
		Concurrency: 8,
	}
}

// newEngine builds an engine on store for apps, with fastTuning.
func newEngine(tb testing.TB, store state.Store, replica string, apps ...config.App) *bridge.Engine {
	tb.Helper()
	return newTunedEngine(tb, store, replica, fastTuning, apps...)
}

func newTunedEngine(tb testing.TB, store state.Store, replica string, tune bridge.Tuning,
	apps ...config.App) *bridge.Engine {
	tb.Helper()
	e, err := bridge.New(bridge.Options{
		Store:   store,
		Catalog: catalog(tb),
		Apps:    apps,
		Kinds:   kinds(),
		Replica: replica,
		Tuning:  tune,
		Logger:  testLogger(tb),
	})
	require.NoError(tb, err)
	return e
}

func testLogger(tb testing.TB) *slog.Logger {
	if os.Getenv("BRIDGE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// running is an engine started in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// start runs e until the test ends or stop is called.
func start(tb testing.TB, e *bridge.Engine) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- e.Run(ctx) }()
	tb.Cleanup(r.stop)
	return r
}

// stop ends the engine and waits for Run to return.
func (r *running) stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
}

// user is a directory user as the SCIM endpoint stores it.
type user struct {
	ID, UserName, Given, Family, Title string
	// Email is the work email; empty means userName@example.test.
	Email      string
	ExternalID string
	Inactive   bool
}

func (u user) data() []byte {
	email := u.Email
	if email == "" {
		email = u.UserName + "@example.test"
	}
	doc := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id":       u.ID,
		"userName": u.UserName,
		"name":     map[string]any{"givenName": u.Given, "familyName": u.Family},
		"emails": []any{map[string]any{
			"value": email, "type": "work", "primary": true,
		}},
		"active": !u.Inactive,
	}
	if u.Title != "" {
		doc["title"] = u.Title
	}
	if u.ExternalID != "" {
		doc["externalId"] = u.ExternalID
	}
	raw, _ := json.Marshal(doc)
	return raw
}

func (u user) resource() state.Resource {
	return state.Resource{
		Kind: state.KindUser, ID: u.ID, Data: u.data(),
		Unique: []state.IndexKey{{Name: "userName", Value: strings.ToLower(u.UserName)}},
	}
}

// putUsers creates or replaces users in the directory, one commit each
// batch of up to 500.
func putUsers(tb testing.TB, s state.Store, users ...user) {
	tb.Helper()
	ctx := context.Background()
	for len(users) > 0 {
		n := min(len(users), 500)
		var writes []state.Write
		for _, u := range users[:n] {
			op := state.OpCreate
			if _, err := s.Get(ctx, state.KindUser, u.ID); err == nil {
				op = state.OpReplace
			} else if !errors.Is(err, state.ErrNotFound) {
				require.NoError(tb, err)
			}
			writes = append(writes, state.Write{Op: op, Resource: u.resource()})
		}
		_, err := s.Commit(ctx, writes...)
		require.NoError(tb, err)
		users = users[n:]
	}
}

func deleteUser(tb testing.TB, s state.Store, id string) {
	tb.Helper()
	_, err := s.Commit(context.Background(), state.Write{Op: state.OpDelete,
		Resource: state.Resource{Kind: state.KindUser, ID: id}})
	require.NoError(tb, err)
}

// putGroup creates or replaces a group with members.
func putGroup(tb testing.TB, s state.Store, id, name string, members ...string) {
	tb.Helper()
	ctx := context.Background()
	op := state.OpCreate
	if _, err := s.Get(ctx, state.KindGroup, id); err == nil {
		op = state.OpReplace
	}
	raw, _ := json.Marshal(map[string]any{"id": id, "displayName": name})
	// Beside the member ids, the SCIM layer keeps an index term for the
	// group's name among the refs; the engine must tell the two apart.
	refs := append([]string{"displayName:" + strings.ToLower(name)}, members...)
	_, err := s.Commit(ctx, state.Write{Op: op, Resource: state.Resource{
		Kind: state.KindGroup, ID: id, Data: raw, Refs: refs,
	}})
	require.NoError(tb, err)
}

// putGroupExt creates or replaces a group with an externalId and members,
// without claiming its displayName as unique.
func putGroupExt(tb testing.TB, s state.Store, id, name, externalID string, members ...string) {
	tb.Helper()
	ctx := context.Background()
	op := state.OpCreate
	if _, err := s.Get(ctx, state.KindGroup, id); err == nil {
		op = state.OpReplace
	}
	raw, _ := json.Marshal(map[string]any{"id": id, "displayName": name, "externalId": externalID})
	_, err := s.Commit(ctx, state.Write{Op: op, Resource: state.Resource{
		Kind: state.KindGroup, ID: id, Data: raw, Refs: members,
	}})
	require.NoError(tb, err)
}

// people returns n users u0000... with userNames prefix0000...
func people(prefix string, n int) []user {
	out := make([]user, n)
	for i := range out {
		out[i] = user{
			ID: fmt.Sprintf("u%05d", i), UserName: fmt.Sprintf("%s%05d", prefix, i),
			Given: "Given", Family: fmt.Sprintf("Family %d", i), Title: "Engineer",
		}
	}
	return out
}

// eventually polls cond until it holds or timeout passes.
func eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string,
	args ...any) {
	tb.Helper()
	eventuallyMsg(tb, timeout, cond, func() string { return fmt.Sprintf(format, args...) })
}

// eventuallyMsg is eventually with a message built on failure, so that it
// can show what the polls saw last.
func eventuallyMsg(tb testing.TB, timeout time.Duration, cond func() bool, msg func() string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v: %s", timeout, msg())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holds reports whether tg's account for u carries u's current data.
func holds(tg *target, u user) bool {
	acct := tg.account(u.UserName)
	if acct == nil {
		return false
	}
	name, _ := acct["name"].(map[string]any)
	title, _ := acct["title"].(string)
	active, _ := acct["active"].(bool)
	return name["familyName"] == u.Family && title == u.Title && active == !u.Inactive
}

// allHeld reports whether tg holds every user in its current state.
func allHeld(tg *target, users []user) bool {
	for _, u := range users {
		if !holds(tg, u) {
			return false
		}
	}
	return true
}

// status reads a user's provisioning status, failing the test on error.
func status(tb testing.TB, e *bridge.Engine, app, id string) bridge.UserStatus {
	tb.Helper()
	st, err := e.UserStatus(context.Background(), app, id)
	require.NoError(tb, err)
	return st
}

// waitState waits until a user's status reads want and returns it.
func waitState(tb testing.TB, e *bridge.Engine, app, id string, want bridge.State) bridge.UserStatus {
	tb.Helper()
	var st bridge.UserStatus
	eventuallyMsg(tb, 10*time.Second, func() bool {
		st = status(tb, e, app, id)
		return st.State == want
	}, func() string {
		return fmt.Sprintf("user %s of %s to be %s (last: %+v)", id, app, want, st)
	})
	return st
}

// waitJob waits for a job to reach a final state and returns it.
func waitJob(tb testing.TB, e *bridge.Engine, id string, timeout time.Duration) bridge.Job {
	tb.Helper()
	var j bridge.Job
	eventuallyMsg(tb, timeout, func() bool {
		var err error
		j, err = e.Job(context.Background(), id)
		require.NoError(tb, err)
		return j.State != bridge.JobRunning
	}, func() string { return fmt.Sprintf("job %s to finish (last: %+v)", id, j) })
	return j
}
