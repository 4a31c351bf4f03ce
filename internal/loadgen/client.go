package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client sends the SCIM requests the bench command measures. It is safe
// for concurrent use and keeps up to conns connections open.
type Client struct {
	base  string // the SCIM root, such as http://127.0.0.1:8080/scim/v2
	token string
	http  *http.Client
}

// NewClient returns a client of the SCIM endpoint at base (its /scim/v2
// root; a server URL without that path gets it appended).
func NewClient(base, token string, conns int) *Client {
	base = strings.TrimRight(base, "/")
	if !strings.HasSuffix(base, "/scim/v2") {
		base += "/scim/v2"
	}
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
	}
	return &Client{base: base, token: token, http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// Close releases the idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// UserBody is the user the bench creates: the attributes an identity
// provider typically sends, about 600 bytes of JSON.
func UserBody(userName string) map[string]any {
	return map[string]any{
		"schemas": []string{
			"urn:ietf:params:scim:schemas:core:2.0:User",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
		},
		"userName":    userName,
		"externalId":  "ext-" + userName,
		"active":      true,
		"displayName": "Load Test " + userName,
		"name":        map[string]any{"givenName": "Load", "familyName": userName},
		"emails": []any{map[string]any{
			"value": userName + "@bench.example", "type": "work", "primary": true,
		}},
		"title": "Engineer",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"department": "Benchmarks", "employeeNumber": userName,
		},
	}
}

// CreateUser posts a user and returns its id.
func (c *Client) CreateUser(ctx context.Context, userName string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := c.call(ctx, http.MethodPost, "/Users", UserBody(userName), http.StatusCreated, &out)
	return out.ID, err
}

// GetUser reads a user by id.
func (c *Client) GetUser(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodGet, "/Users/"+id, nil, http.StatusOK, nil)
}

// FindUser looks a user up with a userName eq filter and returns its id;
// it fails unless exactly one user matches.
func (c *Client) FindUser(ctx context.Context, userName string) (string, error) {
	var out struct {
		TotalResults int `json:"totalResults"`
		Resources    []struct {
			ID string `json:"id"`
		} `json:"Resources"`
	}
	q := url.QueryEscape(`userName eq "` + userName + `"`)
	if err := c.call(ctx, http.MethodGet, "/Users?filter="+q, nil, http.StatusOK, &out); err != nil {
		return "", err
	}
	if out.TotalResults != 1 || len(out.Resources) != 1 {
		return "", fmt.Errorf("find %s: %d results", userName, out.TotalResults)
	}
	return out.Resources[0].ID, nil
}

// PatchUser replaces a user's title.
func (c *Client) PatchUser(ctx context.Context, id, title string) error {
	body := map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": title}},
	}
	return c.call(ctx, http.MethodPatch, "/Users/"+id, body, http.StatusOK, nil)
}

// SeedUsers creates users prefix0 .. prefix(n-1) through Bulk requests of
// up to perRequest operations and returns their ids in order.
func (c *Client) SeedUsers(ctx context.Context, prefix string, n, perRequest int) (
	[]string, error) {
	ids := make([]string, 0, n)
	for start := 0; start < n; start += perRequest {
		var ops []any
		for i := start; i < min(start+perRequest, n); i++ {
			ops = append(ops, map[string]any{
				"method": "POST", "path": "/Users", "bulkId": strconv.Itoa(i),
				"data": UserBody(prefix + strconv.Itoa(i)),
			})
		}
		var out struct {
			Operations []struct {
				Location string `json:"location"`
				Status   string `json:"status"`
			} `json:"Operations"`
		}
		req := map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"},
			"Operations": ops,
		}
		if err := c.call(ctx, http.MethodPost, "/Bulk", req, http.StatusOK, &out); err != nil {
			return ids, err
		}
		for _, o := range out.Operations {
			if o.Status != "201" {
				return ids, fmt.Errorf("seed: a bulk create answered %s", o.Status)
			}
			ids = append(ids, o.Location[strings.LastIndex(o.Location, "/")+1:])
		}
	}
	return ids, nil
}

// errStatus reports an unexpected response.
type errStatus struct {
	method, path string
	status       int
	body         string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.method, e.path, e.status, e.body)
}

func (c *Client) call(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != want {
		if len(raw) > 200 {
			raw = raw[:200]
		}
		return &errStatus{method: method, path: path, status: resp.StatusCode, body: string(raw)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return errors.Join(fmt.Errorf("decode %s %s", method, path), err)
	}
	return nil
}
