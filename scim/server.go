// Package scim is the SCIM 2.0 service provider (RFC 7643, RFC 7644) that
// identity providers push directory users and groups to.
//
// It serves /scim/v2/Users, /Groups, /Bulk, /ServiceProviderConfig,
// /Schemas and /ResourceTypes behind bearer authentication; the endpoint
// names are matched in any letter case (/users is /Users). Every write is
// validated against the schemas, committed to the state.Store in one atomic
// step with its change-feed entry, and acknowledged only once durable.
//
// # Stored documents
//
// state.Resource.Data holds the resource's SCIM JSON as GET returns it:
// canonical attribute names, "schemas", "id", "externalId" and "meta"
// (created, lastModified, resourceType), with "meta" as the last member.
// It does not hold meta.version (that is Resource.Version, rendered as
// W/"N"), meta.location and each group member's "$ref" (derived from the
// base URL, which may differ per request), a user's "groups"
// (derived from the groups whose members name the user) or any password:
// passwords are accepted for compatibility but never stored, since no
// connector can use them and a kept hash would only be a target.
//
// Resource.Unique holds one entry per attribute whose schema declares
// uniqueness "server" or "global": the User's userName, lower-cased because
// it is case-insensitive (caseExact false in RFC 7643), plus any such
// attribute of a configured extension. A Group's displayName is not unique
// (RFC 7643 section 4.2 declares uniqueness "none", and identity providers
// such as Entra ID allow two groups of one name).
//
// Resource.Refs of a group are its members' ids plus one entry
// "displayName:" followed by the hex SHA-256 of its lower-cased
// displayName. Refs of a user hold one entry "externalId:" followed by the
// hex SHA-256 of its externalId. These entries let an equality filter on a
// non-unique attribute be answered from the store's reference index, at
// the same cost whatever the size of the collection; member ids never
// start so, since members must name existing resources, whose ids the
// server made. Group members must name existing users or groups; deleting
// a user or group removes it from every group in the same commit.
//
// # Lists
//
// A list or search returns at most MaxFilterResults resources: a larger
// count is capped and a negative one is 0 (RFC 7644 section 3.4.2.4). An
// equality on id, userName, externalId or a group's displayName is answered
// from an index; any other filter scans the collection without keeping
// more than the page. With sortBy every match is kept to be sorted, so a
// query matching more than MaxSortedResults resources is refused with 400
// tooMany, and the client narrows its filter.
package scim

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/gorilla/mux"

	"github.com/scim-bridge/scim-bridge/auth"
	"github.com/scim-bridge/scim-bridge/scim/attr"
	"github.com/scim-bridge/scim-bridge/state"
)

// Prefix is the path under which Handler serves the SCIM endpoints.
const Prefix = "/scim/v2"

// Default limits, used when the Config leaves them zero.
const (
	DefaultMaxBulkOperations = 1000
	DefaultMaxPayloadBytes   = 1 << 20
	DefaultMaxFilterResults  = 200
)

// Config configures a Server.
type Config struct {
	// Store keeps the directory. Required.
	Store state.Store
	// Auth authenticates every request. Required: the endpoint never
	// answers without credentials.
	Auth *auth.Verifier
	// Logger receives request logs and the causes of internal errors.
	Logger *slog.Logger
	// BaseURL is the externally visible URL of the server (scheme, host
	// and any path prefix before /scim/v2), used in meta.location and
	// Location headers. Empty means derived from each request's Host.
	BaseURL string
	// Extensions are further schema extensions of the User resource type,
	// beside the enterprise extension.
	Extensions []schema.Schema
	// MaxBulkOperations caps the operations of one Bulk request.
	MaxBulkOperations int
	// MaxPayloadBytes caps every request body, Bulk included.
	MaxPayloadBytes int
	// MaxFilterResults caps the resources of one list response.
	MaxFilterResults int
	// Clock returns the current time, for meta.created and lastModified.
	Clock func() time.Time
	// Instrument, when set, wraps the handler of every route; route is the
	// route's name (such as "users.get"). It is the place for metrics.
	Instrument func(route string, h http.Handler) http.Handler
}

// Server is the SCIM service provider. It is safe for concurrent use.
type Server struct {
	store      state.Store
	auth       *auth.Verifier
	log        *slog.Logger
	baseURL    string
	clock      func() time.Time
	instrument func(string, http.Handler) http.Handler

	maxBulkOps int
	maxPayload int
	maxResults int
	users      *resourceType
	groups     *resourceType
	schemas    *attr.Schemas
	discovery  http.Handler
	router     *mux.Router
	handler    http.Handler
	locks      targetLocks
}

// New builds a Server. It fails when the store or the verifier is missing
// or an extension schema is unusable.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("scim: no store")
	}
	if cfg.Auth == nil {
		return nil, errors.New("scim: no authentication configured")
	}
	// Microsoft Entra ID sends booleans and numbers as strings ("True").
	// The schema library reads that switch from a process-wide variable;
	// it is set here, once, because this package is its only user and
	// every SCIM client of the bridge needs it.
	schema.SetAllowStringValues(true)

	s := &Server{
		store:      cfg.Store,
		auth:       cfg.Auth,
		log:        cfg.Logger,
		baseURL:    strings.TrimRight(cfg.BaseURL, "/"),
		clock:      cfg.Clock,
		instrument: cfg.Instrument,
		maxBulkOps: orDefault(cfg.MaxBulkOperations, DefaultMaxBulkOperations),
		maxPayload: orDefault(cfg.MaxPayloadBytes, DefaultMaxPayloadBytes),
		maxResults: orDefault(cfg.MaxFilterResults, DefaultMaxFilterResults),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.instrument == nil {
		s.instrument = func(_ string, h http.Handler) http.Handler { return h }
	}
	if err := s.buildTypes(cfg.Extensions); err != nil {
		return nil, err
	}
	if err := s.buildDiscovery(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// Handler serves the SCIM endpoints under Prefix. Every route, including
// unknown paths, requires a bearer token.
func (s *Server) Handler() http.Handler { return s.handler }

// handlerFunc is a handler that returns its failure for fail to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) routes() http.Handler {
	root := mux.NewRouter()
	root.NotFoundHandler = http.HandlerFunc(s.notFound)
	root.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)

	add := func(name, path string, h handlerFunc, methods ...string) {
		serve := func(w http.ResponseWriter, req *http.Request) {
			if err := h(w, req); err != nil {
				s.fail(w, req, err)
			}
		}
		wrapped := s.instrument(name, http.HandlerFunc(serve))
		root.Handle(Prefix+path, wrapped).Methods(methods...).Name(name)
	}
	for _, t := range []*resourceType{s.users, s.groups} {
		p, n := t.endpoint, strings.ToLower(t.endpoint[1:])
		add(n+".search", p+"/.search", s.searchHandler(t), http.MethodPost)
		add(n+".list", p, s.listHandler(t), http.MethodGet)
		// A trailing slash on the collection names the same collection.
		add(n+".list_slash", p+"/", s.listHandler(t), http.MethodGet)
		add(n+".create", p, s.createHandler(t), http.MethodPost)
		add(n+".get", p+"/{id}", s.getHandler(t), http.MethodGet)
		add(n+".replace", p+"/{id}", s.replaceHandler(t), http.MethodPut)
		add(n+".patch", p+"/{id}", s.patchHandler(t), http.MethodPatch)
		add(n+".delete", p+"/{id}", s.deleteHandler(t), http.MethodDelete)
	}
	add("bulk", "/Bulk", s.bulk, http.MethodPost)
	add("service_provider_config", "/ServiceProviderConfig", s.serviceProviderConfig,
		http.MethodGet)
	add("schemas.list", "/Schemas", s.serveDiscovery, http.MethodGet)
	add("schemas.get", "/Schemas/{id}", s.serveDiscovery, http.MethodGet)
	add("resource_types.list", "/ResourceTypes", s.serveDiscovery, http.MethodGet)
	add("resource_types.get", "/ResourceTypes/{id}", s.serveDiscovery, http.MethodGet)
	add("me", "/Me", s.me, http.MethodGet, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete)

	s.router = root
	var h http.Handler = canonicalEndpoint(root)
	h = s.limitBody(h)
	h = s.auth.Middleware(s.denied)(h)
	h = s.recoverPanics(h)
	h = s.logRequests(h)
	return h
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, notFound("no SCIM endpoint at %s", r.URL.Path))
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, newProblem(http.StatusMethodNotAllowed, "",
		"%s is not supported on %s", r.Method, r.URL.Path))
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return newProblem(http.StatusNotImplemented, "",
		"/Me is not supported: identity providers authenticate as clients, not as users")
}

// denied renders authentication failures as SCIM errors.
func (s *Server) denied(w http.ResponseWriter, _ *http.Request, err error) {
	writeProblem(w, newProblem(http.StatusUnauthorized, "", "%s", err.Error()))
}

// location is the absolute URL of a resource, or of an endpoint when id is
// empty.
func (s *Server) location(r *http.Request, endpoint, id string) string {
	base := s.baseURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	if id == "" {
		return base + Prefix + endpoint
	}
	return base + Prefix + endpoint + "/" + id
}
