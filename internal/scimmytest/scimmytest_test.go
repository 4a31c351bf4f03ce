package scimmytest_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/internal/scimmytest"
)

// TestServer checks the behaviour the connector tests rely on: bearer
// authentication, case-insensitive userName uniqueness and the advertised
// capabilities.
func TestServer(t *testing.T) {
	srv := scimmytest.Start(t, scimmytest.Options{NoPatch: true, BulkMaxOperations: 7})

	post := func(token, body string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/Users", bytes.NewBufferString(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Ada"}`
	userUpper := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ADA"}`

	tests := []struct {
		name   string
		token  string
		body   string
		status int
	}{
		{"wrong token", "wrong", user, http.StatusUnauthorized},
		{"create", srv.Token, user, http.StatusCreated},
		{"same userName in other case", srv.Token, userUpper, http.StatusConflict},
		{"no userName", srv.Token, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`,
			http.StatusBadRequest},
	}
	for _, tt := range tests {
		got := post(tt.token, tt.body)
		require.Equal(t, tt.status, got, "%s: got status %d, want %d", tt.name, got, tt.status)
	}

	status, body, err := srv.Get(t.Context(), "/ServiceProviderConfig")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), `"patch":{"supported":false}`)
	require.Contains(t, string(body), `"maxOperations":7`)
}
