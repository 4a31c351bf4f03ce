package scimclient

import (
	"context"
	"fmt"
	"net/http"
)

// capabilities is what the application's /ServiceProviderConfig advertises
// (RFC 7643 section 5), as far as the client uses it.
type capabilities struct {
	patch      bool
	bulk       bool
	maxOps     int
	maxPayload int
}

// discover returns the application's capabilities, asking it once. A
// failed attempt is not remembered, so the next call asks again. Callers
// that arrive while the question is out wait for its answer (or for their
// own ctx); the question itself outlives a caller that gives up, bounded
// by the client's timeout.
func (cl *Client) discover(ctx context.Context) (capabilities, error) {
	if c := cl.cached(); c != nil {
		return *c, nil
	}
	if err := ctx.Err(); err != nil {
		return capabilities{}, fmt.Errorf("discover: %w", err)
	}
	ch := cl.discovery.DoChan("spc", func() (any, error) {
		if c := cl.cached(); c != nil {
			return *c, nil
		}
		c, err := cl.fetchCapabilities(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		cl.mu.Lock()
		cl.known = &c
		cl.mu.Unlock()
		return c, nil
	})
	select {
	case <-ctx.Done():
		return capabilities{}, fmt.Errorf("discover: %w", ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return capabilities{}, r.Err
		}
		return r.Val.(capabilities), nil
	}
}

func (cl *Client) cached() *capabilities {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.known
}

func (cl *Client) fetchCapabilities(ctx context.Context) (capabilities, error) {
	var spc struct {
		Patch struct {
			Supported bool `json:"supported"`
		} `json:"patch"`
		Bulk struct {
			Supported      bool `json:"supported"`
			MaxOperations  int  `json:"maxOperations"`
			MaxPayloadSize int  `json:"maxPayloadSize"`
		} `json:"bulk"`
	}
	status, err := cl.exchange(ctx, call{op: "discover", method: http.MethodGet,
		path: "/ServiceProviderConfig", out: &spc})
	if status == http.StatusNotFound || status == http.StatusNotImplemented {
		cl.log.InfoContext(ctx, "scim target has no service provider config; using put, no bulk",
			"status", status)
		return capabilities{}, nil
	}
	if err != nil {
		return capabilities{}, err
	}
	c := capabilities{
		patch:      spc.Patch.Supported,
		bulk:       spc.Bulk.Supported && spc.Bulk.MaxOperations > 0,
		maxOps:     spc.Bulk.MaxOperations,
		maxPayload: spc.Bulk.MaxPayloadSize,
	}
	cl.log.InfoContext(ctx, "scim target capabilities", "patch", c.patch, "bulk", c.bulk,
		"bulk_max_operations", c.maxOps)
	return c, nil
}
