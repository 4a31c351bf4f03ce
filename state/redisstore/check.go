package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/scim-bridge/scim-bridge/state"
)

// checkPage is how many entries Check reads per round trip.
const checkPage = 500

// maxProblems bounds how many problems Check reports.
const maxProblems = 50

// Check walks the organization's keys and reports every broken invariant
// it finds, joined into one error, or nil when the state is whole:
//   - each id of a kind has a readable document and each document an id;
//   - each unique index entry of a document points back at it, and each
//     index entry names a document that holds it;
//   - the refs index holds exactly the documents' refs;
//   - each record bucket's key set matches its values, and each value reads;
//   - no queue key is both ready and leased, every leased key has one lease
//     token, and only leased keys are marked to run again.
//
// Check reads page by page, not in one snapshot: run it when nobody writes
// (after a restart, in a test), or it may report writes still in flight.
func (s *Store) Check(ctx context.Context) error {
	if err := s.live(); err != nil {
		return err
	}
	c := &checker{s: s}
	kinds, err := s.rdb.SMembers(ctx, s.keys.kinds()).Result()
	if err != nil {
		return s.fail("check", err)
	}
	for _, k := range kinds {
		c.kind(ctx, state.Kind(k))
	}
	buckets, err := s.rdb.SMembers(ctx, s.keys.buckets()).Result()
	if err != nil {
		return s.fail("check", err)
	}
	for _, b := range buckets {
		c.bucket(ctx, b)
	}
	queues, err := s.rdb.SMembers(ctx, s.keys.queues()).Result()
	if err != nil {
		return s.fail("check", err)
	}
	for _, q := range queues {
		c.queue(ctx, q)
	}
	if len(c.problems) == 0 {
		return nil
	}
	return fmt.Errorf("redisstore: check found %d problems: %w", c.found, errors.Join(c.problems...))
}

type checker struct {
	s        *Store
	problems []error
	found    int
}

func (c *checker) addf(format string, args ...any) {
	c.found++
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, fmt.Errorf(format, args...))
	}
}

// kind checks one directory kind from its ids, then from its indexes.
func (c *checker) kind(ctx context.Context, kind state.Kind) {
	d := c.s.keys.dir(kind)
	rdb := c.s.rdb
	docs := 0
	c.pages(ctx, d.ids, func(ids []string) error {
		vals, err := rdb.HMGet(ctx, d.docs, ids...).Result()
		if err != nil {
			return err
		}
		var page []state.Resource
		for i, v := range vals {
			raw, ok := v.(string)
			if !ok {
				c.addf("%s %q: listed without a document", kind, ids[i])
				continue
			}
			docs++
			r, err := decodeDoc(kind, ids[i], raw)
			if err != nil {
				c.addf("%w", err)
				continue
			}
			page = append(page, r)
		}
		return c.docIndexes(ctx, d, page)
	})
	if n, err := rdb.HLen(ctx, d.docs).Result(); err != nil {
		c.addf("%s: count documents: %w", kind, err)
	} else if int(n) != docs {
		c.addf("%s: %d documents but %d listed ids", kind, n, docs)
	}

	c.scanHash(ctx, d.uniq, func(fields, owners []string) error {
		docs, err := c.load(ctx, kind, owners)
		if err != nil {
			return err
		}
		for i, f := range fields {
			r, ok := docs[owners[i]]
			switch {
			case !ok:
				c.addf("%s unique entry %q: owner %q has no document", kind, f, owners[i])
			case !r.unique[f]:
				c.addf("%s unique entry %q: owner %q does not hold it", kind, f, owners[i])
			}
		}
		return nil
	})

	c.pages(ctx, d.refs, func(members []string) error {
		var entries, refs, ids []string
		for _, m := range members {
			ref, id, ok := strings.Cut(m, ":")
			if !ok {
				c.addf("%s refs entry %q: malformed", kind, m)
				continue
			}
			entries, refs, ids = append(entries, m), append(refs, unesc(ref)), append(ids, id)
		}
		docs, err := c.load(ctx, kind, ids)
		if err != nil {
			return err
		}
		for i, m := range entries {
			r, ok := docs[ids[i]]
			switch {
			case !ok:
				c.addf("%s refs entry %q: %q has no document", kind, m, ids[i])
			case !r.refs[refs[i]]:
				c.addf("%s refs entry %q: %q does not hold the ref", kind, m, ids[i])
			}
		}
		return nil
	})
}

// indexed is what a document holds, as sets.
type indexed struct {
	unique map[string]bool // unique fields
	refs   map[string]bool
}

// load reads the distinct documents among ids in one HMGET, so that a
// large group named by many index entries of a page is read once.
func (c *checker) load(ctx context.Context, kind state.Kind,
	ids []string) (map[string]indexed, error) {
	distinct := slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(distinct) == 0 {
		return nil, nil
	}
	vals, err := c.s.rdb.HMGet(ctx, c.s.keys.dir(kind).docs, distinct...).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[string]indexed, len(distinct))
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		r, err := decodeDoc(kind, distinct[i], raw)
		if err != nil {
			continue // reported by the walk over ids
		}
		x := indexed{unique: map[string]bool{}, refs: map[string]bool{}}
		for _, u := range r.Unique {
			x.unique[uniqueField(u)] = true
		}
		for _, ref := range r.Refs {
			x.refs[ref] = true
		}
		out[r.ID] = x
	}
	return out, nil
}

// docIndexes checks, in one pipeline, that the unique entries and refs of
// a page of documents are indexed.
func (c *checker) docIndexes(ctx context.Context, d dirKeys, page []state.Resource) error {
	pipe := c.s.rdb.Pipeline()
	owners := make([][]*redis.StringCmd, len(page))
	refs := make([][]*redis.FloatCmd, len(page))
	for i, r := range page {
		for _, u := range r.Unique {
			owners[i] = append(owners[i], pipe.HGet(ctx, d.uniq, uniqueField(u)))
		}
		for _, ref := range r.Refs {
			refs[i] = append(refs[i], pipe.ZScore(ctx, d.refs, esc(ref)+":"+r.ID))
		}
	}
	if pipe.Len() == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for i, r := range page {
		for j, o := range owners[i] {
			if o.Val() != r.ID {
				c.addf("%s %q: unique %s is held by %q", r.Kind, r.ID, r.Unique[j].Name, o.Val())
			}
		}
		for j, z := range refs[i] {
			if z.Err() != nil {
				c.addf("%s %q: ref %q is not indexed", r.Kind, r.ID, r.Refs[j])
			}
		}
	}
	return nil
}

// bucket checks that a record bucket's key set and values agree.
func (c *checker) bucket(ctx context.Context, bucket string) {
	b := c.s.keys.bucket(bucket)
	listed := 0
	c.pages(ctx, b.index, func(keys []string) error {
		vals, err := c.s.rdb.HMGet(ctx, b.values, keys...).Result()
		if err != nil {
			return err
		}
		for i, v := range vals {
			raw, ok := v.(string)
			if !ok {
				c.addf("record %s/%q: listed without a value", bucket, keys[i])
				continue
			}
			listed++
			if _, err := decodeRecord(bucket, keys[i], raw); err != nil {
				c.addf("%w", err)
			}
		}
		return nil
	})
	if n, err := c.s.rdb.HLen(ctx, b.values).Result(); err != nil {
		c.addf("records %s: count: %w", bucket, err)
	} else if int(n) != listed {
		c.addf("records %s: %d values but %d listed keys", bucket, n, listed)
	}
}

// queue checks that every key is in one state and leases are whole.
func (c *checker) queue(ctx context.Context, queue string) {
	q := c.s.keys.queue(queue)
	rdb := c.s.rdb
	leased, err := rdb.ZRange(ctx, q.leased, 0, -1).Result()
	if err != nil {
		c.addf("queue %s: %w", queue, err)
		return
	}
	tokens, err := rdb.HGetAll(ctx, q.lease).Result()
	if err != nil {
		c.addf("queue %s: %w", queue, err)
		return
	}
	held := make(map[string]bool, len(leased))
	for _, k := range leased {
		held[k] = true
		if _, ok := tokens[k]; !ok {
			c.addf("queue %s key %q: leased without a token", queue, k)
		}
		if err := rdb.ZScore(ctx, q.ready, k).Err(); err == nil {
			c.addf("queue %s key %q: both ready and leased", queue, k)
		}
	}
	for k := range tokens {
		if !held[k] {
			c.addf("queue %s key %q: token without a lease", queue, k)
		}
	}
	c.scanHash(ctx, q.again, func(keys, _ []string) error {
		for _, k := range keys {
			if !held[k] {
				c.addf("queue %s key %q: marked to run again but not leased", queue, k)
			}
		}
		return nil
	})
}

// pages calls fn with the members of a sorted set of equal scores, in
// order, checkPage at a time.
func (c *checker) pages(ctx context.Context, set string, fn func([]string) error) {
	from := "-"
	for {
		members, err := c.s.rdb.ZRangeByLex(ctx, set, &redis.ZRangeBy{
			Min: from, Max: "+", Count: checkPage,
		}).Result()
		if err == nil && len(members) > 0 {
			err = fn(members)
		}
		if err != nil {
			c.addf("read %s: %w", set, err)
			return
		}
		if len(members) < checkPage {
			return
		}
		from = "(" + members[len(members)-1]
	}
}

// scanHash calls fn with the fields of a hash and their values, a page at
// a time, with HSCAN (which may repeat a field; checking twice is harmless).
func (c *checker) scanHash(ctx context.Context, hash string,
	fn func(fields, values []string) error) {
	var cursor uint64
	for {
		kv, next, err := c.s.rdb.HScan(ctx, hash, cursor, "", checkPage).Result()
		if err == nil && len(kv) > 0 {
			fields := make([]string, 0, len(kv)/2)
			values := make([]string, 0, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				fields = append(fields, kv[i])
				values = append(values, kv[i+1])
			}
			err = fn(fields, values)
		}
		if err != nil {
			c.addf("read %s: %w", hash, err)
			return
		}
		if next == 0 {
			return
		}
		cursor = next
	}
}
