package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/bridgetest"
)

// TestSIGTERMFinishesInFlightRequest sends SIGTERM while a large SCIM
// Bulk request is in flight: the bridge must answer it in full before it
// exits cleanly, and the users it created must be there after a restart.
// The request body is streamed in two halves with the signal in between.
// The request asks for 100-continue, which the bridge sends once its
// handler reads the body, and the client only then takes the first half:
// so the request is certainly in the handler when the signal arrives.
func TestSIGTERMFinishesInFlightRequest(t *testing.T) {
	const n = 1000
	p := bridgetest.Start(t, bridgetest.Options{})
	body := bulkCreateBody(t, "term", n)

	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, p.URL+"/scim/v2/Bulk", pr)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+p.SCIMToken)
	req.Header.Set("Content-Type", "application/scim+json")
	req.Header.Set("Expect", "100-continue")
	req.ContentLength = int64(len(body))
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	t.Cleanup(client.CloseIdleConnections)
	type answer struct {
		resp *http.Response
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := client.Do(req)
		answered <- answer{resp, err}
	}()

	half := len(body) / 2
	// The write returns once the client took it, after the 100-continue.
	_, err = pw.Write(body[:half])
	require.NoError(t, err, "first half of the body")
	p.Terminate()
	await(t, 30*time.Second, func() bool { return strings.Contains(p.Logs(), "shutting down") },
		func() string { return "the bridge to begin its shutdown" })
	require.True(t, p.Running(), "the bridge waits for the request in flight:\n%s", p.Logs())
	_, err = pw.Write(body[half:])
	require.NoError(t, err, "second half of the body")
	require.NoError(t, pw.Close())

	a := <-answered
	require.NoError(t, a.err, "the request in flight is answered")
	defer a.resp.Body.Close()
	raw, err := io.ReadAll(a.resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, a.resp.StatusCode, "%s", raw)
	var out struct {
		Operations []struct{ Status string }
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	require.Len(t, out.Operations, n)
	for i, op := range out.Operations {
		require.Equal(t, "201", op.Status, "operation %d", i)
	}
	p.Wait(30 * time.Second)

	p.Restart()
	var list struct {
		TotalResults int `json:"totalResults"`
	}
	filter := `?filter=userName%20sw%20%22term%22&count=0`
	send(t, p, http.MethodGet, "/scim/v2/Users"+filter, p.SCIMToken, nil, http.StatusOK, &list)
	require.Equal(t, n, list.TotalResults, "users created by the request after the restart")
}

// bulkCreateBody is a SCIM Bulk request creating n users prefix00000...
func bulkCreateBody(t *testing.T, prefix string, n int) []byte {
	t.Helper()
	ops := make([]map[string]any, 0, n)
	for i := range n {
		name := fmt.Sprintf("%s%05d@example.com", prefix, i)
		ops = append(ops, map[string]any{
			"method": "POST", "path": "/Users", "bulkId": fmt.Sprint(i),
			"data": map[string]any{
				"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName": name,
				"emails":   []any{map[string]any{"value": name, "primary": true}},
			},
		})
	}
	body, err := json.Marshal(map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"},
		"Operations": ops,
	})
	require.NoError(t, err)
	return body
}
