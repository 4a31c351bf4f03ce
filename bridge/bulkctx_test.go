package bridge

import (
	"context"
	"testing"
	"time"
)

// TestBatchContext checks that a bulk request ends at the earliest
// deadline of its operations and is cancelled only once all of them are.
func TestBatchContext(t *testing.T) {
	soon := time.Now().Add(time.Hour)
	later := soon.Add(time.Hour)
	ctxSoon, cancelSoon := context.WithDeadline(context.Background(), soon)
	defer cancelSoon()
	ctxLater, cancelLater := context.WithDeadline(context.Background(), later)
	defer cancelLater()
	ctxNone, cancelNone := context.WithCancel(context.Background())
	defer cancelNone()

	batch := []*bulkEntry{{ctx: ctxLater}, {ctx: ctxSoon}, {ctx: ctxNone}}
	ctx, cancel := batchContext(batch)
	defer cancel()
	if got, ok := ctx.Deadline(); !ok || !got.Equal(soon) {
		t.Fatalf("deadline: got %v (set %v), want %v", got, ok, soon)
	}

	cancelLater()
	cancelSoon()
	if err := ctx.Err(); err != nil {
		t.Fatalf("with one operation still live: got %v, want no error", err)
	}
	cancelNone()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the request was not cancelled once every operation was")
	}
}
