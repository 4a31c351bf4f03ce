// Package loadgen measures an operation under concurrent load: how many
// calls per second a number of workers complete and how long the calls
// take (median and tail latency). It knows nothing of what the operation
// does; client.go holds the SCIM calls the bench command measures.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options says how hard and how long to run an operation.
type Options struct {
	// Workers call the operation concurrently; at least one.
	Workers int
	// Duration stops the run after this long; zero means no time limit.
	Duration time.Duration
	// Calls stops the run after this many calls in all; zero means no
	// count limit. At least one of Duration and Calls must be set.
	Calls int
}

// Op is one call of the measured operation. worker is the caller's index
// and n the call's index in the whole run (0, 1, 2, ...), so that calls
// can address distinct data. A returned error counts the call as failed.
type Op func(ctx context.Context, worker, n int) error

// Result sums up a run. Latencies cover successful and failed calls alike.
type Result struct {
	Calls    int
	Errors   int
	FirstErr error
	Elapsed  time.Duration
	// Rate is successful calls per second over Elapsed.
	Rate               float64
	P50, P90, P99, Max time.Duration
}

// String renders the result on one line.
func (r Result) String() string {
	s := fmt.Sprintf("%8d calls %9.0f req/s  p50 %-9s p90 %-9s p99 %-9s max %-9s",
		r.Calls, r.Rate, round(r.P50), round(r.P90), round(r.P99), round(r.Max))
	if r.Errors > 0 {
		s += fmt.Sprintf("  %d errors (first: %v)", r.Errors, r.FirstErr)
	}
	return s
}

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// Run calls op from o.Workers goroutines until the time or call limit is
// reached or ctx ends, and measures each call. Calls in flight when the
// time is up are waited for and counted.
func Run(ctx context.Context, o Options, op Op) (Result, error) {
	if o.Workers < 1 {
		return Result{}, errors.New("loadgen: workers must be at least 1")
	}
	if o.Duration <= 0 && o.Calls <= 0 {
		return Result{}, errors.New("loadgen: set a duration or a number of calls")
	}
	runCtx := ctx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}

	var next atomic.Int64
	latencies := make([][]time.Duration, o.Workers)
	failures := make([]int, o.Workers)
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				n := int(next.Add(1) - 1)
				if o.Calls > 0 && n >= o.Calls {
					return
				}
				t0 := time.Now()
				// The call gets the caller's context, not the timed one, so
				// a call under way when time is up completes normally.
				err := op(ctx, w, n)
				latencies[w] = append(latencies[w], time.Since(t0))
				if err != nil {
					failures[w]++
					errOnce.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return summarize(latencies, failures, firstErr, elapsed), ctx.Err()
}

func summarize(perWorker [][]time.Duration, failures []int, firstErr error,
	elapsed time.Duration) Result {
	var all []time.Duration
	for _, l := range perWorker {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Result{Calls: len(all), FirstErr: firstErr, Elapsed: elapsed}
	for _, f := range failures {
		r.Errors += f
	}
	if elapsed > 0 {
		r.Rate = float64(r.Calls-r.Errors) / elapsed.Seconds()
	}
	r.P50 = Percentile(all, 50)
	r.P90 = Percentile(all, 90)
	r.P99 = Percentile(all, 99)
	if len(all) > 0 {
		r.Max = all[len(all)-1]
	}
	return r
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted durations, or zero for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}
