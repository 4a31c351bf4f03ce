package scim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scim-bridge/scim-bridge/auth"
)

// Log keys used by this package, one vocabulary for every line.
const (
	keyRequestID = "request_id"
	keyMethod    = "method"
	keyPath      = "path"
	keyStatus    = "status"
	keyDuration  = "duration_ms"
	keyBytes     = "bytes"
	keySubject   = "subject"
	keyErr       = "err"
)

// requestInfo travels in the request context so that the outer logging
// middleware learns what inner layers found out (the principal).
type requestInfo struct {
	id      string
	subject string
}

type requestInfoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return ri
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if ri := infoFrom(ctx); ri != nil {
		return ri.id
	}
	return ""
}

var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestID keeps a client's X-Request-Id when it is short and plain, so
// that a trace spans both sides; otherwise it makes a new one.
func requestID(in string) string {
	if len(in) > 0 && len(in) <= 128 {
		ok := true
		for i := 0; i < len(in) && ok; i++ {
			c := in[i]
			ok = c == '-' || c == '_' || c == '.' || c == ':' ||
				'0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		}
		if ok {
			return in
		}
	}
	return idPrefix + "-" + strconv.FormatUint(idCounter.Add(1), 36)
}

// statusWriter records what a handler wrote, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += n
	return n, err
}

// logRequests gives each request an id (X-Request-Id in and out) and logs
// one line when it ends: method, path (never the query, which may hold
// personal data), status, duration, size and the authenticated subject.
// Successful reads log at debug level, other requests at info, failures
// of the server at error.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: requestID(r.Header.Get("X-Request-Id"))}
		w.Header().Set("X-Request-Id", ri.id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri)))

		level := slog.LevelInfo
		switch {
		case sw.status >= 500:
			level = slog.LevelError
		case sw.status < 400 && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			level = slog.LevelDebug
		}
		if !s.log.Enabled(r.Context(), level) {
			return
		}
		s.log.LogAttrs(r.Context(), level, "scim request",
			slog.String(keyRequestID, ri.id),
			slog.String(keyMethod, r.Method),
			slog.String(keyPath, r.URL.Path),
			slog.Int(keyStatus, sw.status),
			slog.Float64(keyDuration, float64(time.Since(start).Microseconds())/1000),
			slog.Int(keyBytes, sw.bytes),
			slog.String(keySubject, ri.subject),
		)
	})
}

// recoverPanics turns a panic into a 500 SCIM error; the stack is logged,
// never sent.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "handler panicked",
				keyRequestID, RequestID(r.Context()), keyPath, r.URL.Path,
				"panic", v, "stack", string(debug.Stack()))
			writeProblem(w, internalProblem)
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies over the payload limit with 413 before anything
// reads them, and caps the reader for bodies of unknown length. It also
// notes the authenticated subject for the request log.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri := infoFrom(r.Context()); ri != nil {
			if p, ok := auth.PrincipalFrom(r.Context()); ok {
				ri.subject = p.Subject
			}
		}
		if r.ContentLength > int64(s.maxPayload) {
			writeProblem(w, s.tooLarge())
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, int64(s.maxPayload))
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) tooLarge() *problem {
	return newProblem(http.StatusRequestEntityTooLarge, "",
		"the request body exceeds the maximum payload size of %d bytes", s.maxPayload)
}

// readBody reads the whole request body; a body over the limit is a 413.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, s.tooLarge()
	}
	if err != nil {
		return nil, invalidSyntax("the request body could not be read")
	}
	return b, nil
}

// endpoints are the first path segments after Prefix, as RFC 7644 spells
// them.
var endpoints = []string{
	"Users", "Groups", "Bulk", "Schemas", "ResourceTypes", "ServiceProviderConfig", "Me",
}

// canonicalEndpoint lets clients name an endpoint in any letter case
// (/scim/v2/users for /Users): RFC 7644 spells the endpoints but does not
// forbid other spellings, and clients such as Microsoft's SCIM test
// collection send them. The endpoint segment is rewritten to its canonical
// spelling before routing; the rest of the path, ids included, is kept.
func canonicalEndpoint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := canonicalPath(r.URL.Path); ok {
			u := *r.URL
			u.Path, u.RawPath = p, ""
			r = r.WithContext(r.Context())
			r.URL = &u
		}
		next.ServeHTTP(w, r)
	})
}

// canonicalPath returns p with its endpoint segment spelled canonically,
// and whether that changed p.
func canonicalPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, Prefix+"/")
	if !ok {
		return p, false
	}
	seg, tail := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		seg, tail = rest[:i], rest[i:]
	}
	for _, e := range endpoints {
		// Equal byte lengths keep the match to ASCII letters: Unicode case
		// folding (the Kelvin sign for k) changes the length.
		if seg != e && len(seg) == len(e) && strings.EqualFold(seg, e) {
			return Prefix + "/" + e + tail, true
		}
	}
	return p, false
}
