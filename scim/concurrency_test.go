package scim_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

// TestConcurrentPatchesLoseNothing sends PATCHes of one user from several
// clients at once: each is re-planned when another commits first, so every
// change survives and each write gets its own version.
func TestConcurrentPatchesLoseNothing(t *testing.T) {
	h := newHarness(t)
	id := h.createUser(t, map[string]any{"userName": "busy"})
	const writers = 8
	var wg sync.WaitGroup
	statuses := make([]int, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.fetch(t, http.MethodPatch, "/Users/"+id, patchOp(op("add", "emails", []any{
				map[string]any{"value": "e" + strconv.Itoa(i) + "@example.com", "type": "other"}})))
			if r != nil {
				statuses[i] = r.status
			}
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		require.Equal(t, http.StatusOK, s, "writer %d", i)
	}
	u := h.do(t, http.MethodGet, "/Users/"+id, nil)
	require.Len(t, u.obj(t)["emails"], writers)
	require.Equal(t, `W/"`+strconv.Itoa(writers+1)+`"`, u.header.Get("Etag"))
}

// TestConcurrentCreatesOfOneUserName lets one of many simultaneous creates
// of the same userName win; the others get 409.
func TestConcurrentCreatesOfOneUserName(t *testing.T) {
	h := newHarness(t)
	const clients = 10
	var wg sync.WaitGroup
	statuses := make([]int, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := h.fetch(t, http.MethodPost, "/Users", newUser("same")); r != nil {
				statuses[i] = r.status
			}
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("unexpected status %d", s)
		}
	}
	require.Equal(t, 1, created)
	n, err := h.store.Count(t.Context(), state.KindUser)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// TestDeleteWhileGroupChanges deletes users while their group is being
// patched: every rename succeeds (a delete that commits first only makes
// the rename plan again), and the group never keeps a member that no
// longer exists.
func TestDeleteWhileGroupChanges(t *testing.T) {
	h := newHarness(t)
	var users []string
	for i := range 6 {
		users = append(users, h.createUser(t, map[string]any{"userName": "m" + strconv.Itoa(i)}))
	}
	gid := h.createGroup(t, "Moving", users...)
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if r := h.fetch(t, http.MethodDelete, "/Users/"+u, nil); r != nil {
				assert.Equal(t, http.StatusNoContent, r.status, "delete: %s", r.body)
			}
		}()
		go func() {
			defer wg.Done()
			r := h.fetch(t, http.MethodPatch, "/Groups/"+gid,
				patchOp(op("replace", "displayName", "Moving "+strconv.Itoa(i))))
			if r != nil {
				assert.Equal(t, http.StatusNoContent, r.status, "rename: %s", r.body)
			}
		}()
	}
	wg.Wait()
	require.Empty(t, h.members(t, gid))
	g := h.do(t, http.MethodGet, "/Groups/"+gid, nil).obj(t)
	require.Nil(t, g["members"])
}
