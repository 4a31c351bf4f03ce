// Package scimclient is the connector kind "scim": it provisions users into
// any application that offers a SCIM 2.0 service provider (RFC 7643, RFC
// 7644).
//
// Fields are keyed by SCIM attribute paths, as the scim catalog app of the
// mapping names them:
//
//	userName, displayName, active, title         simple attributes
//	name.givenName, name.familyName               sub-attributes
//	emails[type eq "work"].value                  a typed multi-valued entry
//	phoneNumbers[type eq "mobile"]                the same, .value implied
//	emails.value                                  an entry without a type
//	urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department
//	urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value
//
// From them the client builds a User resource: the schemas list names
// every extension used, complex attributes nest, and multi-valued entries
// carry their type, the first one (work first) marked primary. A nil value
// clears the attribute. A multi-valued attribute the fields name is
// written whole: the application keeps exactly the entries the fields
// give. Filters other than on type, and deeper paths, are refused before
// anything is sent.
//
// On first use the client reads the application's /ServiceProviderConfig
// and keeps the answer for its lifetime: it updates with PATCH when the
// application supports it and with GET-then-PUT otherwise, and offers
// /Bulk (connector.Bulker) when the application supports both Bulk and
// PATCH. An application without that endpoint is treated as supporting
// neither.
//
// The client never retries: every failure is returned classified (see
// connector.StatusError), and the sync engine decides when to try again.
package scimclient

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
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// maxResponse bounds how much of an answer the client reads.
const maxResponse = 16 << 20

// Client is a SCIM connector. It is safe for concurrent use.
type Client struct {
	base       string // service root, no trailing slash
	hc         *http.Client
	log        *slog.Logger
	now        func() time.Time
	maxBulkCap int

	discovery singleflight.Group
	mu        sync.Mutex
	known     *capabilities // nil until discovered
}

var (
	_ connector.Connector = (*Client)(nil)
	_ connector.Bulker    = (*Client)(nil)
)

// Option changes how New builds a Client.
type Option func(*options)

type options struct {
	log  *slog.Logger
	now  func() time.Time
	base http.RoundTripper
}

// WithLogger sets the logger; by default nothing is logged. Requests are
// logged at debug level without credentials or field values.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithTransport sets the HTTP transport requests (token requests included)
// go through; the default is connector.NewTransport().
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.base = rt } }

// WithClock sets the clock Retry-After dates are measured against.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a client for the application s describes. It reads the
// credentials s names and fails if they cannot be read; it does not
// contact the application.
func New(s Settings, opts ...Option) (*Client, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	o := options{log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.base == nil {
		o.base = connector.NewTransport()
	}

	rt, err := authTransport(s, o.base)
	if err != nil {
		return nil, err
	}
	return &Client{
		base:       strings.TrimRight(s.BaseURL, "/"),
		hc:         &http.Client{Transport: rt, Timeout: s.Timeout},
		log:        o.log,
		now:        o.now,
		maxBulkCap: s.MaxBulkOperations,
	}, nil
}

// authTransport adds the configured credentials to every request.
func authTransport(s Settings, base http.RoundTripper) (http.RoundTripper, error) {
	if s.OAuth == nil {
		token, err := s.Token.Value()
		if err != nil {
			return nil, fmt.Errorf("scim connector: token: %w", err)
		}
		return &bearer{token: token, base: base}, nil
	}

	secret, err := s.OAuth.ClientSecret.Value()
	if err != nil {
		return nil, fmt.Errorf("scim connector: oauth client secret: %w", err)
	}
	params := url.Values{}
	for k, v := range s.OAuth.Params {
		params.Set(k, v)
	}
	cc := &clientcredentials.Config{
		ClientID:       s.OAuth.ClientID,
		ClientSecret:   secret,
		TokenURL:       s.OAuth.TokenURL,
		Scopes:         s.OAuth.Scopes,
		EndpointParams: params,
	}
	// The token source keeps this context for every token request it makes;
	// it only carries the HTTP client to use for them.
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient,
		&http.Client{Transport: base, Timeout: s.Timeout})
	return &oauth2.Transport{Source: cc.TokenSource(tokenCtx), Base: base}, nil
}

// bearer sets a static bearer token on each request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// call is one HTTP exchange with the application.
type call struct {
	op     string // connector operation, for errors and logs
	method string
	path   string // below the service root
	query  url.Values
	body   any
	out    any // decoded from a successful answer, when not nil
}

// do performs c and returns nil for a 2xx answer, or the classified error.
func (cl *Client) do(ctx context.Context, c call) error {
	_, err := cl.exchange(ctx, c)
	return err
}

// exchange performs c and returns the answer's status.
func (cl *Client) exchange(ctx context.Context, c call) (int, error) {
	var body io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return 0, fmt.Errorf("%s: encode: %w", c.op, err)
		}
		body = bytes.NewReader(b)
	}
	u := cl.base + c.path
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u, body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.op, err)
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}

	start := time.Now()
	resp, err := cl.hc.Do(req)
	if err != nil {
		cl.log.DebugContext(ctx, "scim request failed", "op", c.op, "method", c.method,
			"path", c.path, "err", err)
		return 0, cl.sendError(ctx, c.op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	cl.log.DebugContext(ctx, "scim request", "op", c.op, "method", c.method, "path", c.path,
		"status", resp.StatusCode, "elapsed", time.Since(start))
	if err != nil {
		return resp.StatusCode, connector.TransportError(ctx, c.op, fmt.Errorf("read answer: %w", err))
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, connector.StatusError(c.op, resp.StatusCode, resp.Header,
			detail(raw), cl.now())
	}
	if c.out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, c.out); err != nil {
			return resp.StatusCode, &connector.Error{Op: c.op, Status: resp.StatusCode,
				Err: fmt.Errorf("decode answer: %w", err)}
		}
	}
	return resp.StatusCode, nil
}

// sendError classifies a failure to get an answer. A token endpoint that
// refused is classified by its status, but never as not-found or conflict,
// which would speak of the account: a refusal that will not pass by itself
// (any 4xx but 408 and 429; RFC 6749 section 5.2 answers 400 or 401, some
// servers 403) is ErrUnauthorized.
func (cl *Client) sendError(ctx context.Context, op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && ctx.Err() == nil {
		e := connector.StatusError(op, re.Response.StatusCode, re.Response.Header, "", cl.now())
		e.Err = fmt.Errorf("token request: %w", re)
		if s := e.Status; s >= 400 && s < 500 && !e.Retryable {
			e.Err = fmt.Errorf("%w: token request: %w", connector.ErrUnauthorized, re)
		}
		return e
	}
	return connector.TransportError(ctx, op, err)
}

// detail extracts a readable reason from an error answer: the SCIM error's
// detail (RFC 7644 section 3.12) or else the start of the body.
func detail(raw []byte) string {
	var e struct {
		Detail   string `json:"detail"`
		SCIMType string `json:"scimType"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Detail != "" {
		if e.SCIMType != "" {
			return e.Detail + " (" + e.SCIMType + ")"
		}
		return e.Detail
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
