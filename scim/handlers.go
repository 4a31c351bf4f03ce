package scim

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/scim-bridge/scim-bridge/state"
)

func (s *Server) createHandler(t *resourceType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := s.readObject(r)
		if err != nil {
			return err
		}
		p, versions, err := s.apply(r.Context(), t.kind, "", func(rd reader) (*plan, error) {
			// A create never loses a version race, so it is planned once
			// and may consume the body.
			return s.planCreate(r.Context(), rd, t, body, false)
		})
		if err != nil {
			return err
		}
		return s.respond(w, r, p, versions, projectionOf(r))
	}
}

func (s *Server) getHandler(t *resourceType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := mux.Vars(r)["id"]
		if t.kind != state.KindUser {
			res, err := s.store.Get(r.Context(), t.kind, id)
			if err != nil {
				return s.readFailed(t, id, err)
			}
			return s.writeFresh(w, r, t, res, nil)
		}
		// A user comes with the groups naming it, read in the same step.
		res, groupIDs, err := s.store.GetWithReferrers(r.Context(), t.kind, id, state.KindGroup)
		if err != nil {
			return s.readFailed(t, id, err)
		}
		groups, err := groupsFrom(r.Context(), s.store, groupIDs)
		if err != nil {
			return err
		}
		return s.writeFresh(w, r, t, res, groups)
	}
}

// readFailed explains a failed read of resource id.
func (s *Server) readFailed(t *resourceType, id string, err error) error {
	if errors.Is(err, state.ErrNotFound) {
		return notFound("%s %q does not exist", t.name, id)
	}
	return err
}

// writeFresh answers a GET of res, or 304 when If-None-Match holds its
// version.
func (s *Server) writeFresh(w http.ResponseWriter, r *http.Request, t *resourceType,
	res state.Resource, groups []groupRef) error {
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, res.Version) {
		w.Header().Set("Etag", versionTag(res.Version))
		return errNotModified
	}
	return s.writeRendered(w, r, t, http.StatusOK, res, groups, projectionOf(r))
}

func (s *Server) replaceHandler(t *resourceType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := mux.Vars(r)["id"]
		body, err := s.readObject(r)
		if err != nil {
			return err
		}
		pre := preconditionsOf(r)
		p, versions, err := s.apply(r.Context(), t.kind, id, func(rd reader) (*plan, error) {
			return s.planReplace(r.Context(), rd, t, id, cloneDoc(body), pre)
		})
		if err != nil {
			return err
		}
		return s.respond(w, r, p, versions, projectionOf(r))
	}
}

func (s *Server) deleteHandler(t *resourceType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := mux.Vars(r)["id"]
		pre := preconditionsOf(r)
		_, _, err := s.apply(r.Context(), t.kind, id, func(rd reader) (*plan, error) {
			return s.planDelete(r.Context(), rd, t, id, pre)
		})
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// preconditions are a write's If-Match and If-None-Match headers (RFC 7232
// section 3, with SCIM's weak version tags, RFC 7644 section 3.14).
type preconditions struct {
	ifMatch     string
	ifNoneMatch string
}

func preconditionsOf(r *http.Request) preconditions {
	return preconditions{ifMatch: r.Header.Get("If-Match"), ifNoneMatch: r.Header.Get("If-None-Match")}
}

// check fails with 412 unless the resource's version satisfies both
// headers: If-Match must name it (or be "*"), If-None-Match must not.
func (p preconditions) check(version uint64) error {
	if p.ifMatch != "" && !etagMatches(p.ifMatch, version) {
		return preconditionFailed()
	}
	if p.ifNoneMatch != "" && etagMatches(p.ifNoneMatch, version) {
		return newProblem(http.StatusPreconditionFailed, "",
			"the resource matches If-None-Match, so it was not changed")
	}
	return nil
}

// readObject reads and parses a JSON object request body.
func (s *Server) readObject(r *http.Request) (map[string]any, error) {
	data, err := s.readBody(r)
	if err != nil {
		return nil, err
	}
	return parseBody(data)
}

// respond writes the target of an applied plan.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, p *plan, versions []uint64,
	proj projection) error {
	res := p.result(versions)
	// A user just created belongs to no group yet: no group can name an
	// id before it exists.
	derive := p.status != http.StatusCreated
	return s.writeStored(w, r, p.t, p.status, res, proj, derive)
}

// writeStored renders a stored resource, with a user's derived groups
// when derive is set.
func (s *Server) writeStored(w http.ResponseWriter, r *http.Request, t *resourceType,
	status int, res state.Resource, proj projection, derive bool) error {
	var groups []groupRef
	if t.kind == state.KindUser && derive {
		var err error
		if groups, err = s.groupsOf(r.Context(), s.store, res.ID); err != nil {
			return err
		}
	}
	return s.writeRendered(w, r, t, status, res, groups, proj)
}

// writeRendered renders a stored resource with the given derived groups.
func (s *Server) writeRendered(w http.ResponseWriter, r *http.Request, t *resourceType,
	status int, res state.Resource, groups []groupRef, proj projection) error {
	loc := s.location(r, t.endpoint, res.ID)
	body, err := s.render(t, res, groups, loc, proj)
	if err != nil {
		return err
	}
	writeResource(w, status, body, res.Version, loc)
	return nil
}

// cloneDoc copies a decoded JSON object deeply, so that a re-planned
// write starts from the request as it came.
func cloneDoc(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneDoc(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}
