package scimclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/bridge/connector/connectortest"
	"github.com/scim-bridge/scim-bridge/bridge/connector/scimclient"
	"github.com/scim-bridge/scim-bridge/internal/bridgetest"
	"github.com/scim-bridge/scim-bridge/internal/scimmytest"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// farSide is a SCIM service provider the contract runs against: its
// service root, a bearer token it accepts, and a direct read of a path
// below the root that bypasses the client under test.
type farSide struct {
	url   string
	token string
	get   func(ctx context.Context, path string) (int, []byte, error)
}

func scimmy(srv *scimmytest.Server) farSide {
	return farSide{url: srv.URL, token: srv.Token, get: srv.Get}
}

// scimBridge starts a second, real scim-bridge as a far side; config is
// its YAML configuration (empty for none).
func scimBridge(t *testing.T, config string) farSide {
	t.Helper()
	p := bridgetest.Start(t, bridgetest.Options{Config: config})
	return farSide{url: p.URL + "/scim/v2", token: p.SCIMToken,
		get: func(ctx context.Context, path string) (int, []byte, error) {
			resp, err := p.Do(ctx, http.MethodGet, "/scim/v2"+path, p.SCIMToken, nil)
			if err != nil {
				return 0, nil, err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			return resp.StatusCode, body, err
		}}
}

// TestContract runs the connector suite against SCIMMY, an independent
// SCIM implementation, once as it advertises PATCH and Bulk, once with
// neither (so updates go by PUT), and once through OAuth client
// credentials; and against a second scim-bridge, the SCIM service this
// project serves, which advertises PATCH and Bulk. Each target reaches
// its far side through a proxy that can inject failures. Another SCIM
// implementation is one more farSide and one more Run.
func TestContract(t *testing.T) {
	full := scimmy(scimmytest.Start(t, scimmytest.Options{BulkMaxOperations: 5}))
	plain := scimmy(scimmytest.Start(t, scimmytest.Options{NoPatch: true, NoBulk: true}))
	bridge := scimBridge(t, "scim:\n  max_bulk_operations: 5\n")

	t.Run("patch and bulk", func(t *testing.T) {
		connectortest.Run(t, func(t *testing.T) connectortest.Target {
			return newTarget(t, full, tokenSettings(t, full))
		})
	})
	t.Run("put only", func(t *testing.T) {
		connectortest.Run(t, func(t *testing.T) connectortest.Target {
			return newTarget(t, plain, tokenSettings(t, plain))
		})
	})
	t.Run("oauth", func(t *testing.T) {
		connectortest.Run(t, func(t *testing.T) connectortest.Target {
			tokens := startTokenServer(t, full.token, 3600)
			return newTarget(t, full, tokens.settings(t))
		})
	})
	t.Run("scim-bridge", func(t *testing.T) {
		connectortest.Run(t, func(t *testing.T) connectortest.Target {
			return newTarget(t, bridge, tokenSettings(t, bridge))
		})
	})
}

// TestBulkSplitsByPayload sends a bulk request larger than the far side's
// advertised maxPayloadSize: it must go as several requests that each fit,
// and every operation must take effect.
func TestBulkSplitsByPayload(t *testing.T) {
	const limit = 4096
	fs := scimBridge(t, fmt.Sprintf("scim:\n  max_payload_bytes: %d\n", limit))
	var requests, largest atomic.Int64
	s := tokenSettings(t, fs)
	s.BaseURL = startProxy(t, fs.url, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/Bulk") {
				requests.Add(1)
				if r.ContentLength > largest.Load() {
					largest.Store(r.ContentLength)
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	c, err := scimclient.New(s)
	require.NoError(t, err)

	ctx := context.Background()
	var ops []connector.Operation
	for i := range 30 {
		ops = append(ops, connector.Operation{Kind: connector.OpCreate, Fields: record(
			connectortest.Person{UserName: fmt.Sprintf("split%02d-%s", i, fs.token[:6]),
				Email: fmt.Sprintf("split%02d@example.test", i), GivenName: "Split",
				FamilyName: "Payload"})})
	}
	results, err := c.Bulk(ctx, ops)
	require.NoError(t, err)
	for i, res := range results {
		require.NoError(t, res.Err, "operation %d", i)
		_, err := inspect(ctx, fs, res.ID)
		require.NoError(t, err, "account of operation %d", i)
	}
	require.Greater(t, requests.Load(), int64(1), "bulk requests for 30 creates")
	require.LessOrEqual(t, largest.Load(), int64(limit), "largest bulk request body")
}

// newTarget builds a connector to fs through a fresh fault proxy; s is
// completed with the proxy's URL.
func newTarget(t *testing.T, fs farSide, s scimclient.Settings) connectortest.Target {
	t.Helper()
	faults := &connectortest.Faults{}
	s.BaseURL = startProxy(t, fs.url, faults.Wrap)
	c, err := scimclient.New(s)
	require.NoError(t, err, "new client")
	return connectortest.Target{
		Connector: c,
		Record:    record,
		Inspect: func(ctx context.Context, id string) (connectortest.Account, error) {
			return inspect(ctx, fs, id)
		},
		Unique: true,
		Faults: faults,
	}
}

// startProxy puts a reverse proxy to the service root base behind wrap and
// returns the service root as seen through it.
func startProxy(t *testing.T, base string, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	root := &url.URL{Scheme: u.Scheme, Host: u.Host}
	proxy := httptest.NewServer(wrap(httputil.NewSingleHostReverseProxy(root)))
	t.Cleanup(proxy.Close)
	return proxy.URL + u.Path
}

// tokenSettings authenticate with fs's static bearer token, read from an
// environment variable as in production.
func tokenSettings(t *testing.T, fs farSide) scimclient.Settings {
	t.Helper()
	env := "SCIMCLIENT_TEST_TOKEN_" + strings.ToUpper(fs.token[:8])
	t.Setenv(env, fs.token)
	return scimclient.Settings{BaseURL: fs.url, Token: connector.Secret{Env: env}}
}

// record maps a suite person to the scim catalog's field names.
func record(p connectortest.Person) connector.Fields {
	f := connector.Fields{
		"userName":                     p.UserName,
		`emails[type eq "work"].value`: p.Email,
		"name.givenName":               p.GivenName,
		"name.familyName":              p.FamilyName,
		"displayName":                  p.GivenName + " " + p.FamilyName,
		"title":                        nil,
		enterprise + ":department":     "Research",
	}
	if p.Title != "" {
		f["title"] = p.Title
	}
	return f
}

// inspect reads a user straight from the far side and flattens it into field
// names, independently of the client's own encoding.
func inspect(ctx context.Context, fs farSide, id string) (connectortest.Account, error) {
	status, body, err := fs.get(ctx, "/Users/"+url.PathEscape(id))
	switch {
	case err != nil:
		return connectortest.Account{}, err
	case status == http.StatusNotFound:
		return connectortest.Account{}, fmt.Errorf("user %s: %w", id, connector.ErrNotFound)
	case status != http.StatusOK:
		return connectortest.Account{}, fmt.Errorf("user %s: status %d: %s", id, status, body)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return connectortest.Account{}, err
	}
	return connectortest.Account{Fields: flatten(doc), Active: doc["active"] == true}, nil
}

// flatten turns a User document into attribute paths: name.givenName,
// emails[type eq "work"].value, urn:...:User:department.
func flatten(doc map[string]any) connector.Fields {
	out := connector.Fields{}
	for k, v := range doc {
		switch {
		case k == "schemas" || k == "id" || k == "meta":
		case strings.HasPrefix(k, "urn:"):
			ext, _ := v.(map[string]any)
			for name, ev := range ext {
				flattenAttr(out, k+":"+name, ev)
			}
		default:
			flattenAttr(out, k, v)
		}
	}
	return out
}

func flattenAttr(out connector.Fields, name string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for sub, sv := range v {
			out[name+"."+sub] = sv
		}
	case []any:
		for _, e := range v {
			entry, _ := e.(map[string]any)
			typ, _ := entry["type"].(string)
			for sub, sv := range entry {
				if sub != "type" {
					out[fmt.Sprintf("%s[type eq %q].%s", name, typ, sub)] = sv
				}
			}
		}
	default:
		out[name] = v
	}
}
