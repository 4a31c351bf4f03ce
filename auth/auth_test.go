package auth_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/auth"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const hmacSecret = "0123456789abcdef0123456789abcdef"

// keys holds one signing key per algorithm and the matching verify key.
type keys struct {
	sign   map[string]auth.SigningKey
	verify []auth.Key
	rsaPEM []byte
}

func newKeys(t *testing.T) keys {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	rsaPEM := publicPEM(t, rsaKey.Public())
	ks := keys{
		sign: map[string]auth.SigningKey{
			"HS256": {ID: "h", Algorithm: "HS256", Secret: []byte(hmacSecret)},
			"RS256": {ID: "r", Algorithm: "RS256", Private: rsaKey},
			"ES256": {ID: "e", Algorithm: "ES256", Private: ecKey},
			"EdDSA": {ID: "d", Algorithm: "EdDSA", Private: edKey},
		},
		verify: []auth.Key{
			{ID: "h", Algorithm: "HS256", Secret: []byte(hmacSecret), Issuer: "idp", Audience: "bridge"},
			{ID: "r", Algorithm: "RS256", PublicKeyPEM: rsaPEM, Issuer: "idp", Audience: "bridge"},
			{ID: "e", Algorithm: "ES256", PublicKeyPEM: publicPEM(t, ecKey.Public()), Issuer: "idp"},
			{ID: "d", Algorithm: "EdDSA", PublicKeyPEM: publicPEM(t, edKey.Public()), Issuer: "idp"},
		},
		rsaPEM: rsaPEM,
	}
	return ks
}

func publicPEM(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func newVerifier(t *testing.T, ks keys) *auth.Verifier {
	t.Helper()
	v, err := auth.New(auth.Config{
		SecretHashes: []string{auth.HashSecret("first-secret"), auth.HashSecret("second-secret")},
		Keys:         ks.verify,
		Clock:        func() time.Time { return now },
	})
	require.NoError(t, err)
	return v
}

func mint(t *testing.T, k auth.SigningKey, c auth.Claims, at time.Time) string {
	t.Helper()
	tok, err := auth.Mint(k, c, at)
	require.NoError(t, err)
	return tok
}

func TestVerify(t *testing.T) {
	ks := newKeys(t)
	v := newVerifier(t, ks)
	good := auth.Claims{Subject: "okta", Role: "admin", Issuer: "idp", Audience: "bridge",
		TTL: time.Hour}

	tests := []struct {
		name   string
		header string
		want   auth.Principal
		err    error
	}{
		{"no header", "", auth.Principal{}, auth.ErrNoCredentials},
		{"basic scheme", "Basic Zm9vOmJhcg==", auth.Principal{}, auth.ErrNoCredentials},
		{"empty bearer", "Bearer ", auth.Principal{}, auth.ErrNoCredentials},
		{"second secret", "Bearer second-secret",
			auth.Principal{Subject: subjectOf("second-secret"), Method: auth.MethodSecret}, nil},
		{"scheme case-insensitive", "bearer first-secret",
			auth.Principal{Subject: subjectOf("first-secret"), Method: auth.MethodSecret}, nil},
		{"wrong secret", "Bearer third-secret", auth.Principal{}, auth.ErrInvalidToken},
		{"secret prefix", "Bearer first-secre", auth.Principal{}, auth.ErrInvalidToken},
	}
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		tests = append(tests, struct {
			name   string
			header string
			want   auth.Principal
			err    error
		}{"jwt " + alg, "Bearer " + mint(t, ks.sign[alg], good, now),
			auth.Principal{Subject: "okta", Role: "admin", Method: auth.MethodJWT}, nil})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(tt.header)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func subjectOf(secret string) string {
	return "secret-" + strings.TrimPrefix(auth.HashSecret(secret), "sha256:")[:8]
}

func TestVerifyRefusesBadJWTs(t *testing.T) {
	ks := newKeys(t)
	v := newVerifier(t, ks)
	hs := ks.sign["HS256"]
	good := auth.Claims{Subject: "s", Issuer: "idp", Audience: "bridge", TTL: time.Hour}

	withClaims := func(mod func(c *auth.Claims)) auth.Claims {
		c := good
		mod(&c)
		return c
	}
	tests := []struct {
		name  string
		token string
	}{
		{"expired", mint(t, hs, good, now.Add(-2*time.Hour))},
		{"not yet valid", mint(t, hs, good, now.Add(time.Hour))},
		{"wrong issuer", mint(t, hs, withClaims(func(c *auth.Claims) { c.Issuer = "evil" }), now)},
		{"no issuer", mint(t, hs, withClaims(func(c *auth.Claims) { c.Issuer = "" }), now)},
		{"wrong audience", mint(t, hs, withClaims(func(c *auth.Claims) { c.Audience = "x" }), now)},
		{"wrong secret", mint(t, auth.SigningKey{ID: "h", Algorithm: "HS256",
			Secret: []byte(strings.Repeat("z", 32))}, good, now)},
		{"unknown kid", mint(t, auth.SigningKey{ID: "nope", Algorithm: "HS256",
			Secret: []byte(hmacSecret)}, good, now)},
		{"alg none", noneToken(t)},
		{"rs256 key used as hmac secret", algSwapToken(t, ks.rsaPEM)},
		{"es256 token under rs256 kid", reKeyed(t, ks.sign["ES256"], "r", good)},
		{"no expiry", noExpiryToken(t)},
		{"garbage with dots", "a.b.c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify("Bearer " + tt.token)
			require.ErrorIs(t, err, auth.ErrInvalidToken)
		})
	}
}

func noneToken(t *testing.T) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"sub": "s", "iss": "idp", "aud": "bridge", "exp": now.Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = "h"
	s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	return s
}

// algSwapToken signs an HS256 token with the RSA public key's PEM as the
// HMAC secret, the classic attack on verifiers that trust "alg".
func algSwapToken(t *testing.T, rsaPEM []byte) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "s", "iss": "idp", "aud": "bridge", "exp": now.Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = "r"
	s, err := tok.SignedString(rsaPEM)
	require.NoError(t, err)
	return s
}

func reKeyed(t *testing.T, k auth.SigningKey, kid string, c auth.Claims) string {
	t.Helper()
	k.ID = kid
	return mint(t, k, c, now)
}

func noExpiryToken(t *testing.T) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "s", "iss": "idp", "aud": "bridge",
	})
	s, err := tok.SignedString([]byte(hmacSecret))
	require.NoError(t, err)
	return s
}

func TestVerifyIgnoresForgedHeaderAlg(t *testing.T) {
	// A token whose header claims HS256 but is signed RS256 fails even
	// though its signature bytes are genuine.
	ks := newKeys(t)
	v := newVerifier(t, ks)
	tok := mint(t, ks.sign["RS256"], auth.Claims{Subject: "s", Issuer: "idp",
		Audience: "bridge", TTL: time.Hour}, now)
	parts := strings.Split(tok, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"r","typ":"JWT"}`))
	_, err := v.Verify("Bearer " + strings.Join(parts, "."))
	require.ErrorIs(t, err, auth.ErrInvalidToken)
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  auth.Config
	}{
		{"nothing configured", auth.Config{}},
		{"clear secret as hash", auth.Config{SecretHashes: []string{"hunter2"}}},
		{"short hash", auth.Config{SecretHashes: []string{"sha256:abcd"}}},
		{"short hmac", auth.Config{Keys: []auth.Key{{Algorithm: "HS256", Secret: []byte("short")}}}},
		{"unknown alg", auth.Config{Keys: []auth.Key{{Algorithm: "HS512", Secret: []byte(hmacSecret)}}}},
		{"bad pem", auth.Config{Keys: []auth.Key{{Algorithm: "RS256", PublicKeyPEM: []byte("x")}}}},
		{"quote in realm", auth.Config{Realm: `a"b`, SecretHashes: []string{auth.HashSecret("s")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.New(tt.cfg)
			require.Error(t, err)
		})
	}
}

func TestMiddleware(t *testing.T) {
	v, err := auth.New(auth.Config{Realm: "scim", SecretHashes: []string{auth.HashSecret("s3cret")}})
	require.NoError(t, err)
	var seen auth.Principal
	h := v.Middleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = auth.PrincipalFrom(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))

	tests := []struct {
		name       string
		header     string
		wantStatus int
		wantChal   string
	}{
		{"missing", "", http.StatusUnauthorized, `Bearer realm="scim"`},
		{"invalid", "Bearer nope", http.StatusUnauthorized, `Bearer realm="scim", error="invalid_token"`},
		{"valid", "Bearer s3cret", http.StatusNoContent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tt.wantStatus, rec.Code)
			require.Equal(t, tt.wantChal, rec.Header().Get("WWW-Authenticate"))
			require.NotContains(t, rec.Body.String(), "nope")
		})
	}
	require.Equal(t, auth.MethodSecret, seen.Method)
}

func TestMiddlewareDenyFunc(t *testing.T) {
	v, err := auth.New(auth.Config{SecretHashes: []string{auth.HashSecret("s3cret")}})
	require.NoError(t, err)
	var got error
	h := v.Middleware(func(w http.ResponseWriter, _ *http.Request, err error) {
		got = err
		w.WriteHeader(http.StatusUnauthorized)
	})(http.NotFoundHandler())
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.True(t, errors.Is(got, auth.ErrInvalidToken), "got %v, want ErrInvalidToken", got)
}

func TestMethods(t *testing.T) {
	v, err := auth.New(auth.Config{
		SecretHashes: []string{auth.HashSecret("s")},
		Keys:         []auth.Key{{Algorithm: "HS256", Secret: []byte(hmacSecret)}},
	})
	require.NoError(t, err)
	require.Equal(t, []auth.Method{auth.MethodSecret, auth.MethodJWT}, v.Methods())
}

func TestMintRejectsNoTTL(t *testing.T) {
	_, err := auth.Mint(auth.SigningKey{Algorithm: "HS256", Secret: []byte(hmacSecret)},
		auth.Claims{Subject: "s"}, now)
	require.Error(t, err)
}
