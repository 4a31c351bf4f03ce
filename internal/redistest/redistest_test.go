package redistest

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

func TestStartAnswers(t *testing.T) {
	s := Start(t, Options{})
	require.NotEqual(t, 6379, s.Port, "never the shared default port")
	c := s.Client()
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	got, err := c.Get(ctx, "k").Result()
	require.NoError(t, err)
	require.Equal(t, "v", got)

	s.FlushAll()
	_, err = c.Get(ctx, "k").Result()
	require.ErrorIs(t, err, redis.Nil)
}

func TestKillRestartKeepsFsyncedWrites(t *testing.T) {
	s := Start(t, Options{AppendOnly: true, AppendFsync: "always"})
	ctx := context.Background()
	c := s.Client()
	require.NoError(t, c.Set(ctx, "kept", "yes", 0).Err())

	s.Kill()
	require.False(t, s.Running())
	require.Error(t, c.Ping(ctx).Err(), "a killed server does not answer")

	s.Restart()
	require.True(t, s.Running())
	got, err := c.Get(ctx, "kept").Result()
	require.NoError(t, err)
	require.Equal(t, "yes", got, "appendfsync always keeps an acknowledged write across SIGKILL")
}

func TestRestartWithoutAOFLosesData(t *testing.T) {
	s := Start(t, Options{})
	ctx := context.Background()
	c := s.Client()
	require.NoError(t, c.Set(ctx, "gone", "1", 0).Err())
	s.Restart()
	_, err := c.Get(ctx, "gone").Result()
	require.ErrorIs(t, err, redis.Nil, "no persistence configured, nothing survives")
}

func TestClusterServesEverySlot(t *testing.T) {
	cl := StartCluster(t, 3, Options{})
	require.Len(t, cl.Nodes, 3)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs()})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()

	// Keys spread over the slots land on every master.
	for i := 0; i < 64; i++ {
		require.NoError(t, c.Set(ctx, string(rune('a'+i%26))+string(rune('a'+i/26)), i, 0).Err())
	}
	for _, n := range cl.Nodes {
		size, err := n.Client().DBSize(ctx).Result()
		require.NoError(t, err)
		require.Positive(t, size, "node %s holds some keys", n.Addr)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the calling goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingRedisServerFailsWithAHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(rec, Options{})
	}()
	<-done
	require.Contains(t, rec.msg, "redis-server is not on PATH")
	require.Contains(t, rec.msg, "make test")
}
