package redisstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		addrs   []string
		db      int
		user    string
		pass    string
		master  string
		cluster bool
		tls     bool
	}{
		{url: "redis://localhost", addrs: []string{"localhost:6379"}},
		{url: "redis://:s3cret@10.0.0.5:6380/2", addrs: []string{"10.0.0.5:6380"}, db: 2, pass: "s3cret"},
		{url: "rediss://app:p%40ss@cache.example.com/1", addrs: []string{"cache.example.com:6379"},
			db: 1, user: "app", pass: "p@ss", tls: true},
		{url: "redis://[::1]:7000", addrs: []string{"[::1]:7000"}},
		{url: "redis+sentinel://s1,s2:5000/3?master=main", addrs: []string{"s1:26379", "s2:5000"},
			db: 3, master: "main"},
		{url: "rediss+sentinel://u:p@s1:26379?master=m", addrs: []string{"s1:26379"},
			user: "u", pass: "p", master: "m", tls: true},
		{url: "redis+cluster://n1:7000,n2:7001,[::1]:7002",
			addrs: []string{"n1:7000", "n2:7001", "[::1]:7002"}, cluster: true},
		{url: "redis+cluster://n1", addrs: []string{"n1:6379"}, cluster: true},
		{url: "rediss+cluster://u:p@n1:7000,n2:7000/0", addrs: []string{"n1:7000", "n2:7000"},
			user: "u", pass: "p", cluster: true, tls: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ParseURL(tt.url)
			require.NoError(t, err)
			require.Equal(t, tt.addrs, got.Addrs)
			require.Equal(t, tt.db, got.DB)
			require.Equal(t, tt.user, got.Username)
			require.Equal(t, tt.pass, got.Password)
			require.Equal(t, tt.master, got.MasterName)
			require.Equal(t, tt.cluster, got.IsClusterMode)
			require.Equal(t, tt.tls, got.TLSConfig != nil)
			require.True(t, got.ContextTimeoutEnabled)
		})
	}
}

func TestParseURLOptions(t *testing.T) {
	got, err := ParseURL("redis+sentinel://s1?master=m&pool_size=64&dial_timeout=2s" +
		"&read_timeout=500ms&write_timeout=1s&max_retries=1&client_name=bridge" +
		"&sentinel_username=su&sentinel_password=sp")
	require.NoError(t, err)
	require.Equal(t, 64, got.PoolSize)
	require.Equal(t, 2*time.Second, got.DialTimeout)
	require.Equal(t, 500*time.Millisecond, got.ReadTimeout)
	require.Equal(t, time.Second, got.WriteTimeout)
	require.Equal(t, 1, got.MaxRetries)
	require.Equal(t, "bridge", got.ClientName)
	require.Equal(t, "su", got.SentinelUsername)
	require.Equal(t, "sp", got.SentinelPassword)
}

func TestParseURLRejects(t *testing.T) {
	tests := []struct{ url, want string }{
		{"localhost:6379", "no scheme"},
		{"http://localhost", "unknown scheme"},
		{"redis://a:1,b:2", "takes one host"},
		{"redis://localhost/x", "not a number"},
		{"redis+cluster://a,b/3", "only database 0"},
		{"redis+sentinel://a,b", "needs ?master=NAME"},
		{"redis://localhost?pool_size=0", "not a positive number"},
		{"redis://localhost?read_timeout=soon", "not a positive duration"},
		{"redis://localhost?poolsize=8", `unknown option "poolsize"`},
		{"redis://localhost?master=m", `unknown option "master"`},
		{"redis://a:99999", "want host:port"},
		{"redis+cluster://a:1,,b:2", "empty host"},
		{"redis://user:hunter2@host:1/%zz", "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := ParseURL(tt.url)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "hunter2", "passwords stay out of errors")
		})
	}
}
