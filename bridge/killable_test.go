package bridge_test

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scim-bridge/scim-bridge/state"
)

// killable is a real store one engine uses, with a switch that makes every
// later call fail as if that engine's process had died: nothing it does
// afterwards reaches the store, so its leases and unacknowledged feed
// entries stay behind exactly as a crash would leave them.
type killable struct {
	state.Store
	dead atomic.Bool
	// leased counts the keys of app queues this store handed out and
	// not yet ended (at most as many as the engine holds).
	leased atomic.Int64
}

func (k *killable) kill() { k.dead.Store(true) }

func (k *killable) check() error {
	if k.dead.Load() {
		return state.ErrClosed
	}
	return nil
}

func (k *killable) Commit(ctx context.Context, w ...state.Write) ([]uint64, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return k.Store.Commit(ctx, w...)
}

func (k *killable) Get(ctx context.Context, kind state.Kind, id string) (state.Resource, error) {
	if err := k.check(); err != nil {
		return state.Resource{}, err
	}
	return k.Store.Get(ctx, kind, id)
}

func (k *killable) GetMany(ctx context.Context, kind state.Kind, ids []string) (
	[]state.Resource, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return k.Store.GetMany(ctx, kind, ids)
}

func (k *killable) Lookup(ctx context.Context, kind state.Kind, key state.IndexKey) (
	state.Resource, error) {
	if err := k.check(); err != nil {
		return state.Resource{}, err
	}
	return k.Store.Lookup(ctx, kind, key)
}

func (k *killable) List(ctx context.Context, kind state.Kind, after string, limit int) (
	[]state.Resource, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return k.Store.List(ctx, kind, after, limit)
}

func (k *killable) Count(ctx context.Context, kind state.Kind) (int, error) {
	if err := k.check(); err != nil {
		return 0, err
	}
	return k.Store.Count(ctx, kind)
}

func (k *killable) Referrers(ctx context.Context, kind state.Kind, ref string) ([]string, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return k.Store.Referrers(ctx, kind, ref)
}

func (k *killable) GetWithReferrers(ctx context.Context, kind state.Kind, id string,
	refKind state.Kind) (state.Resource, []string, error) {
	if err := k.check(); err != nil {
		return state.Resource{}, nil, err
	}
	return k.Store.GetWithReferrers(ctx, kind, id, refKind)
}

func (k *killable) LookupWithReferrers(ctx context.Context, kind state.Kind, key state.IndexKey,
	refKind state.Kind) (state.Resource, []string, error) {
	if err := k.check(); err != nil {
		return state.Resource{}, nil, err
	}
	return k.Store.LookupWithReferrers(ctx, kind, key, refKind)
}

func (k *killable) Read(ctx context.Context, group, consumer string, max int,
	wait time.Duration) ([]state.Change, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return k.Store.Read(ctx, group, consumer, max, wait)
}

func (k *killable) Ack(ctx context.Context, group string, ids ...string) error {
	if err := k.check(); err != nil {
		return err
	}
	return k.Store.Ack(ctx, group, ids...)
}

func (k *killable) Claim(ctx context.Context, group, consumer string, minIdle time.Duration,
	max int) ([]state.Change, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return k.Store.Claim(ctx, group, consumer, minIdle, max)
}

func (k *killable) GetRecord(ctx context.Context, bucket, key string) (state.Record, error) {
	if err := k.check(); err != nil {
		return state.Record{}, err
	}
	return k.Store.GetRecord(ctx, bucket, key)
}

func (k *killable) PutRecord(ctx context.Context, bucket, key string, data []byte,
	ifVersion uint64) (uint64, error) {
	if err := k.check(); err != nil {
		return 0, err
	}
	return k.Store.PutRecord(ctx, bucket, key, data, ifVersion)
}

func (k *killable) DeleteRecord(ctx context.Context, bucket, key string, ifVersion uint64) error {
	if err := k.check(); err != nil {
		return err
	}
	return k.Store.DeleteRecord(ctx, bucket, key, ifVersion)
}

func (k *killable) ListRecords(ctx context.Context, bucket, after string, limit int) (
	[]state.Record, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	return k.Store.ListRecords(ctx, bucket, after, limit)
}

func (k *killable) CountRecords(ctx context.Context, bucket string) (int, error) {
	if err := k.check(); err != nil {
		return 0, err
	}
	return k.Store.CountRecords(ctx, bucket)
}

func (k *killable) Enqueue(ctx context.Context, queue string, keys []string, due time.Time) error {
	if err := k.check(); err != nil {
		return err
	}
	return k.Store.Enqueue(ctx, queue, keys, due)
}

func (k *killable) Lease(ctx context.Context, queue, owner string, now time.Time, max int,
	ttl time.Duration) ([]state.Lease, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	out, err := k.Store.Lease(ctx, queue, owner, now, max, ttl)
	if strings.HasPrefix(queue, "sync/") {
		k.leased.Add(int64(len(out)))
	}
	return out, err
}

func (k *killable) Extend(ctx context.Context, queue string, l state.Lease, now time.Time,
	ttl time.Duration) (state.Lease, error) {
	if err := k.check(); err != nil {
		return state.Lease{}, err
	}
	return k.Store.Extend(ctx, queue, l, now, ttl)
}

func (k *killable) Done(ctx context.Context, queue string, l state.Lease) error {
	if err := k.check(); err != nil {
		return err
	}
	if strings.HasPrefix(queue, "sync/") {
		k.leased.Add(-1)
	}
	return k.Store.Done(ctx, queue, l)
}

func (k *killable) Retry(ctx context.Context, queue string, l state.Lease, due time.Time) error {
	if err := k.check(); err != nil {
		return err
	}
	if strings.HasPrefix(queue, "sync/") {
		k.leased.Add(-1)
	}
	return k.Store.Retry(ctx, queue, l, due)
}

func (k *killable) QueueStats(ctx context.Context, queue string) (state.QueueStats, error) {
	if err := k.check(); err != nil {
		return state.QueueStats{}, err
	}
	return k.Store.QueueStats(ctx, queue)
}

func (k *killable) NextDue(ctx context.Context, queue string) (time.Time, error) {
	if err := k.check(); err != nil {
		return time.Time{}, err
	}
	return k.Store.NextDue(ctx, queue)
}

func (k *killable) Ping(ctx context.Context) error {
	if err := k.check(); err != nil {
		return err
	}
	return k.Store.Ping(ctx)
}

// Close does not close the shared store: other engines still use it.
func (k *killable) Close() error { return nil }
