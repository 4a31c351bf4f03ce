package bridge_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/config"
)

// countingHandler counts log records by message.
type countingHandler struct {
	mu     *sync.Mutex
	counts map[string]int
}

func newCountingHandler() countingHandler {
	return countingHandler{mu: &sync.Mutex{}, counts: map[string]int{}}
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h countingHandler) WithGroup(string) slog.Handler            { return h }

func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.counts[r.Message]++
	h.mu.Unlock()
	return nil
}

func (h countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[msg]
}

// TestRevokedCredentialsPauseTheApp: an app that answers 401 to every
// request is at fault as a whole. Its users wait without using up their
// tries (none becomes a dead letter however long it lasts), the app's
// status says why, the pause and the recovery are logged once each, and
// everything is delivered once the credential works again.
func TestRevokedCredentialsPauseTheApp(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	logs := newCountingHandler()
	tune := fastTuning
	tune.MaxAttempts = 3
	e, err := bridge.New(bridge.Options{
		Store: store, Catalog: catalog(t), Apps: []config.App{scimApp("crm", tg)},
		Kinds: kinds(), Replica: "r1", Tuning: tune, Logger: slog.New(logs),
	})
	require.NoError(t, err)
	start(t, e)

	users := people("auth", 20)
	putUsers(t, store, users...)
	eventually(t, 10*time.Second, func() bool { return allHeld(tg, users) }, "users created")

	tg.unauthorized.Store(true)
	for i := range users {
		users[i].Title = "Revoked"
	}
	users = append(users, user{ID: "new1", UserName: "newcomer", Given: "N", Family: "Ew"})
	putUsers(t, store, users...)

	eventually(t, 10*time.Second, func() bool {
		info, err := e.App(ctx, "crm")
		require.NoError(t, err)
		return info.Fault != nil
	}, "the app's status shows the fault")
	info, err := e.App(ctx, "crm")
	require.NoError(t, err)
	require.Equal(t, bridge.FaultAuth, info.Fault.Reason)
	require.Contains(t, info.Fault.Error, "401")

	// Many more refusals than a user has tries.
	eventually(t, 20*time.Second, func() bool {
		return tg.refused.Load() > int64(4*tune.MaxAttempts)
	}, "the credentials probed again and again")
	dls, _, err := e.DeadLetters(ctx, "crm", "", 100)
	require.NoError(t, err)
	require.Empty(t, dls, "an app-wide fault makes no dead letter")
	st := waitState(t, e, "crm", "new1", bridge.StatePending)
	require.Zero(t, st.Attempts, "no try of the user is used up")
	require.Contains(t, st.Error, "refused the credentials")

	tg.unauthorized.Store(false)
	eventually(t, 20*time.Second, func() bool { return allHeld(tg, users) },
		"every user delivered once the credential works")
	info, err = e.App(ctx, "crm")
	require.NoError(t, err)
	require.Nil(t, info.Fault, "the fault is cleared")
	dls, _, err = e.DeadLetters(ctx, "crm", "", 100)
	require.NoError(t, err)
	require.Empty(t, dls)
	require.Equal(t, 1, logs.count("app refused the credentials, pausing its work"))
	require.Equal(t, 1, logs.count("app accepts the credentials again, resuming its work"))
	require.Equal(t, len(users), tg.count())
}
