package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/admin"
	"github.com/scim-bridge/scim-bridge/bridge"
)

// Where the admin commands find a running bridge when no flag says.
const (
	defaultBridgeURL = "http://127.0.0.1:8080"
	envBridgeURL     = "BRIDGE_URL"
	envAdminToken    = "BRIDGE_ADMIN_TOKEN"
)

// adminClient calls the admin API of a running bridge.
type adminClient struct {
	base  string // the bridge's URL, without a trailing slash
	token string
	hc    *http.Client
}

// newAdminClient checks the URL and token, taking them from the
// environment when empty, and returns a client for them.
func newAdminClient(rawURL, token string) (*adminClient, error) {
	if rawURL == "" {
		rawURL = os.Getenv(envBridgeURL)
	}
	if rawURL == "" {
		rawURL = defaultBridgeURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bridge url %q: want an http or https URL such as %s",
			rawURL, defaultBridgeURL)
	}
	if token == "" {
		token = os.Getenv(envAdminToken)
	}
	if token == "" {
		return nil, fmt.Errorf("no admin token: pass --token or set %s", envAdminToken)
	}
	return &adminClient{
		base:  strings.TrimSuffix(u.String(), "/"),
		token: token,
		hc:    &http.Client{Timeout: 30 * time.Second},
	}, nil
}

// apiError is a refusal of the admin API, carrying the server's message.
type apiError struct {
	status int
	body   admin.Error
}

func (e *apiError) Error() string {
	msg := e.body.Message
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	switch e.status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("the bridge refused the admin token (401): %s; "+
			"pass a valid one with --token or %s", msg, envAdminToken)
	case http.StatusForbidden:
		return fmt.Sprintf("the admin token may not do this (403): %s", msg)
	case http.StatusNotFound:
		return fmt.Sprintf("not found (404): %s", msg)
	}
	return fmt.Sprintf("the bridge answered %d: %s", e.status, msg)
}

// startSync starts a quick sync of app.
func (c *adminClient) startSync(ctx context.Context, app string, allInScope bool) (
	bridge.Job, error) {
	var job bridge.Job
	body := map[string]bool{"all_in_scope": allInScope}
	err := c.call(ctx, http.MethodPost, "/apps/"+url.PathEscape(app)+"/sync", body, &job)
	return job, err
}

// job reads a job.
func (c *adminClient) job(ctx context.Context, id string) (bridge.Job, error) {
	var job bridge.Job
	err := c.call(ctx, http.MethodGet, "/jobs/"+url.PathEscape(id), nil, &job)
	return job, err
}

// cancelJob asks a job to stop and returns it as stored.
func (c *adminClient) cancelJob(ctx context.Context, id string) (bridge.Job, error) {
	var job bridge.Job
	err := c.call(ctx, http.MethodDelete, "/jobs/"+url.PathEscape(id), nil, &job)
	return job, err
}

// call sends a request under the admin prefix and decodes a 2xx answer
// into out; any other answer becomes an *apiError.
func (c *adminClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+admin.Prefix+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("call the bridge: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read the bridge's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{status: resp.StatusCode}
		// A proxy in front of the bridge may answer in another format: keep
		// the status alone then.
		_ = json.Unmarshal(raw, &e.body)
		return e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the bridge answered %d with an unreadable body: %w", resp.StatusCode, err)
	}
	return nil
}
