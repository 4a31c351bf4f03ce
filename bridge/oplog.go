package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Operation is one call the engine made to an app, as the provisioning log
// shows it.
type Operation struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Op      string    `json:"op"`
	Account string    `json:"account,omitempty"`
	// Outcome is ok, not_found, conflict, retryable, throttled or error.
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	Millis  int64  `json:"ms"`
}

// Bounds of the provisioning log.
const (
	logFlushEvery = time.Second
	logChunkMax   = 500  // operations in one stored chunk
	logKeepChunks = 40   // chunks kept per app (and per replica writing)
	logPendingMax = 5000 // operations buffered per app between flushes
	// LogMax is the most operations one Log call returns.
	LogMax = 1000
)

// opLog is the bounded, persisted log of recent operations per app. Each
// replica buffers its operations and writes them once a second as one
// record (a chunk) whose key sorts newest first, so that the log costs one
// store write per app per second whatever the rate of calls.
type opLog struct {
	e       *Engine
	mu      sync.Mutex
	pending map[string][]Operation // by app, oldest first
	flushes int
}

func newOpLog(e *Engine) *opLog { return &opLog{e: e, pending: map[string][]Operation{}} }

func (l *opLog) add(a *app, op Operation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ops := append(l.pending[a.name], op)
	if len(ops) > logPendingMax {
		ops = slices.Delete(ops, 0, len(ops)-logPendingMax)
	}
	l.pending[a.name] = ops
}

func (l *opLog) run(ctx context.Context) {
	t := time.NewTicker(logFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.flush(ctx)
		case <-ctx.Done():
			return
		}
	}
}

// flush writes the buffered operations; what fails to write is dropped
// (the log is informative, the link records are the truth).
func (l *opLog) flush(ctx context.Context) {
	l.mu.Lock()
	pending := l.pending
	l.pending = map[string][]Operation{}
	l.flushes++
	trim := l.flushes%10 == 0
	l.mu.Unlock()

	e := l.e
	for name, ops := range pending {
		a := e.apps[name]
		for len(ops) > 0 {
			n := min(len(ops), logChunkMax)
			chunk := slices.Clone(ops[len(ops)-n:])
			slices.Reverse(chunk)
			ops = ops[:len(ops)-n]
			raw, err := json.Marshal(chunk)
			if err == nil {
				_, err = e.store.PutRecord(ctx, a.logBucket, l.chunkKey(chunk[0].Time), raw, 0)
			}
			if err != nil {
				e.log.Warn("write provisioning log", "app", name, "err", err)
				break
			}
		}
	}
	if trim {
		for _, name := range e.order {
			l.trim(ctx, e.apps[name])
		}
	}
}

// chunkKey sorts newer chunks first; the replica suffix keeps two
// replicas' chunks of the same instant apart.
func (l *opLog) chunkKey(newest time.Time) string {
	return fmt.Sprintf("%016x-%s", uint64(math.MaxInt64-newest.UnixNano()), l.e.replica)
}

func (l *opLog) trim(ctx context.Context, a *app) {
	recs, err := l.e.store.ListRecords(ctx, a.logBucket, "", logKeepChunks+500)
	if err != nil || len(recs) <= logKeepChunks {
		return
	}
	for _, r := range recs[logKeepChunks:] {
		if err := l.e.store.DeleteRecord(ctx, a.logBucket, r.Key, 0); err != nil {
			return
		}
	}
}

// read returns up to limit recent operations of app a, newest first:
// this replica's buffered ones and the stored chunks of every replica.
func (l *opLog) read(ctx context.Context, a *app, limit int) ([]Operation, error) {
	l.mu.Lock()
	out := slices.Clone(l.pending[a.name])
	l.mu.Unlock()
	slices.Reverse(out)

	after := ""
	for len(out) < limit {
		recs, err := l.e.store.ListRecords(ctx, a.logBucket, after, 10)
		if err != nil {
			return nil, fmt.Errorf("read provisioning log: %w", err)
		}
		for _, r := range recs {
			var chunk []Operation
			if err := json.Unmarshal(r.Data, &chunk); err == nil {
				out = append(out, chunk...)
			}
		}
		if len(recs) < 10 {
			break
		}
		after = recs[len(recs)-1].Key
	}
	slices.SortStableFunc(out, func(x, y Operation) int { return y.Time.Compare(x.Time) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
