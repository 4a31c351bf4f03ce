// Package connector is the seam between the sync engine and the
// applications it provisions into.
//
// A Connector speaks one application's user API. It is deliberately small:
// the engine decides what to do (create, update, deactivate, delete, adopt)
// and a connector only does it. Abilities that only some applications have
// are optional interfaces, found by type assertion. Each kind lives in its
// own sub-package and passes the suite in connector/connectortest.
package connector

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors a connector returns, wrapped with detail; callers use errors.Is.
var (
	// ErrNotFound: the application has no account with that id or key.
	ErrNotFound = errors.New("account not found")
	// ErrConflict: the application already has an account with the same
	// identifying key; the engine looks it up and adopts it.
	ErrConflict = errors.New("account already exists")
	// ErrUnauthorized: the application, or the token endpoint that issues
	// the connector's access tokens, refused the connector's credentials.
	// It concerns every account of the app, not the one of the call.
	ErrUnauthorized = errors.New("credentials refused")
)

// Fields is an application record: field name to value, as the mapping
// projected it. Values are JSON-like: string, bool, float64, nil,
// []any and map[string]any.
type Fields map[string]any

// Key identifies an account by one of its fields (userName, email). Field
// is either one of the connector's own field names or one of the portable
// names KeyUserName and KeyEmail, which every connector maps to the field
// of its application that holds the user name or the primary email.
type Key struct {
	Field string
	Value string
}

// Portable key field names every connector understands in Lookup.
const (
	KeyUserName = "userName"
	KeyEmail    = "email"
)

// Connector creates and maintains accounts in one application. It is safe
// for concurrent use; every call honours ctx. A connector never retries:
// it returns each failure classified (see Error and Retryable), and the
// caller decides when to try again.
type Connector interface {
	// Create makes an account from fields and returns the application's id
	// for it. It returns ErrConflict when an account with the same
	// identifying key exists.
	Create(ctx context.Context, fields Fields) (id string, err error)

	// Update makes account id hold fields, and active if it was
	// deactivated. ErrNotFound when the account is gone.
	Update(ctx context.Context, id string, fields Fields) error

	// Deactivate disables the account without deleting it; deactivating a
	// deactivated account succeeds. ErrNotFound when the account is gone.
	Deactivate(ctx context.Context, id string) error

	// Delete removes the account. ErrNotFound when it is already gone.
	Delete(ctx context.Context, id string) error

	// Lookup finds an account by key and returns its id, or ErrNotFound.
	Lookup(ctx context.Context, key Key) (id string, err error)
}

// OpKind is what one bulk operation does.
type OpKind string

// Operations of a bulk request.
const (
	OpCreate     OpKind = "create"
	OpUpdate     OpKind = "update"
	OpDeactivate OpKind = "deactivate"
	OpDelete     OpKind = "delete"
)

// Operation is one entry of a bulk request.
type Operation struct {
	Kind   OpKind
	ID     string // the application's id; empty for OpCreate
	Fields Fields // for OpCreate and OpUpdate
}

// Result is the outcome of one bulk operation.
type Result struct {
	ID  string // the new id, for a successful OpCreate
	Err error
}

// Bulker is a connector that can send many operations in one request.
type Bulker interface {
	// Bulk applies ops and returns one Result per op, in order. An error
	// that is not per-operation (the request failed as a whole, or ops is
	// longer than MaxBulk) is returned as err, and then results is nil.
	// A Result.Err is classified like the error of the single call.
	Bulk(ctx context.Context, ops []Operation) (results []Result, err error)
	// MaxBulk is the largest number of operations one Bulk call takes. It
	// may ask the application what it supports (once; the answer is
	// cached), hence ctx and err. Zero means the application takes no bulk
	// requests, and the caller uses the single-operation methods.
	MaxBulk(ctx context.Context) (int, error)
}

// Error describes a failed call to an application: whether trying again can
// help, and how long the application asked the caller to wait.
type Error struct {
	Op         string // the connector operation, e.g. "create"
	Status     int    // the HTTP status, when there was a response
	Retryable  bool
	RetryAfter time.Duration // zero when the application did not say
	Err        error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: status %d: %v", e.Op, e.Status, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err is worth trying again, and the wait the
// application asked for (zero when it did not say). Errors that are not an
// *Error, ErrNotFound and ErrConflict are permanent, except context
// deadline errors, which are retryable.
func Retryable(err error) (bool, time.Duration) {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Retryable, ce.RetryAfter
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true, 0
	}
	return false, 0
}
