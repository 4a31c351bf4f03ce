package connectortest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

func testBulk(t *testing.T, tg Target) {
	ctx := context.Background()
	b, ok := tg.Connector.(connector.Bulker)
	if !ok {
		t.Skip("the connector does not implement connector.Bulker")
	}
	most, err := b.MaxBulk(ctx)
	require.NoError(t, err, "max bulk")
	if most == 0 {
		t.Skip("the application takes no bulk requests")
	}
	require.Positive(t, most, "max bulk: got %d, want zero or more", most)

	t.Run("operations", func(t *testing.T) { testBulkOperations(t, tg, b, most) })
	t.Run("too many", func(t *testing.T) { testBulkTooMany(t, tg, b, most) })
}

// bulkCase is one operation of the mixed bulk request and what it must do.
type bulkCase struct {
	name    string
	op      connector.Operation
	wantErr error
	// check verifies the far side once the request is done; res is the
	// operation's result.
	check func(t *testing.T, res connector.Result)
}

func testBulkOperations(t *testing.T, tg Target, b connector.Bulker, most int) {
	updated, deactivated, deleted := newPerson(t), newPerson(t), newPerson(t)
	updatedID := create(t, tg, updated)
	deactivatedID := create(t, tg, deactivated)
	deletedID := create(t, tg, deleted)
	goneID := create(t, tg, newPerson(t))
	require.NoError(t, tg.Connector.Delete(context.Background(), goneID), "delete")

	added := newPerson(t)
	updated.GivenName = "Bulk"
	updated.Title = ""
	cases := []bulkCase{
		{name: "create", op: connector.Operation{Kind: connector.OpCreate, Fields: tg.Record(added)},
			check: func(t *testing.T, res connector.Result) {
				require.NotEmpty(t, res.ID, "bulk create: got no id")
				requireHolds(t, tg, res.ID, added, true)
			}},
		{name: "update", op: connector.Operation{
			Kind: connector.OpUpdate, ID: updatedID, Fields: tg.Record(updated)},
			check: func(t *testing.T, _ connector.Result) {
				requireHolds(t, tg, updatedID, updated, true)
			}},
		{name: "deactivate", op: connector.Operation{Kind: connector.OpDeactivate, ID: deactivatedID},
			check: func(t *testing.T, _ connector.Result) {
				requireHolds(t, tg, deactivatedID, deactivated, false)
			}},
		{name: "delete", op: connector.Operation{Kind: connector.OpDelete, ID: deletedID},
			check: func(t *testing.T, _ connector.Result) { requireGone(t, tg, deletedID) }},
		{name: "delete missing", op: connector.Operation{Kind: connector.OpDelete, ID: goneID},
			wantErr: connector.ErrNotFound},
		{name: "update missing", op: connector.Operation{
			Kind: connector.OpUpdate, ID: goneID, Fields: tg.Record(newPerson(t))},
			wantErr: connector.ErrNotFound},
	}
	if tg.Unique {
		dup := newPerson(t)
		dup.UserName = updated.UserName
		cases = append(cases, bulkCase{name: "create duplicate",
			op:      connector.Operation{Kind: connector.OpCreate, Fields: tg.Record(dup)},
			wantErr: connector.ErrConflict})
	}

	results := runBulk(t, b, most, cases)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := results[i]
			if c.wantErr != nil {
				requireKind(t, res.Err, c.wantErr, "bulk "+c.name)
				return
			}
			require.NoError(t, res.Err, "bulk %s", c.name)
			c.check(t, res)
		})
	}
}

// runBulk sends the cases' operations in requests of at most most
// operations and returns one result per case.
func runBulk(t *testing.T, b connector.Bulker, most int, cases []bulkCase) []connector.Result {
	t.Helper()
	var results []connector.Result
	for start := 0; start < len(cases); start += most {
		end := min(start+most, len(cases))
		ops := make([]connector.Operation, 0, end-start)
		for _, c := range cases[start:end] {
			ops = append(ops, c.op)
		}
		got, err := b.Bulk(context.Background(), ops)
		require.NoError(t, err, "bulk of %d operations", len(ops))
		require.Len(t, got, len(ops), "bulk: got %d results, want %d", len(got), len(ops))
		results = append(results, got...)
	}
	return results
}

func testBulkTooMany(t *testing.T, tg Target, b connector.Bulker, most int) {
	people := make([]Person, most+1)
	ops := make([]connector.Operation, most+1)
	for i := range ops {
		people[i] = newPerson(t)
		ops[i] = connector.Operation{Kind: connector.OpCreate, Fields: tg.Record(people[i])}
	}
	results, err := b.Bulk(context.Background(), ops)
	require.Error(t, err, "bulk of %d operations with max %d: got no error", len(ops), most)
	require.Nil(t, results, "bulk over the limit: got results %v, want none", results)

	_, err = tg.Connector.Lookup(context.Background(),
		connector.Key{Field: connector.KeyUserName, Value: people[0].UserName})
	requireKind(t, err, connector.ErrNotFound, "lookup after refused bulk")
}
