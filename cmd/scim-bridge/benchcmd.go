package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scim-bridge/scim-bridge/internal/loadgen"
)

type benchFlags struct {
	url      string
	token    string
	clients  int
	duration time.Duration
	users    int
	ops      string
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a running server's SCIM throughput and latency",
		Long: `Measure a running server's SCIM throughput and latency.

bench first creates --users users through /Bulk (the population the reads
search), then runs each operation of --ops for --duration with --clients
concurrent connections and prints requests per second with the median and
99th percentile latency:

  create  POST /Users
  get     GET /Users/{id}
  filter  GET /Users?filter=userName eq "..."
  patch   PATCH /Users/{id} (replace title)

It writes to the server's store: run it against a test instance. Every
run uses fresh userNames, so runs can follow each other.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.token == "" {
				f.token = os.Getenv("BRIDGE_BENCH_TOKEN")
			}
			if f.token == "" {
				return errors.New("bench: give the SCIM bearer token with --token or BRIDGE_BENCH_TOKEN")
			}
			return runBench(cmd.Context(), f, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&f.url, "url", "http://"+defaultBenchAddr,
		"server `URL` (its /scim/v2 root is used)")
	cmd.Flags().StringVar(&f.token, "token", "", "SCIM bearer `token` (env BRIDGE_BENCH_TOKEN)")
	cmd.Flags().IntVar(&f.clients, "clients", 32, "concurrent connections")
	cmd.Flags().DurationVar(&f.duration, "duration", 10*time.Second, "how long each operation runs")
	cmd.Flags().IntVar(&f.users, "users", 100_000, "users to create through /Bulk before the reads")
	cmd.Flags().StringVar(&f.ops, "ops", "create,get,filter,patch", "operations to measure, in order")
	return cmd
}

const defaultBenchAddr = "127.0.0.1:8080"

func runBench(ctx context.Context, f benchFlags, out io.Writer) error {
	ops := strings.Split(f.ops, ",")
	for _, op := range ops {
		switch op {
		case "create", "get", "filter", "patch":
		default:
			return fmt.Errorf("bench: unknown operation %q (want create, get, filter or patch)", op)
		}
	}
	if f.clients < 1 || f.duration <= 0 {
		return errors.New("bench: --clients and --duration must be positive")
	}
	c := loadgen.NewClient(f.url, f.token, f.clients)
	defer c.Close()
	run := "b" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-"

	var ids []string
	if f.users > 0 && needsUsers(ops) {
		fmt.Fprintf(out, "seeding %d users through /Bulk...\n", f.users)
		start := time.Now()
		var err error
		if ids, err = c.SeedUsers(ctx, run+"s", f.users, 1000); err != nil {
			return fmt.Errorf("bench: seed users: %w", err)
		}
		fmt.Fprintf(out, "seeded in %s (%.0f users/s)\n", time.Since(start).Round(time.Millisecond),
			float64(f.users)/time.Since(start).Seconds())
	}
	if len(ids) == 0 && needsUsers(ops) {
		return errors.New("bench: get, filter and patch need --users above 0")
	}

	fmt.Fprintf(out, "%d clients, %s per operation, against %s\n", f.clients, f.duration, f.url)
	failed := false
	for _, name := range ops {
		op := benchOp(c, name, run, ids)
		res, err := loadgen.Run(ctx, loadgen.Options{Workers: f.clients, Duration: f.duration}, op)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", name, err)
		}
		fmt.Fprintf(out, "%-7s %s\n", name, res)
		failed = failed || res.Errors > 0
	}
	if failed {
		return exitCode(1)
	}
	return nil
}

func needsUsers(ops []string) bool {
	for _, op := range ops {
		if op != "create" {
			return true
		}
	}
	return false
}

// benchOp is the measured call of one operation. Reads spread over the
// seeded users with a stride, so consecutive calls touch different ones.
func benchOp(c *loadgen.Client, name, run string, ids []string) loadgen.Op {
	pick := func(n int) int { return (n * 7919) % len(ids) }
	switch name {
	case "create":
		return func(ctx context.Context, _, n int) error {
			_, err := c.CreateUser(ctx, run+"c"+strconv.Itoa(n))
			return err
		}
	case "get":
		return func(ctx context.Context, _, n int) error { return c.GetUser(ctx, ids[pick(n)]) }
	case "filter":
		return func(ctx context.Context, _, n int) error {
			_, err := c.FindUser(ctx, run+"s"+strconv.Itoa(pick(n)))
			return err
		}
	}
	return func(ctx context.Context, _, n int) error {
		return c.PatchUser(ctx, ids[pick(n)], "title-"+strconv.Itoa(n))
	}
}
