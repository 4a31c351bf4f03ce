package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ParseURL turns the URL of a Redis deployment into go-redis options.
//
//	redis://[user:password@]host[:port][/db]
//	    One server; port 6379 and database 0 unless given.
//	rediss://[user:password@]host[:port][/db]
//	    The same over TLS.
//	redis+sentinel://[user:password@]host1[:port1][,host2[:port2]...][/db]?master=NAME
//	    A master watched by Redis Sentinel. The hosts are sentinels (port
//	    26379 unless given) and master names the monitored master; user
//	    and password authenticate to the master, and the sentinel_username
//	    and sentinel_password options to the sentinels.
//	rediss+sentinel://...
//	    The same over TLS.
//	redis+cluster://[user:password@]host1[:port1][,host2[:port2]...]
//	    A Redis Cluster; the hosts are seed nodes (port 6379 unless given).
//	    A cluster has only database 0.
//	rediss+cluster://...
//	    The same over TLS.
//
// Options in the query, for every form: pool_size (connections per node),
// max_retries, client_name, and dial_timeout, read_timeout and
// write_timeout as Go durations ("3s", "500ms"). An unknown option is an
// error, so a typo does not pass unnoticed. User names and passwords with
// reserved characters must be percent-encoded.
func ParseURL(raw string) (*redis.UniversalOptions, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("redisstore: url %s: no scheme", redact(raw))
	}
	opts := &redis.UniversalOptions{ContextTimeoutEnabled: true}
	defaultPort := "6379"
	switch scheme {
	case "redis", "rediss":
	case "redis+sentinel", "rediss+sentinel":
		defaultPort = "26379"
	case "redis+cluster", "rediss+cluster":
		opts.IsClusterMode = true
	default:
		return nil, fmt.Errorf("redisstore: url %s: unknown scheme %q (want redis, rediss, "+
			"redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster)", redact(raw), scheme)
	}
	if strings.HasPrefix(scheme, "rediss") {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}

	// The host list is cut out before url.Parse, which accepts one host.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	hosts := authority
	userinfo := ""
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, hosts = authority[:at+1], authority[at+1:]
	}
	u, err := url.Parse("redis://" + userinfo + "placeholder" + tail)
	if err != nil {
		// url.Error repeats the URL, password included: keep only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("redisstore: url %s: %w", redact(raw), err)
	}
	if opts.Addrs, err = addrs(hosts, defaultPort); err != nil {
		return nil, fmt.Errorf("redisstore: url %s: %w", redact(raw), err)
	}
	if u.User != nil {
		opts.Username = u.User.Username()
		opts.Password, _ = u.User.Password()
	}
	if opts.DB, err = database(u.Path); err != nil {
		return nil, fmt.Errorf("redisstore: url %s: %w", redact(raw), err)
	}
	if opts.IsClusterMode && opts.DB != 0 {
		return nil, fmt.Errorf("redisstore: url %s: a cluster has only database 0", redact(raw))
	}
	if err := query(u.Query(), scheme, opts); err != nil {
		return nil, fmt.Errorf("redisstore: url %s: %w", redact(raw), err)
	}
	if strings.HasSuffix(scheme, "+sentinel") && opts.MasterName == "" {
		return nil, fmt.Errorf("redisstore: url %s: sentinel needs ?master=NAME", redact(raw))
	}
	if scheme == "redis" || scheme == "rediss" {
		if len(opts.Addrs) != 1 {
			return nil, fmt.Errorf("redisstore: url %s: %s takes one host; use %s+cluster or "+
				"%s+sentinel for several", redact(raw), scheme, scheme, scheme)
		}
	}
	return opts, nil
}

// addrs splits a comma-separated host list and adds the default port.
func addrs(hosts, defaultPort string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			return nil, fmt.Errorf("empty host in %q", hosts)
		}
		bracketed := strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]")
		if bracketed || (!strings.HasPrefix(h, "[") && !strings.Contains(h, ":")) {
			h = net.JoinHostPort(strings.Trim(h, "[]"), defaultPort)
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			return nil, fmt.Errorf("host %q: %w", h, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 || host == "" {
			return nil, fmt.Errorf("host %q: want host:port", h)
		}
		out = append(out, h)
	}
	return out, nil
}

func database(path string) (int, error) {
	p := strings.Trim(path, "/")
	if p == "" {
		return 0, nil
	}
	db, err := strconv.Atoi(p)
	if err != nil || db < 0 {
		return 0, fmt.Errorf("database %q is not a number", p)
	}
	return db, nil
}

// query applies the query options.
func query(q url.Values, scheme string, opts *redis.UniversalOptions) error {
	sentinel := strings.HasSuffix(scheme, "+sentinel")
	for name, vals := range q {
		v := vals[len(vals)-1]
		var err error
		switch {
		case name == "pool_size":
			opts.PoolSize, err = positive(v)
		case name == "max_retries":
			opts.MaxRetries, err = strconv.Atoi(v)
		case name == "client_name":
			opts.ClientName = v
		case name == "dial_timeout":
			opts.DialTimeout, err = duration(v)
		case name == "read_timeout":
			opts.ReadTimeout, err = duration(v)
		case name == "write_timeout":
			opts.WriteTimeout, err = duration(v)
		case name == "master" && sentinel:
			opts.MasterName = v
		case name == "sentinel_username" && sentinel:
			opts.SentinelUsername = v
		case name == "sentinel_password" && sentinel:
			opts.SentinelPassword = v
		default:
			return fmt.Errorf("unknown option %q for %s", name, scheme)
		}
		if err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
	}
	return nil
}

func positive(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive number", v)
	}
	return n, nil
}

func duration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration", v)
	}
	return d, nil
}

// redact hides a password in a URL for error messages.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "(unparsable)"
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return scheme + "://" + redactQuery(rest)
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + ":xxxxx@" + redactQuery(rest[at+1:])
}

// redactQuery hides a sentinel_password option.
func redactQuery(s string) string {
	i := strings.Index(s, "sentinel_password=")
	if i < 0 {
		return s
	}
	j := strings.IndexByte(s[i:], '&')
	if j < 0 {
		return s[:i] + "sentinel_password=xxxxx"
	}
	return s[:i] + "sentinel_password=xxxxx" + s[i+j:]
}
