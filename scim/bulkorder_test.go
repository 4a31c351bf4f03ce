package scim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/state"
)

// refusingStore is the real store, except that Commit fails with err,
// before writing anything, whenever one of its writes takes the userName
// marker. The SCIM layer refuses on its own every value the real store
// would, so this is how a store refusal of one operation of a shared Bulk
// commit is reached.
type refusingStore struct {
	state.Store
	marker string
	err    error
}

func (s *refusingStore) Commit(ctx context.Context, writes ...state.Write) ([]uint64, error) {
	for _, w := range writes {
		for _, k := range w.Resource.Unique {
			if k.Name == "userName" && k.Value == s.marker {
				return nil, fmt.Errorf("refusing store: %w", s.err)
			}
		}
	}
	return s.Store.Commit(ctx, writes...)
}

func withRefusal(marker string, err error) func(*scim.Config) {
	return func(c *scim.Config) { c.Store = &refusingStore{Store: c.Store, marker: marker, err: err} }
}

func statuses(res []map[string]any) []string {
	out := []string{}
	for _, r := range res {
		out = append(out, r["status"].(string))
	}
	return out
}

func userCount(t *testing.T, h *harness, name string) float64 {
	t.Helper()
	r := h.do(t, http.MethodGet, `/Users?filter=userName%20eq%20"`+name+`"`, nil)
	mustStatus(t, r, http.StatusOK)
	return r.obj(t)["totalResults"].(float64)
}

// TestBulkRefusedCommitFallsBack checks that when the store refuses the
// shared commit of a batch because of one operation, only that operation
// fails, with its own status, and the others are performed.
func TestBulkRefusedCommitFallsBack(t *testing.T) {
	h := newHarness(t, withRefusal("refused", state.ErrInvalid))
	id := h.createUser(t, map[string]any{"userName": "existing"})

	res := results(t, h.do(t, http.MethodPost, "/Bulk", bulkRequest(
		bulkOp("POST", "/Users", "a", newUser("refused")),
		bulkOp("POST", "/Users", "b", newUser("good")),
		bulkOp("PATCH", "/Users/"+id, "", patchOp(op("replace", "title", "T"))),
	)))
	require.Equal(t, []string{"400", "201", "200"}, statuses(res))
	require.Equal(t, "invalidValue", path(res[0], "response", "scimType"))
	require.Equal(t, float64(1), userCount(t, h, "good"))
	require.Equal(t, "T", h.do(t, http.MethodGet, "/Users/"+id, nil).obj(t)["title"])
}

// TestBulkRefusedCommitStopsInOrder checks that with failOnErrors the
// operations of a refused batch after the failing one are not performed.
func TestBulkRefusedCommitStopsInOrder(t *testing.T) {
	h := newHarness(t, withRefusal("refused", state.ErrInvalid))
	req := bulkRequest(
		bulkOp("POST", "/Users", "a", newUser("first")),
		bulkOp("POST", "/Users", "b", newUser("refused")),
		bulkOp("POST", "/Users", "c", newUser("later")),
	)
	req["failOnErrors"] = 1
	res := results(t, h.do(t, http.MethodPost, "/Bulk", req))
	require.Equal(t, []string{"201", "400"}, statuses(res))
	require.Equal(t, float64(1), userCount(t, h, "first"))
	require.Equal(t, float64(0), userCount(t, h, "later"))
}

// TestBulkUnknownCommitFailure checks that a commit failure whose outcome
// the store cannot vouch for is reported to every operation of the batch
// as the server's failure, not retried.
func TestBulkUnknownCommitFailure(t *testing.T) {
	h := newHarness(t, withRefusal("broken", errors.New("disk on fire")))
	res := results(t, h.do(t, http.MethodPost, "/Bulk", bulkRequest(
		bulkOp("POST", "/Users", "a", newUser("broken")),
		bulkOp("POST", "/Users", "b", newUser("bystander")),
	)))
	require.Equal(t, []string{"500", "500"}, statuses(res))
	require.Equal(t, float64(0), userCount(t, h, "bystander"))
}

// TestBulkFailOnErrorsFollowsRequestOrder checks RFC 7644 section 3.7.3:
// operations before the one that reaches failOnErrors are all performed
// and reported, even those that wait on a bulkId, and none after it is.
func TestBulkFailOnErrorsFollowsRequestOrder(t *testing.T) {
	h := newHarness(t)
	h.createUser(t, map[string]any{"userName": "taken"})
	req := bulkRequest(
		bulkOp("POST", "/Users", "u1", newUser("ursula")),
		bulkOp("PATCH", "/Users/bulkId:u1", "", patchOp(op("replace", "title", "Lead"))),
		bulkOp("POST", "/Groups", "g1", map[string]any{"schemas": []string{groupSchema},
			"displayName": "Team", "members": []any{map[string]any{"value": "bulkId:u1"}}}),
		bulkOp("POST", "/Users", "dup", newUser("taken")),
		bulkOp("POST", "/Users", "after", newUser("after")),
	)
	req["failOnErrors"] = 1
	res := results(t, h.do(t, http.MethodPost, "/Bulk", req))
	require.Equal(t, []string{"201", "200", "201", "409"}, statuses(res))
	require.Equal(t, "dup", res[3]["bulkId"])

	uid := idOf(t, res[0]["location"])
	require.Equal(t, "Lead", h.do(t, http.MethodGet, "/Users/"+uid, nil).obj(t)["title"])
	require.Equal(t, []string{uid}, h.members(t, idOf(t, res[2]["location"])))
	require.Equal(t, float64(0), userCount(t, h, "after"))
}

// TestBulkForwardReferenceRunsAfterItsCreator checks that an operation
// naming a bulkId declared later is performed right after the declaring
// POST, and not at all when the run stops before that POST.
func TestBulkForwardReferenceRunsAfterItsCreator(t *testing.T) {
	h := newHarness(t)
	h.createUser(t, map[string]any{"userName": "taken"})
	group := bulkOp("POST", "/Groups", "g", map[string]any{"schemas": []string{groupSchema},
		"displayName": "Early", "members": []any{map[string]any{"value": "bulkId:late"}}})

	req := bulkRequest(group,
		bulkOp("POST", "/Users", "dup", newUser("taken")),
		bulkOp("POST", "/Users", "late", newUser("late")),
	)
	req["failOnErrors"] = 1
	res := results(t, h.do(t, http.MethodPost, "/Bulk", req))
	require.Equal(t, []string{"409"}, statuses(res))
	require.Equal(t, float64(0), userCount(t, h, "late"))

	req = bulkRequest(group,
		bulkOp("POST", "/Users", "late", newUser("late")),
		bulkOp("POST", "/Users", "dup", newUser("taken")),
	)
	req["failOnErrors"] = 1
	res = results(t, h.do(t, http.MethodPost, "/Bulk", req))
	require.Equal(t, []string{"201", "201", "409"}, statuses(res))
	require.Equal(t, []string{idOf(t, res[1]["location"])},
		h.members(t, idOf(t, res[0]["location"])))
}
