package connectortest

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// Fault is one failure an application answers a request with.
type Fault struct {
	// Status is the HTTP status to answer; zero forwards the request to the
	// application after Delay.
	Status int
	// RetryAfter is the Retry-After header to send, if not empty.
	RetryAfter string
	// Body is the JSON answer body; empty sends a minimal one holding
	// "injected" and the status in "detail".
	Body string
	// Delay is how long to wait before answering or forwarding. The wait
	// ends early when the client goes away.
	Delay time.Duration
}

// Faults makes an HTTP application fail on demand: Wrap puts it in front
// of the application's handler (or of a reverse proxy to it), and each
// injected Fault is spent on one request, in order. Requests with no fault
// pending go through untouched. Safe for concurrent use.
type Faults struct {
	mu      sync.Mutex
	pending []Fault
}

// Inject queues faults for the next requests, one request each.
func (f *Faults) Inject(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, faults...)
}

// Clear drops the faults not yet spent.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = nil
}

func (f *Faults) next() (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pending) == 0 {
		return Fault{}, false
	}
	ft := f.pending[0]
	f.pending = f.pending[1:]
	return ft, true
}

// Wrap returns next with the pending faults applied in front of it.
func (f *Faults) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ft, ok := f.next()
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if ft.Delay > 0 {
			// The server notices a client hanging up only once the body is
			// read, so read it now and hand a copy on.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			timer := time.NewTimer(ft.Delay)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-r.Context().Done():
				return
			}
		}
		if ft.Status == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if ft.RetryAfter != "" {
			w.Header().Set("Retry-After", ft.RetryAfter)
		}
		body := ft.Body
		if body == "" {
			body = `{"detail":"injected ` + http.StatusText(ft.Status) + `"}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ft.Status)
		_, _ = w.Write([]byte(body))
	})
}
