package connector

import "net/http"

// MaxIdleConnsPerHost is how many idle connections to one application an
// HTTP connector keeps for reuse. net/http's default of two would make every
// call beyond the second one in flight open (and, over TLS, negotiate) a
// connection of its own, then drop it; the engine caps the calls in flight
// per application, so keeping that many idle costs little.
const MaxIdleConnsPerHost = 64

// NewTransport returns the HTTP transport an HTTP connector uses by default:
// a clone of http.DefaultTransport (proxy from the environment, dial and
// TLS timeouts, HTTP/2) that keeps MaxIdleConnsPerHost idle connections.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	t.MaxIdleConns = max(t.MaxIdleConns, MaxIdleConnsPerHost)
	return t
}
