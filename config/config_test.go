package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bridge.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load("", env(nil))
	require.NoError(t, err)
	require.Equal(t, DefaultAddr, c.Addr)
	require.Equal(t, DefaultStore, c.Store)
	require.Equal(t, DefaultOrganization, c.Organization)
	require.Equal(t, "info", c.Log.Level)
	require.Equal(t, DefaultMaxBulkOperations, c.SCIM.MaxBulkOperations)
	require.Equal(t, DefaultShutdownTimeout, c.ShutdownTimeout)
}

func TestEnvironmentOverridesFile(t *testing.T) {
	p := writeFile(t, `
addr: 0.0.0.0:9000
store: bolt:/var/lib/bridge.db
scim:
  tokens: [from-file]
apps:
  - name: crm
    catalog: zoho-crm
    provisioning: true
    scope: {groups: [Sales]}
`)
	c, err := Load(p, env(map[string]string{
		"BRIDGE_STORE":            "redis://:pw@127.0.0.1:6380/2",
		"BRIDGE_SCIM_TOKENS":      " a , b ,",
		"BRIDGE_ADMIN_JWT_SECRET": "s3cret",
		"BRIDGE_SHUTDOWN_TIMEOUT": "5s",
	}))
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9000", c.Addr, "file value kept when the environment is silent")
	require.Equal(t, "redis://:pw@127.0.0.1:6380/2", c.Store)
	require.Equal(t, []string{"from-file", "a", "b"}, c.SCIM.Tokens)
	require.Len(t, c.Admin.JWT, 1)
	require.Equal(t, "HS256", c.Admin.JWT[0].Algorithm)
	require.Equal(t, 5*time.Second, c.ShutdownTimeout)
	require.Len(t, c.Apps, 1)
	require.Equal(t, "deactivate", c.Apps[0].Deprovision, "default deprovisioning policy")
	require.Equal(t, []string{"Sales"}, c.Apps[0].Scope.Groups)
}

func TestLoadRejects(t *testing.T) {
	cases := []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"unknown key", "adress: x\n", nil, "adress"},
		{"bad store", "", map[string]string{"BRIDGE_STORE": "postgres://x"}, "neither bolt:PATH nor a redis URL"},
		{"redis without scheme", "", map[string]string{"BRIDGE_STORE": "redis:6379"}, "neither bolt:PATH"},
		{"empty bolt path", "store: 'bolt:'\n", nil, "needs a file path"},
		{"bad level", "log: {level: loud}\n", nil, "log.level"},
		{"bad duration", "", map[string]string{"BRIDGE_SHUTDOWN_TIMEOUT": "soon"}, "BRIDGE_SHUTDOWN_TIMEOUT"},
		{"jwt without key", "admin: {jwt: [{algorithm: RS256}]}\n", nil, "needs key_file"},
		{"public key without audience", "scim: {jwt: [{algorithm: RS256, key_file: k.pem}]}\n", nil,
			"RS256 needs audience"},
		{"jwt none", "scim: {jwt: [{algorithm: none, secret: x}]}\n", nil, `"none" is not`},
		{"app without name", "apps: [{catalog: scim}]\n", nil, "name is required"},
		{"duplicate app", "apps: [{name: a, catalog: scim}, {name: a, catalog: scim}]\n", nil, "duplicate app name"},
		{"bad policy", "apps: [{name: a, catalog: scim, deprovision: archive}]\n", nil, "deprovision"},
		{"negative sync duration", "sync: {lease_ttl: -1s}\n", nil, "sync: durations"},
		{"sync backoff inverted", "sync: {backoff_base: 1m, backoff_max: 1s}\n", nil, "backoff_base"},
		{"sync bad duration", "sync: {poll_interval: often}\n", nil, "into time.Duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := ""
			if tc.file != "" {
				p = writeFile(t, tc.file)
			}
			_, err := Load(p, env(tc.env))
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), tc.want), "got %q, want it to mention %q", err, tc.want)
		})
	}
}

func TestEnvironmentKeysAndMetricsTokens(t *testing.T) {
	c, err := Load("", env(map[string]string{
		"BRIDGE_SCIM_JWT_SECRET":    "scim-secret",
		"BRIDGE_SCIM_JWT_ISSUER":    "https://idp.example",
		"BRIDGE_SCIM_JWT_AUDIENCE":  "scim-bridge",
		"BRIDGE_ADMIN_JWT_SECRET":   "admin-secret",
		"BRIDGE_ADMIN_JWT_AUDIENCE": "scim-bridge-admin",
		"BRIDGE_METRICS_TOKENS":     " scrape-1, ,scrape-2",
	}))
	require.NoError(t, err)
	require.Equal(t, []JWTKey{{ID: "env", Algorithm: "HS256", Secret: "scim-secret",
		Issuer: "https://idp.example", Audience: "scim-bridge"}}, c.SCIM.JWT)
	require.Equal(t, []JWTKey{{ID: "env", Algorithm: "HS256", Secret: "admin-secret",
		Audience: "scim-bridge-admin"}}, c.Admin.JWT)
	require.Equal(t, []string{"scrape-1", "scrape-2"}, c.Metrics.Tokens)
}

func TestSyncTuning(t *testing.T) {
	c, err := Load(writeFile(t, `
sync:
  lease_ttl: 4s
  call_timeout: 1s
  poll_interval: 200ms
  claim_idle: 3s
  max_attempts: 25
  backoff_base: 50ms
  backoff_max: 2s
`), env(nil))
	require.NoError(t, err)
	require.Equal(t, Sync{
		LeaseTTL: 4 * time.Second, CallTimeout: time.Second, PollInterval: 200 * time.Millisecond,
		ClaimIdle: 3 * time.Second, MaxAttempts: 25, BackoffBase: 50 * time.Millisecond,
		BackoffMax: 2 * time.Second,
	}, c.Sync)
}

func TestEmptyFileIsEmptyConfig(t *testing.T) {
	c, err := Load(writeFile(t, ""), env(nil))
	require.NoError(t, err)
	require.Equal(t, DefaultAddr, c.Addr)
}

func TestParseStore(t *testing.T) {
	cases := []struct {
		in     string
		kind   StoreKind
		target string
	}{
		{"bolt:./data/bridge.db", StoreBolt, "./data/bridge.db"},
		{"redis://localhost:6379/0", StoreRedis, "redis://localhost:6379/0"},
		{"rediss://u:p@h:6380", StoreRedis, "rediss://u:p@h:6380"},
		{"redis+sentinel://h1:26379,h2:26379/0?master=m", StoreRedis, "redis+sentinel://h1:26379,h2:26379/0?master=m"},
		{"redis+cluster://h1:7000,h2:7001", StoreRedis, "redis+cluster://h1:7000,h2:7001"},
		{"rediss+cluster://h1:7000", StoreRedis, "rediss+cluster://h1:7000"},
		{"rediss+sentinel://h1/0?master=m", StoreRedis, "rediss+sentinel://h1/0?master=m"},
	}
	for _, tc := range cases {
		kind, target, err := ParseStore(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.kind, kind, tc.in)
		require.Equal(t, tc.target, target, tc.in)
	}
}
