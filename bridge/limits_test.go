package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConcurrencyCap: however many users wait, no more requests are in
// flight to the app at once than its concurrency.
func TestConcurrencyCap(t *testing.T) {
	store := openBolt(t)
	tg := newTarget(t)
	tg.delay.Store(int64(20 * time.Millisecond))
	app := scimApp("crm", tg)
	app.Concurrency = 3
	start(t, newEngine(t, store, "r1", app))

	users := people("cap", 60)
	putUsers(t, store, users...)
	eventually(t, 30*time.Second, func() bool { return allHeld(tg, users) }, "users created")
	_, peak, _ := tg.traffic()
	require.LessOrEqual(t, peak, app.Concurrency, "requests in flight at once")
}

// TestRateLimit: in any one-second window the app receives no more than
// its burst and rate allow. The bound adds a second of slack for requests
// that the limiter let go apart but that arrive together on a loaded
// machine; an engine without the limit sends all of them within it.
func TestRateLimit(t *testing.T) {
	store := openBolt(t)
	tg := newTarget(t)
	app := scimApp("crm", tg)
	app.RateLimit, app.Burst = 50, 5
	start(t, newEngine(t, store, "r1", app))

	users := people("rate", 120)
	putUsers(t, store, users...)
	eventually(t, 30*time.Second, func() bool { return allHeld(tg, users) }, "users created")

	arrivals, _, _ := tg.traffic()
	const window, slack = time.Second, time.Second
	most := app.Burst + int(app.RateLimit*(window+slack).Seconds())
	require.LessOrEqual(t, busiest(arrivals, window), most, "requests in one %v", window)
}

// busiest is the most arrivals (in order) within any window of length w.
func busiest(arrivals []time.Time, w time.Duration) int {
	most, j := 0, 0
	for i := range arrivals {
		for arrivals[i].Sub(arrivals[j]) >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// TestRetryAfterHonoured: once the app answered 429 with Retry-After: 1,
// nothing reaches it before that second is over, and then every user is
// delivered.
func TestRetryAfterHonoured(t *testing.T) {
	ctx := context.Background()
	store := openBolt(t)
	tg := newTarget(t)
	tg.throttle.Store(1)
	app := scimApp("crm", tg)
	// One call at a time, so that no request was already on its way when
	// the 429 came back.
	app.Concurrency = 1
	e := newEngine(t, store, "r1", app)
	start(t, e)

	users := people("patience", 5)
	putUsers(t, store, users...)
	eventually(t, 20*time.Second, func() bool { return allHeld(tg, users) }, "users created")

	arrivals, _, throttled := tg.traffic()
	require.Len(t, throttled, 1)
	resume := throttled[0].Add(time.Second)
	for _, at := range arrivals {
		if at.After(throttled[0]) {
			require.False(t, at.Before(resume),
				"a request came %v after the 429, inside its Retry-After",
				at.Sub(throttled[0]))
		}
	}
	dls, _, err := e.DeadLetters(ctx, "crm", "", 10)
	require.NoError(t, err)
	require.Empty(t, dls)
}
