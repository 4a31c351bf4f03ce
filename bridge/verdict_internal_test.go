package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

func TestVerdictOf(t *testing.T) {
	status := func(s int) error {
		return connector.StatusError("update", s, http.Header{}, "", time.Now())
	}
	// A token endpoint's refusal, as the scim connector reports it.
	token := func(s int) error {
		e := connector.StatusError("update", s, http.Header{}, "", time.Now())
		if s != http.StatusTooManyRequests && s < 500 {
			e.Err = fmt.Errorf("%w: token request refused", connector.ErrUnauthorized)
		}
		return e
	}
	tests := []struct {
		name string
		err  error
		want authVerdict
	}{
		{"success", nil, authAccepted},
		{"not found", status(404), authAccepted},
		{"conflict", status(409), authAccepted},
		{"bad request", status(400), authAccepted},
		{"app 403 may concern one account", status(403), authAccepted},
		{"401", status(401), authRefused},
		{"wrapped 401", fmt.Errorf("update: %w", status(401)), authRefused},
		{"token endpoint 400", token(400), authRefused},
		{"token endpoint 401", token(401), authRefused},
		{"token endpoint 403", token(403), authRefused},
		{"token endpoint 429", token(429), authUnknown},
		{"token endpoint 503", token(503), authUnknown},
		{"429", status(429), authUnknown},
		{"500", status(500), authUnknown},
		{"transport", connector.TransportError(context.Background(), "update",
			errors.New("connection refused")), authUnknown},
		{"cancelled", context.Canceled, authUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verdictOf(tt.err); got != tt.want {
				t.Errorf("verdictOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestAuthGate: the first refusal shuts the gate, calls in flight before
// it change nothing, one probe at a time goes once the backoff passed, and
// an accepted probe opens the gate.
func TestAuthGate(t *testing.T) {
	var g authGate
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	delay := func(n int) time.Duration { return time.Duration(n) * time.Second }
	ctx := context.Background()

	if probe, err := g.enter(ctx, clock); probe || err != nil {
		t.Fatalf("open gate: enter = %v, %v; want a plain call", probe, err)
	}
	if ch, _ := g.leave(false, authRefused, now, "401", delay); ch != authLost {
		t.Fatalf("first refusal: change %v, want authLost", ch)
	}
	if ch, _ := g.leave(false, authAccepted, now, "", delay); ch != authSame {
		t.Fatalf("a call sent before the fault: change %v, want authSame", ch)
	}
	if got, want := g.next(), now.Add(time.Second); !got.Equal(want) {
		t.Fatalf("next probe at %v, want %v", got, want)
	}

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := g.enter(short, clock); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("enter during the backoff: err %v, want it to wait", err)
	}
	now = now.Add(time.Second)
	probe, err := g.enter(ctx, clock)
	if !probe || err != nil {
		t.Fatalf("after the backoff: enter = %v, %v; want the probe", probe, err)
	}
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := g.enter(short2, clock); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("enter while a probe is out: err %v, want it to wait", err)
	}
	g.leave(true, authRefused, now, "401", delay)
	if got, want := g.next(), now.Add(2*time.Second); !got.Equal(want) {
		t.Fatalf("after a refused probe: next %v, want %v", got, want)
	}

	now = now.Add(2 * time.Second)
	if probe, _ := g.enter(ctx, clock); !probe {
		t.Fatal("second probe not granted")
	}
	if ch, _ := g.leave(true, authAccepted, now, "", delay); ch != authRestored {
		t.Fatalf("accepted probe: change %v, want authRestored", ch)
	}
	if probe, err := g.enter(ctx, clock); probe || err != nil {
		t.Fatalf("reopened gate: enter = %v, %v; want a plain call", probe, err)
	}
}
