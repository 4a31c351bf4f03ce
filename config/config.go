// Package config loads the scim-bridge configuration: one YAML file, then
// BRIDGE_* environment variables that override it. Command-line flags are
// applied by the caller on top of the result.
//
// The package only parses and checks shapes; each part of the product turns
// its section into its own typed options.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults of the settings that have one.
const (
	DefaultAddr              = "127.0.0.1:8080"
	DefaultStore             = "bolt:./data/bridge.db"
	DefaultOrganization      = "default"
	DefaultMaxBulkOperations = 1000
	DefaultMaxPayloadBytes   = 1 << 20
	DefaultMaxFilterResults  = 200
	DefaultShutdownTimeout   = 20 * time.Second
)

// Config is the whole configuration.
type Config struct {
	// Addr is the listen address of the HTTP server.
	Addr string `yaml:"addr"`
	// BaseURL is the externally visible URL of the server, used in SCIM
	// Location headers; empty means derived from Addr.
	BaseURL string `yaml:"base_url"`
	// Store is "bolt:PATH" for the embedded store or a Redis URL.
	Store string `yaml:"store"`
	// Organization scopes the stored keys (Redis) of one organization.
	Organization string `yaml:"organization"`
	// ShutdownTimeout bounds how long in-flight requests may take to
	// finish after SIGINT or SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	Log     Log     `yaml:"log"`
	SCIM    SCIM    `yaml:"scim"`
	Admin   Admin   `yaml:"admin"`
	Metrics Metrics `yaml:"metrics"`
	Sync    Sync    `yaml:"sync"`

	// Catalog lists files of custom application definitions loaded at
	// start beside the built-in catalog.
	Catalog []string `yaml:"catalog"`
	// Apps are the application instances users are provisioned into.
	Apps []App `yaml:"apps"`
}

// Log configures the process log.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// SCIM configures the SCIM endpoint that identity providers call.
type SCIM struct {
	// Tokens are bearer secrets accepted from identity providers. They are
	// hashed as soon as they are loaded and never kept in clear.
	Tokens []string `yaml:"tokens"`
	// TokenHashes are bearer secrets given already hashed
	// ("sha256:<hex>"), for configuration files that must not hold them.
	TokenHashes []string `yaml:"token_hashes"`
	// JWT lists the keys that signed JWTs from identity providers may use.
	JWT []JWTKey `yaml:"jwt"`
	// Extensions lists files holding extra SCIM schema definitions (JSON,
	// RFC 7643 section 7 form) for custom User extension attributes.
	Extensions        []string `yaml:"extensions"`
	MaxBulkOperations int      `yaml:"max_bulk_operations"`
	MaxPayloadBytes   int      `yaml:"max_payload_bytes"`
	MaxFilterResults  int      `yaml:"max_filter_results"`
}

// Admin configures the admin API and the web console.
type Admin struct {
	// JWT lists the keys admin tokens may be signed with; the token's
	// "role" claim decides what its bearer may do.
	JWT []JWTKey `yaml:"jwt"`
}

// Metrics configures who may read /metrics. Any valid admin JWT may; a
// Prometheus scraper, which cannot mint JWTs, uses one of these bearer
// secrets instead.
type Metrics struct {
	// Tokens are bearer secrets accepted on /metrics, hashed at load.
	Tokens []string `yaml:"tokens"`
	// TokenHashes are such secrets given already hashed ("sha256:<hex>").
	TokenHashes []string `yaml:"token_hashes"`
}

// Sync tunes the sync engine. Every zero value takes the engine's default
// (see bridge.Tuning, which documents each one); most installations set
// none of them.
type Sync struct {
	// LeaseTTL is how long a replica holds a user's work before another
	// replica may take it over (default 30s); it must exceed twice
	// CallTimeout.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// CallTimeout bounds one call to an application (default 10s).
	CallTimeout time.Duration `yaml:"call_timeout"`
	// PollInterval is how often idle workers look for work that other
	// replicas queued (default 1s).
	PollInterval time.Duration `yaml:"poll_interval"`
	// ClaimIdle is how long a directory change may stay unhandled by the
	// replica that took it before another one claims it (default 1m).
	ClaimIdle time.Duration `yaml:"claim_idle"`
	// MaxAttempts is how many tries a failing user gets before it becomes
	// a dead letter (default 10).
	MaxAttempts int `yaml:"max_attempts"`
	// BackoffBase and BackoffMax bound the wait before a retry (defaults
	// 2s and 10m).
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
}

// JWTKey is one key that verifies JSON Web Tokens. The algorithm is pinned:
// a token signed with any other algorithm is rejected.
type JWTKey struct {
	ID        string `yaml:"id"`         // matched against the token's kid, when set
	Algorithm string `yaml:"algorithm"`  // HS256, RS256, ES256 or EdDSA
	Secret    string `yaml:"secret"`     // HMAC secret, for HS256; prefer SecretEnv
	SecretEnv string `yaml:"secret_env"` // environment variable holding the secret
	KeyFile   string `yaml:"key_file"`   // PEM public key, for RS256, ES256, EdDSA
	Issuer    string `yaml:"issuer"`     // required "iss", when set
	// Audience is the required "aud", when set. It is mandatory for the
	// public-key algorithms: an identity provider's key signs tokens for
	// every service it serves, and only the audience pins a token to
	// this bridge.
	Audience string `yaml:"audience"`
}

// App is one application instance users are provisioned into.
type App struct {
	// Name identifies the instance in the admin API and in logs.
	Name string `yaml:"name"`
	// Catalog names the catalog application it is (zoho-crm, scim,
	// webhook, or a custom one).
	Catalog string `yaml:"catalog"`
	// Provisioning switches directory changes flowing to the app.
	Provisioning bool `yaml:"provisioning"`
	// Connector holds the connector kind and its settings, as the kind
	// documents them; secrets are named by environment variable or file.
	Connector map[string]any `yaml:"connector"`
	// Mapping is a mapping file; empty means the app's default mapping.
	Mapping string `yaml:"mapping"`
	// Scope says which directory users the app receives.
	Scope Scope `yaml:"scope"`
	// Deprovision is what happens to a user who leaves scope or is
	// deleted: deactivate (the default), delete or leave.
	Deprovision string `yaml:"deprovision"`
	// Concurrency caps the calls in flight to the app.
	Concurrency int `yaml:"concurrency"`
	// RateLimit caps calls per second to the app (0: no limit); Burst is
	// the token bucket's size.
	RateLimit float64 `yaml:"rate_limit"`
	Burst     int     `yaml:"burst"`
}

// Scope selects the directory users of an app: every user, the direct
// members of listed groups, or explicit assignments.
//
// Each entry of Groups names a directory group by its displayName, its id
// or its externalId, all compared without regard to case. The externalId
// (the identity provider's object id) is the one to prefer: it never
// changes, whereas a renamed group named by displayName takes its members
// out of scope, and under the delete policy deletes their accounts. An
// entry matching several groups (display names need not be unique) puts
// the members of each in scope.
type Scope struct {
	All         bool         `yaml:"all"`
	Groups      []string     `yaml:"groups"`
	Assignments []Assignment `yaml:"assignments"`
}

// Assignment puts one directory user in scope, with values for mandatory
// fields the mapping leaves unmapped. User names the directory user by its
// id, its externalId or its userName, compared without regard to case and
// tried in that order, so an entry by id or externalId survives a change
// of userName.
type Assignment struct {
	User   string         `yaml:"user"`
	Fields map[string]any `yaml:"fields"`
}

// Load reads the file at path (none when empty), then applies the
// environment from getenv, then defaults, and checks the result.
func Load(path string, getenv func(string) string) (Config, error) {
	var c Config
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		// An empty file decodes to io.EOF and means an empty configuration.
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("parse config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return Config{}, err
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Env lists the environment variables Load reads, with what each sets.
var Env = []struct{ Name, Sets string }{
	{"BRIDGE_ADDR", "addr"},
	{"BRIDGE_BASE_URL", "base_url"},
	{"BRIDGE_STORE", "store"},
	{"BRIDGE_ORGANIZATION", "organization"},
	{"BRIDGE_LOG_LEVEL", "log.level"},
	{"BRIDGE_LOG_FORMAT", "log.format"},
	{"BRIDGE_SCIM_TOKENS", "scim.tokens (comma-separated; added to the file's)"},
	{"BRIDGE_SCIM_JWT_SECRET", "an HS256 key for SCIM JWTs (added to scim.jwt)"},
	{"BRIDGE_SCIM_JWT_ISSUER", "the iss that BRIDGE_SCIM_JWT_SECRET tokens must carry"},
	{"BRIDGE_SCIM_JWT_AUDIENCE", "the aud that BRIDGE_SCIM_JWT_SECRET tokens must carry"},
	{"BRIDGE_ADMIN_JWT_SECRET", "an HS256 key for admin JWTs (added to admin.jwt)"},
	{"BRIDGE_ADMIN_JWT_ISSUER", "the iss that BRIDGE_ADMIN_JWT_SECRET tokens must carry"},
	{"BRIDGE_ADMIN_JWT_AUDIENCE", "the aud that BRIDGE_ADMIN_JWT_SECRET tokens must carry"},
	{"BRIDGE_METRICS_TOKENS", "metrics.tokens (comma-separated; added to the file's)"},
	{"BRIDGE_SHUTDOWN_TIMEOUT", "shutdown_timeout (a Go duration)"},
}

func (c *Config) applyEnv(getenv func(string) string) error {
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("BRIDGE_ADDR", &c.Addr)
	set("BRIDGE_BASE_URL", &c.BaseURL)
	set("BRIDGE_STORE", &c.Store)
	set("BRIDGE_ORGANIZATION", &c.Organization)
	set("BRIDGE_LOG_LEVEL", &c.Log.Level)
	set("BRIDGE_LOG_FORMAT", &c.Log.Format)
	c.SCIM.Tokens = append(c.SCIM.Tokens, splitList(getenv("BRIDGE_SCIM_TOKENS"))...)
	c.Metrics.Tokens = append(c.Metrics.Tokens, splitList(getenv("BRIDGE_METRICS_TOKENS"))...)
	envKey := func(prefix string, keys *[]JWTKey) {
		if s := getenv(prefix + "_SECRET"); s != "" {
			*keys = append(*keys, JWTKey{ID: "env", Algorithm: "HS256", Secret: s,
				Issuer: getenv(prefix + "_ISSUER"), Audience: getenv(prefix + "_AUDIENCE")})
		}
	}
	envKey("BRIDGE_SCIM_JWT", &c.SCIM.JWT)
	envKey("BRIDGE_ADMIN_JWT", &c.Admin.JWT)
	if v := getenv("BRIDGE_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("BRIDGE_SHUTDOWN_TIMEOUT: %w", err)
		}
		c.ShutdownTimeout = d
	}
	return nil
}

// splitList returns the non-empty, trimmed items of a comma-separated list.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (c *Config) applyDefaults() {
	def := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	def(&c.Addr, DefaultAddr)
	def(&c.Store, DefaultStore)
	def(&c.Organization, DefaultOrganization)
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "text")
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.SCIM.MaxBulkOperations == 0 {
		c.SCIM.MaxBulkOperations = DefaultMaxBulkOperations
	}
	if c.SCIM.MaxPayloadBytes == 0 {
		c.SCIM.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if c.SCIM.MaxFilterResults == 0 {
		c.SCIM.MaxFilterResults = DefaultMaxFilterResults
	}
	for i := range c.Apps {
		a := &c.Apps[i]
		def(&a.Deprovision, "deactivate")
		if a.Concurrency == 0 {
			a.Concurrency = 4
		}
	}
}

// Validate checks what can be checked without opening anything.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, _, err := ParseStore(c.Store); err != nil {
		bad("store: %w", err)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level: %q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format: %q is not text or json", c.Log.Format)
	}
	if c.SCIM.MaxBulkOperations < 0 || c.SCIM.MaxPayloadBytes < 0 || c.SCIM.MaxFilterResults < 0 {
		bad("scim: limits must not be negative")
	}
	if err := c.Sync.check(); err != nil {
		bad("sync: %w", err)
	}
	for i, k := range append(append([]JWTKey{}, c.SCIM.JWT...), c.Admin.JWT...) {
		if err := k.check(); err != nil {
			bad("jwt key %d (%s): %w", i, k.ID, err)
		}
	}
	seen := map[string]bool{}
	for i, a := range c.Apps {
		where := "apps[" + strconv.Itoa(i) + "]"
		if a.Name == "" {
			bad("%s: name is required", where)
		} else if seen[a.Name] {
			bad("%s: duplicate app name %q", where, a.Name)
		}
		seen[a.Name] = true
		if a.Catalog == "" {
			bad("%s (%s): catalog is required", where, a.Name)
		}
		switch a.Deprovision {
		case "deactivate", "delete", "leave":
		default:
			bad("%s (%s): deprovision %q is not deactivate, delete or leave", where, a.Name, a.Deprovision)
		}
		if a.Concurrency < 0 || a.RateLimit < 0 || a.Burst < 0 {
			bad("%s (%s): concurrency, rate_limit and burst must not be negative", where, a.Name)
		}
	}
	return errors.Join(errs...)
}

func (s Sync) check() error {
	for _, d := range []time.Duration{s.LeaseTTL, s.CallTimeout, s.PollInterval, s.ClaimIdle,
		s.BackoffBase, s.BackoffMax} {
		if d < 0 {
			return errors.New("durations must not be negative")
		}
	}
	if s.MaxAttempts < 0 {
		return errors.New("max_attempts must not be negative")
	}
	if s.BackoffBase > 0 && s.BackoffMax > 0 && s.BackoffBase > s.BackoffMax {
		return errors.New("backoff_base must not exceed backoff_max")
	}
	return nil
}

func (k JWTKey) check() error {
	switch k.Algorithm {
	case "HS256":
		if k.Secret == "" && k.SecretEnv == "" {
			return errors.New("HS256 needs secret or secret_env")
		}
	case "RS256", "ES256", "EdDSA":
		if k.KeyFile == "" {
			return fmt.Errorf("%s needs key_file", k.Algorithm)
		}
		if k.Audience == "" {
			return fmt.Errorf("%s needs audience: a public key verifies tokens meant for any "+
				"service of its issuer", k.Algorithm)
		}
	default:
		return fmt.Errorf("algorithm %q is not HS256, RS256, ES256 or EdDSA", k.Algorithm)
	}
	return nil
}

// StoreKind is the backend a store setting selects.
type StoreKind string

// Store kinds.
const (
	StoreBolt  StoreKind = "bolt"
	StoreRedis StoreKind = "redis"
)

// ParseStore splits a store setting into its kind and the path (bolt) or
// URL (Redis) the backend opens.
func ParseStore(s string) (StoreKind, string, error) {
	if p, ok := strings.CutPrefix(s, "bolt:"); ok {
		if p == "" {
			return "", "", errors.New(`"bolt:" needs a file path`)
		}
		return StoreBolt, p, nil
	}
	scheme, _, _ := strings.Cut(s, "://")
	switch scheme {
	case "redis", "rediss", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster":
		if strings.Contains(s, "://") {
			return StoreRedis, s, nil
		}
	}
	// The value is not echoed: a mistyped Redis URL may hold a password.
	return "", "", errors.New("neither bolt:PATH nor a redis URL " +
		"(redis://, rediss://, redis+sentinel://, redis+cluster://)")
}
