package scim

import (
	"strings"

	"github.com/gorilla/mux"

	"github.com/scim-bridge/scim-bridge/state"
)

// RouteSpec is one registered route: its path template and methods.
type RouteSpec struct {
	Path    string
	Methods []string
}

// Routes lists every route of the server's router, for tests that must
// cover all of them.
func (s *Server) Routes() []RouteSpec {
	var out []RouteSpec
	_ = s.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		p, err := r.GetPathTemplate()
		if err != nil {
			return nil
		}
		m, _ := r.GetMethods()
		out = append(out, RouteSpec{Path: strings.TrimSpace(p), Methods: m})
		return nil
	})
	return out
}

func storedResource(data string) state.Resource {
	return state.Resource{Kind: state.KindUser, ID: "u1", Version: 3, Data: []byte(data)}
}
