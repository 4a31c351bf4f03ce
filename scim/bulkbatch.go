package scim

import (
	"context"

	"github.com/scim-bridge/scim-bridge/state"
)

// pendingOp is a planned operation waiting for its batch to commit.
type pendingOp struct {
	op     *bulkOp
	t      *resourceType
	plan   *plan
	planFn func(reader) (*plan, error)
	first  int // index of its first write in the batch
}

// batch collects the writes of planned operations for one commit, with
// what they write, so that a later operation that touches any of it
// waits for the commit.
type batch struct {
	ops    []pendingOp
	writes []state.Write
	ids    map[kindID]bool
	refs   map[kindRef]bool
	keys   map[kindKey]bool
}

type kindID struct {
	kind state.Kind
	id   string
}

type kindRef struct {
	kind state.Kind
	ref  string
}

type kindKey struct {
	kind state.Kind
	key  state.IndexKey
}

func (b *batch) add(po pendingOp) {
	if b.ids == nil {
		b.ids, b.refs, b.keys = map[kindID]bool{}, map[kindRef]bool{}, map[kindKey]bool{}
	}
	po.first = len(b.writes)
	b.ops = append(b.ops, po)
	for _, w := range po.plan.writes {
		res := w.Resource
		b.writes = append(b.writes, w)
		b.ids[kindID{res.Kind, res.ID}] = true
		for _, ref := range res.Refs {
			b.refs[kindRef{res.Kind, ref}] = true
		}
		for _, key := range res.Unique {
			b.keys[kindKey{res.Kind, key}] = true
		}
	}
}

// tracker is a reader that records what a plan read.
type tracker struct {
	rd   reader
	ids  map[kindID]bool
	refs map[kindRef]bool
	keys map[kindKey]bool
}

func newTracker(rd reader) *tracker {
	return &tracker{rd: rd, ids: map[kindID]bool{}, refs: map[kindRef]bool{}, keys: map[kindKey]bool{}}
}

func (t *tracker) Get(ctx context.Context, kind state.Kind, id string) (state.Resource, error) {
	t.ids[kindID{kind, id}] = true
	return t.rd.Get(ctx, kind, id)
}

func (t *tracker) GetMany(ctx context.Context, kind state.Kind, ids []string) (
	[]state.Resource, error) {
	for _, id := range ids {
		t.ids[kindID{kind, id}] = true
	}
	return t.rd.GetMany(ctx, kind, ids)
}

func (t *tracker) Lookup(ctx context.Context, kind state.Kind, key state.IndexKey) (
	state.Resource, error) {
	t.keys[kindKey{kind, key}] = true
	res, err := t.rd.Lookup(ctx, kind, key)
	if err == nil {
		t.ids[kindID{kind, res.ID}] = true
	}
	return res, err
}

func (t *tracker) Referrers(ctx context.Context, kind state.Kind, ref string) ([]string, error) {
	t.refs[kindRef{kind, ref}] = true
	ids, err := t.rd.Referrers(ctx, kind, ref)
	for _, id := range ids {
		t.ids[kindID{kind, id}] = true
	}
	return ids, err
}

// conflicts reports whether the plan read anything the batch writes, or
// writes a resource or unique value the batch already writes; its outcome
// may then differ once the batch is committed.
func (t *tracker) conflicts(b *batch, p *plan) bool {
	if len(b.ops) == 0 {
		return false
	}
	for k := range t.ids {
		if b.ids[k] {
			return true
		}
	}
	for k := range t.refs {
		if b.refs[k] {
			return true
		}
	}
	for k := range t.keys {
		if b.keys[k] {
			return true
		}
	}
	if p == nil {
		return false
	}
	for _, w := range p.writes {
		if b.ids[kindID{w.Resource.Kind, w.Resource.ID}] {
			return true
		}
		for _, key := range w.Resource.Unique {
			if b.keys[kindKey{w.Resource.Kind, key}] {
				return true
			}
		}
	}
	return false
}
