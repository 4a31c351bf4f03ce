package connectortest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// badRequest is the body of the injected 400: a SCIM error (RFC 7644
// section 3.12), whose "detail" every HTTP connector kind reads.
const badRequest = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],` +
	`"status":"400","scimType":"invalidValue","detail":"injected: bad attribute value"}`

// call is one connector method applied to a known account.
type call struct {
	name string
	do   func(ctx context.Context) error
}

// calls returns every Connector method, aimed at account id; Create and
// Lookup use fresh, so that a wrongly successful call is visible.
func calls(tg Target, id string, fresh Person) []call {
	c := tg.Connector
	return []call{
		{"create", func(ctx context.Context) error {
			_, err := c.Create(ctx, tg.Record(fresh))
			return err
		}},
		{"update", func(ctx context.Context) error { return c.Update(ctx, id, tg.Record(fresh)) }},
		{"deactivate", func(ctx context.Context) error { return c.Deactivate(ctx, id) }},
		{"delete", func(ctx context.Context) error { return c.Delete(ctx, id) }},
		{"lookup", func(ctx context.Context) error {
			_, err := c.Lookup(ctx, connector.Key{Field: connector.KeyUserName, Value: fresh.UserName})
			return err
		}},
	}
}

func testFailures(t *testing.T, tg Target) {
	if tg.Faults == nil {
		t.Skip("the target cannot inject failures")
	}
	ctx := context.Background()
	p := newPerson(t)
	id := create(t, tg, p)
	fresh := newPerson(t)

	date := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	faults := []struct {
		name       string
		fault      Fault
		wantRetry  bool
		wantAfter  time.Duration // least wait wanted
		afterSlack time.Duration // how much more is accepted
		wantDetail string
		wantKind   error // a sentinel the error must wrap, when set
	}{
		{"429 retry after seconds", Fault{Status: 429, RetryAfter: "7"}, true, 7 * time.Second, 0, "", nil},
		{"503 retry after date", Fault{Status: 503, RetryAfter: date}, true,
			25 * time.Second, 6 * time.Second, "", nil},
		{"503 without header", Fault{Status: 503}, true, 0, 0, "", nil},
		{"500", Fault{Status: 500}, true, 0, 0, "", nil},
		{"502", Fault{Status: 502, RetryAfter: "2"}, true, 2 * time.Second, 0, "", nil},
		{"400 with detail", Fault{Status: 400, Body: badRequest}, false, 0, 0,
			"injected: bad attribute value", nil},
		{"403", Fault{Status: 403}, false, 0, 0, "", nil},
		{"401", Fault{Status: 401}, false, 0, 0, "", connector.ErrUnauthorized},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			for _, c := range calls(tg, id, fresh) {
				tg.Faults.Clear()
				tg.Faults.Inject(f.fault)
				err := c.do(ctx)
				tg.Faults.Clear()

				var ce *connector.Error
				require.ErrorAs(t, err, &ce, "%s: got %v, want a *connector.Error", c.name, err)
				require.Equal(t, f.fault.Status, ce.Status,
					"%s: got status %d, want %d", c.name, ce.Status, f.fault.Status)
				retry, after := connector.Retryable(err)
				require.Equal(t, f.wantRetry, retry,
					"%s: got retryable %v, want %v (err %v)", c.name, retry, f.wantRetry, err)
				require.True(t, after >= f.wantAfter && after <= f.wantAfter+f.afterSlack,
					"%s: got retry after %v, want %v (+%v)", c.name, after, f.wantAfter, f.afterSlack)
				require.Contains(t, err.Error(), f.wantDetail,
					"%s: got %q, want the application's detail", c.name, err)
				if f.wantKind != nil {
					requireKind(t, err, f.wantKind, c.name)
				}
			}
		})
	}

	// None of the failed calls reached the application.
	requireHolds(t, tg, id, p, true)
	_, err := tg.Connector.Lookup(ctx,
		connector.Key{Field: connector.KeyUserName, Value: fresh.UserName})
	requireKind(t, err, connector.ErrNotFound, "lookup after failed creates")
}

func testContext(t *testing.T, tg Target) {
	p := newPerson(t)
	id := create(t, tg, p)
	fresh := newPerson(t)

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, c := range calls(tg, id, fresh) {
			err := c.do(ctx)
			require.ErrorIs(t, err, context.Canceled, "%s: got %v, want context.Canceled", c.name, err)
			retry, _ := connector.Retryable(err)
			require.False(t, retry, "%s: got retryable %v, want a canceled call to be final", c.name, err)
		}
		requireHolds(t, tg, id, p, true)
	})

	t.Run("deadline", func(t *testing.T) {
		if tg.Faults == nil {
			t.Skip("the target cannot delay answers")
		}
		tg.Faults.Inject(Fault{Delay: time.Minute})
		defer tg.Faults.Clear()

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := tg.Connector.Create(ctx, tg.Record(fresh))
		require.ErrorIs(t, err, context.DeadlineExceeded, "create: got %v, want a deadline error", err)
		retry, _ := connector.Retryable(err)
		require.True(t, retry, "create: got retryable false for %v, want true", err)
	})

	_, err := tg.Connector.Lookup(context.Background(),
		connector.Key{Field: connector.KeyUserName, Value: fresh.UserName})
	requireKind(t, err, connector.ErrNotFound, "lookup after cut-short creates")
}
