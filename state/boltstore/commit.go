package boltstore

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/scim-bridge/scim-bridge/state"
)

// Commit applies writes atomically, with one feed entry per write, in one
// bbolt transaction, and returns once it is on disk.
func (s *Store) Commit(ctx context.Context, writes ...state.Write) ([]uint64, error) {
	if err := checkWrites(writes); err != nil {
		return nil, fmt.Errorf("boltstore: commit: %w", err)
	}
	if len(writes) == 0 {
		if err := s.enter(); err != nil {
			return nil, fmt.Errorf("boltstore: commit: %w", err)
		}
		s.leave()
		return []uint64{}, nil
	}
	var versions []uint64
	err := s.update(ctx, true, func(tx *bbolt.Tx) error {
		steps, err := planCommit(tx, writes)
		if err != nil {
			return err
		}
		versions, err = applyCommit(tx, steps, s.clock())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: commit: %w", err)
	}
	return versions, nil
}

// checkWrites rejects malformed writes before they reach the database.
func checkWrites(writes []state.Write) error {
	type rid struct {
		kind state.Kind
		id   string
	}
	seen := make(map[rid]bool, len(writes))
	for i, w := range writes {
		r := w.Resource
		if w.Op != state.OpCreate && w.Op != state.OpReplace && w.Op != state.OpDelete {
			return fmt.Errorf("write %d: unknown op %d: %w", i, w.Op, errInvalid)
		}
		if err := checkName("kind", string(r.Kind)); err != nil {
			return fmt.Errorf("write %d: %w", i, err)
		}
		if err := checkName("id", r.ID); err != nil {
			return fmt.Errorf("write %d: %w", i, err)
		}
		if seen[rid{r.Kind, r.ID}] {
			return fmt.Errorf("%s %q is written twice in one commit: %w", r.Kind, r.ID, errInvalid)
		}
		seen[rid{r.Kind, r.ID}] = true
		if w.Op == state.OpDelete {
			continue
		}
		for _, k := range r.Unique {
			if err := checkName("index name", k.Name); err != nil {
				return fmt.Errorf("%s %q: %w", r.Kind, r.ID, err)
			}
			if err := checkIndexValue(k.Value); err != nil {
				return fmt.Errorf("%s %q: %w", r.Kind, r.ID, err)
			}
		}
		for _, ref := range r.Refs {
			if err := checkName("ref", ref); err != nil {
				return fmt.Errorf("%s %q: %w", r.Kind, r.ID, err)
			}
		}
	}
	return nil
}

// step is one write of a commit with what planCommit found stored.
type step struct {
	w   state.Write
	old *doc // nil for a create
}

// planCommit checks every write of a commit against the stored state and
// the writes before it, and writes nothing: the writer's rule that a
// rejection comes before any write rests on this split.
func planCommit(tx *bbolt.Tx, writes []state.Write) ([]step, error) {
	type slot struct {
		kind state.Kind
		key  string
	}
	// owners overlays index entries the commit's earlier writes took ("" when
	// they freed it) on the stored index.
	owners := map[slot]string{}
	steps := make([]step, len(writes))
	for i, w := range writes {
		r := w.Resource
		kb := readKind(tx, r.Kind)
		old, err := kb.getDoc(r.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case w.Op == state.OpCreate && old != nil:
			return nil, fmt.Errorf("%s id %q is taken: %w", r.Kind, r.ID, state.ErrConflict)
		case w.Op != state.OpCreate && old == nil:
			return nil, fmt.Errorf("%s %q: %w", r.Kind, r.ID, state.ErrNotFound)
		case w.Op != state.OpCreate && w.IfVersion != 0 && old.Version != w.IfVersion:
			return nil, fmt.Errorf("%s %q is at version %d, not %d: %w",
				r.Kind, r.ID, old.Version, w.IfVersion, state.ErrVersionMismatch)
		}
		steps[i] = step{w: w, old: old}

		if old != nil {
			for _, k := range old.Unique {
				owners[slot{r.Kind, string(indexKey(k))}] = ""
			}
		}
		if w.Op == state.OpDelete {
			continue
		}
		for _, k := range r.Unique {
			sl := slot{r.Kind, string(indexKey(k))}
			holder, ok := owners[sl]
			if !ok {
				holder = kb.owner([]byte(sl.key))
			}
			if holder != "" && holder != r.ID {
				return nil, fmt.Errorf("%s index %q value %q is held by %q: %w",
					r.Kind, k.Name, k.Value, holder, state.ErrConflict)
			}
			owners[sl] = r.ID
		}
	}
	return steps, nil
}

// applyCommit writes planned steps and their feed entries and returns the
// new versions.
func applyCommit(tx *bbolt.Tx, steps []step, now time.Time) ([]uint64, error) {
	feed := tx.Bucket(bucketFeed)
	versions := make([]uint64, len(steps))
	for i, st := range steps {
		r := st.w.Resource
		kb, err := writeKind(tx, r.Kind)
		if err != nil {
			return nil, err
		}
		var oldDoc, newDoc doc
		if st.old != nil {
			oldDoc = *st.old
		}
		if st.w.Op != state.OpDelete {
			newDoc = doc{Version: oldDoc.Version + 1, Data: r.Data, Unique: r.Unique, Refs: r.Refs}
		}
		if err := writeDoc(kb, r.ID, st.old, newDoc, st.w.Op); err != nil {
			return nil, err
		}
		added, removed := diff(oldDoc.Refs, newDoc.Refs)
		if err := moveRefs(kb.refs, r.ID, added, removed); err != nil {
			return nil, err
		}
		if err := moveIndex(kb.index, r.ID, oldDoc.Unique, newDoc.Unique); err != nil {
			return nil, err
		}

		versions[i] = newDoc.Version
		seq, err := feed.NextSequence()
		if err != nil {
			return nil, err
		}
		c := state.Change{
			Kind: r.Kind, ResourceID: r.ID, Op: st.w.Op, Version: newDoc.Version,
			RefsAdded: added, RefsRemoved: removed,
		}
		if err := feed.Put(seqKey(seq), encodeChange(c, nanos(now))); err != nil {
			return nil, err
		}
	}
	return versions, nil
}

// writeDoc stores or deletes the doc of id and keeps the count.
func writeDoc(kb kindBuckets, id string, old *doc, d doc, op state.Op) error {
	switch {
	case op == state.OpDelete:
		if err := kb.docs.Delete([]byte(id)); err != nil {
			return err
		}
		return addCount(kb.docs, -1)
	case old == nil:
		if err := addCount(kb.docs, 1); err != nil {
			return err
		}
	}
	return kb.docs.Put([]byte(id), encodeDoc(d))
}

// moveIndex replaces a resource's index entries from with to.
func moveIndex(index *bbolt.Bucket, id string, from, to []state.IndexKey) error {
	keep := make(map[state.IndexKey]bool, len(to))
	for _, k := range to {
		keep[k] = true
	}
	for _, k := range from {
		if !keep[k] {
			if err := index.Delete(indexKey(k)); err != nil {
				return err
			}
		}
	}
	for _, k := range to {
		if err := index.Put(indexKey(k), []byte(id)); err != nil {
			return err
		}
	}
	return nil
}

// moveRefs adds and removes a resource's entries in the refs index.
func moveRefs(refs *bbolt.Bucket, id string, added, removed []string) error {
	for _, ref := range removed {
		if err := refs.Delete(prefixed(ref, id)); err != nil {
			return err
		}
	}
	for _, ref := range added {
		if err := refs.Put(prefixed(ref, id), nil); err != nil {
			return err
		}
	}
	return nil
}

// diff returns the distinct members of after missing from before, and of
// before missing from after, each in order of first appearance.
func diff(before, after []string) (added, removed []string) {
	return missing(after, before), missing(before, after)
}

// missing returns the distinct members of a not in b.
func missing(a, b []string) []string {
	in := make(map[string]bool, len(a)+len(b))
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			in[s] = true
			out = append(out, s)
		}
	}
	return out
}
