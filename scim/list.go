package scim

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	scimerr "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/scim-bridge/scim-bridge/scim/filter"
	"github.com/scim-bridge/scim-bridge/state"
)

const (
	listResponseSchema  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	searchRequestSchema = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	// scanChunk is how many resources a scan reads from the store at once.
	scanChunk = 500
	// MaxSortedResults is the most matches a list or search with sortBy
	// sorts: sorting keeps every match in memory, so a query matching more
	// is refused with 400 tooMany (RFC 7644 section 3.12) and the client
	// narrows its filter. Unsorted queries have no such limit.
	MaxSortedResults = 10_000
)

// query is a parsed list or search request (RFC 7644 section 3.4.2).
type query struct {
	filter filter.Expr
	// exact is set when the filter is one equality the index answers
	// exactly, so candidates need no evaluation.
	exact      bool
	sorter     *attr.Sorter
	descending bool
	start      int // 1-based
	count      int
	proj       projection
	// groups is set when the filter or sort reads a user's derived groups.
	groups bool
}

func (s *Server) listHandler(t *resourceType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v := r.URL.Query()
		q, err := s.parseQuery(t, v.Get("filter"), v.Get("sortBy"), v.Get("sortOrder"),
			v.Get("startIndex"), v.Get("count"))
		if err != nil {
			return err
		}
		q.proj = projectionOf(r)
		return s.list(w, r, t, q)
	}
}

// searchRequest is the body of POST /.search (RFC 7644 section 3.4.3).
type searchRequest struct {
	Schemas            []string        `json:"schemas"`
	Attributes         []string        `json:"attributes"`
	ExcludedAttributes []string        `json:"excludedAttributes"`
	Filter             string          `json:"filter"`
	SortBy             string          `json:"sortBy"`
	SortOrder          string          `json:"sortOrder"`
	StartIndex         json.RawMessage `json:"startIndex"`
	Count              json.RawMessage `json:"count"`
}

func (s *Server) searchHandler(t *resourceType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		data, err := s.readBody(r)
		if err != nil {
			return err
		}
		var sr searchRequest
		if err := json.Unmarshal(data, &sr); err != nil {
			return invalidSyntax("the search request is not valid JSON: %s", jsonReason(err))
		}
		if !slices.Contains(sr.Schemas, searchRequestSchema) {
			return invalidSyntax("schemas must hold %s", searchRequestSchema)
		}
		q, err := s.parseQuery(t, sr.Filter, sr.SortBy, sr.SortOrder,
			rawNumber(sr.StartIndex), rawNumber(sr.Count))
		if err != nil {
			return err
		}
		q.proj = projection{attributes: sr.Attributes, excluded: sr.ExcludedAttributes}
		return s.list(w, r, t, q)
	}
}

// rawNumber turns a JSON number (or a quoted one) into its text.
func rawNumber(m json.RawMessage) string {
	return strings.Trim(strings.TrimSpace(string(m)), `"`)
}

func (s *Server) parseQuery(t *resourceType, filterText, sortBy, sortOrder, start,
	count string) (query, error) {
	q := query{start: 1, count: s.maxResults}
	if strings.TrimSpace(filterText) != "" {
		e, err := filter.Parse(filterText)
		if err != nil {
			return q, err
		}
		if err := filter.Validate(e, s.schemas, t.name); err != nil {
			return q, err
		}
		q.filter = e
		q.groups = mentionsGroups(e)
		_, isComparison := e.(*attr.Comparison)
		_, _, indexed := filter.IndexLookup(e)
		q.exact = isComparison && indexed && !q.groups
	}
	if strings.TrimSpace(sortBy) != "" {
		sorter, err := s.schemas.SortBy(t.name, sortBy)
		if err != nil {
			return q, err
		}
		q.sorter = &sorter
		q.groups = q.groups || strings.EqualFold(strings.SplitN(sortBy, ".", 2)[0], "groups")
	}
	switch strings.ToLower(strings.TrimSpace(sortOrder)) {
	case "", "ascending":
	case "descending":
		q.descending = true
	default:
		return q, invalidValue("sortOrder must be ascending or descending")
	}
	if start != "" {
		n, ok := parseInteger(start)
		if !ok {
			return q, invalidValue("startIndex must be an integer")
		}
		q.start = max(n, 1) // RFC 7644 section 3.4.2.4: below 1 means 1
	}
	if count != "" {
		n, ok := parseInteger(count)
		if !ok {
			return q, invalidValue("count must be an integer")
		}
		// Section 3.4.2.4: a negative count means 0, and the server may
		// return fewer results than asked for.
		q.count = min(max(n, 0), s.maxResults)
	}
	q.groups = q.groups && t.kind == state.KindUser
	return q, nil
}

// parseInteger reads a paging parameter: a decimal integer, or a JSON
// number with an integral value (1e3), saturated at the bounds of int
// rather than refused, since a count or startIndex beyond them only means
// "as many as there are".
func parseInteger(v string) (int, bool) {
	n, err := strconv.ParseInt(v, 10, 0)
	if err == nil {
		return int(n), true
	}
	if errors.Is(err, strconv.ErrRange) {
		if strings.HasPrefix(v, "-") {
			return math.MinInt, true
		}
		return math.MaxInt, true
	}
	f, err := strconv.ParseFloat(v, 64)
	if (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(f) || f != math.Trunc(f) {
		return 0, false
	}
	return clampInt(f), true
}

func clampInt(f float64) int {
	switch {
	case f >= math.MaxInt:
		return math.MaxInt
	case f <= math.MinInt:
		return math.MinInt
	}
	return int(f)
}

// mentionsGroups reports whether a filter reads the derived "groups".
func mentionsGroups(e filter.Expr) bool {
	switch e := e.(type) {
	case *attr.And:
		return mentionsGroups(e.Left) || mentionsGroups(e.Right)
	case *attr.Or:
		return mentionsGroups(e.Left) || mentionsGroups(e.Right)
	case *attr.Not:
		return mentionsGroups(e.X)
	case *attr.Comparison:
		return strings.EqualFold(e.Path.Name, "groups")
	case *attr.ValuePath:
		return strings.EqualFold(e.Path.Name, "groups")
	}
	return false
}

// hit is one resource that passed the filter.
type hit struct {
	res    state.Resource
	key    attr.SortKey
	groups []groupRef
	// groupIDs are the ids of the groups naming a user, when the read that
	// found it brought them (groupsRead); otherwise they are read when
	// the user's groups are needed.
	groupIDs   []string
	groupsRead bool
}

// userGroups returns the derived groups of the user of h.
func (s *Server) userGroups(ctx context.Context, h hit) ([]groupRef, error) {
	if h.groupsRead {
		return groupsFrom(ctx, s.store, h.groupIDs)
	}
	return s.groupsOf(ctx, s.store, h.res.ID)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, t *resourceType, q query) error {
	total, page, err := s.find(r.Context(), t, q)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 256+len(page)*1024)
	buf = append(buf, `{"schemas":["`+listResponseSchema+`"],"totalResults":`...)
	buf = strconv.AppendInt(buf, int64(total), 10)
	buf = append(buf, `,"itemsPerPage":`...)
	buf = strconv.AppendInt(buf, int64(len(page)), 10)
	buf = append(buf, `,"startIndex":`...)
	buf = strconv.AppendInt(buf, int64(q.start), 10)
	buf = append(buf, `,"Resources":[`...)
	for i, h := range page {
		if i > 0 {
			buf = append(buf, ',')
		}
		groups := h.groups
		if t.kind == state.KindUser && !q.groups {
			if groups, err = s.userGroups(r.Context(), h); err != nil {
				return err
			}
		}
		body, err := s.render(t, h.res, groups, s.location(r, t.endpoint, h.res.ID), q.proj)
		if err != nil {
			return err
		}
		buf = append(buf, body...)
	}
	buf = append(buf, "]}"...)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	_, _ = w.Write(buf)
	return nil
}

// find runs a query: the number of matches and the requested page.
func (s *Server) find(ctx context.Context, t *resourceType, q query) (int, []hit, error) {
	if q.filter == nil && q.sorter == nil {
		return s.pageAll(ctx, t, q)
	}
	var hits []hit
	var total int
	keep := func(h hit) error {
		total++
		// Without sorting, resources come in id order and only the page
		// needs keeping.
		switch {
		case q.sorter != nil && total > MaxSortedResults:
			return newProblem(http.StatusBadRequest, scimerr.ScimTypeTooMany,
				"sortBy sorts at most %d matching resources; narrow the filter",
				MaxSortedResults)
		case q.sorter != nil || total >= q.start && total-q.start < q.count:
			hits = append(hits, h)
		}
		return nil
	}
	candidates, indexed, err := s.indexCandidates(ctx, t, q)
	if err != nil {
		return 0, nil, err
	}
	// Only an index that answered may stand in for evaluating the filter.
	q.exact = q.exact && indexed
	if indexed {
		for _, h := range candidates {
			if err := s.consider(ctx, t, q, h, keep); err != nil {
				return 0, nil, err
			}
		}
	} else if err := s.scan(ctx, t, func(res state.Resource) error {
		return s.consider(ctx, t, q, hit{res: res}, keep)
	}); err != nil {
		return 0, nil, err
	}
	if q.sorter == nil {
		return total, hits, nil
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if q.descending {
			return attr.Compare(b.key, a.key)
		}
		return attr.Compare(a.key, b.key)
	})
	from := min(q.start-1, len(hits))
	to := min(from+q.count, len(hits))
	return total, hits[from:to], nil
}

// consider evaluates one found resource against the filter and passes a
// match to keep.
func (s *Server) consider(ctx context.Context, t *resourceType, q query, h hit,
	keep func(hit) error) error {
	if q.exact && q.sorter == nil {
		return keep(h)
	}
	doc, err := decodeDocument(h.res.Data)
	if err != nil {
		return err
	}
	if q.groups {
		if h.groups, err = s.userGroups(ctx, h); err != nil {
			return err
		}
		if len(h.groups) > 0 {
			doc["groups"] = groupValues(h.groups)
		}
	}
	if q.filter != nil && !filter.Match(q.filter, doc, s.schemas, t.name) {
		return nil
	}
	if q.sorter != nil {
		h.key = q.sorter.Key(doc)
	}
	return keep(h)
}

func groupValues(groups []groupRef) []any {
	list := make([]any, len(groups))
	for i, g := range groups {
		list[i] = map[string]any{"value": g.id, "display": g.display, "type": "direct"}
	}
	return list
}

// indexCandidates answers an equality on id, a unique attribute, a user's
// externalId or a group's displayName from the store's indexes. It reports
// false when the filter has no such equality, and the caller scans. A user
// found by id or a unique attribute comes with the groups naming it, read
// in the same step.
func (s *Server) indexCandidates(ctx context.Context, t *resourceType, q query) (
	[]hit, bool, error) {
	if q.filter == nil {
		return nil, false, nil
	}
	name, value, ok := filter.IndexLookup(q.filter)
	v, _ := value.(string)
	if !ok {
		return nil, false, nil
	}
	var h hit
	var err error
	switch {
	case name == "id":
		h, err = s.readHit(ctx, t, v, nil)
	case name == "externalId" && t.kind == state.KindUser:
		return s.referredHits(ctx, state.KindUser, externalIDRef(v))
	case strings.EqualFold(name, "displayName") && t.kind == state.KindGroup:
		return s.referredHits(ctx, state.KindGroup, displayNameRef(v))
	default:
		u := t.unique(name)
		if u == nil {
			return nil, false, nil
		}
		h, err = s.readHit(ctx, t, "", &state.IndexKey{Name: u.key, Value: indexValue(u.attr, v)})
	}
	if errors.Is(err, state.ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	return []hit{h}, true, nil
}

// readHit reads the resource of t with id, or holding key when key is set;
// a user comes with the ids of the groups naming it.
func (s *Server) readHit(ctx context.Context, t *resourceType, id string,
	key *state.IndexKey) (hit, error) {
	var h hit
	var err error
	switch {
	case t.kind == state.KindUser && key != nil:
		h.res, h.groupIDs, err = s.store.LookupWithReferrers(ctx, t.kind, *key, state.KindGroup)
		h.groupsRead = true
	case t.kind == state.KindUser:
		h.res, h.groupIDs, err = s.store.GetWithReferrers(ctx, t.kind, id, state.KindGroup)
		h.groupsRead = true
	case key != nil:
		h.res, err = s.store.Lookup(ctx, t.kind, *key)
	default:
		h.res, err = s.store.Get(ctx, t.kind, id)
	}
	return h, err
}

// referredHits reads the resources of kind whose refs hold an index term.
func (s *Server) referredHits(ctx context.Context, kind state.Kind, term string) (
	[]hit, bool, error) {
	ids, err := s.store.Referrers(ctx, kind, term)
	if err != nil {
		return nil, true, err
	}
	list, err := s.store.GetMany(ctx, kind, ids)
	if err != nil {
		return nil, true, err
	}
	hits := make([]hit, len(list))
	for i, res := range list {
		hits[i] = hit{res: res}
	}
	return hits, true, nil
}

// unique returns the unique attribute of t called name, or nil.
func (t *resourceType) unique(name string) *uniqueAttr {
	for i, u := range t.uniques {
		if strings.EqualFold(u.key, name) {
			return &t.uniques[i]
		}
	}
	return nil
}

// scan visits every resource of t in id order.
func (s *Server) scan(ctx context.Context, t *resourceType,
	visit func(state.Resource) error) error {
	after := ""
	for {
		chunk, err := s.store.List(ctx, t.kind, after, scanChunk)
		if err != nil {
			return err
		}
		for _, res := range chunk {
			if err := visit(res); err != nil {
				return err
			}
		}
		if len(chunk) < scanChunk {
			return nil
		}
		after = chunk[len(chunk)-1].ID
	}
}

// pageAll pages through every resource of t in id order. The store has no
// offset, so reaching startIndex reads the resources before it.
func (s *Server) pageAll(ctx context.Context, t *resourceType, q query) (int, []hit, error) {
	total, err := s.store.Count(ctx, t.kind)
	if err != nil {
		return 0, nil, err
	}
	if q.start > total || q.count == 0 {
		return total, nil, nil
	}
	var page []hit
	skip := q.start - 1
	after := ""
	for len(page) < q.count {
		want := min(scanChunk, skip+q.count-len(page))
		chunk, err := s.store.List(ctx, t.kind, after, want)
		if err != nil {
			return 0, nil, err
		}
		for _, res := range chunk {
			if skip > 0 {
				skip--
				continue
			}
			if len(page) < q.count {
				page = append(page, hit{res: res})
			}
		}
		if len(chunk) < want {
			break
		}
		after = chunk[len(chunk)-1].ID
	}
	return total, page, nil
}
