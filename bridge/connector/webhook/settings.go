package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// Kind is the connector kind this package implements, as an app's
// connector block names it.
const Kind = "webhook"

// DefaultTimeout bounds one request when the settings give no timeout.
const DefaultTimeout = 30 * time.Second

// Operation names, as they appear in the body and in the settings.
const (
	opCreate     = "create"
	opUpdate     = "update"
	opDeactivate = "deactivate"
	opDelete     = "delete"
	opLookup     = "lookup"
)

var operations = []string{opCreate, opUpdate, opDeactivate, opDelete, opLookup}

// Settings configure a webhook connector. In an app's YAML configuration:
//
//	connector:
//	  kind: webhook
//	  url: https://hooks.example.com/scim-bridge     # every operation...
//	  operations:                                     # ...unless named here
//	    update:     {url: "https://hooks.example.com/users/{id}", method: PUT}
//	    delete:     {url: "https://hooks.example.com/users/{id}", method: DELETE}
//	  secret: {env: HOOK_SIGNING_SECRET}
//	  timeout: 10s
//
// Every operation needs a URL, from url or from operations. {id} in a URL
// is replaced by the path-escaped account id; create and lookup have none.
type Settings struct {
	// URL receives the operations that Operations does not name.
	URL string `yaml:"url"`
	// Operations sets the URL and method of single operations: create,
	// update, deactivate, delete, lookup. The method defaults to POST.
	Operations map[string]Endpoint `yaml:"operations"`
	// Secret is the HMAC-SHA256 key requests are signed with.
	Secret connector.Secret `yaml:"secret"`
	// Timeout bounds each request.
	Timeout time.Duration `yaml:"timeout"`
}

// Endpoint is where one operation is sent.
type Endpoint struct {
	URL    string `yaml:"url"`
	Method string `yaml:"method"`
}

// ParseSettings decodes an app's connector block (see
// connector.DecodeSettings), fills in defaults and checks it. The secret
// is not read here but by New.
func ParseSettings(block map[string]any) (Settings, error) {
	var s Settings
	if err := connector.DecodeSettings(block, &s); err != nil {
		return Settings{}, fmt.Errorf("webhook connector: %w", err)
	}
	if err := s.check(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// endpoint returns where op goes, with defaults applied.
func (s Settings) endpoint(op string) Endpoint {
	e, ok := s.Operations[op]
	if !ok || e.URL == "" {
		e.URL = s.URL
	}
	e.Method = strings.ToUpper(e.Method)
	if e.Method == "" {
		e.Method = http.MethodPost
	}
	return e
}

// check validates s and fills in defaults.
func (s *Settings) check() error {
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	var errs []error
	if s.Secret.IsZero() {
		errs = append(errs, errors.New("secret is required"))
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: want a positive duration", s.Timeout))
	}
	for op := range s.Operations {
		if !slices.Contains(operations, op) {
			errs = append(errs, fmt.Errorf("operations: unknown operation %q (want one of %s)",
				op, strings.Join(operations, ", ")))
		}
	}
	for _, op := range operations {
		if err := s.endpoint(op).check(op); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("webhook connector: %w", err)
	}
	return nil
}

func (e Endpoint) check(op string) error {
	if e.URL == "" {
		return fmt.Errorf("%s: no url (set url or operations.%s.url)", op, op)
	}
	u, err := url.Parse(strings.ReplaceAll(e.URL, "{id}", "x"))
	if err != nil {
		return fmt.Errorf("%s: url: %w", op, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%s: url %q: want an absolute http or https URL", op, e.URL)
	}
	if (op == opCreate || op == opLookup) && strings.Contains(e.URL, "{id}") {
		return fmt.Errorf("%s: url %q: %s has no account id for {id}", op, e.URL, op)
	}
	switch e.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return fmt.Errorf("%s: method %q: want POST, PUT, PATCH or DELETE", op, e.Method)
	}
	return nil
}

// Factory returns a function that builds a client from an app's connector
// block (ParseSettings, then New with opts): the shape the sync engine's
// registry of connector kinds takes. On error the connector is a nil
// interface, never a nil *Client.
func Factory(opts ...Option) func(block map[string]any) (connector.Connector, error) {
	return func(block map[string]any) (connector.Connector, error) {
		s, err := ParseSettings(block)
		if err != nil {
			return nil, err
		}
		c, err := New(s, opts...)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
