package connector_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

func TestSecretValue(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(file, []byte("  s3cret\n"), 0o600))
	blank := filepath.Join(dir, "blank")
	require.NoError(t, os.WriteFile(blank, []byte("\n"), 0o600))
	t.Setenv("CONNECTOR_TEST_SECRET", "from-env")
	t.Setenv("CONNECTOR_TEST_EMPTY", "")

	tests := []struct {
		name    string
		secret  connector.Secret
		want    string
		wantErr string
	}{
		{"env", connector.Secret{Env: "CONNECTOR_TEST_SECRET"}, "from-env", ""},
		{"file trimmed", connector.Secret{File: file}, "s3cret", ""},
		{"unset env", connector.Secret{Env: "CONNECTOR_TEST_UNSET_VARIABLE"}, "", "not set"},
		{"empty env", connector.Secret{Env: "CONNECTOR_TEST_EMPTY"}, "", "empty"},
		{"blank file", connector.Secret{File: blank}, "", "empty"},
		{"missing file", connector.Secret{File: filepath.Join(dir, "nope")}, "", "read file"},
		{"both", connector.Secret{Env: "CONNECTOR_TEST_SECRET", File: file}, "", "not both"},
		{"neither", connector.Secret{}, "", "no env or file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.secret.Value()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr, "got value %q", got)
				require.NotContains(t, err.Error(), "from-env", "the error shows a secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "value: got %q, want %q", got, tt.want)
		})
	}

	require.Equal(t, "env:CONNECTOR_TEST_SECRET",
		connector.Secret{Env: "CONNECTOR_TEST_SECRET"}.String(), "a secret prints where it lives")
}

// sample is a kind's settings, for DecodeSettings.
type sample struct {
	BaseURL string           `yaml:"base_url"`
	Token   connector.Secret `yaml:"token"`
	Timeout time.Duration    `yaml:"timeout"`
	Scopes  []string         `yaml:"scopes"`
}

func TestDecodeSettings(t *testing.T) {
	tests := []struct {
		name    string
		block   map[string]any
		want    sample
		wantErr string
	}{
		{"full", map[string]any{
			"kind": "scim", "base_url": "https://x/scim", "token": map[string]any{"env": "T"},
			"timeout": "1m30s", "scopes": []any{"a", "b"},
		}, sample{BaseURL: "https://x/scim", Token: connector.Secret{Env: "T"},
			Timeout: 90 * time.Second, Scopes: []string{"a", "b"}}, ""},
		{"empty", map[string]any{"kind": "scim"}, sample{}, ""},
		{"unknown key", map[string]any{"base_ulr": "https://x"}, sample{}, "base_ulr"},
		{"inline secret", map[string]any{"token": "abc123"}, sample{}, "never the credential itself"},
		{"unknown secret key", map[string]any{"token": map[string]any{"value": "abc"}}, sample{},
			"unknown secret key"},
		{"bad duration", map[string]any{"timeout": "soon"}, sample{}, "soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got sample
			err := connector.DecodeSettings(tt.block, &got)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "abc123", "the error shows the inline secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "settings: got %+v, want %+v", got, tt.want)
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"99999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Sunday, 01-Mar-26 12:00:30 GMT", 30 * time.Second},
		{"soon", 0},
	}
	for _, tt := range tests {
		got := connector.ParseRetryAfter(tt.value, now)
		require.Equal(t, tt.want, got, "retry after %q: got %v, want %v", tt.value, got, tt.want)
	}
}

func TestStatusError(t *testing.T) {
	withRetry := http.Header{"Retry-After": {"9"}}
	tests := []struct {
		status    int
		header    http.Header
		wantIs    error
		wantRetry bool
		wantAfter time.Duration
	}{
		{404, nil, connector.ErrNotFound, false, 0},
		{409, nil, connector.ErrConflict, false, 0},
		{400, withRetry, nil, false, 0},
		{401, nil, nil, false, 0},
		{408, nil, nil, true, 0},
		{429, withRetry, nil, true, 9 * time.Second},
		{500, nil, nil, true, 0},
		{501, withRetry, nil, false, 0},
		{503, withRetry, nil, true, 9 * time.Second},
		{504, nil, nil, true, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			err := connector.StatusError("update", tt.status, tt.header, "the detail", time.Now())
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
			retry, after := connector.Retryable(err)
			require.Equal(t, tt.wantRetry, retry, "retryable: got %v, want %v", retry, tt.wantRetry)
			require.Equal(t, tt.wantAfter, after, "retry after: got %v, want %v", after, tt.wantAfter)
			prefix := fmt.Sprintf("update: status %d: ", tt.status)
			require.True(t, strings.HasPrefix(err.Error(), prefix),
				"message: got %q, want %q...", err, prefix)
			require.Contains(t, err.Error(), "the detail")
		})
	}
}

func TestTransportError(t *testing.T) {
	cause := errors.New("connection refused")
	retry, _ := connector.Retryable(connector.TransportError(context.Background(), "create", cause))
	require.True(t, retry, "a refused connection: got permanent, want retryable")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := connector.TransportError(ctx, "create", cause)
	require.ErrorIs(t, err, context.Canceled)
	retry, _ = connector.Retryable(err)
	require.False(t, retry, "a canceled call: got retryable, want final")

	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err = connector.TransportError(ctx, "create", cause)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	retry, _ = connector.Retryable(err)
	require.True(t, retry, "a deadline: got final, want retryable")
}
