package scim_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/state"
)

// scanCounter wraps the real store and counts the calls that walk a whole
// collection; every other call goes straight to the store.
type scanCounter struct {
	state.Store
	lists atomic.Int64
}

func (s *scanCounter) List(ctx context.Context, kind state.Kind, after string, limit int) (
	[]state.Resource, error) {
	s.lists.Add(1)
	return s.Store.List(ctx, kind, after, limit)
}

// TestEqualityFiltersUseTheIndex checks that an eq filter on id, userName,
// externalId or a group's displayName never walks the collection, so it
// costs the same however many resources there are.
func TestEqualityFiltersUseTheIndex(t *testing.T) {
	counter := &scanCounter{}
	h := newHarness(t, func(c *scim.Config) {
		counter.Store = c.Store
		c.Store = counter
	})
	var ids []string
	for i := range 30 {
		ids = append(ids, h.createUser(t, map[string]any{"userName": "idx" + strconv.Itoa(i),
			"externalId": "ext-" + strconv.Itoa(i%10), "title": "T" + strconv.Itoa(i)}))
	}
	h.createGroup(t, "Indexed Group", ids[0])

	tests := []struct {
		path  string
		total int
	}{
		{"/Users?filter=" + url.QueryEscape(`userName eq "IDX7"`), 1},
		{"/Users?filter=" + url.QueryEscape(`externalId eq "ext-3"`), 3},
		{"/Users?filter=" + url.QueryEscape(`id eq "`+ids[12]+`"`), 1},
		{"/Users?filter=" + url.QueryEscape(`userName eq "idx7" and title eq "T7"`), 1},
		{"/Users?filter=" + url.QueryEscape(`userName eq "idx7" and title eq "T8"`), 0},
		{"/Groups?filter=" + url.QueryEscape(`displayName eq "indexed group"`), 1},
		{"/Users?filter=" + url.QueryEscape(`userName eq "absent"`), 0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := counter.lists.Load()
			r := h.do(t, http.MethodGet, tt.path, nil)
			mustStatus(t, r, http.StatusOK)
			require.Equal(t, float64(tt.total), r.obj(t)["totalResults"])
			require.Equal(t, before, counter.lists.Load(), "the filter walked the collection")
		})
	}

	// A filter no index answers does walk it, which shows the counter works.
	before := counter.lists.Load()
	r := h.do(t, http.MethodGet, "/Users?filter="+url.QueryEscape(`title eq "T4"`), nil)
	require.Equal(t, float64(1), r.obj(t)["totalResults"])
	require.Greater(t, counter.lists.Load(), before)
}
