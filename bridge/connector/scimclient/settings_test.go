package scimclient_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
	"github.com/scim-bridge/scim-bridge/bridge/connector/scimclient"
)

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name    string
		block   map[string]any
		want    scimclient.Settings
		wantErr string
	}{
		{"token", map[string]any{
			"kind": "scim", "base_url": "https://app.test/scim/v2",
			"token": map[string]any{"env": "APP_TOKEN"}, "max_bulk_operations": 100,
		}, scimclient.Settings{BaseURL: "https://app.test/scim/v2",
			Token:   connector.Secret{Env: "APP_TOKEN"},
			Timeout: scimclient.DefaultTimeout, MaxBulkOperations: 100}, ""},
		{"oauth", map[string]any{
			"base_url": "https://app.test/scim/v2", "timeout": "5s",
			"oauth": map[string]any{
				"token_url": "https://login.test/token", "client_id": "bridge",
				"client_secret": map[string]any{"file": "/run/secrets/s"},
				"scopes":        []any{"scim"}, "params": map[string]any{"audience": "app"},
			},
		}, scimclient.Settings{BaseURL: "https://app.test/scim/v2", Timeout: 5 * time.Second,
			OAuth: &scimclient.OAuth{TokenURL: "https://login.test/token", ClientID: "bridge",
				ClientSecret: connector.Secret{File: "/run/secrets/s"}, Scopes: []string{"scim"},
				Params: map[string]string{"audience": "app"}}}, ""},
		{"no base url", map[string]any{"token": map[string]any{"env": "T"}}, scimclient.Settings{},
			"base_url is required"},
		{"relative base url", map[string]any{"base_url": "/scim", "token": map[string]any{"env": "T"}},
			scimclient.Settings{}, "absolute"},
		{"no credentials", map[string]any{"base_url": "https://a.test"}, scimclient.Settings{},
			"set token or oauth"},
		{"both credentials", map[string]any{"base_url": "https://a.test",
			"token": map[string]any{"env": "T"}, "oauth": map[string]any{"token_url": "https://l"}},
			scimclient.Settings{}, "not both"},
		{"oauth incomplete", map[string]any{"base_url": "https://a.test",
			"oauth": map[string]any{"token_url": "https://l"}}, scimclient.Settings{}, "client_id"},
		{"inline token", map[string]any{"base_url": "https://a.test", "token": "hunter2"},
			scimclient.Settings{}, "never the credential"},
		{"typo", map[string]any{"base_url": "https://a.test", "token": map[string]any{"env": "T"},
			"timout": "5s"}, scimclient.Settings{}, "timout"},
		{"bad bulk cap", map[string]any{"base_url": "https://a.test", "token": map[string]any{"env": "T"},
			"max_bulk_operations": -2}, scimclient.Settings{}, "max_bulk_operations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scimclient.ParseSettings(tt.block)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "hunter2", "the error shows the inline token")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "settings: got %+v, want %+v", got, tt.want)
		})
	}
}

func TestNewReadsCredentials(t *testing.T) {
	_, err := scimclient.New(scimclient.Settings{BaseURL: "https://a.test",
		Token: connector.Secret{Env: "SCIMCLIENT_TEST_UNSET_TOKEN"}})
	require.ErrorContains(t, err, "SCIMCLIENT_TEST_UNSET_TOKEN")
}

func TestFactory(t *testing.T) {
	t.Setenv("SCIMCLIENT_FACTORY_TOKEN", "t")
	build := scimclient.Factory()

	c, err := build(map[string]any{"kind": "scim", "base_url": "https://a.test/scim/v2",
		"token": map[string]any{"env": "SCIMCLIENT_FACTORY_TOKEN"}})
	require.NoError(t, err)
	_, ok := c.(connector.Bulker)
	require.True(t, ok, "a scim connector: got no connector.Bulker")

	c, err = build(map[string]any{"kind": "scim", "base_url": "https://a.test/scim/v2",
		"token": map[string]any{"env": "SCIMCLIENT_FACTORY_UNSET"}})
	require.Error(t, err)
	require.Nil(t, c, "on error: got connector %#v, want a nil interface", c)
}
