package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/scim-bridge/scim-bridge/state"
)

// Commit applies writes atomically in one Lua script, which checks ids,
// versions and unique index values before it writes the documents, index
// entries, refs and one feed entry per write. A failed commit writes
// nothing. See state.Directory for the contract; writing one resource twice
// in a commit fails with state.ErrConflict before anything is sent.
func (s *Store) Commit(ctx context.Context, writes ...state.Write) ([]uint64, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if len(writes) == 0 {
		return []uint64{}, nil
	}
	keys, args, err := s.commitCall(writes)
	if err != nil {
		return nil, err
	}

	got, err := commitScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, s.fail("commit", err)
	}
	if len(got) != len(writes) {
		return nil, fmt.Errorf("redisstore: commit: got %d versions for %d writes",
			len(got), len(writes))
	}
	versions := make([]uint64, len(got))
	for i, v := range got {
		versions[i] = uint64(v)
	}
	return versions, nil
}

// commitCall checks writes and lays them out as the commit script takes
// them (see lua/commit.lua): four keys and a name per kind, five values
// per write.
func (s *Store) commitCall(writes []state.Write) (keys []string, args []any, err error) {
	kindPos := map[state.Kind]int{}
	var kinds []state.Kind
	seen := make(map[string]bool, len(writes))
	for _, w := range writes {
		r := w.Resource
		if err := checkWrite(w); err != nil {
			return nil, nil, err
		}
		key := string(r.Kind) + "\x00" + r.ID
		if seen[key] {
			return nil, nil, fmt.Errorf("redisstore: commit: %s %q written twice in one commit: %w",
				r.Kind, r.ID, state.ErrConflict)
		}
		seen[key] = true
		if _, ok := kindPos[r.Kind]; !ok {
			kinds = append(kinds, r.Kind)
			kindPos[r.Kind] = len(kinds)
		}
	}

	keys = make([]string, 0, 2+4*len(kinds))
	keys = append(keys, s.keys.feed(), s.keys.kinds())
	args = make([]any, 0, 2+len(kinds)+5*len(writes))
	args = append(args, ms(s.now()), len(kinds))
	for _, k := range kinds {
		d := s.keys.dir(k)
		keys = append(keys, d.docs, d.ids, d.uniq, d.refs)
		args = append(args, string(k))
	}
	for _, w := range writes {
		body := ""
		if w.Op != state.OpDelete {
			body = encodeBody(w.Resource)
		}
		args = append(args, kindPos[w.Resource.Kind], int(w.Op), w.Resource.ID,
			strconv.FormatUint(w.IfVersion, 10), body)
	}
	return keys, args, nil
}

// checkWrite rejects a malformed write with state.ErrInvalid before
// anything is sent. Redis itself would take an index value of any length;
// state.MaxIndexValue is enforced so that both backends accept the same.
func checkWrite(w state.Write) error {
	r := w.Resource
	switch {
	case w.Op != state.OpCreate && w.Op != state.OpReplace && w.Op != state.OpDelete:
		return fmt.Errorf("redisstore: commit: unknown op %d: %w", w.Op, state.ErrInvalid)
	case r.Kind == "":
		return fmt.Errorf("redisstore: commit: resource %q has no kind: %w", r.ID, state.ErrInvalid)
	case r.ID == "":
		return fmt.Errorf("redisstore: commit: %s with an empty id: %w", r.Kind, state.ErrInvalid)
	}
	if w.Op == state.OpDelete {
		return nil
	}
	for _, k := range r.Unique {
		if len(k.Value) > state.MaxIndexValue {
			return fmt.Errorf("redisstore: commit: %s %q: index %q value is longer than %d bytes: %w",
				r.Kind, r.ID, k.Name, state.MaxIndexValue, state.ErrInvalid)
		}
	}
	return nil
}

// Get returns one resource, or state.ErrNotFound.
func (s *Store) Get(ctx context.Context, kind state.Kind, id string) (state.Resource, error) {
	if err := s.live(); err != nil {
		return state.Resource{}, err
	}
	doc, err := s.rdb.HGet(ctx, s.keys.dir(kind).docs, id).Result()
	if err != nil {
		return state.Resource{}, s.fail("get "+string(kind), err)
	}
	return decodeDoc(kind, id, doc)
}

// GetMany returns the resources of ids that exist, in the order of ids, as
// read in one HMGET.
func (s *Store) GetMany(ctx context.Context, kind state.Kind,
	ids []string) ([]state.Resource, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.keys.dir(kind).docs, ids...).Result()
	if err != nil {
		return nil, s.fail("get many "+string(kind), err)
	}
	out := make([]state.Resource, 0, len(ids))
	for i, v := range vals {
		doc, ok := v.(string)
		if !ok {
			continue
		}
		r, err := decodeDoc(kind, ids[i], doc)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Lookup returns the resource holding a unique index value, or
// state.ErrNotFound. The index entry and the document are read in one
// script: one round trip, whatever the size of the collection.
func (s *Store) Lookup(ctx context.Context, kind state.Kind,
	key state.IndexKey) (state.Resource, error) {
	if err := s.live(); err != nil {
		return state.Resource{}, err
	}
	d := s.keys.dir(kind)
	got, err := lookupScript.RunRO(ctx, s.rdb, []string{d.uniq, d.docs},
		uniqueField(key)).StringSlice()
	if err != nil {
		return state.Resource{}, s.fail("lookup "+string(kind)+" by "+key.Name, err)
	}
	if len(got) != 2 {
		return state.Resource{}, fmt.Errorf("redisstore: lookup: unexpected reply of %d values", len(got))
	}
	return decodeDoc(kind, got[0], got[1])
}

// List returns up to limit resources of kind with ids greater than after,
// in ascending byte order of id, read in one script.
func (s *Store) List(ctx context.Context, kind state.Kind, after string,
	limit int) ([]state.Resource, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	d := s.keys.dir(kind)
	pairs, err := s.page(ctx, d.ids, d.docs, after, limit)
	if err != nil {
		return nil, s.fail("list "+string(kind), err)
	}
	out := make([]state.Resource, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		r, err := decodeDoc(kind, pairs[i], pairs[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// page runs the page script: names after after in the sorted set, each
// followed by its value in the hash.
func (s *Store) page(ctx context.Context, set, hash, after string, limit int) ([]string, error) {
	return pageScript.RunRO(ctx, s.rdb, []string{set, hash}, after, limit).StringSlice()
}

// Count returns the number of resources of kind.
func (s *Store) Count(ctx context.Context, kind state.Kind) (int, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	n, err := s.rdb.ZCard(ctx, s.keys.dir(kind).ids).Result()
	if err != nil {
		return 0, s.fail("count "+string(kind), err)
	}
	return int(n), nil
}

// Referrers returns, in ascending order, the ids of resources of kind
// whose Refs hold ref, from one range of the kind's refs sorted set.
func (s *Store) Referrers(ctx context.Context, kind state.Kind, ref string) ([]string, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	lower, upper, prefix := referrerBounds(ref)
	members, err := s.rdb.ZRangeByLex(ctx, s.keys.dir(kind).refs, &redis.ZRangeBy{
		Min: lower,
		Max: upper,
	}).Result()
	if err != nil {
		return nil, s.fail("referrers "+string(kind), err)
	}
	return trimRefs(members, prefix), nil
}

// referrerBounds are the ZRANGEBYLEX bounds of the reference entries that
// name ref, and the prefix those entries start with. Entries are
// "<escaped ref>:<id>"; ';' is the byte after ':'.
func referrerBounds(ref string) (lower, upper, prefix string) {
	prefix = esc(ref) + ":"
	return "[" + prefix, "(" + esc(ref) + ";", prefix
}

// trimRefs turns reference entries into the ids of the referring resources.
func trimRefs(members []string, prefix string) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = strings.TrimPrefix(m, prefix)
	}
	return out
}

// GetWithReferrers returns a resource and the ids of refKind referring to
// it, read in one script.
func (s *Store) GetWithReferrers(ctx context.Context, kind state.Kind, id string,
	refKind state.Kind) (state.Resource, []string, error) {
	if err := s.live(); err != nil {
		return state.Resource{}, nil, err
	}
	lower, upper, prefix := referrerBounds(id)
	got, err := getReferredScript.RunRO(ctx, s.rdb,
		[]string{s.keys.dir(kind).docs, s.keys.dir(refKind).refs}, id, lower, upper).StringSlice()
	if err != nil {
		return state.Resource{}, nil, s.fail("get "+string(kind), err)
	}
	res, err := decodeDoc(kind, id, got[0])
	if err != nil {
		return state.Resource{}, nil, err
	}
	return res, trimRefs(got[1:], prefix), nil
}

// LookupWithReferrers returns the resource holding a unique index value
// and the ids of refKind referring to it, read in one script.
func (s *Store) LookupWithReferrers(ctx context.Context, kind state.Kind, key state.IndexKey,
	refKind state.Kind) (state.Resource, []string, error) {
	if err := s.live(); err != nil {
		return state.Resource{}, nil, err
	}
	d := s.keys.dir(kind)
	got, err := lookupReferredScript.RunRO(ctx, s.rdb,
		[]string{d.uniq, d.docs, s.keys.dir(refKind).refs}, uniqueField(key)).StringSlice()
	if err != nil {
		return state.Resource{}, nil, s.fail("lookup "+string(kind)+" by "+key.Name, err)
	}
	if len(got) < 2 {
		return state.Resource{}, nil, fmt.Errorf(
			"redisstore: lookup: unexpected reply of %d values", len(got))
	}
	res, err := decodeDoc(kind, got[0], got[1])
	if err != nil {
		return state.Resource{}, nil, err
	}
	_, _, prefix := referrerBounds(res.ID)
	return res, trimRefs(got[2:], prefix), nil
}
