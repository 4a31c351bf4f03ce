package scim

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/scim-bridge/scim-bridge/state"
)

const (
	bulkRequestSchema  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponseSchema = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	bulkIDPrefix       = "bulkId:"
)

// bulkOp is one operation of a Bulk request (RFC 7644 section 3.7).
type bulkOp struct {
	index   int
	method  string // upper-case
	bulkID  string
	version string // the operation's If-Match
	path    string
	data    any
	// refs are the bulkIds the path and data refer to.
	refs []string
	// ran is set once the operation has been handed to run.
	ran bool
}

// bulkResult is one entry of the BulkResponse.
type bulkResult struct {
	Location string     `json:"location,omitempty"`
	Method   string     `json:"method"`
	BulkID   string     `json:"bulkId,omitempty"`
	Version  string     `json:"version,omitempty"`
	Status   string     `json:"status"`
	Response *errorBody `json:"response,omitempty"`
}

// bulk serves POST /Bulk. As far as the client can tell, operations are
// performed one after the other in request order (RFC 7644 section
// 3.7): an operation that refers to a bulkId declared by a later POST is
// set aside and performed right after that POST; operations that wait on
// each other in a circle fail with 409 (section 3.7.1 allows that). Once
// failOnErrors operations have failed, no further one is performed, and
// the response lists every operation that was (section 3.7.3).
//
// Consecutive operations are committed together in one store transaction
// whenever none reads or writes what another in the same transaction
// writes, which is what makes a Bulk request much cheaper than the same
// operations sent one by one. When the store refuses such a shared commit,
// its operations are run again one at a time, so that each gets its own
// outcome.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readObject(r)
	if err != nil {
		return err
	}
	ops, failOnErrors, err := s.parseBulk(body)
	if err != nil {
		return err
	}
	run := &bulkRun{s: s, r: r, failOnErrors: failOnErrors,
		results: make([]*bulkResult, len(ops)), created: map[string]string{}}
	run.execute(r.Context(), ops)

	out := struct {
		Schemas    []string      `json:"schemas"`
		Operations []*bulkResult `json:"Operations"`
	}{Schemas: []string{bulkResponseSchema}, Operations: []*bulkResult{}}
	for _, res := range run.results {
		if res != nil {
			out.Operations = append(out.Operations, res)
		}
	}
	w.Header().Set("Content-Type", contentType)
	return writeJSON(w, out)
}

// parseBulk checks the request as a whole; a malformed operation fails
// alone, later.
func (s *Server) parseBulk(body map[string]any) ([]*bulkOp, int, error) {
	_, schemas, _ := attr.Field(body, "schemas")
	list, _ := schemas.([]any)
	if !slices.ContainsFunc(list, func(v any) bool { return v == bulkRequestSchema }) {
		return nil, 0, invalidSyntax("schemas must hold %s", bulkRequestSchema)
	}
	failOnErrors := 0
	if _, v, ok := attr.Field(body, "failOnErrors"); ok && v != nil {
		n, ok := attr.Number(v)
		if !ok || n < 0 || n != float64(int(n)) {
			return nil, 0, invalidValue("failOnErrors must be a non-negative integer")
		}
		failOnErrors = int(n)
	}
	_, raw, _ := attr.Field(body, "Operations")
	items, ok := raw.([]any)
	if !ok {
		return nil, 0, invalidSyntax("Operations must be a list")
	}
	if len(items) > s.maxBulkOps {
		return nil, 0, newProblem(http.StatusRequestEntityTooLarge, "",
			"the request has %d operations; at most %d are allowed", len(items), s.maxBulkOps)
	}
	ops := make([]*bulkOp, len(items))
	for i, item := range items {
		m, _ := item.(map[string]any)
		op := &bulkOp{index: i}
		op.method = strings.ToUpper(stringField(m, "method"))
		op.bulkID = stringField(m, "bulkId")
		op.version = stringField(m, "version")
		op.path = stringField(m, "path")
		_, op.data, _ = attr.Field(m, "data")
		op.refs = bulkRefs(op.path, op.data)
		ops[i] = op
	}
	return ops, failOnErrors, nil
}

func stringField(m map[string]any, name string) string {
	_, v, _ := attr.Field(m, name)
	s, _ := v.(string)
	return s
}

// bulkRefs lists the bulkIds a path and a data value refer to.
func bulkRefs(path string, data any) []string {
	var refs []string
	add := func(s string) {
		if id, ok := strings.CutPrefix(s, bulkIDPrefix); ok && !slices.Contains(refs, id) {
			refs = append(refs, id)
		}
	}
	for _, seg := range strings.Split(path, "/") {
		add(seg)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			add(v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(data)
	return refs
}

// substitute replaces "bulkId:X" strings by the ids they resolved to.
func substitute(v any, created map[string]string) any {
	switch v := v.(type) {
	case string:
		if id, ok := strings.CutPrefix(v, bulkIDPrefix); ok {
			if real, ok := created[id]; ok {
				return real
			}
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = substitute(e, created)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = substitute(e, created)
		}
		return out
	}
	return v
}

// bulkRun is the state of one Bulk request.
type bulkRun struct {
	s            *Server
	r            *http.Request
	failOnErrors int
	errors       int
	results      []*bulkResult
	// declared maps each bulkId to the first POST that declares it.
	declared map[string]*bulkOp
	// duplicate marks the POSTs that reuse a declared bulkId.
	duplicate map[*bulkOp]bool
	// waiting maps a bulkId to the operations that refer to it before
	// the POST declaring it has run.
	waiting map[string][]*bulkOp
	// created maps the bulkIds of successful POSTs to the new ids.
	created map[string]string
	batch   batch
}

func (run *bulkRun) stopped() bool {
	return run.failOnErrors > 0 && run.errors >= run.failOnErrors
}

// halted reports whether no further operation may be performed.
func (run *bulkRun) halted(ctx context.Context) bool {
	return run.stopped() || ctx.Err() != nil
}

// execute performs ops in request order, as the package documentation
// of bulk describes, then commits what is pending.
func (run *bulkRun) execute(ctx context.Context, ops []*bulkOp) {
	run.declared = map[string]*bulkOp{}
	run.duplicate = map[*bulkOp]bool{}
	run.waiting = map[string][]*bulkOp{}
	for _, op := range ops {
		if op.method == http.MethodPost && op.bulkID != "" {
			if _, dup := run.declared[op.bulkID]; dup {
				run.duplicate[op] = true
			} else {
				run.declared[op.bulkID] = op
			}
		}
	}
	for _, op := range ops {
		if run.halted(ctx) {
			break
		}
		run.dispatch(ctx, op)
	}
	run.flush(ctx)
	run.failCircles(ctx)
}

// dispatch performs op now, or sets it aside until the POST declaring a
// bulkId it refers to has run. Once a POST that others wait for is
// planned, its batch is committed and the waiting operations are
// performed right away, before any later operation of the request.
func (run *bulkRun) dispatch(ctx context.Context, op *bulkOp) {
	if run.duplicate[op] {
		run.reject(ctx, op, invalidValue("bulkId %q is already used by an earlier operation",
			op.bulkID))
		return
	}
	ready, ref := run.readiness(op)
	switch ready {
	case refsWait:
		run.waiting[ref] = append(run.waiting[ref], op)
		return
	case refsPending:
		run.flush(ctx)
		if !run.halted(ctx) {
			run.dispatch(ctx, op)
		}
		return
	case refsFailed:
		run.reject(ctx, op, newProblem(http.StatusConflict, "invalidValue",
			"a bulkId this operation refers to was not created"))
		return
	case refsUnknown:
		run.reject(ctx, op, invalidValue("a bulkId this operation refers to is not "+
			"declared by any POST of the request"))
		return
	}
	op.ran = true
	run.run(ctx, op)

	woken := run.waiting[op.bulkID]
	if op.method != http.MethodPost || op.bulkID == "" || len(woken) == 0 {
		return
	}
	delete(run.waiting, op.bulkID)
	run.flush(ctx)
	for _, w := range woken {
		if run.halted(ctx) {
			return
		}
		run.dispatch(ctx, w)
	}
}

// failCircles fails, in request order, the operations still waiting once
// every other one has run: they wait on each other in a circle, which
// RFC 7644 section 3.7.1 lets a server answer with 409. When the run
// stopped early they were never performed and are not reported.
func (run *bulkRun) failCircles(ctx context.Context) {
	var left []*bulkOp
	for _, ops := range run.waiting {
		left = append(left, ops...)
	}
	slices.SortFunc(left, func(a, b *bulkOp) int { return a.index - b.index })
	for _, op := range left {
		if run.halted(ctx) {
			return
		}
		run.fail(op, newProblem(http.StatusConflict, "invalidValue",
			"the operation's bulkId references form a circle"))
	}
}

type readiness int

const (
	refsReady   readiness = iota
	refsWait              // the declaring POST has not run yet
	refsPending           // the declaring POST waits in the pending batch
	refsFailed
	refsUnknown
)

// readiness tells whether every bulkId op refers to is resolved, and
// names the first one that is not.
func (run *bulkRun) readiness(op *bulkOp) (readiness, string) {
	for _, ref := range op.refs {
		if _, ok := run.created[ref]; ok {
			continue
		}
		creator, ok := run.declared[ref]
		switch {
		case !ok:
			return refsUnknown, ref
		case run.results[creator.index] != nil:
			return refsFailed, ref // it ran and created nothing
		case creator.ran:
			return refsPending, ref
		default:
			return refsWait, ref
		}
	}
	return refsReady, ""
}

// reject records the failure of op found before it reached the store.
// With failOnErrors, the pending batch, whose operations come earlier, is
// committed first: their errors count first, and once they stop the run,
// op is not performed.
func (run *bulkRun) reject(ctx context.Context, op *bulkOp, err error) {
	if run.failOnErrors > 0 && len(run.batch.ops) > 0 {
		run.flush(ctx)
		if run.halted(ctx) {
			return
		}
	}
	run.fail(op, err)
}

func (run *bulkRun) fail(op *bulkOp, err error) {
	p, internal := classify(err)
	if internal {
		run.s.log.ErrorContext(run.r.Context(), "bulk operation failed",
			keyRequestID, RequestID(run.r.Context()), keyErr, err)
	}
	body := p.body()
	run.results[op.index] = &bulkResult{Method: op.method, BulkID: op.bulkID,
		Status: body.Status, Response: &body}
	run.errors++
}

// run plans one operation and adds it to the pending batch, committing the
// batch first when the operation depends on what it holds.
func (run *bulkRun) run(ctx context.Context, op *bulkOp) {
	planFn, t, err := run.prepare(op)
	if err != nil {
		run.reject(ctx, op, err)
		return
	}
	for attempt := 0; attempt < 2; attempt++ {
		tr := newTracker(run.s.store)
		p, err := planFn(tr)
		if tr.conflicts(&run.batch, p) && attempt == 0 {
			run.flush(ctx)
			continue
		}
		if err != nil {
			run.reject(ctx, op, err)
			return
		}
		run.batch.add(pendingOp{op: op, t: t, plan: p, planFn: planFn})
		if len(run.batch.writes) >= batchWrites {
			run.flush(ctx)
		}
		return
	}
}

// batchWrites caps the writes of one shared commit.
const batchWrites = 2000

// prepare resolves an operation's target and body into a planning function.
func (run *bulkRun) prepare(op *bulkOp) (func(reader) (*plan, error), *resourceType, error) {
	s, r := run.s, run.r
	segs := strings.Split(op.path, "/")
	for i, seg := range segs {
		segs[i], _ = substitute(seg, run.created).(string)
	}
	path := strings.Join(segs, "/")
	data := substitute(op.data, run.created)
	t, id, err := s.bulkTarget(path)
	if err != nil {
		return nil, nil, err
	}
	ctx := r.Context()
	switch op.method {
	case http.MethodPost:
		if id != "" {
			return nil, nil, invalidSyntax("POST needs a resource type path such as /Users")
		}
		if op.bulkID == "" {
			return nil, nil, invalidSyntax("POST needs a bulkId")
		}
		body, ok := data.(map[string]any)
		if !ok {
			return nil, nil, invalidSyntax("data must be the resource to create")
		}
		return func(rd reader) (*plan, error) {
			return s.planCreate(ctx, rd, t, cloneDoc(body), true)
		}, t, nil
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		if id == "" {
			return nil, nil, invalidSyntax("%s needs a resource path such as /Users/{id}", op.method)
		}
	default:
		return nil, nil, invalidSyntax("method must be POST, PUT, PATCH or DELETE")
	}
	switch op.method {
	case http.MethodPut:
		body, ok := data.(map[string]any)
		if !ok {
			return nil, nil, invalidSyntax("data must be the replacing resource")
		}
		return func(rd reader) (*plan, error) {
			return s.planReplace(ctx, rd, t, id, cloneDoc(body), preconditions{ifMatch: op.version})
		}, t, nil
	case http.MethodPatch:
		body, ok := data.(map[string]any)
		if !ok {
			return nil, nil, invalidSyntax("data must be a PatchOp message")
		}
		ops, err := patchOperations(body)
		if err != nil {
			return nil, nil, err
		}
		return func(rd reader) (*plan, error) {
			return s.planPatch(ctx, rd, t, id, ops, preconditions{ifMatch: op.version})
		}, t, nil
	}
	return func(rd reader) (*plan, error) {
		return s.planDelete(ctx, rd, t, id, preconditions{ifMatch: op.version})
	}, t, nil
}

// bulkTarget parses an operation path: "/Users" or "/Users/{id}".
func (s *Server) bulkTarget(path string) (*resourceType, string, error) {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return nil, "", invalidSyntax("path must start with /, as in /Users or /Users/{id}")
	}
	endpoint, id, hasID := strings.Cut(rest, "/")
	var t *resourceType
	for _, c := range []*resourceType{s.users, s.groups} {
		if strings.EqualFold(c.endpoint[1:], endpoint) {
			t = c
		}
	}
	if t == nil {
		return nil, "", notFound("no resource type at /%s", endpoint)
	}
	if hasID && (id == "" || strings.Contains(id, "/")) {
		return nil, "", invalidSyntax("path %q names no resource", path)
	}
	return t, id, nil
}

// flush commits the pending batch and records the results of its
// operations. When the store refuses the shared commit (a concurrent
// writer got in between, or one operation's writes are invalid), it wrote
// nothing, so each operation is planned and committed again alone and
// only the one at fault fails; with failOnErrors, those after the error
// that stops the run are not performed. Any other commit failure leaves
// the outcome unknown, and every operation of the batch reports it.
func (run *bulkRun) flush(ctx context.Context) {
	b := run.batch
	run.batch = batch{}
	if len(b.ops) == 0 {
		return
	}
	var versions []uint64
	var err error
	if len(b.writes) > 0 {
		versions, err = run.s.store.Commit(ctx, b.writes...)
	}
	if err == nil {
		for _, po := range b.ops {
			run.succeed(po, po.plan.result(versions[po.first:]))
		}
		return
	}
	if !refused(err) {
		for _, po := range b.ops {
			run.fail(po.op, err)
		}
		return
	}
	for _, po := range b.ops {
		if run.halted(ctx) {
			return
		}
		target := po.plan.id
		if po.op.method == http.MethodPost {
			target = ""
		}
		p, versions, err := run.s.apply(ctx, po.t.kind, target, po.planFn)
		if err != nil {
			run.fail(po.op, err)
			continue
		}
		run.succeed(pendingOp{op: po.op, t: po.t, plan: p}, p.result(versions))
	}
}

// refused reports whether a commit failed on a check the store makes
// before writing anything, so that running its writes again cannot apply
// them twice.
func refused(err error) bool {
	return errors.Is(err, state.ErrConflict) || errors.Is(err, state.ErrVersionMismatch) ||
		errors.Is(err, state.ErrNotFound) || errors.Is(err, state.ErrInvalid)
}

func (run *bulkRun) succeed(po pendingOp, res state.Resource) {
	op := po.op
	out := &bulkResult{Method: op.method, BulkID: op.bulkID,
		Status:   strconv.Itoa(po.plan.status),
		Location: run.s.location(run.r, po.t.endpoint, po.plan.id)}
	if op.method != http.MethodDelete {
		out.Version = versionTag(res.Version)
	}
	if op.method == http.MethodPost && op.bulkID != "" {
		run.created[op.bulkID] = po.plan.id
	}
	run.results[op.index] = out
}
