// Package webhook is the connector kind "webhook": it provisions users
// into any HTTP service that accepts signed JSON requests, one per
// operation.
//
// # Requests
//
// Each operation is one request to the URL and method the settings give
// it (POST by default), with a JSON body:
//
//	{"operation": "create",     "fields": {"userName": "ada", ...}}
//	{"operation": "update",     "id": "42", "fields": {...}}
//	{"operation": "deactivate", "id": "42"}
//	{"operation": "delete",     "id": "42"}
//	{"operation": "lookup",     "key": {"field": "email", "value": "ada@example.com"}}
//
// fields are the app's fields as the mapping projected them; a null value
// asks the receiver to clear that field. What each operation means:
//
//   - create: make an account; answer 2xx with {"id": "<the account's id>"}.
//   - update: make the account hold fields and be active again if it was
//     deactivated.
//   - deactivate: disable the account, keeping it; repeating it succeeds.
//   - delete: remove the account.
//   - lookup: find the one account whose field equals value; answer 200
//     with {"id": "..."}. key.field is an app field name, or "userName" or
//     "email" for the account's user name or primary email.
//
// # Answers
//
// Any 2xx is success. 404 means there is no such account (for lookup: no
// match), 409 that the account already exists (create) or a unique value
// is taken. 408, 429 and 5xx are retried later, after the Retry-After
// header (seconds or an HTTP-date) when present. Any other status fails
// for good. Error answers may carry {"detail": "..."} to explain.
//
// # Signatures
//
// Every request carries TimestampHeader (Unix seconds), DeliveryHeader (a
// unique id) and SignatureHeader ("sha256=" and the hex HMAC-SHA256 of the
// timestamp, ".", and the body, keyed with the shared secret). Receivers
// check them with Verify, or as its documentation describes, and refuse
// old timestamps and repeated delivery ids to stop replays.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// maxResponse bounds how much of an answer the client reads.
const maxResponse = 1 << 20

// Client is a webhook connector. It is safe for concurrent use.
type Client struct {
	s      Settings
	secret []byte
	hc     *http.Client
	log    *slog.Logger
	now    func() time.Time
}

var _ connector.Connector = (*Client)(nil)

// Option changes how New builds a Client.
type Option func(*Client)

// WithLogger sets the logger; by default nothing is logged. Requests are
// logged at debug level without the secret, signatures or field values.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithTransport sets the HTTP transport; the default is
// connector.NewTransport().
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) { c.hc.Transport = rt }
}

// WithClock sets the clock used for timestamps and Retry-After dates.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New returns a client for the receiver s describes. It reads the secret
// and fails if it cannot; it does not contact the receiver.
func New(s Settings, opts ...Option) (*Client, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	secret, err := s.Secret.Value()
	if err != nil {
		return nil, fmt.Errorf("webhook connector: secret: %w", err)
	}
	c := &Client{
		s:      s,
		secret: []byte(secret),
		hc: &http.Client{
			Transport: connector.NewTransport(),
			Timeout:   s.Timeout,
		},
		log: slog.New(slog.DiscardHandler),
		now: time.Now,
	}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// envelope is the body of every request.
type envelope struct {
	Operation string           `json:"operation"`
	ID        string           `json:"id,omitempty"`
	Fields    connector.Fields `json:"fields,omitzero"`
	Key       *key             `json:"key,omitempty"`
}

type key struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// answer is what create and lookup answers carry.
type answer struct {
	ID string `json:"id"`
}

// Create sends a create and returns the id the receiver answered with.
// connector.ErrConflict when the receiver answers 409.
func (c *Client) Create(ctx context.Context, fields connector.Fields) (string, error) {
	if fields == nil {
		fields = connector.Fields{}
	}
	var a answer
	if err := c.send(ctx, envelope{Operation: opCreate, Fields: fields}, &a); err != nil {
		return "", err
	}
	if a.ID == "" {
		return "", &connector.Error{Op: opCreate,
			Err: errors.New(`the receiver answered without {"id": ...}`)}
	}
	return a.ID, nil
}

// Update sends an update: the receiver makes account id hold fields and
// be active. connector.ErrNotFound when the receiver answers 404.
func (c *Client) Update(ctx context.Context, id string, fields connector.Fields) error {
	if fields == nil {
		fields = connector.Fields{}
	}
	return c.send(ctx, envelope{Operation: opUpdate, ID: id, Fields: fields}, nil)
}

// Deactivate sends a deactivate. connector.ErrNotFound on 404.
func (c *Client) Deactivate(ctx context.Context, id string) error {
	return c.send(ctx, envelope{Operation: opDeactivate, ID: id}, nil)
}

// Delete sends a delete. connector.ErrNotFound on 404.
func (c *Client) Delete(ctx context.Context, id string) error {
	return c.send(ctx, envelope{Operation: opDelete, ID: id}, nil)
}

// Lookup sends a lookup with key as it is and returns the id answered.
// connector.ErrNotFound on 404.
func (c *Client) Lookup(ctx context.Context, k connector.Key) (string, error) {
	var a answer
	err := c.send(ctx, envelope{Operation: opLookup, Key: &key{Field: k.Field, Value: k.Value}}, &a)
	if err != nil {
		return "", err
	}
	if a.ID == "" {
		return "", &connector.Error{Op: opLookup,
			Err: errors.New(`the receiver answered without {"id": ...}`)}
	}
	return a.ID, nil
}

// send signs and posts env to its operation's endpoint, and decodes a
// successful answer into out when out is not nil.
func (c *Client) send(ctx context.Context, env envelope, out any) error {
	op := env.Operation
	if op != opCreate && op != opLookup && env.ID == "" {
		return &connector.Error{Op: op, Err: errors.New("empty account id")}
	}
	body, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", op, err)
	}
	ep := c.s.endpoint(op)
	target := strings.ReplaceAll(ep.URL, "{id}", url.PathEscape(env.ID))
	req, err := http.NewRequestWithContext(ctx, ep.Method, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	now := c.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(SignatureHeader, Sign(c.secret, now, body))
	req.Header.Set(DeliveryHeader, uuid.NewString())

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "webhook request failed", "op", op, "err", err)
		return connector.TransportError(ctx, op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	c.log.DebugContext(ctx, "webhook request", "op", op, "method", ep.Method,
		"status", resp.StatusCode, "elapsed", time.Since(start))
	if err != nil {
		return connector.TransportError(ctx, op, fmt.Errorf("read answer: %w", err))
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := connector.StatusError(op, resp.StatusCode, resp.Header, detail(raw), c.now())
		if op == opCreate && resp.StatusCode == http.StatusNotFound {
			// A create has no account to be missing: the URL is wrong.
			e.Err = fmt.Errorf("endpoint not found: %s", detail(raw))
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return &connector.Error{Op: op, Status: resp.StatusCode,
				Err: fmt.Errorf("decode answer: %w", err)}
		}
	}
	return nil
}

// detail extracts a readable reason from an error answer: its "detail"
// or "error" string, or else the start of the body.
func detail(raw []byte) string {
	var e struct {
		Detail string `json:"detail"`
		Error  string `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil {
		if e.Detail != "" {
			return e.Detail
		}
		if e.Error != "" {
			return e.Error
		}
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
