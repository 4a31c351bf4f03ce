package loadgen_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/auth"
	"github.com/scim-bridge/scim-bridge/internal/loadgen"
	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
)

func TestRunMakesExactlyTheCallsAsked(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]bool{}
	workers := map[int]bool{}
	res, err := loadgen.Run(t.Context(), loadgen.Options{Workers: 4, Calls: 200},
		func(_ context.Context, w, n int) error {
			mu.Lock()
			defer mu.Unlock()
			seen[n] = true
			workers[w] = true
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, 200, res.Calls)
	require.Zero(t, res.Errors)
	require.Len(t, seen, 200)
	for n := range 200 {
		require.True(t, seen[n], "call %d missing", n)
	}
	require.LessOrEqual(t, len(workers), 4)
	require.Greater(t, res.Rate, 0.0)
	require.LessOrEqual(t, res.P50, res.P99)
	require.LessOrEqual(t, res.P99, res.Max)
}

func TestRunCountsErrors(t *testing.T) {
	boom := errors.New("boom")
	res, err := loadgen.Run(t.Context(), loadgen.Options{Workers: 2, Calls: 10},
		func(_ context.Context, _, n int) error {
			if n%2 == 0 {
				return boom
			}
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, 10, res.Calls)
	require.Equal(t, 5, res.Errors)
	require.ErrorIs(t, res.FirstErr, boom)
	require.Contains(t, res.String(), "5 errors")
}

func TestRunStopsAfterDuration(t *testing.T) {
	res, err := loadgen.Run(t.Context(), loadgen.Options{Workers: 3, Duration: 50 * time.Millisecond},
		func(context.Context, int, int) error {
			time.Sleep(time.Millisecond)
			return nil
		})
	require.NoError(t, err)
	require.Greater(t, res.Calls, 0)
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := loadgen.Run(ctx, loadgen.Options{Workers: 1, Duration: time.Hour},
		func(context.Context, int, int) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
}

func TestRunRejectsBadOptions(t *testing.T) {
	op := func(context.Context, int, int) error { return nil }
	_, err := loadgen.Run(t.Context(), loadgen.Options{Workers: 0, Calls: 1}, op)
	require.Error(t, err)
	_, err = loadgen.Run(t.Context(), loadgen.Options{Workers: 1}, op)
	require.Error(t, err)
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{100, 100 * time.Millisecond},
		{0.5, time.Millisecond},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, loadgen.Percentile(d, tt.p), "p%v", tt.p)
	}
	require.Zero(t, loadgen.Percentile(nil, 50))
	require.Equal(t, 7*time.Millisecond, loadgen.Percentile([]time.Duration{7 * time.Millisecond}, 99))
}

func TestClientAgainstServer(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "b.db"), boltstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	v, err := auth.New(auth.Config{SecretHashes: []string{auth.HashSecret("load-secret")}})
	require.NoError(t, err)
	s, err := scim.New(scim.Config{Store: store, Auth: v,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	c := loadgen.NewClient(srv.URL, "load-secret", 4)
	defer c.Close()
	ctx := t.Context()

	ids, err := c.SeedUsers(ctx, "seed-", 25, 10)
	require.NoError(t, err)
	require.Len(t, ids, 25)
	found, err := c.FindUser(ctx, "seed-17")
	require.NoError(t, err)
	require.Equal(t, ids[17], found)

	id, err := c.CreateUser(ctx, "solo")
	require.NoError(t, err)
	require.NoError(t, c.GetUser(ctx, id))
	require.NoError(t, c.PatchUser(ctx, id, "Boss"))
	_, err = c.CreateUser(ctx, "solo")
	require.ErrorContains(t, err, "status 409")
	_, err = c.FindUser(ctx, "nobody")
	require.ErrorContains(t, err, "0 results")

	bad := loadgen.NewClient(srv.URL+"/scim/v2", "wrong", 1)
	require.ErrorContains(t, bad.GetUser(ctx, id), "status 401")
}
