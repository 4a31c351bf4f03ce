package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of every request the connector sends.
const (
	// TimestampHeader holds the time of sending, in Unix seconds.
	TimestampHeader = "X-Scim-Bridge-Timestamp"
	// SignatureHeader holds "sha256=" and the lower-case hex HMAC-SHA256,
	// keyed with the shared secret, of the timestamp, a dot and the body.
	SignatureHeader = "X-Scim-Bridge-Signature"
	// DeliveryHeader holds a unique id per request (a UUID); a receiver
	// that remembers the ids it saw within its tolerance window can refuse
	// a replayed request even inside that window.
	DeliveryHeader = "X-Scim-Bridge-Delivery"
)

// Errors of Verify.
var (
	// ErrSignature: the signature is missing, malformed or does not match.
	ErrSignature = errors.New("webhook: bad signature")
	// ErrStale: the timestamp is too far from now, so the request may be a
	// replay (or the clocks disagree by more than the tolerance).
	ErrStale = errors.New("webhook: stale timestamp")
)

// Sign returns the signature header value for body sent at ts:
// "sha256=" + hex(HMAC-SHA256(secret, "<unix seconds>.<body>")).
func Sign(secret []byte, ts time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a received request, for receivers: that header holds a
// signature of body under secret, and that its timestamp is within
// tolerance of now (either way, to allow for clock skew). body must be the
// raw bytes received, before any JSON decoding. It returns ErrSignature or
// ErrStale (wrapped with the reason), or nil.
//
// A receiver in Go:
//
//	body, _ := io.ReadAll(r.Body)
//	if err := webhook.Verify(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
//		http.Error(w, `{"detail":"bad signature"}`, http.StatusUnauthorized)
//		return
//	}
//
// Elsewhere: take the timestamp header T and the body B as bytes, compute
// HMAC-SHA256 with the secret as key over T + "." + B, hex-encode it,
// compare it in constant time with the signature header after "sha256=",
// and refuse a T more than a few minutes from the current time.
func Verify(secret []byte, header http.Header, body []byte, now time.Time,
	tolerance time.Duration) error {
	ts := header.Get(TimestampHeader)
	sig := header.Get(SignatureHeader)
	if ts == "" || sig == "" {
		return fmt.Errorf("%w: missing %s or %s", ErrSignature, TimestampHeader, SignatureHeader)
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return fmt.Errorf("%w: want sha256=<hex>", ErrSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrSignature)
	}
	if !hmac.Equal(got, mac(secret, ts, body)) {
		return fmt.Errorf("%w: mismatch", ErrSignature)
	}

	// The timestamp is checked after the signature, so that it is known to
	// come from the sender.
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrSignature, ts)
	}
	if skew := now.Sub(time.Unix(unix, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("%w: %v away from now, tolerance %v",
			ErrStale, skew.Round(time.Second), tolerance)
	}
	return nil
}
