package boltstore

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/scim-bridge/scim-bridge/state"
)

// The feed lives in two places:
//   feed                 seqKey(sequence) -> change, the bucket's own
//                        sequence numbering the entries
//   groups/<group>       cursor -> seqKey of the last change delivered
//   groups/<group>/pending  seqKey -> pending (consumer, delivery time)
// An entry is trimmed once every group has delivered and acknowledged it.

// trimBatch bounds how many feed entries one Ack deletes, so a backlog is
// trimmed over several calls instead of in one long transaction.
const trimBatch = 4096

// Read delivers up to max changes the group has not seen, marking them
// pending for consumer, and waits up to wait for a commit when there are
// none. It returns ErrClosed when the store closes while it waits.
func (s *Store) Read(
	ctx context.Context, group, consumer string, max int, wait time.Duration,
) ([]state.Change, error) {
	if err := checkRead(group, consumer, max); err != nil {
		return nil, err
	}
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		// Take the signal before looking, so that a commit landing between
		// the look and the wait still wakes us.
		sig := s.signal()
		cs, err := s.readOnce(ctx, group, consumer, max)
		if err != nil || len(cs) > 0 || wait <= 0 {
			return cs, err
		}
		select {
		case <-sig:
		case <-timeout:
			return []state.Change{}, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("boltstore: read %s: %w", group, ctx.Err())
		case <-s.done:
			return nil, fmt.Errorf("boltstore: read %s: %w", group, state.ErrClosed)
		}
	}
}

func checkRead(group, consumer string, max int) error {
	if err := checkName("group", group); err != nil {
		return err
	}
	if err := checkName("consumer", consumer); err != nil {
		return err
	}
	return checkPositive("max", max)
}

// readOnce delivers what there is without waiting. It looks first in a
// read transaction, so that an idle poll costs no write and no sync.
func (s *Store) readOnce(
	ctx context.Context, group, consumer string, max int,
) ([]state.Change, error) {
	news := false
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		gb := tx.Bucket(bucketGroups).Bucket([]byte(group))
		last, _ := tx.Bucket(bucketFeed).Cursor().Last()
		// A group seen for the first time is written down even with an empty
		// feed: from then on, trimming waits for it.
		news = gb == nil || (last != nil && seqOf(last) > cursorOf(gb))
		return nil
	})
	if err != nil {
		return nil, wrapRead(group, err)
	}
	if !news {
		return []state.Change{}, nil
	}

	var out []state.Change
	err = s.update(ctx, false, func(tx *bbolt.Tx) error {
		out = out[:0]
		gb, err := ensure(tx.Bucket(bucketGroups), []byte(group))
		if err != nil {
			return err
		}
		pend, err := gb.CreateBucketIfNotExists(bucketPending)
		if err != nil {
			return err
		}
		c := tx.Bucket(bucketFeed).Cursor()
		var last []byte
		for k, v := c.Seek(seqKey(cursorOf(gb) + 1)); k != nil && len(out) < max; k, v = c.Next() {
			ch, err := decodeChange(k, v)
			if err != nil {
				return err
			}
			out = append(out, ch)
			last = k
		}
		p := encodePending(pending{Consumer: consumer, Delivered: nanos(s.clock())})
		for _, ch := range out {
			seq, _ := parseFeedID(ch.ID)
			if err := pend.Put(seqKey(seq), p); err != nil {
				return err
			}
		}
		if last == nil {
			// Only the group is new; the cursor stays at zero.
			return nil
		}
		return gb.Put(keyCursor, append([]byte(nil), last...))
	})
	if err != nil {
		return nil, wrapRead(group, err)
	}
	return out, nil
}

func wrapRead(group string, err error) error {
	return fmt.Errorf("boltstore: read %s: %w", group, err)
}

// cursorOf returns the sequence of the last change delivered to a group,
// 0 when it has none or does not exist.
func cursorOf(gb *bbolt.Bucket) uint64 {
	if gb == nil {
		return 0
	}
	v := gb.Get(keyCursor)
	if len(v) != 8 {
		return 0
	}
	return seqOf(v)
}

// Ack acknowledges changes of group; ids that are unknown, malformed or
// already acknowledged are ignored. It then trims the feed.
func (s *Store) Ack(ctx context.Context, group string, ids ...string) error {
	if err := checkName("group", group); err != nil {
		return err
	}
	var seqs [][]byte
	for _, id := range ids {
		if seq, ok := parseFeedID(id); ok {
			seqs = append(seqs, seqKey(seq))
		}
	}
	var trimmed int
	err := s.update(ctx, false, func(tx *bbolt.Tx) error {
		pend := nested(tx.Bucket(bucketGroups), []byte(group), bucketPending)
		if pend == nil {
			return nil
		}
		for _, k := range seqs {
			if err := pend.Delete(k); err != nil {
				return err
			}
		}
		var err error
		trimmed, err = trim(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("boltstore: ack %s: %w", group, err)
	}
	if trimmed > 0 {
		s.log.Debug("feed trimmed", "group", group, "changes", trimmed)
	}
	return nil
}

// trim deletes up to trimBatch of the oldest feed entries that every group
// has acknowledged, and returns how many it deleted. Nothing is trimmed
// before a group has read the feed.
func trim(tx *bbolt.Tx) (int, error) {
	var low uint64
	seen := false
	err := tx.Bucket(bucketGroups).ForEachBucket(func(name []byte) error {
		gb := tx.Bucket(bucketGroups).Bucket(name)
		// A group still needs its oldest pending change and everything it
		// has not been given.
		need := cursorOf(gb) + 1
		if pend := gb.Bucket(bucketPending); pend != nil {
			if k, _ := pend.Cursor().First(); k != nil && seqOf(k) < need {
				need = seqOf(k)
			}
		}
		if !seen || need < low {
			low = need
		}
		seen = true
		return nil
	})
	if err != nil || !seen {
		return 0, err
	}

	feed := tx.Bucket(bucketFeed)
	var doomed [][]byte
	c := feed.Cursor()
	for k, _ := c.First(); k != nil && seqOf(k) < low && len(doomed) < trimBatch; k, _ = c.Next() {
		doomed = append(doomed, append([]byte(nil), k...))
	}
	for _, k := range doomed {
		if err := feed.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

// Claim hands consumer up to max changes pending in group for at least
// minIdle, in feed order, and restarts their idle time.
func (s *Store) Claim(
	ctx context.Context, group, consumer string, minIdle time.Duration, max int,
) ([]state.Change, error) {
	if err := checkRead(group, consumer, max); err != nil {
		return nil, err
	}
	var out []state.Change
	err := s.update(ctx, false, func(tx *bbolt.Tx) error {
		out = out[:0]
		pend := nested(tx.Bucket(bucketGroups), []byte(group), bucketPending)
		if pend == nil {
			return nil
		}
		now := nanos(s.clock())
		var due [][]byte
		c := pend.Cursor()
		for k, v := c.First(); k != nil && len(due) < max; k, v = c.Next() {
			p, err := decodePending(v)
			if err != nil {
				return fmt.Errorf("change %s: %w", feedID(seqOf(k)), err)
			}
			if time.Duration(now-p.Delivered) >= minIdle {
				due = append(due, append([]byte(nil), k...))
			}
		}
		feed := tx.Bucket(bucketFeed)
		for _, k := range due {
			v := feed.Get(k)
			if v == nil {
				// Trimming keeps pending entries, so this is damage; dropping
				// the entry keeps the group claimable.
				s.log.Warn("pending change missing from feed, dropped",
					"group", group, "change", feedID(seqOf(k)))
				if err := pend.Delete(k); err != nil {
					return err
				}
				continue
			}
			ch, err := decodeChange(k, v)
			if err != nil {
				return err
			}
			if err := pend.Put(k, encodePending(pending{Consumer: consumer, Delivered: now})); err != nil {
				return err
			}
			out = append(out, ch)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: claim %s: %w", group, err)
	}
	return out, nil
}
