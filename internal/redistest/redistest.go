// Package redistest starts real redis-server processes for tests.
//
// Start runs one server on a free loopback port with its data in a
// t.TempDir() and stops it in t.Cleanup; StartCluster does the same for a
// small Redis Cluster. A test can Kill a server (SIGKILL, as a crash would)
// and Restart it on the same directory and port to see what survived. The
// package never connects to a server it did not start, so the Redis that
// may already run on 6379 is left alone.
//
// redis-server and redis-cli must be on PATH; `make test` installs them.
// Without them the calling test fails, it is not skipped.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a server may take to answer PING, including
// replaying its append-only file after a restart.
const startTimeout = 30 * time.Second

// Options configure one server.
type Options struct {
	// AppendOnly turns on the append-only file (appendonly yes).
	AppendOnly bool
	// AppendFsync is the AOF fsync policy: "always", "everysec" (the
	// default) or "no". It matters only with AppendOnly.
	AppendFsync string
	// Config holds extra redis.conf lines, such as "maxmemory 64mb".
	Config []string
}

// Server is one redis-server process started for a test. Its methods are
// meant for the test goroutine, not for concurrent use.
type Server struct {
	// Addr is the server's host:port on the loopback interface.
	Addr string
	// Port is the port of Addr.
	Port int
	// Dir holds the server's redis.conf, log and data files.
	Dir string

	tb      testing.TB
	conf    string
	proc    *process
	cluster bool
}

// Start starts a redis-server on a free port in a fresh temporary directory
// and waits until it answers. The server is killed when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	bin := lookPath(tb, "redis-server")

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("redistest: find a free port: %v", err)
		}
		s, err := newServer(tb, bin, port, opts, false)
		if err == nil {
			return s
		}
		// Another process may have taken the port between the probe and
		// the server's bind: try another one.
		lastErr = err
	}
	tb.Fatalf("redistest: start redis-server: %v", lastErr)
	return nil
}

// newServer writes the configuration, starts the process and registers its
// cleanup. It returns an error, rather than failing tb, so that callers can
// retry on another port.
func newServer(tb testing.TB, bin string, port int, opts Options, cluster bool) (*Server, error) {
	dir := tb.TempDir()
	s := &Server{
		Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Port:    port,
		Dir:     dir,
		tb:      tb,
		conf:    filepath.Join(dir, "redis.conf"),
		cluster: cluster,
	}
	if err := os.WriteFile(s.conf, []byte(configFile(port, dir, opts, cluster)), 0o600); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	if err := s.launch(bin); err != nil {
		return nil, err
	}
	tb.Cleanup(func() { s.proc.stop(syscall.SIGKILL) })
	return s, nil
}

func configFile(port int, dir string, opts Options, cluster bool) string {
	fsync := opts.AppendFsync
	if fsync == "" {
		fsync = "everysec"
	}
	appendOnly := "no"
	if opts.AppendOnly {
		appendOnly = "yes"
	}
	lines := []string{
		"bind 127.0.0.1",
		"port " + strconv.Itoa(port),
		"dir " + dir,
		"logfile " + filepath.Join(dir, "redis.log"),
		"daemonize no",
		"protected-mode no",
		// No RDB snapshots: a test sees exactly what the AOF (or nothing)
		// keeps, and no background save competes for the two cores.
		`save ""`,
		"appendonly " + appendOnly,
		"appendfsync " + fsync,
	}
	if cluster {
		lines = append(lines,
			"cluster-enabled yes",
			"cluster-config-file "+filepath.Join(dir, "nodes.conf"),
			"cluster-node-timeout 5000",
		)
	}
	lines = append(lines, opts.Config...)
	return strings.Join(lines, "\n") + "\n"
}

// launch starts the process and waits until it answers PING.
func (s *Server) launch(bin string) error {
	cmd := exec.Command(bin, s.conf)
	cmd.Dir = s.Dir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", bin, err)
	}
	s.proc = watch(cmd)

	deadline := time.Now().Add(startTimeout)
	for {
		err := ping(s.Addr)
		if err == nil {
			return nil
		}
		select {
		case <-s.proc.done:
			return fmt.Errorf("redis-server on %s exited (%v): %s", s.Addr, s.proc.err, s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			s.proc.stop(syscall.SIGKILL)
			return fmt.Errorf("redis-server on %s did not answer within %v: %v: %s",
				s.Addr, startTimeout, err, s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URL is the server's address in the redis:// form, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Kill ends the server with SIGKILL, as a crash would: nothing is flushed
// beyond what its fsync policy already wrote. Kill waits for the process to
// exit, so the port is free for Restart when it returns.
func (s *Server) Kill() {
	s.tb.Helper()
	s.proc.stop(syscall.SIGKILL)
}

// Restart starts the server again on the same directory and port, first
// shutting it down gracefully if it still runs, and waits until it answers.
// With AppendOnly it replays its append-only file before answering.
func (s *Server) Restart() {
	s.tb.Helper()
	s.proc.stop(syscall.SIGTERM)
	if err := s.launch(s.proc.cmd.Path); err != nil {
		s.tb.Fatalf("redistest: restart redis-server: %v", err)
	}
}

// Running reports whether the process is still alive.
func (s *Server) Running() bool {
	select {
	case <-s.proc.done:
		return false
	default:
		return true
	}
}

// Client returns a client of this server only, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// FlushAll empties every database of the server.
func (s *Server) FlushAll() {
	s.tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		s.tb.Fatalf("redistest: flushall on %s: %v", s.Addr, err)
	}
}

// logTail returns the last lines of the server log, to explain a failure.
func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return "no log: " + err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

func lookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("redistest: %s is not on PATH; run `make test`, which installs it "+
			"(or apt-get install redis-server redis-tools): %v", name, err)
	}
	return p
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the server binds it; Start retries when that happens.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ping sends an inline PING and wants +PONG; a server still loading its
// data answers -LOADING, which counts as not ready.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return errors.New("not ready: " + strings.TrimSpace(line))
	}
	return nil
}
