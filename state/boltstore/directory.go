package boltstore

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/scim-bridge/scim-bridge/state"
)

// The directory lives under dir/<kind>, in three buckets:
//   docs   id -> doc (version, data, unique entries, refs); counted
//   index  prefixed(index name, value) -> id
//   refs   prefixed(ref, id) -> nothing, so one prefix scan lists a ref's
//          referrers in id order

// kindBuckets are the buckets of one kind; all nil when it has none yet.
type kindBuckets struct {
	docs, index, refs *bbolt.Bucket
}

func readKind(tx *bbolt.Tx, kind state.Kind) kindBuckets {
	kb := nested(tx.Bucket(bucketDir), []byte(kind))
	if kb == nil {
		return kindBuckets{}
	}
	return kindBuckets{
		docs:  kb.Bucket(bucketDocs),
		index: kb.Bucket(bucketIndex),
		refs:  kb.Bucket(bucketRefs),
	}
}

func writeKind(tx *bbolt.Tx, kind state.Kind) (kindBuckets, error) {
	kb, err := ensure(tx.Bucket(bucketDir), []byte(kind))
	if err != nil {
		return kindBuckets{}, err
	}
	var out kindBuckets
	for _, p := range []struct {
		dst  **bbolt.Bucket
		name []byte
	}{{&out.docs, bucketDocs}, {&out.index, bucketIndex}, {&out.refs, bucketRefs}} {
		if *p.dst, err = kb.CreateBucketIfNotExists(p.name); err != nil {
			return kindBuckets{}, err
		}
	}
	return out, nil
}

func indexKey(k state.IndexKey) []byte { return prefixed(k.Name, k.Value) }

// getDoc returns the stored doc of id, or nil when there is none.
func (kb kindBuckets) getDoc(id string) (*doc, error) {
	if kb.docs == nil {
		return nil, nil
	}
	v := kb.docs.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	d, err := decodeDoc(v)
	if err != nil {
		return nil, fmt.Errorf("resource %q: %w", id, err)
	}
	return &d, nil
}

// owner returns the id holding an index entry, or "".
func (kb kindBuckets) owner(key []byte) string {
	if kb.index == nil {
		return ""
	}
	return string(kb.index.Get(key))
}

func resource(kind state.Kind, id string, d doc) state.Resource {
	return state.Resource{
		Kind: kind, ID: id, Version: d.Version, Data: d.Data, Unique: d.Unique, Refs: d.Refs,
	}
}

// Get returns one resource, or ErrNotFound.
func (s *Store) Get(ctx context.Context, kind state.Kind, id string) (state.Resource, error) {
	var out state.Resource
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		out, err = get(tx, kind, id)
		return err
	})
	if err != nil {
		return state.Resource{}, fmt.Errorf("boltstore: get %s %q: %w", kind, id, err)
	}
	return out, nil
}

// get reads one resource, or state.ErrNotFound.
func get(tx *bbolt.Tx, kind state.Kind, id string) (state.Resource, error) {
	d, err := readKind(tx, kind).getDoc(id)
	if err != nil {
		return state.Resource{}, err
	}
	if d == nil {
		return state.Resource{}, state.ErrNotFound
	}
	return resource(kind, id, *d), nil
}

// GetMany returns the resources of ids that exist, in the order of ids.
func (s *Store) GetMany(
	ctx context.Context, kind state.Kind, ids []string,
) ([]state.Resource, error) {
	out := make([]state.Resource, 0, len(ids))
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		kb := readKind(tx, kind)
		for _, id := range ids {
			d, err := kb.getDoc(id)
			if err != nil {
				return err
			}
			if d != nil {
				out = append(out, resource(kind, id, *d))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: get many %s: %w", kind, err)
	}
	return out, nil
}

// Lookup returns the resource holding a unique index value, or ErrNotFound.
func (s *Store) Lookup(
	ctx context.Context, kind state.Kind, key state.IndexKey,
) (state.Resource, error) {
	var out state.Resource
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		out, err = lookup(tx, kind, key)
		return err
	})
	if err != nil {
		return state.Resource{}, fmt.Errorf("boltstore: lookup %s by %s %q: %w",
			kind, key.Name, key.Value, err)
	}
	return out, nil
}

// lookup reads the resource holding a unique index value.
func lookup(tx *bbolt.Tx, kind state.Kind, key state.IndexKey) (state.Resource, error) {
	kb := readKind(tx, kind)
	id := kb.owner(indexKey(key))
	if id == "" {
		return state.Resource{}, state.ErrNotFound
	}
	d, err := kb.getDoc(id)
	if err != nil {
		return state.Resource{}, err
	}
	if d == nil {
		return state.Resource{}, fmt.Errorf("index entry points at missing resource %q", id)
	}
	return resource(kind, id, *d), nil
}

// List returns up to limit resources of kind with ids after after, in id
// order. A read transaction sees one snapshot, so a page is consistent;
// paging visits every resource that exists throughout the walk once.
func (s *Store) List(
	ctx context.Context, kind state.Kind, after string, limit int,
) ([]state.Resource, error) {
	if err := checkPositive("limit", limit); err != nil {
		return nil, err
	}
	var out []state.Resource
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		docs := readKind(tx, kind).docs
		if docs == nil {
			return nil
		}
		c := docs.Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && after != "" && bytes.Equal(k, []byte(after)) {
			k, v = c.Next()
		}
		for ; k != nil && len(out) < limit; k, v = c.Next() {
			d, err := decodeDoc(v)
			if err != nil {
				return fmt.Errorf("resource %q: %w", k, err)
			}
			out = append(out, resource(kind, string(k), d))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: list %s: %w", kind, err)
	}
	return out, nil
}

// Count returns the number of resources of kind, in constant time.
func (s *Store) Count(ctx context.Context, kind state.Kind) (int, error) {
	var n int
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		n = count(readKind(tx, kind).docs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: count %s: %w", kind, err)
	}
	return n, nil
}

// Referrers returns, in id order, the ids of resources of kind whose Refs
// hold ref.
func (s *Store) Referrers(ctx context.Context, kind state.Kind, ref string) ([]string, error) {
	var out []string
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		out = referrers(tx, kind, ref)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: referrers of %q in %s: %w", ref, kind, err)
	}
	return out, nil
}

// referrers lists, in ascending order, the ids of kind whose refs hold ref.
func referrers(tx *bbolt.Tx, kind state.Kind, ref string) []string {
	refs := readKind(tx, kind).refs
	if refs == nil {
		return nil
	}
	var out []string
	prefix := prefixed(ref, "")
	c := refs.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// GetWithReferrers returns a resource and the ids of refKind referring to
// it, from one read transaction.
func (s *Store) GetWithReferrers(ctx context.Context, kind state.Kind, id string,
	refKind state.Kind) (state.Resource, []string, error) {
	var out state.Resource
	var ids []string
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		if out, err = get(tx, kind, id); err != nil {
			return err
		}
		ids = referrers(tx, refKind, id)
		return nil
	})
	if err != nil {
		return state.Resource{}, nil, fmt.Errorf("boltstore: get %s %q: %w", kind, id, err)
	}
	return out, ids, nil
}

// LookupWithReferrers returns the resource holding a unique index value
// and the ids of refKind referring to it, from one read transaction.
func (s *Store) LookupWithReferrers(ctx context.Context, kind state.Kind, key state.IndexKey,
	refKind state.Kind) (state.Resource, []string, error) {
	var out state.Resource
	var ids []string
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		if out, err = lookup(tx, kind, key); err != nil {
			return err
		}
		ids = referrers(tx, refKind, out.ID)
		return nil
	})
	if err != nil {
		return state.Resource{}, nil, fmt.Errorf("boltstore: lookup %s by %s %q: %w",
			kind, key.Name, key.Value, err)
	}
	return out, ids, nil
}
