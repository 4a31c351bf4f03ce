// Package connectortest is the contract suite every connector kind passes.
//
// A kind's test calls Run with a function that returns a fresh Target: a
// new Connector, and a way to read the application it writes to without
// going through that connector, so the suite sees what really happened on
// the far side. The suite gives every account a unique userName and email,
// so one running application may serve many targets and tests.
//
// What it checks: Create, Update, Deactivate and Delete take effect on the
// far side; Update reactivates; Lookup finds by the portable keys
// connector.KeyUserName and connector.KeyEmail; ErrConflict on a duplicate
// userName (when the application enforces uniqueness) and ErrNotFound for
// missing accounts; classification of failures (retryable with Retry-After
// on 429 and 503, permanent on 4xx) when the target can inject them;
// cancellation and deadlines; concurrent use; and Bulk when the connector
// implements connector.Bulker.
package connectortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// Person is what the suite knows of a test user; Target.Record turns it
// into the fields of the connector's application.
type Person struct {
	UserName   string
	Email      string
	GivenName  string
	FamilyName string
	// Title is optional: empty means the field is cleared (a nil value).
	Title string
}

// Account is an account as the application itself holds it.
type Account struct {
	// Fields holds the account's values keyed like the connector's fields,
	// so they compare with what Record produced.
	Fields connector.Fields
	Active bool
}

// Target is one connector under test and its far side.
type Target struct {
	// Connector is a fresh connector to the application.
	Connector connector.Connector
	// Record returns the connector's fields for p; every field it holds
	// must be stored by the application and shown again by Inspect. An
	// empty Person.Title must become a nil value.
	Record func(p Person) connector.Fields
	// Inspect reads account id straight from the application. It returns
	// an error wrapping connector.ErrNotFound when there is no such account.
	Inspect func(ctx context.Context, id string) (Account, error)
	// Unique says the application refuses a second account with the same
	// userName, so Create must return ErrConflict.
	Unique bool
	// Faults, when not nil, sits in front of the application and answers
	// the connector's next requests with injected failures. Without it the
	// failure classification tests are skipped.
	Faults *Faults
}

// NewTarget returns a fresh target for one test.
type NewTarget func(t *testing.T) Target

// Run runs the whole contract against the targets newTarget returns.
func Run(t *testing.T, newTarget NewTarget) {
	t.Run("Create", func(t *testing.T) { testCreate(t, newTarget(t)) })
	t.Run("CreateConflict", func(t *testing.T) { testCreateConflict(t, newTarget(t)) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, newTarget(t)) })
	t.Run("UpdateReactivates", func(t *testing.T) { testUpdateReactivates(t, newTarget(t)) })
	t.Run("Deactivate", func(t *testing.T) { testDeactivate(t, newTarget(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newTarget(t)) })
	t.Run("Missing", func(t *testing.T) { testMissing(t, newTarget(t)) })
	t.Run("Lookup", func(t *testing.T) { testLookup(t, newTarget(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newTarget(t)) })
	t.Run("Failures", func(t *testing.T) { testFailures(t, newTarget(t)) })
	t.Run("Context", func(t *testing.T) { testContext(t, newTarget(t)) })
	t.Run("Bulk", func(t *testing.T) { testBulk(t, newTarget(t)) })
}

// newPerson returns a person no other test uses.
func newPerson(t *testing.T) Person {
	t.Helper()
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	name := "ct-" + hex.EncodeToString(b[:])
	return Person{
		UserName:   name,
		Email:      name + "@example.test",
		GivenName:  "Ada",
		FamilyName: "Lovelace " + name[3:7],
		Title:      "Engineer",
	}
}

// create makes an account for p through the connector and returns its id.
func create(t *testing.T, tg Target, p Person) string {
	t.Helper()
	id, err := tg.Connector.Create(context.Background(), tg.Record(p))
	require.NoError(t, err, "create %s", p.UserName)
	require.NotEmpty(t, id, "create %s: got an empty id", p.UserName)
	return id
}

// requireHolds checks that account id holds p's fields and is, or is not,
// active.
func requireHolds(t *testing.T, tg Target, id string, p Person, wantActive bool) {
	t.Helper()
	acct, err := tg.Inspect(context.Background(), id)
	require.NoError(t, err, "inspect %s", id)
	for field, want := range tg.Record(p) {
		if field == "active" {
			continue
		}
		got := acct.Fields[field]
		if want == nil {
			require.Nil(t, got, "account %s field %q: got %v, want it cleared", id, field, got)
			continue
		}
		// Compare printed values: JSON numbers may come back as another type.
		require.Equal(t, fmt.Sprint(want), fmt.Sprint(got),
			"account %s field %q: got %v, want %v", id, field, got, want)
	}
	require.Equal(t, wantActive, acct.Active,
		"account %s active: got %v, want %v", id, acct.Active, wantActive)
}

// requireGone checks that the application has no account id.
func requireGone(t *testing.T, tg Target, id string) {
	t.Helper()
	acct, err := tg.Inspect(context.Background(), id)
	require.ErrorIs(t, err, connector.ErrNotFound,
		"inspect %s after delete: got account %v, err %v, want ErrNotFound", id, acct, err)
}

// requireKind checks that err is the sentinel want and is not retryable.
func requireKind(t *testing.T, err, want error, what string) {
	t.Helper()
	require.ErrorIs(t, err, want, "%s: got err %v, want %v", what, err, want)
	retry, _ := connector.Retryable(err)
	require.False(t, retry, "%s: got retryable %v, want a permanent error", what, err)
}
