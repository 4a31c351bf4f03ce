package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms a Key may pin.
const (
	AlgHS256 = "HS256"
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// minHMACSecret is the shortest HS256 secret accepted: RFC 7518 section
// 3.2 requires a key at least as long as the hash output.
const minHMACSecret = 32

// Key verifies JWTs signed with one algorithm.
type Key struct {
	// ID is matched against the token's "kid" header. A token with a kid
	// is checked only against keys of that ID; a token without one is
	// checked against every key.
	ID string
	// Algorithm is HS256, RS256, ES256 or EdDSA; a token whose "alg"
	// differs is refused.
	Algorithm string
	// Secret is the HMAC secret for HS256, at least 32 bytes.
	Secret []byte
	// PublicKeyPEM is the PEM public key (or certificate) for RS256, ES256
	// (P-256) and EdDSA (Ed25519).
	PublicKeyPEM []byte
	// Issuer, when set, must equal the token's "iss".
	Issuer string
	// Audience, when set, must be among the token's "aud".
	Audience string
}

type verifyKey struct {
	id       string
	alg      string
	key      any
	issuer   string
	audience string
}

func newVerifyKey(k Key) (verifyKey, error) {
	vk := verifyKey{id: k.ID, alg: k.Algorithm, issuer: k.Issuer, audience: k.Audience}
	var err error
	switch k.Algorithm {
	case AlgHS256:
		if len(k.Secret) < minHMACSecret {
			return vk, fmt.Errorf("HS256 secret must be at least %d bytes", minHMACSecret)
		}
		vk.key = append([]byte(nil), k.Secret...)
	case AlgRS256:
		vk.key, err = jwt.ParseRSAPublicKeyFromPEM(k.PublicKeyPEM)
	case AlgES256:
		var pub *ecdsa.PublicKey
		pub, err = jwt.ParseECPublicKeyFromPEM(k.PublicKeyPEM)
		if err == nil && pub.Curve != elliptic.P256() {
			err = errors.New("ES256 needs a P-256 key")
		}
		vk.key = pub
	case AlgEdDSA:
		vk.key, err = jwt.ParseEdPublicKeyFromPEM(k.PublicKeyPEM)
	default:
		return vk, fmt.Errorf("algorithm %q is not HS256, RS256, ES256 or EdDSA", k.Algorithm)
	}
	if err != nil {
		return vk, fmt.Errorf("parse %s public key: %w", k.Algorithm, err)
	}
	return vk, nil
}

// claims are the registered claims plus the role the admin API reads.
type claims struct {
	jwt.RegisteredClaims
	Role string `json:"role,omitempty"`
}

// verifyJWT tries the token against each candidate key. Each attempt pins
// the key's algorithm, so a token cannot pick how it is verified.
func (v *Verifier) verifyJWT(token string) (Principal, error) {
	kid, err := unverifiedKeyID(token)
	if err != nil {
		return Principal{}, ErrInvalidToken
	}
	var last error
	for _, k := range v.keys {
		if kid != "" && k.id != kid {
			continue
		}
		var c claims
		_, err := jwt.ParseWithClaims(token, &c, k.keyFunc, k.options(v)...)
		if err == nil {
			return Principal{Subject: c.Subject, Role: c.Role, Method: MethodJWT}, nil
		}
		last = err
	}
	if last == nil {
		return Principal{}, fmt.Errorf("%w: unknown key id", ErrInvalidToken)
	}
	return Principal{}, fmt.Errorf("%w: %s", ErrInvalidToken, reason(last))
}

func (k verifyKey) keyFunc(*jwt.Token) (any, error) { return k.key, nil }

func (k verifyKey) options(v *Verifier) []jwt.ParserOption {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{k.alg}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.clock),
	}
	if k.issuer != "" {
		opts = append(opts, jwt.WithIssuer(k.issuer))
	}
	if k.audience != "" {
		opts = append(opts, jwt.WithAudience(k.audience))
	}
	return opts
}

// unverifiedKeyID reads the "kid" header without trusting anything else.
func unverifiedKeyID(token string) (string, error) {
	t, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		return "", err
	}
	kid, _ := t.Header["kid"].(string)
	return kid, nil
}

// reason turns a jwt error into a short client-safe phrase.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "required claim missing"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad signature or algorithm"
	}
	return "malformed token"
}

// SigningKey signs tokens for Mint: an HMAC secret for HS256, or a private
// key (crypto.Signer: *rsa.PrivateKey, *ecdsa.PrivateKey,
// ed25519.PrivateKey) for the other algorithms.
type SigningKey struct {
	ID        string
	Algorithm string
	Secret    []byte
	Private   crypto.Signer
}

// Claims are what Mint puts in a token.
type Claims struct {
	Subject  string
	Role     string
	Issuer   string
	Audience string
	// TTL is how long the token is valid from now; it must be positive.
	TTL time.Duration
}

// Mint signs a token that a Verifier configured with the matching Key
// accepts. It is meant for tests and for printing a development token; it
// does not check that the key is strong.
func Mint(key SigningKey, c Claims, now time.Time) (string, error) {
	if c.TTL <= 0 {
		return "", errors.New("mint: ttl must be positive")
	}
	var method jwt.SigningMethod
	var signWith any
	switch key.Algorithm {
	case AlgHS256:
		method, signWith = jwt.SigningMethodHS256, key.Secret
	case AlgRS256:
		method, signWith = jwt.SigningMethodRS256, key.Private
	case AlgES256:
		method, signWith = jwt.SigningMethodES256, key.Private
	case AlgEdDSA:
		method, signWith = jwt.SigningMethodEdDSA, key.Private
	default:
		return "", fmt.Errorf("mint: algorithm %q is not HS256, RS256, ES256 or EdDSA", key.Algorithm)
	}
	rc := jwt.RegisteredClaims{
		Subject:   c.Subject,
		Issuer:    c.Issuer,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(c.TTL)),
	}
	if c.Audience != "" {
		rc.Audience = jwt.ClaimStrings{c.Audience}
	}
	t := jwt.NewWithClaims(method, claims{RegisteredClaims: rc, Role: c.Role})
	if key.ID != "" {
		t.Header["kid"] = key.ID
	}
	s, err := t.SignedString(signWith)
	if err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	return s, nil
}
