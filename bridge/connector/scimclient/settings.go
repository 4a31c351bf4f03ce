package scimclient

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// Kind is the connector kind this package implements, as an app's
// connector block names it.
const Kind = "scim"

// DefaultTimeout bounds one HTTP request when the settings give no timeout.
const DefaultTimeout = 30 * time.Second

// Settings configure a SCIM connector. In an app's YAML configuration:
//
//	connector:
//	  kind: scim
//	  base_url: https://app.example.com/scim/v2
//	  token: {env: APP_SCIM_TOKEN}      # bearer token, or:
//	  oauth:                            # OAuth 2.0 client credentials
//	    token_url: https://login.example.com/oauth2/token
//	    client_id: scim-bridge
//	    client_secret: {file: /run/secrets/app-client-secret}
//	    scopes: [scim]
//	    params: {audience: https://app.example.com}
//	  timeout: 30s
//	  max_bulk_operations: 100
//
// Exactly one of token and oauth is set.
type Settings struct {
	// BaseURL is the SCIM service root; /Users, /Bulk and
	// /ServiceProviderConfig are appended to it.
	BaseURL string `yaml:"base_url"`
	// Token is a static bearer token.
	Token connector.Secret `yaml:"token"`
	// OAuth obtains bearer tokens with the client credentials grant; they
	// are cached and refreshed before they expire.
	OAuth *OAuth `yaml:"oauth"`
	// Timeout bounds each HTTP request, token requests included.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBulkOperations caps the operations per /Bulk request below what
	// the application advertises; 0 keeps the advertised value and -1
	// never uses /Bulk.
	MaxBulkOperations int `yaml:"max_bulk_operations"`
}

// OAuth configures the OAuth 2.0 client credentials grant (RFC 6749
// section 4.4).
type OAuth struct {
	TokenURL     string           `yaml:"token_url"`
	ClientID     string           `yaml:"client_id"`
	ClientSecret connector.Secret `yaml:"client_secret"`
	Scopes       []string         `yaml:"scopes"`
	// Params are extra token request parameters, such as audience.
	Params map[string]string `yaml:"params"`
}

// ParseSettings decodes an app's connector block (see
// connector.DecodeSettings), fills in defaults and checks it. Secrets are
// not read here but by New.
func ParseSettings(block map[string]any) (Settings, error) {
	var s Settings
	if err := connector.DecodeSettings(block, &s); err != nil {
		return Settings{}, fmt.Errorf("scim connector: %w", err)
	}
	if err := s.check(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// check validates s and fills in defaults.
func (s *Settings) check() error {
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	var errs []error
	u, err := url.Parse(s.BaseURL)
	switch {
	case s.BaseURL == "":
		errs = append(errs, errors.New("base_url is required"))
	case err != nil:
		errs = append(errs, fmt.Errorf("base_url: %w", err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		errs = append(errs, fmt.Errorf("base_url %q: want an absolute http or https URL", s.BaseURL))
	}
	switch {
	case s.Token.IsZero() && s.OAuth == nil:
		errs = append(errs, errors.New("set token or oauth"))
	case !s.Token.IsZero() && s.OAuth != nil:
		errs = append(errs, errors.New("set token or oauth, not both"))
	case s.OAuth != nil:
		if s.OAuth.TokenURL == "" || s.OAuth.ClientID == "" || s.OAuth.ClientSecret.IsZero() {
			errs = append(errs, errors.New("oauth needs token_url, client_id and client_secret"))
		}
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: want a positive duration", s.Timeout))
	}
	if s.MaxBulkOperations < -1 {
		errs = append(errs, fmt.Errorf("max_bulk_operations %d: want -1 or more",
			s.MaxBulkOperations))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scim connector: %w", err)
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
