package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	scimerr "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/state"
)

// errorBody is the SCIM error message of RFC 7644 section 3.12.
type errorBody struct {
	Schemas  []string `json:"schemas"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
	Status   string   `json:"status"`
}

const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

// problem is a client-safe error: its status, scimType and detail are sent
// as they are. Handlers return problems for client mistakes; every other
// error becomes a 500 whose cause is logged and never sent.
type problem struct {
	status   int
	scimType scimerr.ScimType
	detail   string
}

func (p *problem) Error() string {
	return fmt.Sprintf("%d %s: %s", p.status, p.scimType, p.detail)
}

func newProblem(status int, t scimerr.ScimType, format string, args ...any) *problem {
	return &problem{status: status, scimType: t, detail: fmt.Sprintf(format, args...)}
}

func invalidSyntax(format string, args ...any) *problem {
	return newProblem(http.StatusBadRequest, scimerr.ScimTypeInvalidSyntax, format, args...)
}

func invalidValue(format string, args ...any) *problem {
	return newProblem(http.StatusBadRequest, scimerr.ScimTypeInvalidValue, format, args...)
}

func mutability(format string, args ...any) *problem {
	return newProblem(http.StatusBadRequest, scimerr.ScimTypeMutability, format, args...)
}

func uniqueness(format string, args ...any) *problem {
	return newProblem(http.StatusConflict, scimerr.ScimTypeUniqueness, format, args...)
}

func notFound(format string, args ...any) *problem {
	return newProblem(http.StatusNotFound, "", format, args...)
}

func preconditionFailed() *problem {
	return newProblem(http.StatusPreconditionFailed, "",
		"the resource has changed: its version no longer matches If-Match")
}

// errNotModified makes a conditional GET answer 304; it is not an error
// for the client.
var errNotModified = errors.New("not modified")

// asProblem classifies err. Library ScimErrors (value or pointer) and
// store sentinels map to their SCIM meaning; ok is false for anything
// else, which is an internal failure.
func asProblem(err error) (p *problem, ok bool) {
	if errors.As(err, &p) {
		return p, true
	}
	var se scimerr.ScimError
	if errors.As(err, &se) {
		return fromScimError(se), true
	}
	var sp *scimerr.ScimError
	if errors.As(err, &sp) && sp != nil {
		return fromScimError(*sp), true
	}
	switch {
	case errors.Is(err, state.ErrNotFound):
		return notFound("the resource does not exist"), true
	case errors.Is(err, state.ErrConflict):
		return uniqueness("a unique attribute value is already in use"), true
	case errors.Is(err, state.ErrVersionMismatch):
		return preconditionFailed(), true
	case errors.Is(err, state.ErrInvalid):
		// The SCIM checks refuse what the store would (see checkIndexed),
		// so this is a backstop: still the client's value, never a 500.
		return invalidValue("a value is too long or malformed to be stored"), true
	}
	return nil, false
}

func fromScimError(se scimerr.ScimError) *problem {
	status := se.Status
	if status < 400 || status > 599 {
		status = http.StatusBadRequest
	}
	return &problem{status: status, scimType: se.ScimType, detail: se.Detail}
}

// body renders p as the JSON error message.
func (p *problem) body() errorBody {
	return errorBody{
		Schemas:  []string{errorSchema},
		ScimType: string(p.scimType),
		Detail:   p.detail,
		Status:   strconv.Itoa(p.status),
	}
}

var internalProblem = &problem{
	status: http.StatusInternalServerError,
	detail: "internal error; the request id identifies it in the server log",
}

var unavailableProblem = &problem{
	status: http.StatusServiceUnavailable,
	detail: "the service cannot complete the request now; try again",
}

// classify returns the client-facing problem for err and whether the
// cause must be logged as a server failure.
func classify(err error) (p *problem, internal bool) {
	if p, ok := asProblem(err); ok {
		return p, false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, state.ErrClosed) {
		return unavailableProblem, true
	}
	return internalProblem, true
}

// fail writes err as a SCIM error response. It is the one place where
// errors become responses: client mistakes are sent with their detail,
// anything else is logged with its cause and answered with a generic 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNotModified) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	p, internal := classify(err)
	if internal {
		s.log.ErrorContext(r.Context(), "request failed", keyRequestID, RequestID(r.Context()),
			keyMethod, r.Method, keyPath, r.URL.Path, keyErr, err)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p *problem) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Del("Etag")
	h.Del("Location")
	w.WriteHeader(p.status)
	_ = writeJSON(w, p.body())
}
