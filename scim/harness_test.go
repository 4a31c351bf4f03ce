package scim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/auth"
	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
)

// testToken is the bearer secret every harness accepts.
const testToken = "harness-bearer-secret-0123456789"

const (
	userSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	bulkSchema       = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
)

// harness is a SCIM server on a real embedded store in a temporary file,
// served over real HTTP.
type harness struct {
	t     *testing.T
	srv   *httptest.Server
	store *boltstore.Store
	base  string // the server's URL plus /scim/v2
}

func newHarness(t testing.TB, mods ...func(*scim.Config)) *harness {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "bridge.db"), boltstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })

	v, err := auth.New(auth.Config{SecretHashes: []string{auth.HashSecret(testToken)}})
	require.NoError(t, err)
	cfg := scim.Config{
		Store:  store,
		Auth:   v,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := scim.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	tt, _ := t.(*testing.T)
	return &harness{t: tt, srv: srv, store: store, base: srv.URL + scim.Prefix}
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes the body as a JSON object.
func (r *response) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// do sends a request with the harness's token. body is sent as is when it
// is a string, else as JSON; headers are name, value pairs.
func (h *harness) do(t testing.TB, method, path string, body any, headers ...string) *response {
	t.Helper()
	return h.send(t, method, path, body, append([]string{"Authorization", "Bearer " + testToken},
		headers...)...)
}

// send is do without credentials.
func (h *harness) send(t testing.TB, method, path string, body any, headers ...string) *response {
	t.Helper()
	r, err := h.roundTrip(method, path, body, headers...)
	require.NoError(t, err)
	return r
}

// fetch is do for goroutines other than the test's own, where require
// must not be called: a failed round trip is reported with t.Errorf, which
// is safe there, and fetch returns nil.
func (h *harness) fetch(t testing.TB, method, path string, body any) *response {
	r, err := h.roundTrip(method, path, body, "Authorization", "Bearer "+testToken)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return nil
	}
	return r
}

// roundTrip sends one request; body is sent as is when it is a string or
// bytes, else as JSON; headers are name, value pairs.
func (h *harness) roundTrip(method, path string, body any, headers ...string) (*response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = h.base + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// mustStatus checks a response's status, showing the body on failure.
func mustStatus(t testing.TB, r *response, want int) {
	t.Helper()
	require.Equal(t, want, r.status, "status: got %d, want %d; body: %s", r.status, want, r.body)
}

// createUser posts a user and returns its id.
func (h *harness) createUser(t testing.TB, user map[string]any) string {
	t.Helper()
	if _, ok := user["schemas"]; !ok {
		user["schemas"] = []string{userSchema}
	}
	r := h.do(t, http.MethodPost, "/Users", user)
	mustStatus(t, r, http.StatusCreated)
	return r.obj(t)["id"].(string)
}

// createGroup posts a group with members and returns its id.
func (h *harness) createGroup(t testing.TB, name string, members ...string) string {
	t.Helper()
	list := []map[string]any{}
	for _, m := range members {
		list = append(list, map[string]any{"value": m})
	}
	r := h.do(t, http.MethodPost, "/Groups", map[string]any{
		"schemas": []string{groupSchema}, "displayName": name, "members": list,
	})
	mustStatus(t, r, http.StatusCreated)
	return r.obj(t)["id"].(string)
}

// patchOp builds a PatchOp message from op, path, value triples.
func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{patchSchema}, "Operations": ops}
}

func op(name, path string, value any) map[string]any {
	m := map[string]any{"op": name}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// stored reads a resource straight from the store.
func (h *harness) stored(t testing.TB, kind state.Kind, id string) state.Resource {
	t.Helper()
	res, err := h.store.Get(t.Context(), kind, id)
	require.NoError(t, err)
	return res
}

// path walks a decoded JSON value along object keys and list indexes.
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func withMaxResults(n int) func(*scim.Config) {
	return func(c *scim.Config) { c.MaxFilterResults = n }
}

// members reads a group's member ids straight from the store: its refs
// without the displayName index entry.
func (h *harness) members(t testing.TB, gid string) []string {
	t.Helper()
	var out []string
	for _, r := range h.stored(t, state.KindGroup, gid).Refs {
		if !strings.HasPrefix(r, "displayName:") {
			out = append(out, r)
		}
	}
	return out
}
