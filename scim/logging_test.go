package scim_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/scim"
)

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRequestLogAndIDs(t *testing.T) {
	var logs syncBuffer
	var routes []string
	var mu sync.Mutex
	h := newHarness(t, func(c *scim.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Instrument = func(route string, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				routes = append(routes, route)
				mu.Unlock()
				next.ServeHTTP(w, r)
			})
		}
	})

	r := h.do(t, http.MethodPost, "/Users", bjensen(), "X-Request-Id", "trace-42")
	mustStatus(t, r, http.StatusCreated)
	require.Equal(t, "trace-42", r.header.Get("X-Request-Id"))
	generated := h.do(t, http.MethodGet, "/Users", nil).header.Get("X-Request-Id")
	require.NotEmpty(t, generated)
	mustStatus(t, h.send(t, http.MethodGet, "/Users", nil, "Authorization", "Bearer leaked-token"),
		http.StatusUnauthorized)

	out := logs.String()
	require.Contains(t, out, `"msg":"scim request"`)
	require.Contains(t, out, `"request_id":"trace-42"`)
	require.Contains(t, out, `"request_id":"`+generated+`"`)
	require.Contains(t, out, `"status":201`)
	require.NotContains(t, out, testToken, "tokens are never logged")
	require.NotContains(t, out, "leaked-token")
	require.NotContains(t, out, "bjensen@example.com", "user records are never logged")
	require.NotContains(t, out, "t1meMa$heen")
	mu.Lock()
	require.Contains(t, routes, "users.create")
	require.Contains(t, routes, "users.list")
	mu.Unlock()
}

func TestInternalErrorsAreLoggedNotSent(t *testing.T) {
	var logs syncBuffer
	h := newHarness(t, func(c *scim.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	id := h.createUser(t, map[string]any{"userName": "doomed"})
	require.NoError(t, h.store.Close())

	r := h.do(t, http.MethodGet, "/Users/"+id, nil, "X-Request-Id", "req-closed")
	require.GreaterOrEqual(t, r.status, 500)
	detail := r.obj(t)["detail"].(string)
	require.NotContains(t, strings.ToLower(detail), "closed", "the cause stays in the log")
	require.Contains(t, logs.String(), "store closed")
	require.Contains(t, logs.String(), `"request_id":"req-closed"`)
}
