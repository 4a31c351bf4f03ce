// Package auth authenticates HTTP requests that carry
// "Authorization: Bearer <token>", where the token is either one of the
// configured shared secrets or a JSON Web Token signed by one of the
// configured keys.
//
// Secrets are kept only as SHA-256 hashes and compared in constant time.
// Each JWT key pins one algorithm (HS256, RS256, ES256 or EdDSA), so tokens
// signed with "none" or with another algorithm than the key's are refused;
// expiry, not-before, issuer and audience are checked.
//
// The package authenticates only. It puts a Principal in the request
// context; deciding what a principal may do (the admin API's roles) is the
// caller's concern.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Errors returned by Verify. They are safe to show to a client.
var (
	// ErrNoCredentials: the request carries no bearer token.
	ErrNoCredentials = errors.New("no bearer token")
	// ErrInvalidToken: the token is neither a configured secret nor a
	// valid JWT for a configured key.
	ErrInvalidToken = errors.New("invalid bearer token")
)

// Method says how a principal proved who it is.
type Method string

// Authentication methods.
const (
	MethodSecret Method = "secret"
	MethodJWT    Method = "jwt"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	// Subject names the caller: the JWT "sub" claim, or for a shared secret
	// "secret-" followed by the first eight hex digits of its hash (which
	// tells secrets apart in logs without revealing them).
	Subject string
	// Role is the JWT "role" claim; empty for shared secrets.
	Role string
	// Method is how the caller authenticated.
	Method Method
}

// Config configures a Verifier. At least one secret hash or key is required.
type Config struct {
	// Realm is announced in WWW-Authenticate; "scim-bridge" when empty.
	Realm string
	// SecretHashes are the accepted bearer secrets, each as HashSecret
	// returns it ("sha256:" and 64 hex digits).
	SecretHashes []string
	// Keys verify JWTs.
	Keys []Key
	// Leeway tolerates clock skew on exp and nbf; zero means none.
	Leeway time.Duration
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Logger receives one debug line per refused request (never the token);
	// nothing is logged when nil.
	Logger *slog.Logger
}

// Verifier checks bearer tokens. It is immutable after New and safe for
// concurrent use.
type Verifier struct {
	realm   string
	secrets [][sha256.Size]byte
	keys    []verifyKey
	leeway  time.Duration
	clock   func() time.Time
	log     *slog.Logger
}

// New builds a Verifier, or fails when the configuration holds no
// credential or a malformed hash or key.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{
		realm:  cfg.Realm,
		leeway: cfg.Leeway,
		clock:  cfg.Clock,
		log:    cfg.Logger,
	}
	if v.realm == "" {
		v.realm = "scim-bridge"
	}
	if strings.ContainsAny(v.realm, "\"\\\r\n") {
		return nil, errors.New("auth: realm must not hold quotes, backslashes or line breaks")
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	for i, h := range cfg.SecretHashes {
		sum, err := parseSecretHash(h)
		if err != nil {
			return nil, fmt.Errorf("auth: secret hash %d: %w", i, err)
		}
		v.secrets = append(v.secrets, sum)
	}
	for i, k := range cfg.Keys {
		vk, err := newVerifyKey(k)
		if err != nil {
			return nil, fmt.Errorf("auth: key %d (%s): %w", i, k.ID, err)
		}
		v.keys = append(v.keys, vk)
	}
	if len(v.secrets) == 0 && len(v.keys) == 0 {
		return nil, errors.New("auth: no bearer secret and no jwt key configured")
	}
	return v, nil
}

// HashSecret returns the form in which Config.SecretHashes holds a secret:
// "sha256:" followed by the hex SHA-256 digest of the secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func parseSecretHash(h string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	hexPart, ok := strings.CutPrefix(h, "sha256:")
	if !ok {
		return sum, errors.New(`want "sha256:" and 64 hex digits`)
	}
	raw, err := hex.DecodeString(hexPart)
	if err != nil || len(raw) != sha256.Size {
		return sum, errors.New(`want "sha256:" and 64 hex digits`)
	}
	copy(sum[:], raw)
	return sum, nil
}

// Methods lists the authentication methods this verifier accepts, secrets
// first; the SCIM ServiceProviderConfig advertises them.
func (v *Verifier) Methods() []Method {
	var ms []Method
	if len(v.secrets) > 0 {
		ms = append(ms, MethodSecret)
	}
	if len(v.keys) > 0 {
		ms = append(ms, MethodJWT)
	}
	return ms
}

// Realm is the realm announced in WWW-Authenticate.
func (v *Verifier) Realm() string { return v.realm }

// Verify authenticates an Authorization header value. It returns
// ErrNoCredentials when the header holds no bearer token and
// ErrInvalidToken (possibly wrapped with a client-safe reason) when the
// token is not accepted.
func (v *Verifier) Verify(authorization string) (Principal, error) {
	token, ok := bearerToken(authorization)
	if !ok {
		return Principal{}, ErrNoCredentials
	}
	if p, ok := v.matchSecret(token); ok {
		return p, nil
	}
	if len(v.keys) == 0 || strings.Count(token, ".") != 2 {
		return Principal{}, ErrInvalidToken
	}
	return v.verifyJWT(token)
}

// bearerToken extracts the token of a "Bearer" authorization header; the
// scheme name is case-insensitive (RFC 7235 section 2.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// matchSecret compares the token's hash with every configured hash, always
// all of them, in constant time each.
func (v *Verifier) matchSecret(token string) (Principal, bool) {
	if len(v.secrets) == 0 {
		return Principal{}, false
	}
	sum := sha256.Sum256([]byte(token))
	found := 0
	for _, s := range v.secrets {
		found |= subtle.ConstantTimeCompare(sum[:], s[:])
	}
	if found == 0 {
		return Principal{}, false
	}
	return Principal{
		Subject: "secret-" + hex.EncodeToString(sum[:4]),
		Method:  MethodSecret,
	}, true
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal Middleware put in ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// DenyFunc writes the body of a refused request. The status (401) and the
// WWW-Authenticate header are already decided; DenyFunc must call
// w.WriteHeader(http.StatusUnauthorized) and may write a body in the
// caller's error format. err is ErrNoCredentials or ErrInvalidToken.
type DenyFunc func(w http.ResponseWriter, r *http.Request, err error)

// Middleware lets through only requests whose bearer token verifies, with
// the Principal in their context. Others get 401 with
// "WWW-Authenticate: Bearer realm=..." (and error="invalid_token" when a
// token was given, RFC 6750 section 3); deny writes their body, or a
// plain-text one when nil.
func (v *Verifier) Middleware(deny DenyFunc) func(http.Handler) http.Handler {
	if deny == nil {
		deny = func(w http.ResponseWriter, _ *http.Request, err error) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(err.Error() + "\n"))
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := v.Verify(r.Header.Get("Authorization"))
			if err != nil {
				v.log.DebugContext(r.Context(), "request refused",
					"path", r.URL.Path, "reason", err.Error())
				w.Header().Set("WWW-Authenticate", v.challenge(err))
				kind := ErrInvalidToken
				if errors.Is(err, ErrNoCredentials) {
					kind = ErrNoCredentials
				}
				deny(w, r, kind)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

func (v *Verifier) challenge(err error) string {
	c := `Bearer realm="` + v.realm + `"`
	if !errors.Is(err, ErrNoCredentials) {
		c += `, error="invalid_token"`
	}
	return c
}
