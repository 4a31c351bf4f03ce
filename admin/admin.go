// Package admin is the admin REST API of scim-bridge, served under
// /admin/v1: application instances and their provisioning switch,
// per-user provisioning status, quick sync jobs, dead letters and the
// provisioning log.
//
// Every request needs a bearer token the configured verifier accepts
// (401 otherwise). Reads are open to any authenticated caller; writes need
// a JWT whose role claim is owner or admin (403 otherwise). Errors are JSON
// of one shape, Error, whose message is safe to show; internal causes are
// logged, never sent.
package admin

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/scim-bridge/scim-bridge/auth"
	"github.com/scim-bridge/scim-bridge/bridge"
)

// Prefix is the path the API is served under; New's handler matches full
// paths, so mount it with a path prefix and no stripping.
const Prefix = "/admin/v1"

// Roles that may change things; any other role may only read.
const (
	RoleOwner = "owner"
	RoleAdmin = "admin"
)

// Authenticator verifies bearer tokens and puts the caller's auth.Principal
// in the request context; *auth.Verifier implements it.
type Authenticator interface {
	Middleware(deny auth.DenyFunc) func(http.Handler) http.Handler
}

// Options configure the API. Engine and Auth are required.
type Options struct {
	Engine *bridge.Engine
	Auth   Authenticator
	// Logger receives one line per failed request; nil discards.
	Logger *slog.Logger
}

// api holds what the handlers share.
type api struct {
	engine *bridge.Engine
	log    *slog.Logger
}

// New returns the admin API handler. It is safe for concurrent use.
func New(opts Options) http.Handler {
	a := &api{engine: opts.Engine, log: opts.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	// Routes are registered with full paths on one router: a subrouter
	// would answer 404 instead of 405 to a known path with another method.
	// Every answer, the 404 and 405 ones included, needs a valid token, so
	// the API does not tell anonymous callers which endpoints exist.
	authn := opts.Auth.Middleware(deny)
	r := mux.NewRouter()
	r.Use(authn)
	r.NotFoundHandler = authn(a.handle(func(http.ResponseWriter, *http.Request) error {
		return errorf(http.StatusNotFound, codeNotFound, "no such admin endpoint")
	}))
	r.MethodNotAllowedHandler = authn(a.handle(func(http.ResponseWriter, *http.Request) error {
		return errorf(http.StatusMethodNotAllowed, codeMethodNotAllowed,
			"method not allowed on this endpoint")
	}))

	read := func(path string, h handlerFunc) {
		r.Handle(Prefix+path, a.handle(h)).Methods(http.MethodGet, http.MethodHead)
	}
	write := func(method, path string, h handlerFunc) {
		r.Handle(Prefix+path, a.handle(requireWriter(h))).Methods(method)
	}
	read("/apps", a.listApps)
	read("/apps/{app}", a.getApp)
	write(http.MethodPut, "/apps/{app}/provisioning", a.setProvisioning)
	read("/apps/{app}/users", a.listUsers)
	read("/apps/{app}/users/{id}", a.getUser)
	write(http.MethodPost, "/apps/{app}/sync", a.startSync)
	read("/jobs/{id}", a.getJob)
	write(http.MethodDelete, "/jobs/{id}", a.cancelJob)
	write(http.MethodPost, "/jobs/{id}/cancel", a.cancelJob)
	read("/apps/{app}/deadletters", a.listDeadLetters)
	write(http.MethodPost, "/apps/{app}/deadletters/{id}/replay", a.replay)
	read("/apps/{app}/log", a.getLog)
	return r
}

// requireWriter lets through only callers whose role may change things.
func requireWriter(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok {
			return errorf(http.StatusUnauthorized, codeUnauthorized, "authentication required")
		}
		if p.Role != RoleOwner && p.Role != RoleAdmin {
			return errorf(http.StatusForbidden, codeForbidden,
				"this needs the owner or admin role")
		}
		return next(w, r)
	}
}

// caller names the principal of a request for the records it writes.
func caller(r *http.Request) string {
	if p, ok := auth.PrincipalFrom(r.Context()); ok {
		return p.Subject
	}
	return ""
}
