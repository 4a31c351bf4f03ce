package scim

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/state"
)

// TestClassifyStoreSentinels checks how store refusals reach the client.
func TestClassifyStoreSentinels(t *testing.T) {
	cases := []struct {
		err      error
		status   int
		scimType string
	}{
		{state.ErrNotFound, http.StatusNotFound, ""},
		{state.ErrConflict, http.StatusConflict, "uniqueness"},
		{state.ErrVersionMismatch, http.StatusPreconditionFailed, ""},
		{state.ErrInvalid, http.StatusBadRequest, "invalidValue"},
	}
	for _, c := range cases {
		p, internal := classify(fmt.Errorf("store: commit: %w", c.err))
		require.False(t, internal, "%v is internal", c.err)
		require.Equal(t, c.status, p.status, "status of %v", c.err)
		require.Equal(t, c.scimType, string(p.scimType), "scimType of %v", c.err)
	}
}
