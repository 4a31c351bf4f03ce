package scim_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGarbageNeverServerError throws malformed and mistyped requests at
// every endpoint: whatever a client sends, the answer is a client error (or
// a success), never a 500, and the server keeps serving. The inputs are
// derived from valid requests with a fixed seed, so a failure reproduces.
func TestGarbageNeverServerError(t *testing.T) {
	h := newHarness(t)
	uid := h.createUser(t, bjensen())
	gid := h.createGroup(t, "Garbage", uid)
	rng := rand.New(rand.NewPCG(7, 11))

	seeds := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/Users", bjensen()},
		{http.MethodPut, "/Users/" + uid, bjensen()},
		{http.MethodPatch, "/Users/" + uid, patchOp(
			op("replace", `emails[type eq "work"].value`, "x@example.com"),
			op("add", "", map[string]any{"name.givenName": "B", enterpriseSchema: map[string]any{
				"department": "D"}}),
			op("remove", "title", nil))},
		{http.MethodPost, "/Groups", map[string]any{"schemas": []string{groupSchema},
			"displayName": "G2", "members": []any{map[string]any{"value": uid}}}},
		{http.MethodPatch, "/Groups/" + gid, patchOp(
			op("Remove", "members", []any{map[string]any{"$ref": nil, "value": uid}}),
			op("add", "members", []any{map[string]any{"value": uid}}))},
		{http.MethodPost, "/Users/.search", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
			"filter":  `userName sw "b" and emails[type eq "work"]`, "sortBy": "name.givenName",
			"startIndex": 1, "count": 5, "attributes": []string{"userName"}}},
		{http.MethodPost, "/Bulk", bulkRequest(
			bulkOp("POST", "/Users", "x", newUser("bulkgarbage")),
			bulkOp("PATCH", "/Users/bulkId:x", "", patchOp(op("replace", "active", "False"))),
			bulkOp("POST", "/Groups", "g", map[string]any{"schemas": []string{groupSchema},
				"displayName": "BG", "members": []any{map[string]any{"value": "bulkId:x"}}}),
			bulkOp("DELETE", "/Users/bulkId:x", "", nil))},
	}
	for round := range 40 {
		for _, s := range seeds {
			raw, err := json.Marshal(s.body)
			require.NoError(t, err)
			body := mutate(rng, raw)
			r := h.do(t, s.method, s.path, body)
			require.Less(t, r.status, 500, "round %d %s %s with %s: %s", round, s.method, s.path,
				body, r.body)
			require.NotContains(t, string(r.body), "goroutine", "no stack trace in a response")
		}
	}

	queries := []string{
		`userName eq`, `(((`, `userName eq "a" and`, `emails[type eq "work"`, `not ()`,
		`meta.created gt "not a date"`, `active gt true`, `name pr and name eq "x"`,
		`urn:unknown:attr eq "x"`, `userName eq "` + strings.Repeat("x", 5000) + `"`,
		strings.Repeat("(", 500) + `userName pr` + strings.Repeat(")", 500),
		`emails[value co "@"].type eq "work"`, `groups[value eq "x"]`,
		`userName eq "\ud800"`, `title eq 1e999`, `userName eq 'single'`,
	}
	for _, q := range queries {
		for _, extra := range []string{"", "&sortBy=emails", "&sortBy=name", "&count=-5&startIndex=-9",
			"&attributes=emails[type,,", "&excludedAttributes=urn:x:y", "&sortOrder=sideways"} {
			r := h.do(t, http.MethodGet, "/Users?filter="+url.QueryEscape(q)+extra, nil)
			require.Less(t, r.status, 500, "filter %q%s: %s", q, extra, r.body)
		}
	}
	for _, p := range []string{"/Users/%00", "/Users/" + strings.Repeat("a", 3000), "/Groups/..%2f",
		"/Schemas/urn:nope", "/ResourceTypes/Nope", "/Bulk/x", "/Users/.search/x"} {
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			r := h.do(t, m, p, `{"schemas":[]}`)
			require.Less(t, r.status, 500, "%s %s: %s", m, p, r.body)
		}
	}
	mustStatus(t, h.do(t, http.MethodGet, "/Users/"+uid, nil), http.StatusOK)
}

// mutate damages a JSON document in one of several ways.
func mutate(rng *rand.Rand, raw []byte) []byte {
	switch rng.IntN(6) {
	case 0: // truncate
		return raw[:rng.IntN(len(raw))]
	case 1: // flip a few bytes
		out := append([]byte(nil), raw...)
		for range 1 + rng.IntN(4) {
			out[rng.IntN(len(out))] = byte(rng.IntN(256))
		}
		return out
	default: // swap JSON values for values of other types
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return raw
		}
		out, _ := json.Marshal(scramble(rng, v, 0))
		return out
	}
}

func scramble(rng *rand.Rand, v any, depth int) any {
	if rng.IntN(5) == 0 {
		odd := []any{nil, true, 42.5, -1.0, "", "True", strings.Repeat("z", 300),
			[]any{}, []any{1.0, "x", nil}, map[string]any{}, map[string]any{"value": []any{}},
			"bulkId:nowhere", `emails[type eq "x"]`}
		return odd[rng.IntN(len(odd))]
	}
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if rng.IntN(8) == 0 {
				k = strings.ToUpper(k)
			}
			out[k] = scramble(rng, e, depth+1)
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			out = append(out, scramble(rng, e, depth+1))
		}
		return out
	}
	return v
}
