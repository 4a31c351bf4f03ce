package bridge

import (
	"testing"
	"time"
)

// TestRetryDelay checks the bounds of the wait before a retry: full jitter
// over BackoffBase*2^n with a floor of a tenth of the base, capped at
// BackoffMax, and Retry-After honoured with at most a tenth more.
func TestRetryDelay(t *testing.T) {
	e := &Engine{tune: Tuning{BackoffBase: 2 * time.Second, BackoffMax: 10 * time.Minute}}
	tests := []struct {
		name     string
		n        int
		after    time.Duration
		lo, hi   time.Duration // every delay is in [lo, hi)
		spreadTo time.Duration // some delay reaches at least this
	}{
		{"first retry", 1, 0, 200 * time.Millisecond, 4 * time.Second, 2 * time.Second},
		{"third retry", 3, 0, 200 * time.Millisecond, 16 * time.Second, 8 * time.Second},
		{"capped", 12, 0, 200 * time.Millisecond, 10 * time.Minute, 5 * time.Minute},
		{"shift overflow", 70, 0, 200 * time.Millisecond, 10 * time.Minute, 5 * time.Minute},
		{"retry-after", 1, 30 * time.Second, 30 * time.Second, 33*time.Second + time.Millisecond,
			30 * time.Second},
		{"retry-after beyond the cap", 1, time.Hour, time.Hour,
			time.Hour + 6*time.Minute + time.Millisecond, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var most time.Duration
			for range 2000 {
				d := e.retryDelay(tt.n, tt.after)
				if d < tt.lo || d >= tt.hi {
					t.Fatalf("retryDelay(%d, %v) = %v, want in [%v, %v)", tt.n, tt.after, d,
						tt.lo, tt.hi)
				}
				most = max(most, d)
			}
			if most < tt.spreadTo {
				t.Errorf("retryDelay(%d, %v): largest of 2000 is %v, want jitter up to at "+
					"least %v", tt.n, tt.after, most, tt.spreadTo)
			}
		})
	}
}
