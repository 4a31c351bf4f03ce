package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scim-bridge/scim-bridge/state"
)

// Every queue operation is one Lua script over the queue's four keys, so a
// key is never ready and leased at once, and concurrent leasers, in one
// process or many, never get the same key. Due times and lease ends are the
// callers' clocks in unix milliseconds; Redis's own clock is not consulted.

// Enqueue makes each key ready at due, or marks a leased key to be ready at
// due once its lease ends; an earlier due time a key already has wins.
func (s *Store) Enqueue(ctx context.Context, queue string, keys []string, due time.Time) error {
	if err := s.live(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, 0, 2+len(keys))
	args = append(args, ms(due), queue)
	for _, k := range keys {
		args = append(args, k)
	}
	q := s.keys.queue(queue)
	err := enqueueScript.Run(ctx, s.rdb, append(q.list(), s.keys.queues()), args...).Err()
	return s.fail("enqueue "+queue, err)
}

// Lease hands owner up to max keys due at now, earliest first, each until
// now+ttl. Leases that expired by now are first made ready again at the
// time they ended.
func (s *Store) Lease(ctx context.Context, queue, owner string, now time.Time, max int,
	ttl time.Duration) ([]state.Lease, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if max <= 0 {
		return []state.Lease{}, nil
	}
	until := time.UnixMilli(ms(now.Add(ttl)))
	got, err := leaseScript.Run(ctx, s.rdb, s.keys.queue(queue).list(),
		ms(now), ms(until), max, owner, token()).StringSlice()
	if err != nil {
		return nil, s.fail("lease "+queue, err)
	}
	out := make([]state.Lease, 0, len(got)/2)
	for i := 0; i+1 < len(got); i += 2 {
		out = append(out, state.Lease{Key: got[i], Owner: owner, Token: got[i+1], Until: until})
	}
	return out, nil
}

// Extend moves a held lease's end to now+ttl, or fails with
// state.ErrLeaseLost once another lease replaced it or it was settled.
// A lease past its end that nobody has taken over yet is still held.
func (s *Store) Extend(ctx context.Context, queue string, lease state.Lease, now time.Time,
	ttl time.Duration) (state.Lease, error) {
	if err := s.live(); err != nil {
		return state.Lease{}, err
	}
	until := time.UnixMilli(ms(now.Add(ttl)))
	if err := s.settle(ctx, queue, "extend", lease, ms(until)); err != nil {
		return state.Lease{}, err
	}
	lease.Until = until
	return lease, nil
}

// Done ends a held lease: the key leaves the queue unless it was enqueued
// again meanwhile, in which case it is ready at that due time.
func (s *Store) Done(ctx context.Context, queue string, lease state.Lease) error {
	if err := s.live(); err != nil {
		return err
	}
	return s.settle(ctx, queue, "done", lease, 0)
}

// Retry ends a held lease and makes the key ready at due, or at the
// earlier due time it was enqueued with meanwhile.
func (s *Store) Retry(ctx context.Context, queue string, lease state.Lease, due time.Time) error {
	if err := s.live(); err != nil {
		return err
	}
	return s.settle(ctx, queue, "retry", lease, ms(due))
}

func (s *Store) settle(ctx context.Context, queue, action string, lease state.Lease,
	at int64) error {
	err := settleScript.Run(ctx, s.rdb, s.keys.queue(queue).list(),
		action, lease.Key, lease.Token, at).Err()
	return s.fail(action+" "+queue, err)
}

// QueueStats counts a queue's ready and leased keys in one MULTI/EXEC.
func (s *Store) QueueStats(ctx context.Context, queue string) (state.QueueStats, error) {
	if err := s.live(); err != nil {
		return state.QueueStats{}, err
	}
	q := s.keys.queue(queue)
	var ready, leased *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		ready = p.ZCard(ctx, q.ready)
		leased = p.ZCard(ctx, q.leased)
		return nil
	})
	if err != nil {
		return state.QueueStats{}, s.fail("queue stats "+queue, err)
	}
	return state.QueueStats{Ready: int(ready.Val()), Leased: int(leased.Val())}, nil
}

// NextDue returns the earliest due time of a ready key, or
// state.ErrNotFound when no key is ready.
func (s *Store) NextDue(ctx context.Context, queue string) (time.Time, error) {
	if err := s.live(); err != nil {
		return time.Time{}, err
	}
	first, err := s.rdb.ZRangeWithScores(ctx, s.keys.queue(queue).ready, 0, 0).Result()
	if err != nil {
		return time.Time{}, s.fail("next due "+queue, err)
	}
	if len(first) == 0 {
		return time.Time{}, fmt.Errorf("redisstore: next due %s: no key is ready: %w",
			queue, state.ErrNotFound)
	}
	return time.UnixMilli(int64(first[0].Score)), nil
}
