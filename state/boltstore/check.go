package boltstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/scim-bridge/scim-bridge/state"
)

// maxProblems bounds how many problems Check reports.
const maxProblems = 20

// Check verifies the whole file in one read transaction: bbolt's own page
// structure, then that every index entry points at a resource holding that
// value and every resource's index and refs entries exist, that counters
// match, that pending feed entries point at kept changes, and that queue
// indexes match queue items. It returns nil or the problems found, joined.
// It reads every key and, while it runs, keeps the file from being mapped
// larger (which stalls writes that grow it), so it is meant for tests and
// maintenance, not for a serving path.
func (s *Store) Check(ctx context.Context) error {
	var p problems
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			p.addf("bbolt: %v", err)
		}
		steps := []func(context.Context, *bbolt.Tx, *problems) error{
			checkDirectory, checkFeed, checkRecords, checkQueues,
		}
		for _, step := range steps {
			if err := step(ctx, tx, &p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltstore: check: %w", err)
	}
	return p.err()
}

// problems collects what Check finds, up to maxProblems.
type problems struct {
	list []error
	more int
}

func (p *problems) addf(format string, args ...any) {
	if len(p.list) == maxProblems {
		p.more++
		return
	}
	p.list = append(p.list, fmt.Errorf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	if p.more > 0 {
		p.list = append(p.list, fmt.Errorf("and %d more problems", p.more))
	}
	return fmt.Errorf("boltstore: check: %w", errors.Join(p.list...))
}

// walk calls fn for every key of b, checking ctx now and then.
func walk(ctx context.Context, b *bbolt.Bucket, fn func(k, v []byte)) error {
	if b == nil {
		return nil
	}
	c := b.Cursor()
	i := 0
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if i++; i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if v == nil && b.Bucket(k) != nil {
			continue
		}
		fn(k, v)
	}
	return nil
}

func checkDirectory(ctx context.Context, tx *bbolt.Tx, p *problems) error {
	return tx.Bucket(bucketDir).ForEachBucket(func(name []byte) error {
		kind := state.Kind(name)
		kb := readKind(tx, kind)
		if kb.docs == nil || kb.index == nil || kb.refs == nil {
			p.addf("%s: buckets missing", kind)
			return nil
		}
		if err := checkDocs(ctx, kind, kb, p); err != nil {
			return err
		}
		err := walk(ctx, kb.index, func(k, v []byte) {
			name, value, ok := splitPrefixed(k)
			if !ok {
				p.addf("%s: malformed index key %x", kind, k)
				return
			}
			d, err := kb.getDoc(string(v))
			switch {
			case err != nil:
				p.addf("%s: %v", kind, err)
			case d == nil:
				p.addf("%s index %q value %q points at missing %q", kind, name, value, v)
			case !slices.Contains(d.Unique, state.IndexKey{Name: name, Value: value}):
				p.addf("%s index %q value %q points at %q, which does not hold it",
					kind, name, value, v)
			}
		})
		if err != nil {
			return err
		}
		return walk(ctx, kb.refs, func(k, _ []byte) {
			ref, id, ok := splitPrefixed(k)
			if !ok {
				p.addf("%s: malformed refs key %x", kind, k)
				return
			}
			d, err := kb.getDoc(id)
			switch {
			case err != nil:
				p.addf("%s: %v", kind, err)
			case d == nil:
				p.addf("%s refs entry %q of missing %q", kind, ref, id)
			case !slices.Contains(d.Refs, ref):
				p.addf("%s refs entry %q of %q, which does not hold it", kind, ref, id)
			}
		})
	})
}

// checkDocs checks that every resource decodes, owns its index entries and
// has its refs entries, and that the count matches.
func checkDocs(ctx context.Context, kind state.Kind, kb kindBuckets, p *problems) error {
	n := 0
	err := walk(ctx, kb.docs, func(k, v []byte) {
		n++
		d, err := decodeDoc(v)
		if err != nil {
			p.addf("%s %q: %v", kind, k, err)
			return
		}
		for _, key := range d.Unique {
			if got := kb.owner(indexKey(key)); got != string(k) {
				p.addf("%s %q: index %q value %q is held by %q", kind, k, key.Name, key.Value, got)
			}
		}
		for _, ref := range d.Refs {
			if kb.refs.Get(prefixed(ref, string(k))) == nil {
				p.addf("%s %q: refs entry %q missing", kind, k, ref)
			}
		}
	})
	if got := count(kb.docs); err == nil && got != n {
		p.addf("%s: count is %d, holds %d", kind, got, n)
	}
	return err
}

func checkFeed(ctx context.Context, tx *bbolt.Tx, p *problems) error {
	feed := tx.Bucket(bucketFeed)
	err := walk(ctx, feed, func(k, v []byte) {
		if len(k) != 8 || seqOf(k) > feed.Sequence() {
			p.addf("feed: key %x out of sequence", k)
			return
		}
		if _, err := decodeChange(k, v); err != nil {
			p.addf("feed %s: %v", feedID(seqOf(k)), err)
		}
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketGroups).ForEachBucket(func(name []byte) error {
		gb := tx.Bucket(bucketGroups).Bucket(name)
		cur := cursorOf(gb)
		if cur > feed.Sequence() {
			p.addf("group %q: cursor %d beyond the feed", name, cur)
		}
		return walk(ctx, gb.Bucket(bucketPending), func(k, v []byte) {
			id := feedID(seqOf(k))
			if _, err := decodePending(v); err != nil {
				p.addf("group %q change %s: %v", name, id, err)
			}
			if seqOf(k) > cur {
				p.addf("group %q: change %s pending but not delivered", name, id)
			}
			if feed.Get(k) == nil {
				p.addf("group %q: pending change %s missing from feed", name, id)
			}
		})
	})
}

func checkRecords(ctx context.Context, tx *bbolt.Tx, p *problems) error {
	return tx.Bucket(bucketRecords).ForEachBucket(func(name []byte) error {
		b := tx.Bucket(bucketRecords).Bucket(name)
		n := 0
		err := walk(ctx, b, func(k, v []byte) {
			n++
			if _, err := decodeRecord(k, v); err != nil {
				p.addf("records %q key %q: %v", name, k, err)
			}
		})
		if err == nil && count(b) != n {
			p.addf("records %q: count is %d, holds %d", name, count(b), n)
		}
		return err
	})
}

func checkQueues(ctx context.Context, tx *bbolt.Tx, p *problems) error {
	return tx.Bucket(bucketQueues).ForEachBucket(func(name []byte) error {
		q := readQueue(tx, string(name))
		if q.items == nil || q.ready == nil || q.leased == nil {
			p.addf("queue %q: buckets missing", name)
			return nil
		}
		ready, leased := 0, 0
		err := walk(ctx, q.items, func(k, v []byte) {
			it, err := decodeItem(v)
			if err != nil {
				p.addf("queue %q key %q: %v", name, k, err)
				return
			}
			index, at := q.ready, it.Due
			if it.Leased {
				index, at = q.leased, it.Until
				leased++
			} else {
				ready++
			}
			if index.Get(timeKey(at, string(k))) == nil {
				p.addf("queue %q key %q: index entry missing", name, k)
			}
		})
		if err != nil {
			return err
		}
		for _, ix := range []struct {
			b     *bbolt.Bucket
			items int
			what  string
		}{{q.ready, ready, "ready"}, {q.leased, leased, "leased"}} {
			entries := 0
			err := walk(ctx, ix.b, func(k, _ []byte) { entries++ })
			if err != nil {
				return err
			}
			if entries != ix.items || count(ix.b) != ix.items {
				p.addf("queue %q: %d %s items, %d index entries, count %d",
					name, ix.items, ix.what, entries, count(ix.b))
			}
		}
		return nil
	})
}
