package webhook_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook"
)

func TestParseSettings(t *testing.T) {
	secret := map[string]any{"env": "HOOK_SECRET"}
	tests := []struct {
		name    string
		block   map[string]any
		want    webhook.Settings
		wantErr string
	}{
		{"one url", map[string]any{"kind": "webhook", "url": "https://h.test/in", "secret": secret},
			webhook.Settings{URL: "https://h.test/in", Secret: connector.Secret{Env: "HOOK_SECRET"},
				Timeout: webhook.DefaultTimeout}, ""},
		{"per operation", map[string]any{"secret": secret, "timeout": "3s", "operations": map[string]any{
			"create":     map[string]any{"url": "https://h.test/users"},
			"lookup":     map[string]any{"url": "https://h.test/lookup"},
			"update":     map[string]any{"url": "https://h.test/users/{id}", "method": "put"},
			"deactivate": map[string]any{"url": "https://h.test/users/{id}/off"},
			"delete":     map[string]any{"url": "https://h.test/users/{id}", "method": "DELETE"},
		}}, webhook.Settings{Secret: connector.Secret{Env: "HOOK_SECRET"}, Timeout: 3 * time.Second,
			Operations: map[string]webhook.Endpoint{
				"create":     {URL: "https://h.test/users"},
				"lookup":     {URL: "https://h.test/lookup"},
				"update":     {URL: "https://h.test/users/{id}", Method: "put"},
				"deactivate": {URL: "https://h.test/users/{id}/off"},
				"delete":     {URL: "https://h.test/users/{id}", Method: "DELETE"},
			}}, ""},
		{"no secret", map[string]any{"url": "https://h.test"}, webhook.Settings{}, "secret is required"},
		{"operation without url", map[string]any{"secret": secret, "operations": map[string]any{
			"create": map[string]any{"url": "https://h.test"}}}, webhook.Settings{}, "update: no url"},
		{"unknown operation", map[string]any{"url": "https://h.test", "secret": secret,
			"operations": map[string]any{"remove": map[string]any{"url": "https://h.test"}}},
			webhook.Settings{}, `unknown operation "remove"`},
		{"id in create url", map[string]any{"url": "https://h.test", "secret": secret,
			"operations": map[string]any{"create": map[string]any{"url": "https://h.test/{id}"}}},
			webhook.Settings{}, "no account id"},
		{"get method", map[string]any{"url": "https://h.test", "secret": secret,
			"operations": map[string]any{"lookup": map[string]any{"method": "GET"}}},
			webhook.Settings{}, `method "GET"`},
		{"relative url", map[string]any{"url": "/in", "secret": secret}, webhook.Settings{}, "absolute"},
		{"inline secret", map[string]any{"url": "https://h.test", "secret": "hunter2"},
			webhook.Settings{}, "never the credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := webhook.ParseSettings(tt.block)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "hunter2", "the error shows the inline secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "settings: got %+v, want %+v", got, tt.want)
		})
	}
}

func TestFactory(t *testing.T) {
	t.Setenv("WEBHOOK_FACTORY_SECRET", "s")
	build := webhook.Factory()

	c, err := build(map[string]any{"kind": "webhook", "url": "https://h.test",
		"secret": map[string]any{"env": "WEBHOOK_FACTORY_SECRET"}})
	require.NoError(t, err)
	require.NotNil(t, c)

	c, err = build(map[string]any{"kind": "webhook", "url": "https://h.test"})
	require.Error(t, err)
	require.Nil(t, c, "on error: got connector %#v, want a nil interface", c)
}
