package scim

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/scim-bridge/scim-bridge/state"
)

// reader is the part of the store that planning a write reads. Bulk wraps
// it to learn what each operation read.
type reader interface {
	Get(ctx context.Context, kind state.Kind, id string) (state.Resource, error)
	GetMany(ctx context.Context, kind state.Kind, ids []string) ([]state.Resource, error)
	Lookup(ctx context.Context, kind state.Kind, key state.IndexKey) (state.Resource, error)
	Referrers(ctx context.Context, kind state.Kind, ref string) ([]string, error)
}

// plan is one client operation turned into store writes. Planning reads
// the store but writes nothing; committing the writes applies it.
type plan struct {
	t      *resourceType
	id     string
	status int // of the response: 201, 200 or 204
	// writes are committed together; writes[0] is the target resource,
	// except for a delete, which may also rewrite groups. Empty when the
	// operation changes nothing.
	writes []state.Write
	// current is the target as it stands when writes is empty and the
	// operation returns the resource.
	current state.Resource
}

// result is the target resource after the plan was applied.
func (p *plan) result(versions []uint64) state.Resource {
	if len(p.writes) == 0 {
		return p.current
	}
	res := p.writes[0].Resource
	res.Version = versions[0]
	return res
}

// maxAttempts bounds how often a write is re-planned after losing a race
// with a concurrent write to the same resources.
const maxAttempts = 10

// targetLocks serialise, within this process, the writes to one resource,
// so that concurrent updates of it queue instead of failing each other's
// version checks. A resource maps to one of a fixed set of mutexes; two
// resources sharing one merely wait for each other. Writers in other
// processes (replicas on Redis) are still handled by re-planning.
type targetLocks [256]sync.Mutex

func (l *targetLocks) lock(kind state.Kind, id string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(kind))
	_, _ = h.Write([]byte(id))
	m := &l[h.Sum32()%uint32(len(l))]
	m.Lock()
	return m.Unlock
}

// apply plans and commits a write to resource id of kind (empty for a
// create), re-planning when a concurrent write changed a resource between
// the read and the commit. The re-plan checks the client's preconditions
// again, so they still hold or fail as they should.
func (s *Server) apply(ctx context.Context, kind state.Kind, id string,
	planFn func(rd reader) (*plan, error)) (*plan, []uint64, error) {
	if id != "" {
		defer s.locks.lock(kind, id)()
	}
	for attempt := 1; ; attempt++ {
		p, err := planFn(s.store)
		if err != nil {
			return nil, nil, err
		}
		if len(p.writes) == 0 {
			return p, nil, nil
		}
		versions, err := s.store.Commit(ctx, p.writes...)
		switch {
		case err == nil:
			return p, versions, nil
		case errors.Is(err, state.ErrVersionMismatch) && attempt < maxAttempts:
			// Another writer (of a group this write also changes, or in
			// another process) got in first; back off a little, at random,
			// so that the contenders do not collide again.
			time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond))))
			continue
		case errors.Is(err, state.ErrVersionMismatch):
			return nil, nil, newProblem(http.StatusConflict, "",
				"the resource kept changing while being written; retry the request")
		case errors.Is(err, state.ErrConflict):
			return nil, nil, s.conflict(ctx, p.writes)
		case errors.Is(err, state.ErrNotFound):
			return nil, nil, notFound("the resource was deleted while being written")
		}
		return nil, nil, err
	}
}

// conflict explains a commit refused for a taken unique value: it finds
// which value is held by another resource.
func (s *Server) conflict(ctx context.Context, writes []state.Write) error {
	for _, w := range writes {
		for _, key := range w.Resource.Unique {
			held, err := s.store.Lookup(ctx, w.Resource.Kind, key)
			if err == nil && held.ID != w.Resource.ID {
				return uniqueness("%s %q is already in use", key.Name, key.Value)
			}
		}
	}
	return uniqueness("a unique attribute value is already in use")
}

// planCreate plans a POST. With precheck, it looks up the unique values
// first, so that a taken one fails the plan rather than the commit; a lone
// create skips that read, as the commit refuses a taken value anyway.
func (s *Server) planCreate(ctx context.Context, rd reader, t *resourceType,
	body map[string]any, precheck bool) (*plan, error) {
	attrs, err := t.normalize(body)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	var held []state.IndexKey
	if !precheck {
		held = t.uniqueKeys(attrs)
	}
	res, err := s.prepare(ctx, rd, t, id, attrs, nil, held)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if res.Data, err = t.encodeDocument(id, attrs, now, now); err != nil {
		return nil, err
	}
	return &plan{t: t, id: id, status: http.StatusCreated,
		writes: []state.Write{{Op: state.OpCreate, Resource: res}}}, nil
}

// planReplace plans a PUT of body over resource id; the document is
// normalised as for a create, then checked against the current one.
func (s *Server) planReplace(ctx context.Context, rd reader, t *resourceType, id string,
	body map[string]any, pre preconditions) (*plan, error) {
	cur, old, err := s.current(ctx, rd, t, id, pre)
	if err != nil {
		return nil, err
	}
	attrs, err := t.normalize(body)
	if err != nil {
		return nil, err
	}
	return s.planUpdate(ctx, rd, t, cur, old, attrs)
}

// current reads the target of an update and checks the client's
// preconditions.
func (s *Server) current(ctx context.Context, rd reader, t *resourceType, id string,
	pre preconditions) (
	state.Resource, map[string]any, error) {
	cur, err := rd.Get(ctx, t.kind, id)
	if errors.Is(err, state.ErrNotFound) {
		return cur, nil, notFound("%s %q does not exist", t.name, id)
	}
	if err != nil {
		return cur, nil, err
	}
	if err := pre.check(cur.Version); err != nil {
		return cur, nil, err
	}
	old, err := decodeDocument(cur.Data)
	if err != nil {
		return cur, nil, err
	}
	return cur, old, nil
}

// planUpdate finishes a PUT or PATCH: attrs is the new, normalised
// document of cur (whose decoded form is old). An update that changes
// nothing plans no write, so the version stays.
func (s *Server) planUpdate(ctx context.Context, rd reader, t *resourceType,
	cur state.Resource, old, attrs map[string]any) (*plan, error) {
	if err := t.checkImmutable(old, attrs); err != nil {
		return nil, err
	}
	res, err := s.prepare(ctx, rd, t, cur.ID, attrs, cur.Refs, cur.Unique)
	if err != nil {
		return nil, err
	}
	created, modified := metaTimes(old)
	if res.Data, err = t.encodeDocument(cur.ID, attrs, created, modified); err != nil {
		return nil, err
	}
	p := &plan{t: t, id: cur.ID, status: http.StatusOK}
	if string(res.Data) == string(cur.Data) {
		p.current = cur
		return p, nil
	}
	if res.Data, err = t.encodeDocument(cur.ID, attrs, created, s.clock()); err != nil {
		return nil, err
	}
	p.writes = []state.Write{{Op: state.OpReplace, Resource: res, IfVersion: cur.Version}}
	return p, nil
}

// prepare builds the store form of a document (without Data): its unique
// index entries, checked against other resources, and its references. The
// values in held (those the resource already holds) need no check. For a
// group it checks the members; the members among oldRefs (the refs already
// stored) need no check either.
func (s *Server) prepare(ctx context.Context, rd reader, t *resourceType, id string,
	attrs map[string]any, oldRefs []string, held []state.IndexKey) (state.Resource, error) {
	res := state.Resource{Kind: t.kind, ID: id, Unique: t.uniqueKeys(attrs)}
	for _, key := range res.Unique {
		if slices.Contains(held, key) {
			continue
		}
		holder, err := rd.Lookup(ctx, t.kind, key)
		switch {
		case err == nil && holder.ID != id:
			return res, uniqueness("%s %q is already in use", key.Name, key.Value)
		case err != nil && !errors.Is(err, state.ErrNotFound):
			return res, err
		}
	}
	switch t.kind {
	case state.KindGroup:
		refs, err := s.resolveMembers(ctx, rd, id, attrs, state.IDRefs(oldRefs))
		if err != nil {
			return res, err
		}
		if name, _ := attrs["displayName"].(string); name != "" {
			refs = append(refs, displayNameRef(name))
		}
		res.Refs = refs
	case state.KindUser:
		if ext, ok := attrs["externalId"].(string); ok && ext != "" {
			res.Refs = []string{externalIDRef(ext)}
		}
	}
	return res, nil
}

// resolveMembers checks a group's members: each needs a value naming an
// existing user or group (other than the group itself). It drops repeated
// members, sets each new member's type to what it names, and returns the
// member ids in ascending order.
func (s *Server) resolveMembers(ctx context.Context, rd reader, groupID string,
	attrs map[string]any, oldRefs []string) ([]string, error) {
	list, _ := attrs["members"].([]any)
	if len(list) == 0 {
		delete(attrs, "members")
		return nil, nil
	}
	seen := make(map[string]bool, len(list))
	kept := list[:0]
	var fresh []string
	for _, el := range list {
		m, _ := el.(map[string]any)
		v, _ := m["value"].(string)
		if v == "" {
			return nil, invalidValue("every member needs a value: the id of a User or Group")
		}
		if v == groupID {
			return nil, invalidValue("a group cannot be a member of itself")
		}
		if seen[v] {
			continue
		}
		seen[v] = true
		delete(m, "$ref") // derived from the id; not stored
		kept = append(kept, m)
		if !slices.Contains(oldRefs, v) {
			fresh = append(fresh, v)
		}
	}
	kinds, err := s.memberKinds(ctx, rd, fresh)
	if err != nil {
		return nil, err
	}
	refs := make([]string, 0, len(kept))
	for _, el := range kept {
		m := el.(map[string]any)
		v := m["value"].(string)
		if k, ok := kinds[v]; ok {
			m["type"] = string(k)
		} else if slices.Contains(fresh, v) {
			return nil, invalidValue("member %q is neither a User nor a Group", v)
		}
		refs = append(refs, v)
	}
	attrs["members"] = kept
	slices.Sort(refs)
	return refs, nil
}

// memberKinds finds whether each id is a user or a group.
func (s *Server) memberKinds(ctx context.Context, rd reader, ids []string) (
	map[string]state.Kind, error) {
	kinds := make(map[string]state.Kind, len(ids))
	if len(ids) == 0 {
		return kinds, nil
	}
	users, err := rd.GetMany(ctx, state.KindUser, ids)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		kinds[u.ID] = state.KindUser
	}
	var rest []string
	for _, id := range ids {
		if _, ok := kinds[id]; !ok {
			rest = append(rest, id)
		}
	}
	if len(rest) == 0 {
		return kinds, nil
	}
	groups, err := rd.GetMany(ctx, state.KindGroup, rest)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		kinds[g.ID] = state.KindGroup
	}
	return kinds, nil
}

// planDelete plans a DELETE: the resource goes, and so does its
// membership in every group, in the same commit.
func (s *Server) planDelete(ctx context.Context, rd reader, t *resourceType, id string,
	pre preconditions) (*plan, error) {
	cur, err := rd.Get(ctx, t.kind, id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, notFound("%s %q does not exist", t.name, id)
	}
	if err != nil {
		return nil, err
	}
	if err := pre.check(cur.Version); err != nil {
		return nil, err
	}
	p := &plan{t: t, id: id, status: http.StatusNoContent, writes: []state.Write{{
		Op: state.OpDelete, Resource: state.Resource{Kind: t.kind, ID: id}, IfVersion: cur.Version,
	}}}
	groupIDs, err := rd.Referrers(ctx, state.KindGroup, id)
	if err != nil {
		return nil, err
	}
	if len(groupIDs) == 0 {
		return p, nil
	}
	groups, err := rd.GetMany(ctx, state.KindGroup, groupIDs)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	for _, g := range groups {
		w, err := s.withoutMember(g, id, now)
		if err != nil {
			return nil, err
		}
		p.writes = append(p.writes, w)
	}
	return p, nil
}

// withoutMember rewrites group g without member id.
func (s *Server) withoutMember(g state.Resource, id string, now time.Time) (state.Write, error) {
	doc, err := decodeDocument(g.Data)
	if err != nil {
		return state.Write{}, err
	}
	created, _ := metaTimes(doc)
	list, _ := doc["members"].([]any)
	kept := list[:0]
	for _, el := range list {
		if m, ok := el.(map[string]any); ok && m["value"] == id {
			continue
		}
		kept = append(kept, el)
	}
	if len(kept) == 0 {
		delete(doc, "members")
	} else {
		doc["members"] = kept
	}
	res := g
	res.Refs = slices.DeleteFunc(slices.Clone(g.Refs), func(r string) bool { return r == id })
	if res.Data, err = s.groups.encodeDocument(g.ID, doc, created, now); err != nil {
		return state.Write{}, err
	}
	return state.Write{Op: state.OpReplace, Resource: res, IfVersion: g.Version}, nil
}

// etagMatches implements If-Match for SCIM's weak tags: the header holds
// "*" or a list of tags, compared without their weakness prefix.
func etagMatches(header string, version uint64) bool {
	want := strings.TrimPrefix(versionTag(version), "W/")
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
			return true
		}
	}
	return false
}
