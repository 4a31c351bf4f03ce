package bridge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/redistest"
)

// TestReplicasShareRedis runs two and three engines on one real Redis
// while users are created and changed in waves, and kills one engine in
// the middle of its work. Every user must reach the app in its latest
// state, with one account each, no dead letter, and never two requests
// about one account in flight at once.
func TestReplicasShareRedis(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) {
			ctx := context.Background()
			srv := redistest.Start(t, redistest.Options{})
			tg := newTarget(t)
			tg.delay.Store(int64(time.Millisecond))
			app := scimApp("crm", tg)
			app.Concurrency = 4
			directory := openRedis(t, srv)

			var stores []*killable
			var runs []*running
			for i := range n {
				s := &killable{Store: openRedis(t, srv)}
				stores = append(stores, s)
				runs = append(runs, start(t, newEngine(t, s, fmt.Sprintf("r%d", i), app)))
			}
			survivor := newEngine(t, stores[n-1], "status-reader", app)

			users := people("rep", 400)
			putUsers(t, directory, users...)
			for wave := range 3 {
				for i := range users {
					if i%3 == wave {
						users[i].Title = fmt.Sprintf("wave %d", wave)
					}
				}
				putUsers(t, directory, users...)
				if wave == 1 {
					// Kill the first replica while it holds work itself,
					// so that the others must take its leases over.
					eventually(t, 10*time.Second, func() bool {
						return stores[0].leased.Load() > 0
					}, "replica 0 holding work")
					stores[0].kill()
					runs[0].stop()
				}
				time.Sleep(100 * time.Millisecond)
			}

			eventually(t, 90*time.Second, func() bool { return allHeld(tg, users) },
				"every user in its latest state")
			require.Equal(t, len(users), tg.count(), "one account per user")
			require.Empty(t, tg.overlapping(), "one user pushed by two workers at once")
			dls, _, err := survivor.DeadLetters(ctx, "crm", "", 10)
			require.NoError(t, err)
			require.Empty(t, dls)
		})
	}
}
