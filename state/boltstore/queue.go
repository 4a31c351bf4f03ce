package boltstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/scim-bridge/scim-bridge/state"
)

// A queue lives under queues/<queue>, in three buckets:
//   items   key -> item (ready with its due time, or leased)
//   ready   timeKey(due, key) -> nothing; counted
//   leased  timeKey(until, key) -> nothing; counted
// Every decision about due times and expiry uses the caller's now.

type queueBuckets struct {
	items, ready, leased *bbolt.Bucket
}

func readQueue(tx *bbolt.Tx, queue string) queueBuckets {
	qb := tx.Bucket(bucketQueues).Bucket([]byte(queue))
	if qb == nil {
		return queueBuckets{}
	}
	return queueBuckets{
		items:  qb.Bucket(bucketItems),
		ready:  qb.Bucket(bucketReady),
		leased: qb.Bucket(bucketLeased),
	}
}

func writeQueue(tx *bbolt.Tx, queue string) (queueBuckets, error) {
	qb, err := ensure(tx.Bucket(bucketQueues), []byte(queue))
	if err != nil {
		return queueBuckets{}, err
	}
	var q queueBuckets
	for _, p := range []struct {
		dst  **bbolt.Bucket
		name []byte
	}{{&q.items, bucketItems}, {&q.ready, bucketReady}, {&q.leased, bucketLeased}} {
		if *p.dst, err = qb.CreateBucketIfNotExists(p.name); err != nil {
			return queueBuckets{}, err
		}
	}
	return q, nil
}

// get returns the item of key and whether there is one.
func (q queueBuckets) get(key string) (item, bool, error) {
	if q.items == nil {
		return item{}, false, nil
	}
	v := q.items.Get([]byte(key))
	if v == nil {
		return item{}, false, nil
	}
	it, err := decodeItem(v)
	if err != nil {
		return item{}, false, fmt.Errorf("queue key %q: %w", key, err)
	}
	return it, true, nil
}

// mustGet returns the item of a key found in an index.
func (q queueBuckets) mustGet(key string) (item, error) {
	it, ok, err := q.get(key)
	if err == nil && !ok {
		err = fmt.Errorf("queue key %q is indexed but has no item", key)
	}
	return it, err
}

// put stores an item and enters it in the index of its state.
func (q queueBuckets) put(key string, it item) error {
	index, at := q.ready, it.Due
	if it.Leased {
		index, at = q.leased, it.Until
	}
	if err := index.Put(timeKey(at, key), nil); err != nil {
		return err
	}
	if err := addCount(index, 1); err != nil {
		return err
	}
	return q.items.Put([]byte(key), encodeItem(it))
}

// unindex removes a stored item from the index of its state; the caller
// puts or deletes the item next.
func (q queueBuckets) unindex(key string, it item) error {
	index, at := q.ready, it.Due
	if it.Leased {
		index, at = q.leased, it.Until
	}
	if err := index.Delete(timeKey(at, key)); err != nil {
		return err
	}
	return addCount(index, -1)
}

// move replaces a stored item with its next state.
func (q queueBuckets) move(key string, from, to item) error {
	if err := q.unindex(key, from); err != nil {
		return err
	}
	return q.put(key, to)
}

// first returns up to max index keys at or before ns, copied.
func first(index *bbolt.Bucket, ns int64, max int) [][]byte {
	var out [][]byte
	c := index.Cursor()
	for k, _ := c.First(); k != nil && len(out) < max; k, _ = c.Next() {
		if at, _ := splitTimeKey(k); at > ns {
			break
		}
		out = append(out, append([]byte(nil), k...))
	}
	return out
}

// Enqueue makes keys ready at due, keeping an earlier due time, and marks
// leased keys to run again after their lease.
func (s *Store) Enqueue(ctx context.Context, queue string, keys []string, due time.Time) error {
	if err := checkName("queue", queue); err != nil {
		return err
	}
	for _, k := range keys {
		if err := checkName("queue key", k); err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		return nil
	}
	d := nanos(due)
	err := s.update(ctx, false, func(tx *bbolt.Tx) error {
		q, err := writeQueue(tx, queue)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := enqueueOne(q, k, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltstore: enqueue %s: %w", queue, err)
	}
	return nil
}

func enqueueOne(q queueBuckets, key string, due int64) error {
	it, ok, err := q.get(key)
	switch {
	case err != nil:
		return err
	case !ok:
		return q.put(key, item{Due: due})
	case it.Leased:
		if !it.Rerun || due < it.Due {
			it.Rerun, it.Due = true, due
			return q.items.Put([]byte(key), encodeItem(it))
		}
	case due < it.Due:
		next := it
		next.Due = due
		return q.move(key, it, next)
	}
	return nil
}

// Lease hands owner up to max keys due by now, earliest first, for ttl. A
// key whose lease ended by now counts as ready since the lease's end; its
// old lease is lost only when this call hands the key out again.
func (s *Store) Lease(
	ctx context.Context, queue, owner string, now time.Time, max int, ttl time.Duration,
) ([]state.Lease, error) {
	if err := checkLease(queue, owner, max, ttl); err != nil {
		return nil, err
	}
	nowNs := nanos(now)
	until := nanos(now.Add(ttl))
	var out []state.Lease
	err := s.update(ctx, false, func(tx *bbolt.Tx) error {
		out = out[:0]
		q := readQueue(tx, queue)
		if q.items == nil {
			return nil
		}
		// Both indexes order by time, then key: merging their heads gives
		// the earliest keys of either.
		picked := merge(first(q.ready, nowNs, max), first(q.leased, nowNs, max), max)
		for _, k := range picked {
			_, key := splitTimeKey(k)
			it, err := q.mustGet(key)
			if err != nil {
				return err
			}
			l := state.Lease{Key: key, Owner: owner, Token: rand.Text(), Until: time.Unix(0, until)}
			next := item{Leased: true, Owner: owner, Token: l.Token, Until: until}
			if err := q.move(key, it, next); err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: lease %s: %w", queue, err)
	}
	return out, nil
}

// merge returns the first max keys of two sorted lists, in order.
func merge(a, b [][]byte, max int) [][]byte {
	out := make([][]byte, 0, min(max, len(a)+len(b)))
	for len(out) < max && (len(a) > 0 || len(b) > 0) {
		if len(b) == 0 || (len(a) > 0 && bytes.Compare(a[0], b[0]) <= 0) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

func checkLease(queue, owner string, max int, ttl time.Duration) error {
	if err := checkName("queue", queue); err != nil {
		return err
	}
	if err := checkName("owner", owner); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("boltstore: lease ttl must be positive, got %s: %w", ttl, errInvalid)
	}
	return checkPositive("max", max)
}

// held returns the item of a lease that is still held: its key is leased
// with its token. A lease past its end is still held until a Lease call
// hands its key to someone.
func held(q queueBuckets, l state.Lease) (item, error) {
	it, ok, err := q.get(l.Key)
	if err != nil {
		return item{}, err
	}
	if !ok || !it.Leased || it.Token != l.Token {
		return item{}, fmt.Errorf("key %q: %w", l.Key, state.ErrLeaseLost)
	}
	return it, nil
}

// Extend pushes a held lease's end to now+ttl.
func (s *Store) Extend(
	ctx context.Context, queue string, lease state.Lease, now time.Time, ttl time.Duration,
) (state.Lease, error) {
	if err := checkLease(queue, "owner", 1, ttl); err != nil {
		return state.Lease{}, err
	}
	until := nanos(now.Add(ttl))
	var out state.Lease
	err := s.update(ctx, false, func(tx *bbolt.Tx) error {
		q := readQueue(tx, queue)
		it, err := held(q, lease)
		if err != nil {
			return err
		}
		next := it
		next.Until = until
		out = state.Lease{Key: lease.Key, Owner: it.Owner, Token: it.Token, Until: time.Unix(0, until)}
		return q.move(lease.Key, it, next)
	})
	if err != nil {
		return state.Lease{}, fmt.Errorf("boltstore: extend %s: %w", queue, err)
	}
	return out, nil
}

// Done ends a held lease: the key leaves the queue, or is ready again when
// it was enqueued during the lease.
func (s *Store) Done(ctx context.Context, queue string, lease state.Lease) error {
	err := s.update(ctx, false, func(tx *bbolt.Tx) error {
		q := readQueue(tx, queue)
		it, err := held(q, lease)
		if err != nil {
			return err
		}
		if it.Rerun {
			return q.move(lease.Key, it, item{Due: it.Due})
		}
		if err := q.unindex(lease.Key, it); err != nil {
			return err
		}
		return q.items.Delete([]byte(lease.Key))
	})
	if err != nil {
		return fmt.Errorf("boltstore: done %s: %w", queue, err)
	}
	return nil
}

// Retry ends a held lease and makes the key ready at due, or at the
// earlier due time it was enqueued with during the lease.
func (s *Store) Retry(ctx context.Context, queue string, lease state.Lease, due time.Time) error {
	d := nanos(due)
	err := s.update(ctx, false, func(tx *bbolt.Tx) error {
		q := readQueue(tx, queue)
		it, err := held(q, lease)
		if err != nil {
			return err
		}
		if it.Rerun && it.Due < d {
			d = it.Due
		}
		return q.move(lease.Key, it, item{Due: d})
	})
	if err != nil {
		return fmt.Errorf("boltstore: retry %s: %w", queue, err)
	}
	return nil
}

// QueueStats counts a queue's ready and leased keys in constant time.
func (s *Store) QueueStats(ctx context.Context, queue string) (state.QueueStats, error) {
	var out state.QueueStats
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		q := readQueue(tx, queue)
		out = state.QueueStats{Ready: count(q.ready), Leased: count(q.leased)}
		return nil
	})
	if err != nil {
		return state.QueueStats{}, fmt.Errorf("boltstore: queue stats %s: %w", queue, err)
	}
	return out, nil
}

// NextDue returns the earliest due time of a ready key, or ErrNotFound.
func (s *Store) NextDue(ctx context.Context, queue string) (time.Time, error) {
	var out time.Time
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		q := readQueue(tx, queue)
		if q.ready == nil {
			return state.ErrNotFound
		}
		k, _ := q.ready.Cursor().First()
		if k == nil {
			return state.ErrNotFound
		}
		ns, _ := splitTimeKey(k)
		out = time.Unix(0, ns)
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("boltstore: next due %s: %w", queue, err)
	}
	return out, nil
}
