package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// Error is the body of every error answer.
type Error struct {
	Status int `json:"status"`
	// Code is a stable machine-readable word: unauthorized, forbidden,
	// not_found, conflict, invalid_request, method_not_allowed, internal.
	Code    string `json:"code"`
	Message string `json:"message"`
	// JobID names the running job when a quick sync is refused because
	// one already runs.
	JobID string `json:"job_id,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Error codes.
const (
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeConflict         = "conflict"
	codeInvalid          = "invalid_request"
	codeMethodNotAllowed = "method_not_allowed"
	codeInternal         = "internal"
)

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// handlerFunc is an API handler: it writes a success answer itself and
// returns any failure for handle to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (a *api) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// fail turns an error into an answer: engine errors map to their status,
// and anything unexpected is logged and answered as a bare 500.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var running *bridge.RunningError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &running):
		e = &Error{Status: http.StatusConflict, Code: codeConflict, Message: err.Error(),
			JobID: running.JobID}
	case errors.Is(err, bridge.ErrUnknownApp), errors.Is(err, bridge.ErrNotFound):
		e = errorf(http.StatusNotFound, codeNotFound, "%s", err.Error())
	case errors.Is(err, bridge.ErrInvalid):
		e = errorf(http.StatusBadRequest, codeInvalid, "%s", err.Error())
	default:
		a.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errorf(http.StatusInternalServerError, codeInternal, "internal error")
	}
	writeJSON(w, e.Status, e)
}

// deny renders the authentication failures of the auth middleware.
func deny(w http.ResponseWriter, _ *http.Request, err error) {
	writeJSON(w, http.StatusUnauthorized, errorf(http.StatusUnauthorized, codeUnauthorized,
		"%s", err.Error()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// maxBody bounds request bodies; the API's bodies are a few bytes.
const maxBody = 64 << 10

// decodeBody reads a JSON body into v, refusing unknown fields. An empty
// body leaves v as is when optional is true.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && optional:
		return nil
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, codeInvalid, "a JSON body is required")
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, codeInvalid,
			"body larger than %d bytes", maxBody)
	default:
		return errorf(http.StatusBadRequest, codeInvalid, "malformed JSON body: %s",
			strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, codeInvalid, "one JSON value expected")
	}
	return nil
}

// Paging bounds.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// limitParam reads ?limit=, defaulting and bounding it.
func limitParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, errorf(http.StatusBadRequest, codeInvalid,
			"limit must be a number from 1 to %d", maxLimit)
	}
	return n, nil
}
