// Package webhooktest is a webhook receiver that keeps accounts in
// memory: the far side of the webhook connector in tests, implementing the
// receiving end of the protocol package webhook documents.
//
// It verifies every signature, refuses stale timestamps and repeated
// delivery ids, keeps userName and email unique (userName compared without
// regard to case), and answers as the protocol says. A request whose URL
// path holds /users/<id> (from a {id} URL template) must name the same id
// in its body.
package webhooktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook"
)

// Tolerance is how far a request's timestamp may be from the receiver's
// clock.
const Tolerance = 5 * time.Minute

// Account is an account as the receiver holds it.
type Account struct {
	Fields map[string]any
	Active bool
}

// Receiver is an http.Handler for the webhook protocol. Safe for
// concurrent use.
type Receiver struct {
	secret []byte
	now    func() time.Time

	mu       sync.Mutex
	accounts map[string]*Account
	seq      int
	seen     map[string]time.Time // delivery id → when it was received
}

// New returns an empty receiver checking signatures with secret.
func New(secret []byte) *Receiver {
	return &Receiver{secret: secret, now: time.Now,
		accounts: map[string]*Account{}, seen: map[string]time.Time{}}
}

// Account returns a copy of account id, and whether it exists.
func (r *Receiver) Account(id string) (Account, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.accounts[id]
	if !ok {
		return Account{}, false
	}
	return Account{Fields: maps.Clone(a.Fields), Active: a.Active}, true
}

// failure is an answer other than success.
type failure struct {
	status int
	detail string
}

func (f *failure) Error() string { return f.detail }

func fail(status int, format string, args ...any) *failure {
	return &failure{status: status, detail: fmt.Sprintf(format, args...)}
}

type request struct {
	Operation string         `json:"operation"`
	ID        string         `json:"id"`
	Fields    map[string]any `json:"fields"`
	Key       *struct {
		Field string `json:"field"`
		Value string `json:"value"`
	} `json:"key"`
}

// ServeHTTP checks and applies one operation.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	status, out, err := r.serve(req)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var f *failure
		if !errors.As(err, &f) {
			f = fail(http.StatusInternalServerError, "%v", err)
		}
		w.WriteHeader(f.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"detail": f.detail})
		return
	}
	w.WriteHeader(status)
	if out != nil {
		_ = json.NewEncoder(w).Encode(out)
	}
}

func (r *Receiver) serve(req *http.Request) (int, any, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		return 0, nil, fail(http.StatusBadRequest, "read body: %v", err)
	}
	now := r.now()
	if err := webhook.Verify(r.secret, req.Header, body, now, Tolerance); err != nil {
		return 0, nil, fail(http.StatusUnauthorized, "%v", err)
	}
	var m request
	if err := json.Unmarshal(body, &m); err != nil {
		return 0, nil, fail(http.StatusBadRequest, "body: %v", err)
	}
	if _, rest, ok := strings.Cut(req.URL.Path, "/users/"); ok {
		if id, _, _ := strings.Cut(rest, "/"); id != m.ID {
			return 0, nil, fail(http.StatusBadRequest, "url names account %q, body %q", id, m.ID)
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fresh(req.Header.Get(webhook.DeliveryHeader), now); err != nil {
		return 0, nil, err
	}
	switch m.Operation {
	case "create":
		return r.create(m.Fields)
	case "update":
		return r.update(m.ID, m.Fields)
	case "deactivate":
		a, ok := r.accounts[m.ID]
		if !ok {
			return 0, nil, fail(http.StatusNotFound, "no account %s", m.ID)
		}
		a.Active = false
		return http.StatusOK, nil, nil
	case "delete":
		if _, ok := r.accounts[m.ID]; !ok {
			return 0, nil, fail(http.StatusNotFound, "no account %s", m.ID)
		}
		delete(r.accounts, m.ID)
		return http.StatusNoContent, nil, nil
	case "lookup":
		if m.Key == nil {
			return 0, nil, fail(http.StatusBadRequest, "lookup without a key")
		}
		if id := r.find(m.Key.Field, m.Key.Value, ""); id != "" {
			return http.StatusOK, map[string]string{"id": id}, nil
		}
		return 0, nil, fail(http.StatusNotFound, "no account with that %s", m.Key.Field)
	}
	return 0, nil, fail(http.StatusBadRequest, "unknown operation %q", m.Operation)
}

// fresh records a delivery id and refuses one seen before. Ids older than
// the tolerance are forgotten: Verify refuses their timestamps anyway.
func (r *Receiver) fresh(delivery string, now time.Time) error {
	if delivery == "" {
		return fail(http.StatusBadRequest, "missing %s", webhook.DeliveryHeader)
	}
	if _, dup := r.seen[delivery]; dup {
		return fail(http.StatusUnauthorized, "delivery %s was already received", delivery)
	}
	for id, at := range r.seen {
		if now.Sub(at) > Tolerance {
			delete(r.seen, id)
		}
	}
	r.seen[delivery] = now
	return nil
}

func (r *Receiver) create(fields map[string]any) (int, any, error) {
	if err := r.unique(fields, ""); err != nil {
		return 0, nil, err
	}
	r.seq++
	id := "acct-" + strconv.Itoa(r.seq)
	r.accounts[id] = &Account{Fields: withoutNil(fields), Active: true}
	return http.StatusCreated, map[string]string{"id": id}, nil
}

func (r *Receiver) update(id string, fields map[string]any) (int, any, error) {
	a, ok := r.accounts[id]
	if !ok {
		return 0, nil, fail(http.StatusNotFound, "no account %s", id)
	}
	if err := r.unique(fields, id); err != nil {
		return 0, nil, err
	}
	for k, v := range fields {
		if v == nil {
			delete(a.Fields, k)
		} else {
			a.Fields[k] = v
		}
	}
	a.Active = true
	return http.StatusOK, nil, nil
}

// unique refuses fields whose userName or email another account than self
// holds.
func (r *Receiver) unique(fields map[string]any, self string) error {
	for _, k := range []string{"userName", "email"} {
		v, _ := fields[k].(string)
		if v == "" {
			continue
		}
		if other := r.find(k, v, self); other != "" {
			return fail(http.StatusConflict, "%s is taken", k)
		}
	}
	return nil
}

// find returns the id of the account other than self whose field equals
// value, or "".
func (r *Receiver) find(field, value, self string) string {
	if value == "" {
		return ""
	}
	for id, a := range r.accounts {
		got, _ := a.Fields[field].(string)
		match := got == value
		if field == "userName" {
			match = strings.EqualFold(got, value)
		}
		if match && id != self {
			return id
		}
	}
	return ""
}

func withoutNil(fields map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range fields {
		if v != nil {
			out[k] = v
		}
	}
	return out
}
