package redistest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterBusOffset is the fixed distance between a cluster node's client
// port and its cluster bus port.
const clusterBusOffset = 10000

// Cluster is a Redis Cluster of masters without replicas, started for a
// test with its slots spread evenly over the masters.
type Cluster struct {
	// Nodes are the masters, in the order their slot ranges were assigned.
	Nodes []*Server
}

// StartCluster starts masters redis-server processes (3 when masters is
// below 3, the minimum redis-cli accepts) with cluster-enabled yes, joins
// them with `redis-cli --cluster create`, and waits until every node reports
// the cluster healthy. The nodes are killed when the test ends.
func StartCluster(tb testing.TB, masters int, opts Options) *Cluster {
	tb.Helper()
	bin := lookPath(tb, "redis-server")
	cli := lookPath(tb, "redis-cli")
	if masters < 3 {
		masters = 3
	}

	c := &Cluster{}
	for len(c.Nodes) < masters {
		c.Nodes = append(c.Nodes, startClusterNode(tb, bin, opts))
	}

	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.waitHealthy(startTimeout); err != nil {
		tb.Fatalf("redistest: cluster: %v\n%s", err, out)
	}
	return c
}

// startClusterNode starts one node on a port whose bus port is free too.
func startClusterNode(tb testing.TB, bin string, opts Options) *Server {
	tb.Helper()
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		port := clusterPort()
		if port == 0 {
			continue
		}
		s, err := newServer(tb, bin, port, opts, true)
		if err == nil {
			return s
		}
		lastErr = err
	}
	tb.Fatalf("redistest: start cluster node: %v", lastErr)
	return nil
}

// clusterPort picks a random port below the ephemeral range whose bus port
// (port+10000) is free as well, or returns 0 when the pick is taken.
func clusterPort() int {
	port := 20000 + rand.IntN(10000)
	for _, p := range []int{port, port + clusterBusOffset} {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return 0
		}
		_ = l.Close()
	}
	return port
}

// Addrs lists the nodes' host:port addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// URL is the cluster's seed list in the redis+cluster:// form that
// state/redisstore accepts.
func (c *Cluster) URL() string {
	return "redis+cluster://" + strings.Join(c.Addrs(), ",")
}

// waitHealthy polls CLUSTER INFO on every node until each sees all slots
// served and every other node known.
func (c *Cluster) waitHealthy(timeout time.Duration) error {
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		err := c.healthy(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) healthy(ctx context.Context) error {
	for _, n := range c.Nodes {
		rc := redis.NewClient(&redis.Options{Addr: n.Addr})
		info, err := rc.ClusterInfo(ctx).Result()
		_ = rc.Close()
		if err != nil {
			return fmt.Errorf("cluster info on %s: %w", n.Addr, err)
		}
		want := []string{
			"cluster_state:ok",
			"cluster_slots_ok:16384",
			"cluster_known_nodes:" + strconv.Itoa(len(c.Nodes)),
		}
		for _, w := range want {
			if !strings.Contains(info, w+"\r\n") {
				return fmt.Errorf("node %s lacks %q", n.Addr, w)
			}
		}
	}
	return nil
}
