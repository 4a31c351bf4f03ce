package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StatusError classifies an unsuccessful HTTP answer from an application,
// for the connector kinds that speak HTTP. detail is the application's own
// explanation when it gave one.
//
//   - 404 wraps ErrNotFound, 409 ErrConflict and 401 ErrUnauthorized; all
//     three are permanent for the call.
//   - 408, 429 and 5xx (except 501 and 505, which will not change) are
//     retryable, with the wait of a Retry-After header when there is one.
//   - Any other status is permanent: the request itself is wrong.
func StatusError(op string, status int, h http.Header, detail string, now time.Time) *Error {
	if detail == "" {
		detail = strings.ToLower(http.StatusText(status))
	}
	e := &Error{Op: op, Status: status, Err: errors.New(detail)}
	switch {
	case status == http.StatusNotFound:
		e.Err = fmt.Errorf("%w: %s", ErrNotFound, detail)
	case status == http.StatusConflict:
		e.Err = fmt.Errorf("%w: %s", ErrConflict, detail)
	case status == http.StatusUnauthorized:
		e.Err = fmt.Errorf("%w: %s", ErrUnauthorized, detail)
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests,
		status >= 500 && status != http.StatusNotImplemented &&
			status != http.StatusHTTPVersionNotSupported:
		e.Retryable = true
		e.RetryAfter = ParseRetryAfter(h.Get("Retry-After"), now)
	}
	return e
}

// ParseRetryAfter reads a Retry-After header value (RFC 9110 section
// 10.2.3): a number of seconds or an HTTP-date. It returns zero for an
// empty or malformed value and for a date already past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		// Cap absurd values rather than overflow the duration.
		const most = 24 * time.Hour
		if n > int64(most/time.Second) {
			return most
		}
		return time.Duration(n) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := at.Sub(now); d > 0 {
		return d
	}
	return 0
}

// TransportError classifies an error from sending a request or reading its
// answer. When ctx is done its own error is returned (wrapped), so that
// errors.Is finds context.Canceled or context.DeadlineExceeded and
// Retryable treats a cancellation as final. Anything else (refused
// connection, reset, timeout of the HTTP client) is a retryable *Error.
func TransportError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	return &Error{Op: op, Retryable: true, Err: err}
}
