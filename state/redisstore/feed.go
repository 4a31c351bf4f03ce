package redisstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scim-bridge/scim-bridge/state"
)

// readChunk bounds one blocking XREADGROUP. go-redis does not interrupt a
// blocked read when its context is cancelled, so a long wait is split into
// chunks and a cancelled Read returns within one chunk.
const readChunk = 250 * time.Millisecond

// streamID matches the ids XACK accepts; Ack skips anything else.
var streamID = regexp.MustCompile(`^[0-9]+(-[0-9]+)?$`)

// Read returns up to n changes that no consumer of group has been given,
// with XREADGROUP. A group is created at the oldest entry the stream keeps
// (XGROUP CREATE ... 0 MKSTREAM) on its first Read. A wait is served by
// blocking reads of at most readChunk each until it ends, a change arrives
// or ctx is done.
func (s *Store) Read(ctx context.Context, group, consumer string, n int,
	wait time.Duration) ([]state.Change, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if n <= 0 {
		return []state.Change{}, nil
	}
	if err := s.ensureGroup(ctx, group); err != nil {
		return nil, err
	}

	deadline := time.Now().Add(wait)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("redisstore: read feed: %w", err)
		}
		// go-redis sends no BLOCK for a negative Block, while BLOCK 0
		// would wait forever.
		block := time.Duration(-1)
		if left := time.Until(deadline); left > 0 {
			block = max(min(left, readChunk), time.Millisecond)
		}
		streams, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group:    group,
			Consumer: consumer,
			Streams:  []string{s.keys.feed(), ">"},
			Count:    int64(n),
			Block:    block,
		}).Result()
		switch {
		case err == nil && len(streams) > 0 && len(streams[0].Messages) > 0:
			return decodeChanges(streams[0].Messages)
		case err == nil || errors.Is(err, redis.Nil):
		case isNoGroup(err):
			// The stream was deleted (a flushed Redis): start the group again.
			s.groups.Delete(group)
			if err := s.ensureGroup(ctx, group); err != nil {
				return nil, err
			}
			continue
		default:
			return nil, s.fail("read feed", err)
		}
		if block < 0 || time.Until(deadline) <= 0 {
			return []state.Change{}, nil
		}
	}
}

// ensureGroup creates group at the start of the feed unless it is known to
// exist; another replica creating it first is fine.
func (s *Store) ensureGroup(ctx context.Context, group string) error {
	if _, ok := s.groups.Load(group); ok {
		return nil
	}
	err := s.rdb.XGroupCreateMkStream(ctx, s.keys.feed(), group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return s.fail("create consumer group "+group, err)
	}
	s.groups.Store(group, struct{}{})
	return nil
}

func isNoGroup(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOGROUP")
}

// Ack acknowledges changes of group with XACK. Ids that are not stream ids
// are skipped, as unknown ids are, rather than failing the whole call. At
// most once per TrimInterval it then drops what every group acknowledged;
// a failed trim is logged, not returned, since the acknowledgement stands.
func (s *Store) Ack(ctx context.Context, group string, ids ...string) error {
	if err := s.live(); err != nil {
		return err
	}
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if streamID.MatchString(id) {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return nil
	}
	if err := s.rdb.XAck(ctx, s.keys.feed(), group, valid...).Err(); err != nil {
		return s.fail("ack", err)
	}
	s.maybeTrim(ctx)
	return nil
}

// Claim hands consumer up to n changes of group pending for at least minIdle,
// in feed order, with XAUTOCLAIM from the start of the pending list.
func (s *Store) Claim(ctx context.Context, group, consumer string, minIdle time.Duration,
	n int) ([]state.Change, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	out := []state.Change{}
	start := "0-0"
	for len(out) < n {
		msgs, next, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream:   s.keys.feed(),
			Group:    group,
			Consumer: consumer,
			MinIdle:  minIdle,
			Start:    start,
			Count:    int64(n - len(out)),
		}).Result()
		if isNoGroup(err) {
			return out, nil // a group that never read has nothing pending
		}
		if err != nil {
			return nil, s.fail("claim", err)
		}
		cs, err := decodeChanges(msgs)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
		// XAUTOCLAIM scans a bounded part of the pending list per call;
		// "0-0" means it reached the end.
		if next == "0-0" {
			break
		}
		start = next
	}
	return out, nil
}

// maybeTrim trims the feed unless it was trimmed less than TrimInterval
// ago. Only one caller at a time wins the slot.
func (s *Store) maybeTrim(ctx context.Context) {
	if s.trimEvery < 0 {
		return
	}
	now := int64(time.Since(s.started))
	last := s.lastTrim.Load()
	if now-last < int64(s.trimEvery) || !s.lastTrim.CompareAndSwap(last, now) {
		return
	}
	n, err := s.trimFeed(ctx)
	if err != nil {
		s.log.Warn("feed trim failed", "err", err)
		return
	}
	if n > 0 {
		s.log.Debug("feed trimmed", "entries", n)
	}
}

// trimFeed drops, in one script, the entries every consumer group has
// acknowledged, and returns how many it dropped.
func (s *Store) trimFeed(ctx context.Context) (int64, error) {
	n, err := trimScript.Run(ctx, s.rdb, []string{s.keys.feed()}).Int64()
	if err != nil {
		return 0, s.fail("trim feed", err)
	}
	return n, nil
}

func decodeChanges(msgs []redis.XMessage) ([]state.Change, error) {
	out := make([]state.Change, 0, len(msgs))
	for _, m := range msgs {
		c, err := decodeChange(m)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeChange reads a feed entry written by the commit script.
func decodeChange(m redis.XMessage) (state.Change, error) {
	field := func(name string) string {
		v, _ := m.Values[name].(string)
		return v
	}
	op, errOp := strconv.Atoi(field("o"))
	version, errV := strconv.ParseUint(field("v"), 10, 64)
	at, errT := strconv.ParseInt(field("t"), 10, 64)
	added, errA := decodeList(field("a"))
	removed, errR := decodeList(field("r"))
	if err := errors.Join(errOp, errV, errT, errA, errR); err != nil {
		return state.Change{}, fmt.Errorf("redisstore: feed entry %s: %w", m.ID, errCorrupt)
	}
	return state.Change{
		ID:          m.ID,
		Kind:        state.Kind(field("k")),
		ResourceID:  field("i"),
		Op:          state.Op(op),
		Version:     version,
		RefsAdded:   added,
		RefsRemoved: removed,
		Time:        time.UnixMilli(at),
	}, nil
}
